// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/node_identity.h"

#include <filesystem>
#include <optional>
#include <utility>

#include "certificate.h"
#include "ed25519_key.h"
#include "identity_files.h"
#include "keys.h"

namespace p2psip::identity {
namespace {

constexpr const char* kKeyFileName = "node.key";
constexpr const char* kCertificateFileName = "node.crt";
// RFC 5280 Appendix A: ub-common-name is 64 characters.
constexpr std::size_t kMaxCommonName = 64;

// A key pair with its certificate and everything derived from them once, up front.
struct KeyMaterial {
  EvpPkeyPtr key;
  KeyType type = KeyType::Ed25519;
  std::optional<Ed25519SecretKey> ed25519;  // the fast signer, for an Ed25519 key
  NodeId id;
  std::string publicKeyDer;
  std::string certificateDer;
  std::string certificatePem;
  std::string privateKeyPem;
  std::string certificateFile;
  std::string privateKeyFile;
};

// Every loadOrCreate error starts with "identity: ", whichever layer produced it.
tl::unexpected<Error> fromIdentity(Error error) {
  if (error.detail.rfind("identity: ", 0) != 0) error.detail = "identity: " + error.detail;
  return tl::unexpected(std::move(error));
}

Result<void> validateCommonName(std::string_view commonName) {
  if (commonName.empty() || commonName.size() > kMaxCommonName) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: commonName must be 1 to 64 characters (RFC 5280 ub-common-name)");
  }
  return {};
}

Result<KeyMaterial> describe(EvpPkeyPtr key, KeyType type, X509& certificate) {
  auto spki = subjectPublicKeyInfoOf(*key);
  if (!spki) return tl::unexpected(spki.error());
  auto der = certificateDerOf(certificate);
  if (!der) return tl::unexpected(der.error());
  auto certificatePem = certificatePemOf(certificate);
  if (!certificatePem) return tl::unexpected(certificatePem.error());
  auto keyPem = privateKeyPemOf(*key);
  if (!keyPem) return tl::unexpected(keyPem.error());
  KeyMaterial material;
  if (type == KeyType::Ed25519) {
    auto secret = Ed25519SecretKey::of(*key);
    if (!secret) return tl::unexpected(secret.error());
    material.ed25519.emplace(std::move(*secret));
  }
  material.id = NodeId::ofPublicKey(*spki);
  material.publicKeyDer = std::move(*spki);
  material.certificateDer = std::move(*der);
  material.certificatePem = std::move(*certificatePem);
  material.privateKeyPem = std::move(*keyPem);
  material.key = std::move(key);
  material.type = type;
  return material;
}

Result<KeyMaterial> create(KeyType type, std::string_view commonName, std::chrono::hours validity) {
  auto key = generateKey(type);
  if (!key) return tl::unexpected(key.error());
  auto certificate = makeSelfSignedCertificate(**key, type, commonName, validity);
  if (!certificate) return tl::unexpected(certificate.error());
  return describe(std::move(*key), type, **certificate);
}

Result<KeyMaterial> load(const std::string& keyFile, const std::string& certificateFile) {
  auto keyPem = readPrivateKeyFile(keyFile, kMaxPemBytes);
  if (!keyPem) return tl::unexpected(keyPem.error());
  auto key = parsePrivateKeyPem(*keyPem, keyFile);
  if (!key) return tl::unexpected(key.error());
  auto type = keyTypeOf(**key);
  if (!type) {
    return makeError(ErrorCode::InvalidArgument, keyFile + ": " + type.error().detail);
  }
  auto certificatePem = readPublicFile(certificateFile, kMaxCertificatePemBytes);
  if (!certificatePem) return tl::unexpected(certificatePem.error());
  auto certificate = parseCertificatePem(*certificatePem, certificateFile);
  if (!certificate) return tl::unexpected(certificate.error());
  // The certificate is what TLS peers see and the key is what signs records: if they differed,
  // the node would show one NodeId on its links and another in the DHT.
  if (EVP_PKEY_eq(X509_get0_pubkey(certificate->get()), key->get()) != 1) {
    openSslErrors();
    return makeError(ErrorCode::InvalidArgument,
                     "certificate " + certificateFile + " does not match private key " + keyFile);
  }
  auto material = describe(std::move(*key), *type, **certificate);
  if (!material) return material;
  material->privateKeyFile = keyFile;
  material->certificateFile = certificateFile;
  return material;
}

// Writes a new identity. The key goes first: after a crash between the two renames the next
// start reports the missing certificate instead of silently making a second key.
Result<void> store(KeyMaterial& material, const std::string& keyFile,
                   const std::string& certificateFile) {
  if (auto ok = writeFileAtomically(keyFile, material.privateKeyPem, 0600); !ok) return ok;
  if (auto ok = writeFileAtomically(certificateFile, material.certificatePem, 0644); !ok) {
    return ok;
  }
  material.privateKeyFile = keyFile;
  material.certificateFile = certificateFile;
  return {};
}

}  // namespace

struct NodeIdentity::State {
  KeyMaterial material;
};

std::string_view toString(KeyType type) {
  switch (type) {
    case KeyType::Ed25519:
      return "ed25519";
    case KeyType::EcdsaP256:
      return "ecdsa-p256";
    case KeyType::Rsa2048:
      return "rsa-2048";
    case KeyType::Rsa4096:
      return "rsa-4096";
  }
  return "unknown";
}

Result<KeyType> parseKeyType(std::string_view text) {
  for (const KeyType type :
       {KeyType::Ed25519, KeyType::EcdsaP256, KeyType::Rsa2048, KeyType::Rsa4096}) {
    if (text == toString(type)) return type;
  }
  return makeError(ErrorCode::InvalidArgument,
                   "identity: key type '" + std::string(text) +
                       "' is not one of ed25519, ecdsa-p256, rsa-2048, rsa-4096");
}

Result<void> validate(const IdentityConfig& config) {
  if (config.directory.empty()) {
    return makeError(ErrorCode::InvalidArgument, "identity: directory is required");
  }
  if (config.certificateValidity <= std::chrono::hours::zero()) {
    return makeError(ErrorCode::InvalidArgument, "identity: certificateValidity must be positive");
  }
  // Past a century notAfter means nothing, and it must stay within what every peer's ASN.1
  // time handling accepts.
  if (config.certificateValidity > std::chrono::hours(24 * 366 * 100)) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: certificateValidity must be at most 100 years");
  }
  return validateCommonName(config.commonName);
}

NodeIdentity::NodeIdentity(std::unique_ptr<State> state) : state_(std::move(state)) {}
NodeIdentity::NodeIdentity(NodeIdentity&&) noexcept = default;
NodeIdentity& NodeIdentity::operator=(NodeIdentity&&) noexcept = default;
NodeIdentity::~NodeIdentity() = default;

Result<NodeIdentity> NodeIdentity::loadOrCreate(const IdentityConfig& config) {
  if (auto ok = validate(config); !ok) return tl::unexpected(ok.error());
  if (auto ok = ensurePrivateDirectory(config.directory); !ok) return fromIdentity(ok.error());
  const std::string keyFile = (std::filesystem::path(config.directory) / kKeyFileName).string();
  const std::string certificateFile =
      (std::filesystem::path(config.directory) / kCertificateFileName).string();
  auto keyExists = fileExists(keyFile);
  if (!keyExists) return fromIdentity(keyExists.error());
  auto certificateExists = fileExists(certificateFile);
  if (!certificateExists) return fromIdentity(certificateExists.error());

  if (*keyExists != *certificateExists) {
    // Never replace the one that exists: a new key would silently change the NodeId.
    const std::string& present = *keyExists ? keyFile : certificateFile;
    const std::string& missing = *keyExists ? certificateFile : keyFile;
    return makeError(ErrorCode::InvalidArgument,
                     "identity: " + missing + " is missing but " + present +
                         " exists; restore it, or remove both to create a new identity");
  }
  if (*keyExists) {
    auto material = load(keyFile, certificateFile);
    if (!material) return fromIdentity(material.error());
    return NodeIdentity(std::make_unique<State>(State{std::move(*material)}));
  }
  auto material = create(config.keyType, config.commonName, config.certificateValidity);
  if (!material) return fromIdentity(material.error());
  if (auto ok = store(*material, keyFile, certificateFile); !ok) return fromIdentity(ok.error());
  return NodeIdentity(std::make_unique<State>(State{std::move(*material)}));
}

Result<NodeIdentity> NodeIdentity::generate(KeyType type, std::string_view commonName) {
  if (auto ok = validateCommonName(commonName); !ok) return tl::unexpected(ok.error());
  auto material = create(type, commonName, IdentityConfig{}.certificateValidity);
  if (!material) return tl::unexpected(material.error());
  return NodeIdentity(std::make_unique<State>(State{std::move(*material)}));
}

const NodeId& NodeIdentity::nodeId() const {
  return state_->material.id;
}
KeyType NodeIdentity::keyType() const {
  return state_->material.type;
}
const std::string& NodeIdentity::publicKeyDer() const {
  return state_->material.publicKeyDer;
}
const std::string& NodeIdentity::certificateDer() const {
  return state_->material.certificateDer;
}
const std::string& NodeIdentity::certificatePem() const {
  return state_->material.certificatePem;
}
const std::string& NodeIdentity::privateKeyPem() const {
  return state_->material.privateKeyPem;
}
const std::string& NodeIdentity::certificateFile() const {
  return state_->material.certificateFile;
}
const std::string& NodeIdentity::privateKeyFile() const {
  return state_->material.privateKeyFile;
}

Result<std::string> NodeIdentity::sign(std::string_view data) const {
  if (state_->material.ed25519) return state_->material.ed25519->sign(data);
  return signWithKey(*state_->material.key, state_->material.type, data);
}

Result<void> verifySignature(std::string_view subjectPublicKeyInfoDer, std::string_view data,
                             std::string_view signature) {
  auto key = parseSubjectPublicKeyInfo(subjectPublicKeyInfoDer);
  if (!key) return tl::unexpected(key.error());
  if (key->type == KeyType::Ed25519) return verifyEd25519(*key->key, data, signature);
  return verifyWithKey(*key->key, key->type, data, signature);
}

}  // namespace p2psip::identity
