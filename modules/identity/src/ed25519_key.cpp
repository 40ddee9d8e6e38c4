// SPDX-License-Identifier: Apache-2.0
#include "ed25519_key.h"

#include <sodium.h>

#include <utility>

namespace p2psip::identity {
namespace {

// sodium_init() is idempotent and thread-safe; it picks the implementations for this CPU.
Result<void> ready() {
  if (sodium_init() < 0)
    return makeError(ErrorCode::Unavailable, "identity: libsodium cannot start");
  return {};
}

const unsigned char* bytes(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

}  // namespace

Result<Ed25519SecretKey> Ed25519SecretKey::of(EVP_PKEY& key) {
  if (auto ok = ready(); !ok) return tl::unexpected(ok.error());
  std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
  std::size_t length = seed.size();
  if (EVP_PKEY_get_raw_private_key(&key, seed.data(), &length) != 1 || length != seed.size()) {
    return makeError(ErrorCode::InvalidArgument, "identity: not an Ed25519 private key");
  }
  static_assert(crypto_sign_SECRETKEYBYTES == 64 && crypto_sign_PUBLICKEYBYTES == 32);
  Ed25519SecretKey secret;
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> publicKey{};
  const int derived =
      crypto_sign_seed_keypair(publicKey.data(), secret.secret_.data(), seed.data());
  sodium_memzero(seed.data(), seed.size());
  if (derived != 0)
    return makeError(ErrorCode::Unavailable, "identity: Ed25519 key derivation failed");
  // The public half must be the one OpenSSL holds (and the NodeId hashes).
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> expected{};
  length = expected.size();
  if (EVP_PKEY_get_raw_public_key(&key, expected.data(), &length) != 1 ||
      length != expected.size() || expected != publicKey) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: the Ed25519 private key does not match its public key");
  }
  return secret;
}

Ed25519SecretKey::Ed25519SecretKey(Ed25519SecretKey&& other) noexcept : secret_(other.secret_) {
  sodium_memzero(other.secret_.data(), other.secret_.size());
}

Ed25519SecretKey& Ed25519SecretKey::operator=(Ed25519SecretKey&& other) noexcept {
  if (this != &other) {
    secret_ = other.secret_;
    sodium_memzero(other.secret_.data(), other.secret_.size());
  }
  return *this;
}

Ed25519SecretKey::~Ed25519SecretKey() {
  sodium_memzero(secret_.data(), secret_.size());
}

Result<std::string> Ed25519SecretKey::sign(std::string_view data) const {
  std::string signature(crypto_sign_BYTES, '\0');
  if (crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr, bytes(data),
                           data.size(), secret_.data()) != 0) {
    return makeError(ErrorCode::Unavailable, "identity: signing failed");
  }
  return signature;
}

Result<void> verifyEd25519(EVP_PKEY& key, std::string_view data, std::string_view signature) {
  if (auto ok = ready(); !ok) return ok;
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> publicKey{};
  std::size_t length = publicKey.size();
  if (EVP_PKEY_get_raw_public_key(&key, publicKey.data(), &length) != 1 ||
      length != publicKey.size()) {
    return makeError(ErrorCode::InvalidArgument, "identity: not an Ed25519 public key");
  }
  if (signature.size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(bytes(signature), bytes(data), data.size(), publicKey.data()) !=
          0) {
    return makeError(ErrorCode::ParseError, "identity: signature does not verify");
  }
  return {};
}

}  // namespace p2psip::identity
