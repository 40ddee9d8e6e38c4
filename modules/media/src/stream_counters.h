// SPDX-License-Identifier: Apache-2.0
// StreamCounters: the numbers of one stream that the signalling thread reads while a media thread
// writes them. Each field has exactly one writer (the media thread owning the stream), so it is
// updated with a relaxed load and store, which costs a plain move on x86-64, not a locked
// read-modify-write; readers see each field whole, though not all fields from the same instant.
//
// Ownership: the signalling side's record of the stream owns the block. On release() the block
// travels to the media thread inside the RemoveStream command and dies there after the stream;
// when a media thread times a stream out it stops writing first, then reports, and the signalling
// thread frees it. So the block outlives every write and every read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "p2psip/common/clock.h"

namespace p2psip::media {

template <typename T>
void addRelaxed(std::atomic<T>& field, T amount) {
  field.store(field.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
}

struct DirectionCounters {
  std::atomic<std::uint64_t> packets{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> rtcpPackets{0};
  std::atomic<std::uint64_t> rtcpBytes{0};
  std::atomic<std::uint64_t> dropped{0};
  std::atomic<std::uint64_t> malformed{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::int64_t> lost{0};
  std::atomic<double> jitterMs{0};
  std::atomic<Duration::rep> lastActivity{0};  // steady clock ticks since its epoch; 0: never
};

struct StreamCounters {
  std::array<DirectionCounters, 2> received;  // indexed by the side the packets arrive on
};

}  // namespace p2psip::media
