// SPDX-License-Identifier: Apache-2.0
// NonceSigner: issues digest nonces that verify without server state (RFC 2617 §3.2.1 leaves the
// nonce format to the server). A nonce is hex(issue time in ms) + hex(serial) + hex(first 16 bytes
// of HMAC-SHA256(key, time | serial | realm)); the key is random per process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "p2psip/common/clock.h"

namespace p2psip::registrar {

struct NonceContents {
  TimePoint issued;
  std::uint64_t serial = 0;  // strictly increasing per process: also orders nonces by age
};

class NonceSigner {
 public:
  // Throws std::runtime_error when no random key can be drawn (startup only).
  NonceSigner();
  std::string issue(TimePoint now, std::string_view realm);
  // The contents of a nonce we issued for `realm`, or nullopt for anything else.
  std::optional<NonceContents> open(std::string_view nonce, std::string_view realm) const;

 private:
  std::string sign(std::uint64_t issuedMs, std::uint64_t serial, std::string_view realm) const;

  std::string key_;
  std::uint64_t nextSerial_ = 1;
};

}  // namespace p2psip::registrar
