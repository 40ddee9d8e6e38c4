// SPDX-License-Identifier: Apache-2.0
// TLS contexts built from PEM files, and access to a peer's certificate.
//
// Peers in the overlay carry self-signed certificates and are identified by a hash of their
// public key, not by a CA. PeerVerification::AnyCertificate therefore asks the other side for a
// certificate in both roles, accepts whatever it presents, and leaves the identity check to the
// application (peerCertificateDer() + subjectPublicKeyInfoDer()). Conventional SIP over TLS
// (RFC 3261 §26.3.1, RFC 5922) uses TrustedCa with a CA file.
//
// One TlsContext serves both the server and the client side of a transport. It is shared
// (std::shared_ptr) by every stream created from it and is immutable once built. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <asio/ssl/context.hpp>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"

namespace p2psip::net {

enum class PeerVerification : std::uint8_t {
  None,            // do not ask for a client certificate; do not check the server's
  TrustedCa,       // require a certificate that chains to caFile (mutual TLS with a CA)
  AnyCertificate,  // require a certificate but accept any, self-signed included; the app checks it
};

struct TlsConfig {
  std::string certificateChainFile;  // PEM: our certificate, then any intermediates
  std::string privateKeyFile;        // PEM: the key matching the first certificate
  std::string caFile;                // PEM trust anchors; empty = none (required for TrustedCa)
  PeerVerification verifyPeer = PeerVerification::None;
};

Result<void> validate(const TlsConfig& config);

class TlsContext {
 public:
  // Loads the files and checks that the key matches the certificate.
  static Result<std::shared_ptr<TlsContext>> fromFiles(const TlsConfig& config);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // asio streams take the context by non-const reference; they do not modify it.
  asio::ssl::context& native() { return context_; }
  PeerVerification verifyPeer() const { return verifyPeer_; }

 private:
  // Passkey: only fromFiles() can construct, yet std::make_shared can call the constructor.
  struct Token {
    explicit Token() = default;
  };

 public:
  TlsContext(Token, PeerVerification verifyPeer);

 private:
  asio::ssl::context context_;
  PeerVerification verifyPeer_;
};

// DER of the certificate the peer presented on an established TLS session, if any.
std::optional<std::string> peerCertificateDer(const SSL* session);

// DER of the SubjectPublicKeyInfo inside a DER certificate: what a peer id hashes.
Result<std::string> subjectPublicKeyInfoDer(std::string_view certificateDer);

// Lower-case hex SHA-256 of the certificate's DER SubjectPublicKeyInfo: the key fingerprint that
// names an overlay peer (its NodeId, see identity::NodeId), independent of the certificate around
// the key.
Result<std::string> publicKeyFingerprint(std::string_view certificateDer);

// A fresh EC P-256 key and a self-signed certificate over it, both as PEM. For a peer's first
// start, and for tests.
struct PemIdentity {
  std::string certificatePem;
  std::string privateKeyPem;
};
Result<PemIdentity> makeSelfSignedIdentity(std::string_view commonName, Duration validity);

}  // namespace p2psip::net
