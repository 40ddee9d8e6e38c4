// SPDX-License-Identifier: Apache-2.0
// The key operations behind NodeIdentity, verifySignature and the envelope: the one place that
// knows how each KeyType is spelt in OpenSSL 3 (EVP only) and which signature scheme it uses.
// Private to identity/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "openssl_handles.h"
#include "p2psip/common/result.h"
#include "p2psip/identity/node_identity.h"

namespace p2psip::identity {

Result<EvpPkeyPtr> generateKey(KeyType type);

// Which KeyType `key` is; InvalidArgument for any other algorithm, curve or modulus size.
Result<KeyType> keyTypeOf(const EVP_PKEY& key);

// DER SubjectPublicKeyInfo of `key` (i2d_PUBKEY): the bytes a NodeId hashes.
Result<std::string> subjectPublicKeyInfoOf(const EVP_PKEY& key);

struct PublicKey {
  EvpPkeyPtr key;
  KeyType type;
};
// Parses a DER SubjectPublicKeyInfo of a supported KeyType. The input must be exactly the DER
// encoding i2d_PUBKEY writes for the key: with trailing bytes, another valid encoding (a
// compressed EC point, a long-form length) the same key would hash to several NodeIds, and a
// signer could choose among them.
Result<PublicKey> parseSubjectPublicKeyInfo(std::string_view der);

// An RSA-4096 PKCS#8 key is about 3.3 KB of PEM; anything near this is not a key file.
inline constexpr std::size_t kMaxPemBytes = 64 * 1024;

// PKCS#8 PEM, unencrypted (the file is protected by its mode instead).
Result<std::string> privateKeyPemOf(const EVP_PKEY& key);
// `source` names the file in errors. An encrypted key is refused rather than prompting for a
// passphrase on the terminal, which a daemon does not have.
Result<EvpPkeyPtr> parsePrivateKeyPem(std::string_view pem, std::string_view source);

// Ed25519: pure EdDSA (RFC 8032 §5.1). ECDSA P-256: over SHA-256, DER-encoded (r, s).
// RSA: RSASSA-PSS (RFC 8017 §8.1) over SHA-256, MGF1-SHA-256, salt as long as the digest.
Result<std::string> signWithKey(EVP_PKEY& key, KeyType type, std::string_view data);
// ParseError when the signature does not verify.
Result<void> verifyWithKey(EVP_PKEY& key, KeyType type, std::string_view data,
                           std::string_view signature);

}  // namespace p2psip::identity
