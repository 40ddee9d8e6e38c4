// SPDX-License-Identifier: Apache-2.0
// AsioTimerService: the production TimerService (common/timer_service.h) on the signalling loop.
// All timers share ONE asio::steady_timer armed for the earliest deadline of a TimerQueue, so a
// stack with thousands of transactions (Timers A-K, RFC 3261 §17) costs one kernel timer, and
// ordering matches ManualTimerService exactly. Not thread-safe: call on the loop's thread.
#pragma once

#include <functional>
#include <optional>

#include <asio/steady_timer.hpp>

#include "p2psip/common/timer_queue.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/net/event_loop.h"

namespace p2psip::net {

class AsioTimerService final : public TimerService {
 public:
  explicit AsioTimerService(EventLoop& loop);
  ~AsioTimerService() override;
  AsioTimerService(const AsioTimerService&) = delete;
  AsioTimerService& operator=(const AsioTimerService&) = delete;

  TimePoint now() const override { return Clock::now(); }
  TimerId schedule(Duration delay, std::function<void()> fn) override;
  void cancel(TimerId id) override;
  std::size_t pending() const { return queue_.size(); }

 private:
  void arm(TimePoint deadline);
  void onExpiry();

  asio::steady_timer timer_;
  TimerQueue queue_;
  std::optional<TimePoint> armedFor_;  // deadline the steady_timer waits for, if waiting
};

}  // namespace p2psip::net
