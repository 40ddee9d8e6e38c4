// SPDX-License-Identifier: Apache-2.0
// Lower-case hexadecimal digits of an integer, fixed width, without printf: branch parameters and
// loop-detection hashes are written for nearly every message a proxy forwards (RFC 3261 §16.6
// step 8), and snprintf's format parsing showed up in its profile.
#pragma once

#include <cstdint>
#include <string>

namespace p2psip {

// Appends the low `digits` hex digits of `value` (most significant first, zero-padded).
inline void appendHex(std::string& out, std::uint64_t value, int digits) {
  constexpr char kDigits[] = "0123456789abcdef";
  char text[16];
  if (digits > 16) digits = 16;
  for (int i = digits - 1; i >= 0; --i) {
    text[i] = kDigits[value & 0xf];
    value >>= 4;
  }
  out.append(text, static_cast<std::size_t>(digits > 0 ? digits : 0));
}

}  // namespace p2psip
