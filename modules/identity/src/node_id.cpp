// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/node_id.h"

#include <algorithm>
#include <cstring>

#include <openssl/sha.h>

namespace p2psip::identity {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

NodeId NodeId::ofPublicKey(std::string_view subjectPublicKeyInfoDer) {
  std::array<std::uint8_t, kSize> digest{};
  static_assert(kSize == SHA256_DIGEST_LENGTH);
  // The one-shot SHA256() is kept in OpenSSL 3 (it runs EVP_Q_digest); only the SHA256_Init
  // family is deprecated.
  SHA256(reinterpret_cast<const unsigned char*>(subjectPublicKeyInfoDer.data()),
         subjectPublicKeyInfoDer.size(), digest.data());
  return NodeId(digest);
}

Result<NodeId> NodeId::fromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) {
    return makeError(ErrorCode::InvalidArgument, "node id must be " + std::to_string(2 * kSize) +
                                                     " hex digits, not " +
                                                     std::to_string(hex.size()) + " characters");
  }
  std::array<std::uint8_t, kSize> bytes{};
  for (std::size_t i = 0; i < kSize; ++i) {
    const int high = hexValue(hex[2 * i]);
    const int low = hexValue(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return makeError(ErrorCode::InvalidArgument,
                       "node id has a non-hex character at position " +
                           std::to_string(high < 0 ? 2 * i : 2 * i + 1));
    }
    bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return NodeId(bytes);
}

Result<NodeId> NodeId::fromBytes(std::string_view bytes) {
  if (bytes.size() != kSize) {
    return makeError(ErrorCode::InvalidArgument, "node id must be " + std::to_string(kSize) +
                                                     " bytes, not " + std::to_string(bytes.size()));
  }
  std::array<std::uint8_t, kSize> out{};
  std::memcpy(out.data(), bytes.data(), kSize);
  return NodeId(out);
}

std::string NodeId::toHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * kSize);
  for (const std::uint8_t b : bytes_) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

std::string NodeId::shortHex() const {
  return toHex().substr(0, 8);
}

bool NodeId::isZero() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](std::uint8_t b) { return b == 0; });
}

std::size_t NodeIdHash::operator()(const NodeId& id) const noexcept {
  // The id is already a uniform hash: its first bytes are as good as any mix of them.
  std::size_t h = 0;
  std::memcpy(&h, id.bytes().data(), sizeof h);
  return h;
}

}  // namespace p2psip::identity
