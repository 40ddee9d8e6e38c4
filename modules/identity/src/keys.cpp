// SPDX-License-Identifier: Apache-2.0
#include "keys.h"

#include <array>
#include <utility>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

namespace p2psip::identity {
namespace {

const unsigned char* asBytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Refuses to prompt: PEM_read_* would otherwise ask on the terminal for an encrypted key.
int noPassphrase(char*, int, int, void*) {
  return 0;
}

std::string bioContents(BIO& bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(&bio, &data);
  if (len <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(len));
}

// Ed25519 hashes internally and takes no digest (RFC 8032 §5.1.6); the others sign SHA-256.
const EVP_MD* digestFor(KeyType type) {
  return type == KeyType::Ed25519 ? nullptr : EVP_sha256();
}

// RFC 8017 §9.1: PSS with MGF1 over the same digest and the salt as long as the digest, the
// parameters TLS 1.3 requires (RFC 8446 §4.2.3). The verifier insists on that salt length rather
// than accepting any ("auto"), so only signatures made the way we make them verify.
bool configurePss(EVP_PKEY_CTX* pctx) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0;
}

bool isRsa(KeyType type) {
  return type == KeyType::Rsa2048 || type == KeyType::Rsa4096;
}

std::string_view asView(const auto& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

tl::unexpected<Error> invalidKey(const std::string& why) {
  return makeError(ErrorCode::InvalidArgument, "identity: public key " + why);
}

// RFC 8410 §4: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) } and then
// the 32-byte public key. What i2d_PUBKEY writes for every Ed25519 key.
constexpr std::array<unsigned char, 12> kEd25519SpkiPrefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                                              0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
constexpr std::size_t kEd25519KeyBytes = 32;

// RFC 5480 §2: id-ecPublicKey with the namedCurve secp256r1, and a BIT STRING holding an
// uncompressed point (0x04, X, Y; SEC 1 §2.3.3), as i2d_PUBKEY writes our generated keys. The
// compressed form of the same point is refused: it would be a second NodeId for one key.
constexpr std::array<unsigned char, 27> kP256SpkiPrefix = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
    0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04};
constexpr std::size_t kP256CoordinateBytes = 64;

struct EvpPkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};

// Builds a P-256 public key from an uncompressed point. OpenSSL checks that the point is on the
// curve, so an invalid point is refused here rather than failing every verification later.
Result<PublicKey> p256PublicKey(std::string_view point) {
  std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  char group[] = "prime256v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, const_cast<char*>(point.data()),
                                        point.size()),
      OSSL_PARAM_construct_end()};
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    return invalidKey("P-256 point rejected: " + openSslErrors());
  }
  return PublicKey{EvpPkeyPtr(raw), KeyType::EcdsaP256};
}

}  // namespace

Result<EvpPkeyPtr> generateKey(KeyType type) {
  ERR_clear_error();
  EvpPkeyPtr key;
  switch (type) {
    case KeyType::Ed25519:
      key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
      break;
    case KeyType::EcdsaP256:
      key.reset(EVP_EC_gen("P-256"));
      break;
    case KeyType::Rsa2048:
      key.reset(EVP_RSA_gen(2048));
      break;
    case KeyType::Rsa4096:
      key.reset(EVP_RSA_gen(4096));
      break;
  }
  if (!key) {
    return makeError(ErrorCode::Unavailable, "identity: generating a " +
                                                 std::string(toString(type)) +
                                                 " key failed: " + openSslErrors());
  }
  return key;
}

Result<KeyType> keyTypeOf(const EVP_PKEY& key) {
  if (EVP_PKEY_is_a(&key, "ED25519")) return KeyType::Ed25519;
  if (EVP_PKEY_is_a(&key, "EC")) {
    // A named curve only: explicit parameters have no group name and are refused here.
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_group_name(&key, group, sizeof group, &len) == 1 &&
        OBJ_txt2nid(group) == NID_X9_62_prime256v1) {
      return KeyType::EcdsaP256;
    }
    ERR_clear_error();
    return makeError(ErrorCode::InvalidArgument, "identity: EC keys must be on curve P-256");
  }
  // Only the two sizes we generate: a larger modulus would let a hostile record make every
  // reader spend far more time verifying it, and a smaller one is too weak.
  if (EVP_PKEY_is_a(&key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(&key);
    if (bits == 2048) return KeyType::Rsa2048;
    if (bits == 4096) return KeyType::Rsa4096;
    return makeError(ErrorCode::InvalidArgument,
                     "identity: RSA keys must have 2048 or 4096 bits, not " + std::to_string(bits));
  }
  return makeError(
      ErrorCode::InvalidArgument,
      "identity: unsupported key type (want ed25519, ecdsa-p256, rsa-2048 or rsa-4096)");
}

Result<std::string> subjectPublicKeyInfoOf(const EVP_PKEY& key) {
  const int len = i2d_PUBKEY(&key, nullptr);
  if (len <= 0) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: cannot encode the public key: " + openSslErrors());
  }
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(&key, &out) != len) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: cannot encode the public key: " + openSslErrors());
  }
  return der;
}

Result<PublicKey> parseSubjectPublicKeyInfo(std::string_view der) {
  ERR_clear_error();
  // The two elliptic-curve types have one fixed layout each, which is also their only
  // canonical form. Matching it directly skips OpenSSL 3.0's generic DER decoder and the
  // re-encoding check, which together cost more than the verification itself (about 150 µs
  // for Ed25519 and 210 µs for P-256 on our machine; docs/adr/0003-node-identity-keys.md).
  if (der.size() == kEd25519SpkiPrefix.size() + kEd25519KeyBytes &&
      der.starts_with(asView(kEd25519SpkiPrefix))) {
    EvpPkeyPtr key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                               asBytes(der.substr(kEd25519SpkiPrefix.size())),
                                               kEd25519KeyBytes));
    if (!key) return invalidKey("Ed25519 public key rejected: " + openSslErrors());
    return PublicKey{std::move(key), KeyType::Ed25519};
  }
  if (der.size() == kP256SpkiPrefix.size() + kP256CoordinateBytes &&
      der.starts_with(asView(kP256SpkiPrefix))) {
    return p256PublicKey(der.substr(kP256SpkiPrefix.size() - 1));  // from the 0x04 on
  }

  const unsigned char* p = asBytes(der);
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key) return invalidKey("not a DER SubjectPublicKeyInfo: " + openSslErrors());
  auto type = keyTypeOf(*key);
  if (!type) return tl::unexpected(type.error());
  // A supported curve key that did not match its one layout above is in another encoding.
  if (!isRsa(*type)) {
    return invalidKey("of type " + std::string(toString(*type)) +
                      " is not in its canonical form (named curve, uncompressed point)");
  }
  auto canonical = subjectPublicKeyInfoOf(*key);
  if (!canonical) return tl::unexpected(canonical.error());
  if (*canonical != der) {
    return invalidKey("not in canonical DER form (as i2d_PUBKEY writes it), or has trailing bytes");
  }
  return PublicKey{std::move(key), *type};
}

Result<std::string> privateKeyPemOf(const EVP_PKEY& key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), &key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return makeError(ErrorCode::Unavailable,
                     "identity: cannot encode the private key as PEM: " + openSslErrors());
  }
  return bioContents(*bio);
}

Result<EvpPkeyPtr> parsePrivateKeyPem(std::string_view pem, std::string_view source) {
  ERR_clear_error();
  if (pem.size() > kMaxPemBytes) {
    return makeError(ErrorCode::LimitExceeded, std::string(source) + " is larger than " +
                                                   std::to_string(kMaxPemBytes) + " bytes");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EvpPkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr)
                     : nullptr);
  if (!key) {
    return makeError(
        ErrorCode::InvalidArgument,
        std::string(source) + ": no unencrypted PEM private key could be read: " + openSslErrors());
  }
  return key;
}

Result<std::string> signWithKey(EVP_PKEY& key, KeyType type, std::string_view data) {
  ERR_clear_error();
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, digestFor(type), nullptr, &key) != 1 ||
      (isRsa(type) && !configurePss(pctx))) {
    return makeError(ErrorCode::Unavailable, "identity: cannot start signing: " + openSslErrors());
  }
  std::size_t len = 0;
  if (EVP_DigestSign(ctx.get(), nullptr, &len, asBytes(data), data.size()) != 1) {
    return makeError(ErrorCode::Unavailable, "identity: signing failed: " + openSslErrors());
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     asBytes(data), data.size()) != 1) {
    return makeError(ErrorCode::Unavailable, "identity: signing failed: " + openSslErrors());
  }
  signature.resize(len);  // ECDSA's DER (r, s) is often shorter than the maximum
  return signature;
}

Result<void> verifyWithKey(EVP_PKEY& key, KeyType type, std::string_view data,
                           std::string_view signature) {
  // RFC 8017 §8.1.2 step 1: an RSASSA-PSS signature is exactly k octets, k the modulus length.
  // OpenSSL reads it as an integer and so also accepts one whose leading zero octets were cut
  // off. Refusing that keeps one byte string per signature, and a signature that happens to start
  // with 0x00 (about 1 in 200) behaves like every other one when it is cut short.
  if (isRsa(type) && signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(&key))) {
    return makeError(ErrorCode::ParseError, "identity: signature has the wrong length for the key");
  }
  ERR_clear_error();
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, digestFor(type), nullptr, &key) != 1 ||
      (isRsa(type) && !configurePss(pctx))) {
    return makeError(ErrorCode::Unavailable,
                     "identity: cannot start verifying: " + openSslErrors());
  }
  const int ok =
      EVP_DigestVerify(ctx.get(), asBytes(signature), signature.size(), asBytes(data), data.size());
  // A bad signature leaves entries on the queue; they say nothing the caller needs.
  ERR_clear_error();
  if (ok != 1) {
    return makeError(ErrorCode::ParseError, "identity: signature does not verify");
  }
  return {};
}

}  // namespace p2psip::identity
