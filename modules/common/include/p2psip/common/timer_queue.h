// SPDX-License-Identifier: Apache-2.0
// TimerQueue: a pure min-heap of deadlines with O(log n) insert and lazy cancellation.
// Both the asio-backed and the manual TimerService are built on it, so they share one
// ordering rule: earlier deadline first, ties in scheduling order.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <unordered_set>
#include <vector>

#include "p2psip/common/timer_service.h"

namespace p2psip {

class TimerQueue {
 public:
  TimerId push(TimePoint deadline, std::function<void()> fn);
  void cancel(TimerId id);
  // Earliest live deadline, if any.
  std::optional<TimePoint> nextDeadline();
  // Removes and returns the earliest entry whose deadline is <= now, or an empty function.
  std::function<void()> popDue(TimePoint now);
  std::size_t size() const { return heap_.size() - cancelled_.size(); }

 private:
  struct Entry {
    TimePoint deadline;
    TimerId id;
    std::function<void()> fn;
  };
  static bool later(const Entry& a, const Entry& b);
  void dropCancelledTop();

  std::vector<Entry> heap_;
  std::unordered_set<TimerId> cancelled_;
  std::unordered_set<TimerId> live_;
  TimerId nextId_ = 1;
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
