// SPDX-License-Identifier: Apache-2.0
// KeyIndex: TransactionKey -> transaction id, for TransactionTable. Private to transaction.
//
// Why not std::unordered_map: a busy proxy indexes ~650,000 keys (completed transactions linger
// 32 s, RFC 3261 §17.2.2 Timer J, RFC 6026 Timers L and M), and every message looks one up. A
// node-based map walks a bucket's predecessor node, the node and its successor: three or four cache
// misses per lookup, the largest single item of a proxied call's user CPU in `perf`. Here a slot is
// 16 bytes (the key's 64-bit hash and the id) in one array with linear probing, so a lookup reads
// one or two adjacent cache lines; the key itself is compared only on a full hash match, through
// the table that owns it (`matches(id)`).
//
// Deletion shifts later slots back (no tombstones), so probe chains stay as short as the load
// allows; the load stays at or below one half.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace p2psip::transaction {

class KeyIndex {
 public:
  KeyIndex() : slots_(kInitialSlots) {}

  // The id whose key hashes to `hash` and for which `matches(id)` holds.
  template <typename Matches>
  std::optional<std::uint64_t> find(std::size_t hash, Matches&& matches) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(hash);; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id == kEmpty) return std::nullopt;
      if (slot.hash == hash && matches(slot.id)) return slot.id;
    }
  }

  // Maps the key to `id`, replacing the id it had (a key still held by a transaction that ended
  // during this event moves to the new one). `matches(otherId)` says whether otherId holds this
  // key.
  template <typename Matches>
  void assign(std::size_t hash, std::uint64_t id, Matches&& matches) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = home(hash);; i = (i + 1) & mask) {
      Slot& slot = slots_[i];
      if (slot.id == kEmpty) break;
      if (slot.hash == hash && matches(slot.id)) {
        slot.id = id;
        return;
      }
    }
    if ((used_ + 1) * 2 > slots_.size()) grow();
    place(Slot{hash, id});
    ++used_;
  }

  // Drops the slot of this key if it still maps to `id`; true if it did.
  bool erase(std::size_t hash, std::uint64_t id) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(hash);
    for (;; i = (i + 1) & mask) {
      if (slots_[i].id == kEmpty) return false;
      if (slots_[i].hash == hash && slots_[i].id == id) break;
    }
    // Backward shift: move each later slot of the run into the hole unless its home lies
    // cyclically in (hole, slot], where it already is as close to home as it can be.
    std::size_t hole = i;
    for (std::size_t j = (i + 1) & mask; slots_[j].id != kEmpty; j = (j + 1) & mask) {
      const std::size_t at = home(slots_[j].hash);
      const bool stays = hole <= j ? (at > hole && at <= j) : (at > hole || at <= j);
      if (stays) continue;
      slots_[hole] = slots_[j];
      hole = j;
    }
    slots_[hole] = Slot{};
    --used_;
    return true;
  }

  std::size_t size() const { return used_; }
  std::size_t capacity() const { return slots_.size(); }

 private:
  static constexpr std::uint64_t kEmpty = 0;          // transaction ids start at 1
  static constexpr std::size_t kInitialSlots = 1024;  // a power of two
  static constexpr unsigned kInitialShift = 64 - 10;

  struct Slot {
    std::size_t hash = 0;
    std::uint64_t id = kEmpty;
  };

  // Fibonacci hashing: the top bits of hash * 2^64/phi, so keys whose hashes differ only in high
  // bits still start apart (linear probing is sensitive to clustered homes).
  std::size_t home(std::size_t hash) const {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(hash) * 0x9e3779b97f4a7c15ULL) >>
                                    shift_);
  }

  void place(const Slot& slot) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = home(slot.hash);
    while (slots_[i].id != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    --shift_;
    for (const Slot& slot : old) {
      if (slot.id != kEmpty) place(slot);
    }
  }

  std::vector<Slot> slots_;
  unsigned shift_ = kInitialShift;
  std::size_t used_ = 0;
};

}  // namespace p2psip::transaction
