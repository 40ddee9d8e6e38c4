// SPDX-License-Identifier: Apache-2.0
// NonceCountTable: the highest nonce-count accepted per nonce (RFC 2617 §3.2.2: "the server can
// detect request replays by noting that it has already seen the nc"), in bounded memory.
//
// Entries are keyed by the nonce serial, which grows with issue time, so the oldest entry is
// evicted first. A nonce absent from the table but no newer than the newest evicted one may have
// been seen: it is reported Forgotten, and the caller re-challenges with stale=true rather than
// risk accepting a replay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "p2psip/common/clock.h"

namespace p2psip::registrar {

class NonceCountTable {
 public:
  enum class Verdict : std::uint8_t { Accepted, Replayed, Forgotten };

  NonceCountTable(std::size_t capacity, Duration lifetime)
      : capacity_(capacity), lifetime_(lifetime) {}

  // Accepts `nc` for the nonce if it is higher than any accepted before, and remembers it.
  Verdict accept(std::uint64_t serial, TimePoint issued, std::uint32_t nc, TimePoint now);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    TimePoint issued;
    std::uint32_t highestNc = 0;
  };
  std::size_t capacity_;
  Duration lifetime_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t evictedUpTo_ = 0;  // serials at or below this may have been forgotten
};

}  // namespace p2psip::registrar
