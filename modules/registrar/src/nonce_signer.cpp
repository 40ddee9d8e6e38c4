// SPDX-License-Identifier: Apache-2.0
#include "nonce_signer.h"

#include <array>
#include <chrono>
#include <stdexcept>

#include "digest_hash.h"

namespace p2psip::registrar {

namespace {
constexpr std::size_t kFieldHex = 16;  // one 64-bit field
constexpr std::size_t kMacBytes = 16;  // 128 bits of the HMAC are plenty against forgery
constexpr std::size_t kNonceHex = 2 * kFieldHex + 2 * kMacBytes;

std::string fieldHex(std::uint64_t v) {
  std::array<std::uint8_t, 8> bytes{};
  for (int i = 7; i >= 0; --i, v >>= 8) bytes[static_cast<std::size_t>(i)] = v & 0xff;
  return toHex(bytes.data(), bytes.size());
}

std::optional<std::uint64_t> parseField(std::string_view hex) {
  std::uint64_t v = 0;
  for (char c : hex) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return std::nullopt;  // we only write lower case
    }
    v = (v << 4) | static_cast<std::uint64_t>(digit);
  }
  return v;
}
}  // namespace

NonceSigner::NonceSigner() {
  std::array<std::uint8_t, 32> key{};
  if (!randomBytes(key.data(), key.size())) {
    throw std::runtime_error("cannot draw a random nonce key: OpenSSL RAND_bytes failed");
  }
  key_.assign(key.begin(), key.end());
}

std::string NonceSigner::issue(TimePoint now, std::string_view realm) {
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  return sign(ms, nextSerial_++, realm);
}

std::string NonceSigner::sign(std::uint64_t issuedMs, std::uint64_t serial,
                              std::string_view realm) const {
  std::string fields = fieldHex(issuedMs) + fieldHex(serial);
  std::string signedText = fields;
  signedText += ':';
  signedText += realm;
  const Hmac mac = hmacSha256(key_, signedText);
  return fields + toHex(mac.data(), kMacBytes);
}

std::optional<NonceContents> NonceSigner::open(std::string_view nonce,
                                               std::string_view realm) const {
  if (nonce.size() != kNonceHex) return std::nullopt;
  auto issuedMs = parseField(nonce.substr(0, kFieldHex));
  auto serial = parseField(nonce.substr(kFieldHex, kFieldHex));
  if (!issuedMs || !serial) return std::nullopt;
  if (!constantTimeEquals(sign(*issuedMs, *serial, realm), nonce)) return std::nullopt;
  return NonceContents{TimePoint{} + std::chrono::milliseconds(*issuedMs), *serial};
}

}  // namespace p2psip::registrar
