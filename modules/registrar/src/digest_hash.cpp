// SPDX-License-Identifier: Apache-2.0
#include "digest_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <limits>

namespace p2psip::registrar {

std::string digestHex(DigestAlgorithm algorithm, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const EVP_MD* type = algorithm == DigestAlgorithm::Md5 ? EVP_md5() : EVP_sha256();
  if (EVP_Digest(data.data(), data.size(), md, &size, type, nullptr) != 1) return {};
  return toHex(md, size);
}

Hmac hmacSha256(std::string_view key, std::string_view data) {
  Hmac out{};
  std::size_t size = 0;
  char digest[] = "SHA256";
  EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, key.data(), key.size(),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
            out.size(), &size);
  return out;
}

bool randomBytes(std::uint8_t* out, std::size_t size) {
  if (size > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
  return RAND_bytes(out, static_cast<int>(size)) == 1;
}

std::string toHex(const std::uint8_t* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 15];
  }
  return out;
}

std::size_t hexLength(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::Md5 ? 32 : 64;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace p2psip::registrar
