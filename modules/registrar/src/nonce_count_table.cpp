// SPDX-License-Identifier: Apache-2.0
#include "nonce_count_table.h"

namespace p2psip::registrar {

NonceCountTable::Verdict NonceCountTable::accept(std::uint64_t serial, TimePoint issued,
                                                 std::uint32_t nc, TimePoint now) {
  // Entries of expired nonces are useless: the caller refuses those nonces as stale before asking.
  while (!entries_.empty() && entries_.begin()->second.issued + lifetime_ < now) {
    entries_.erase(entries_.begin());
  }
  auto it = entries_.find(serial);
  if (it != entries_.end()) {
    if (nc <= it->second.highestNc) return Verdict::Replayed;
    it->second.highestNc = nc;
    return Verdict::Accepted;
  }
  if (serial <= evictedUpTo_) return Verdict::Forgotten;
  entries_.emplace(serial, Entry{issued, nc});
  while (entries_.size() > capacity_) {
    if (entries_.begin()->first > evictedUpTo_) evictedUpTo_ = entries_.begin()->first;
    entries_.erase(entries_.begin());
  }
  if (serial <= evictedUpTo_) return Verdict::Forgotten;  // it was the oldest and went at once
  return Verdict::Accepted;
}

}  // namespace p2psip::registrar
