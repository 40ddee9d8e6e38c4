// SPDX-License-Identifier: Apache-2.0
// NodeIdentity: this peer's key pair and self-signed certificate. Created on first start in the
// data directory and loaded on every later start, so the NodeId stays the same. The private key
// file is written with mode 0600 and refused if others can read it. The same key signs overlay
// records and authenticates the peer's TLS links (the certificate and key files are handed to
// net::TlsContext by app/).
//
// Key type: Ed25519 by default; see docs/adr/0003-node-identity-keys.md for the measurements
// behind the choice (signing must not limit the registration rate).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"
#include "p2psip/identity/node_id.h"

namespace p2psip::identity {

enum class KeyType : std::uint8_t { Ed25519, EcdsaP256, Rsa2048, Rsa4096 };
std::string_view toString(KeyType type);              // "ed25519", "ecdsa-p256", "rsa-2048", ...
Result<KeyType> parseKeyType(std::string_view text);  // the same spellings

struct IdentityConfig {
  std::string directory;  // holds node.key (PEM, 0600) and node.crt (PEM); created if missing
  KeyType keyType = KeyType::Ed25519;  // used only when creating a new identity
  std::chrono::hours certificateValidity{24 * 365 * 10};
  std::string commonName = "p2psip-node";
};
Result<void> validate(const IdentityConfig& config);

class NodeIdentity {
 public:
  // Loads node.key and node.crt from config.directory, or creates both when neither exists.
  // Errors name the file: one present without the other, unreadable, key and certificate that do
  // not match, a key file readable by group or others.
  static Result<NodeIdentity> loadOrCreate(const IdentityConfig& config);
  // A fresh identity held in memory only (tests, benchmarks).
  static Result<NodeIdentity> generate(KeyType type, std::string_view commonName = "p2psip-node");

  NodeIdentity(NodeIdentity&&) noexcept;
  NodeIdentity& operator=(NodeIdentity&&) noexcept;
  ~NodeIdentity();

  const NodeId& nodeId() const;
  KeyType keyType() const;
  const std::string& publicKeyDer() const;  // DER SubjectPublicKeyInfo; nodeId() hashes it
  const std::string& certificateDer() const;
  const std::string& certificatePem() const;
  const std::string& privateKeyPem() const;  // for building a TLS context in memory
  // Paths of the files (empty for generate()).
  const std::string& certificateFile() const;
  const std::string& privateKeyFile() const;

  // Signs `data` (Ed25519: pure EdDSA; ECDSA and RSA: over SHA-256; RSA uses PSS).
  Result<std::string> sign(std::string_view data) const;

 private:
  struct State;
  explicit NodeIdentity(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Checks `signature` over `data` with the key in `subjectPublicKeyInfoDer` (any KeyType above).
// InvalidArgument for a key that does not parse or is of an unsupported type; ParseError for a
// signature that does not verify.
Result<void> verifySignature(std::string_view subjectPublicKeyInfoDer, std::string_view data,
                             std::string_view signature);

}  // namespace p2psip::identity
