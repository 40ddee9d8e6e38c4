// SPDX-License-Identifier: Apache-2.0
// TimerQueue: the deadlines of a TimerService, ordered earliest first, ties in scheduling order.
// Both the asio-backed and the manual TimerService are built on it, so they share that rule.
//
// Why not one binary heap: a SIP stack's timers come in a handful of fixed delays (T1 and its
// doublings, 64*T1, T4, Timer C; RFC 3261 §17 and Table 4), and a busy proxy holds hundreds of
// thousands of them, most cancelled (Timer B dies at the first provisional) or lingering
// (Timers D, J, L, M: 32 s). With one delay, deadlines arrive in order, so each distinct delay
// gets a FIFO lane: push and pop are O(1) and touch one cache line, where a heap of 500,000
// entries costs ~20 cache-missing steps per operation. The earliest timer is the earliest lane
// front (a scan of at most kLanes fronts). Delays beyond kLanes distinct ones at a time (binding
// expiries the phones chose, jittered refreshes) go to a heap lane.
//
// Cancellation is O(1) without hashing: an id names a slot and the slot's generation; cancelling
// frees the slot (and the callback with its captures) at once, and the entry left in its lane is
// recognised as stale when it reaches the front.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "p2psip/common/timer_service.h"

namespace p2psip {

class TimerQueue {
 public:
  static constexpr std::size_t kLanes = 16;

  // `now` must not go backwards between calls (both services use a monotonic clock).
  TimerId push(TimePoint now, Duration delay, std::function<void()> fn);
  void cancel(TimerId id);
  // Earliest live deadline, if any.
  std::optional<TimePoint> nextDeadline();
  // Removes and returns the earliest entry whose deadline is <= now, or an empty function.
  std::function<void()> popDue(TimePoint now);
  std::size_t size() const { return live_; }

 private:
  struct Entry {
    TimePoint deadline;
    std::uint64_t seq;  // scheduling order, for ties
    std::uint32_t slot;
    std::uint32_t generation;
  };
  struct Lane {
    Duration delay{};
    std::deque<Entry> entries;
  };
  struct Slot {
    std::function<void()> fn;
    std::uint32_t generation = 1;
    bool live = false;
  };
  static bool later(const Entry& a, const Entry& b);
  bool isLive(const Entry& e) const;
  Lane* laneFor(Duration delay);
  // The lane (or the heap, as kLanes) holding the earliest live entry; drops stale fronts.
  std::optional<std::size_t> earliest();
  std::function<void()> release(std::uint32_t slot);

  std::vector<Lane> lanes_;
  std::vector<Entry> heap_;  // min-heap by `later`, for delays without a lane
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> freeSlots_;
  std::uint64_t nextSeq_ = 0;
  std::size_t live_ = 0;
};

// Deterministic TimerService for tests and simulations: time moves only in advance().
class ManualTimerService final : public TimerService {
 public:
  explicit ManualTimerService(TimePoint start = TimePoint{} + std::chrono::hours(1))
      : now_(start) {}
  TimePoint now() const override { return now_; }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override { queue_.cancel(id); }
  // Moves time forward by `d`, firing every timer that falls due, in deadline order.
  // Timers scheduled by a firing callback are honoured if they fall within the window.
  void advance(Duration d);
  std::size_t pending() const { return queue_.size(); }

 private:
  TimePoint now_;
  TimerQueue queue_;
};

}  // namespace p2psip
