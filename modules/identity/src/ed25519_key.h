// SPDX-License-Identifier: Apache-2.0
// Ed25519 signing and verification through libsodium (RFC 8032 §5.1, pure EdDSA; the same
// signatures OpenSSL makes and checks). Why not OpenSSL, which holds and stores the keys: OpenSSL
// 3.0 signs in ~46 µs and libsodium in ~20 µs on this machine, and a new user's first REGISTER
// signs one record (docs/adr/0003-node-identity-keys.md). Private to identity.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"

namespace p2psip::identity {

// The expanded secret key (seed + public key), derived once; wiped when destroyed.
class Ed25519SecretKey {
 public:
  static Result<Ed25519SecretKey> of(EVP_PKEY& key);
  Ed25519SecretKey(const Ed25519SecretKey&) = delete;
  Ed25519SecretKey& operator=(const Ed25519SecretKey&) = delete;
  Ed25519SecretKey(Ed25519SecretKey&& other) noexcept;
  Ed25519SecretKey& operator=(Ed25519SecretKey&& other) noexcept;
  ~Ed25519SecretKey();

  // 64 bytes. Thread-safe: signing only reads the key.
  Result<std::string> sign(std::string_view data) const;

 private:
  Ed25519SecretKey() = default;
  std::array<unsigned char, 64> secret_{};
};

// ParseError when the signature does not verify. `key` must be an Ed25519 public (or private) key.
Result<void> verifyEd25519(EVP_PKEY& key, std::string_view data, std::string_view signature);

}  // namespace p2psip::identity
