// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/asio_timer_service.h"

#include <utility>

namespace p2psip::net {

AsioTimerService::AsioTimerService(EventLoop& loop) : timer_(loop.context()) {}

AsioTimerService::~AsioTimerService() {
  // Destroying timer_ cancels the wait; its handler then sees operation_aborted and returns
  // without touching this object.
  timer_.cancel();
}

TimerId AsioTimerService::schedule(Duration delay, std::function<void()> fn) {
  if (delay < Duration::zero()) delay = Duration::zero();
  const TimePoint now = Clock::now();
  const TimePoint deadline = now + delay;
  const TimerId id = queue_.push(now, delay, std::move(fn));
  if (!armedFor_ || deadline < *armedFor_) arm(deadline);
  return id;
}

void AsioTimerService::cancel(TimerId id) {
  // The steady_timer stays armed: at worst it wakes once for nothing, which is cheaper than
  // re-arming on every cancel (most transaction timers are cancelled, RFC 3261 §17).
  queue_.cancel(id);
}

void AsioTimerService::arm(TimePoint deadline) {
  armedFor_ = deadline;
  // expires_at() cancels any wait in progress; that handler sees operation_aborted.
  timer_.expires_at(deadline);
  timer_.async_wait([this](const asio::error_code& ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed or destroyed: not ours any more
    onExpiry();
  });
}

void AsioTimerService::onExpiry() {
  armedFor_.reset();
  // One fixed `now` per expiry: a callback that schedules a zero-delay timer does not run it in
  // this pass, so a timer that keeps rescheduling itself cannot starve the loop.
  const TimePoint now = Clock::now();
  while (auto fn = queue_.popDue(now)) fn();
  // Callbacks may have armed the timer for a new entry that is later than one already queued.
  if (auto next = queue_.nextDeadline(); next && (!armedFor_ || *next < *armedFor_)) arm(*next);
}

}  // namespace p2psip::net
