// SPDX-License-Identifier: Apache-2.0
// Private: a case-folded key for header names, built by the parser while it scans a name, so that
// the lookup costs one hash of three words, one probe and three word compares.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "p2psip/sip/header_id.h"

namespace p2psip::sip::detail {

// Names longer than this are never known headers.
inline constexpr std::size_t kMaxKnownHeaderName = 24;

struct HeaderNameKey {
  std::uint64_t words[3] = {0, 0, 0};
  std::size_t length = 0;

  // OR-ing 0x20 lower-cases letters and leaves every other token character distinct.
  constexpr void add(char c) {
    if (length < kMaxKnownHeaderName) {
      words[length >> 3] |= static_cast<std::uint64_t>(static_cast<unsigned char>(c | 0x20))
                            << ((length & 7) * 8);
    }
    ++length;
  }
  // Builds the key of a whole name at once: three word loads instead of a shift per character.
  static HeaderNameKey of(std::string_view name) {
    HeaderNameKey k;
    k.length = name.size();
    if (name.size() > kMaxKnownHeaderName) return k;
    unsigned char buf[kMaxKnownHeaderName] = {};
    std::memcpy(buf, name.data(), name.size());
    for (std::size_t w = 0; w < 3; ++w) {
      std::uint64_t word;
      std::memcpy(&word, buf + 8 * w, 8);
      std::size_t present = name.size() > 8 * w ? std::min<std::size_t>(name.size() - 8 * w, 8) : 0;
      std::uint64_t mask = present == 8 ? ~0ull : ((1ull << (8 * present)) - 1);
      k.words[w] = word | (0x2020202020202020ull & mask);  // little-endian: byte i is character i
    }
    return k;
  }
  constexpr std::uint64_t hash() const {
    std::uint64_t h = words[0] * 0x9E3779B97F4A7C15ull;
    h ^= words[1] * 0xC2B2AE3D27D4EB4Full;
    h ^= words[2] * 0x165667B19E3779F9ull;
    return (h ^ length) * 0x9E3779B97F4A7C15ull;
  }
  constexpr bool operator==(const HeaderNameKey&) const = default;
};

HeaderId headerIdFromKey(const HeaderNameKey& key);

}  // namespace p2psip::sip::detail
