// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/tls_context.h"

#include <chrono>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace p2psip::net {
namespace {

// RAII owners for OpenSSL objects (no manual free on any path).
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string openSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

std::string derOf(X509* cert) {
  const int len = i2d_X509(cert, nullptr);
  if (len <= 0) return {};
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509(cert, &p);
  return der;
}

std::string bioContents(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

}  // namespace

Result<void> validate(const TlsConfig& config) {
  if (config.certificateChainFile.empty()) {
    return makeError(ErrorCode::InvalidArgument, "tls: certificateChainFile is required");
  }
  if (config.privateKeyFile.empty()) {
    return makeError(ErrorCode::InvalidArgument, "tls: privateKeyFile is required");
  }
  if (config.verifyPeer == PeerVerification::TrustedCa && config.caFile.empty()) {
    return makeError(ErrorCode::InvalidArgument, "tls: verifyPeer TrustedCa needs caFile");
  }
  return {};
}

TlsContext::TlsContext(Token, PeerVerification verifyPeer)
    : context_(asio::ssl::context::tls), verifyPeer_(verifyPeer) {}

Result<std::shared_ptr<TlsContext>> TlsContext::fromFiles(const TlsConfig& config) {
  if (auto ok = validate(config); !ok) return tl::unexpected(ok.error());
  auto tls = std::make_shared<TlsContext>(Token{}, config.verifyPeer);
  auto& ctx = tls->context_;
  ERR_clear_error();

  asio::error_code ec;
  // RFC 3261 §26.2.1 mandates TLS; anything older than 1.2 is broken (RFC 8996).
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::single_dh_use, ec);

  ctx.use_certificate_chain_file(config.certificateChainFile, ec);
  if (ec) {
    return makeError(
        ErrorCode::InvalidArgument,
        "tls: cannot load certificate chain " + config.certificateChainFile + ": " + ec.message());
  }
  ctx.use_private_key_file(config.privateKeyFile, asio::ssl::context::pem, ec);
  if (ec) {
    return makeError(ErrorCode::InvalidArgument,
                     "tls: cannot load private key " + config.privateKeyFile + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    return makeError(ErrorCode::InvalidArgument,
                     "tls: private key " + config.privateKeyFile +
                         " does not match certificate: " + openSslErrors());
  }
  if (!config.caFile.empty()) {
    ctx.load_verify_file(config.caFile, ec);
    if (ec) {
      return makeError(ErrorCode::InvalidArgument,
                       "tls: cannot load CA file " + config.caFile + ": " + ec.message());
    }
  }

  switch (config.verifyPeer) {
    case PeerVerification::None:
      ctx.set_verify_mode(asio::ssl::verify_none, ec);
      break;
    case PeerVerification::TrustedCa:
      // fail_if_no_peer_cert makes the server side demand a client certificate (mutual TLS).
      ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
      break;
    case PeerVerification::AnyCertificate:
      ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert, ec);
      // Self-signed peers never chain to anything we trust: accept every certificate here, and
      // let the application compare the public-key hash with the peer id it expected.
      ctx.set_verify_callback([](bool, asio::ssl::verify_context&) { return true; }, ec);
      break;
  }
  if (ec)
    return makeError(ErrorCode::InvalidArgument, "tls: cannot set verify mode: " + ec.message());
  return tls;
}

std::optional<std::string> peerCertificateDer(const SSL* session) {
  if (session == nullptr) return std::nullopt;
  X509Ptr cert(SSL_get1_peer_certificate(session));
  if (!cert) return std::nullopt;
  std::string der = derOf(cert.get());
  if (der.empty()) return std::nullopt;
  return der;
}

Result<std::string> subjectPublicKeyInfoDer(std::string_view certificateDer) {
  const auto* p = reinterpret_cast<const unsigned char*>(certificateDer.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(certificateDer.size())));
  if (!cert)
    return makeError(ErrorCode::ParseError, "certificate: not DER X.509: " + openSslErrors());
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), nullptr);
  if (len <= 0) return makeError(ErrorCode::ParseError, "certificate: no public key");
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &out);
  return der;
}

Result<std::string> publicKeyFingerprint(std::string_view certificateDer) {
  auto spki = subjectPublicKeyInfoDer(certificateDer);
  if (!spki) return tl::unexpected(spki.error());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(spki->data(), spki->size(), digest, &len, EVP_sha256(), nullptr) != 1)
    return makeError(ErrorCode::Unavailable, "certificate: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

Result<PemIdentity> makeSelfSignedIdentity(std::string_view commonName, Duration validity) {
  ERR_clear_error();
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  if (!key)
    return makeError(ErrorCode::Unavailable, "tls: key generation failed: " + openSslErrors());

  X509Ptr cert(X509_new());
  if (!cert) return makeError(ErrorCode::Unavailable, "tls: X509_new failed");
  X509_set_version(cert.get(), 2);  // v3

  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    return makeError(ErrorCode::Unavailable, "tls: no randomness");
  serial[0] &= 0x7f;  // positive INTEGER (RFC 5280 §4.1.2.2)
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(BN_bin2bn(serial, sizeof serial, nullptr),
                                                 &BN_free);
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));

  const long seconds =
      static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(validity).count());
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), seconds);
  X509_set_pubkey(cert.get(), key.get());

  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn(commonName);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) {
    return makeError(ErrorCode::Unavailable, "tls: signing failed: " + openSslErrors());
  }

  BioPtr certBio(BIO_new(BIO_s_mem()));
  BioPtr keyBio(BIO_new(BIO_s_mem()));
  if (!certBio || !keyBio || PEM_write_bio_X509(certBio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(keyBio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return makeError(ErrorCode::Unavailable, "tls: PEM encoding failed: " + openSslErrors());
  }
  return PemIdentity{bioContents(certBio.get()), bioContents(keyBio.get())};
}

}  // namespace p2psip::net
