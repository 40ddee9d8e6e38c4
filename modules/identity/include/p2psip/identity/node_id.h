// SPDX-License-Identifier: Apache-2.0
// NodeId: who a peer is in the overlay. Like a HIP host identity tag (RFC 7401 §3), it is the
// hash of the peer's public key: SHA-256 over the DER SubjectPublicKeyInfo. It names the key, not
// an address, so it survives restarts and address changes, and anyone holding the key can prove it
// (a record's signature, a TLS handshake) without a CA. OpenDHT's PublicKey::getLongId() is the
// same hash over the same bytes.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"

namespace p2psip::identity {

class NodeId {
 public:
  static constexpr std::size_t kSize = 32;

  NodeId() = default;  // all zero: "no node"
  explicit NodeId(const std::array<std::uint8_t, kSize>& bytes) : bytes_(bytes) {}

  // SHA-256 of a DER SubjectPublicKeyInfo.
  static NodeId ofPublicKey(std::string_view subjectPublicKeyInfoDer);
  // 64 hex digits, either case; anything else is InvalidArgument.
  static Result<NodeId> fromHex(std::string_view hex);
  // 32 raw bytes.
  static Result<NodeId> fromBytes(std::string_view bytes);

  std::string toHex() const;     // 64 lower-case hex digits
  std::string shortHex() const;  // first 8 hex digits, for log lines
  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  bool isZero() const;

  friend auto operator<=>(const NodeId&, const NodeId&) = default;
  friend bool operator==(const NodeId&, const NodeId&) = default;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

struct NodeIdHash {
  std::size_t operator()(const NodeId& id) const noexcept;
};

}  // namespace p2psip::identity
