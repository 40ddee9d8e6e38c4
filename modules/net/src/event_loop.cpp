// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/event_loop.h"

#include <algorithm>

#include <asio/executor_work_guard.hpp>

namespace p2psip::net {

void EventLoop::run() {
  context_.restart();
  // The work guard keeps run() alive between bursts of I/O, as a daemon's loop must.
  auto guard = asio::make_work_guard(context_);
  context_.run();
}

void EventLoop::stop() {
  context_.stop();
}

std::size_t EventLoop::runFor(Duration duration) {
  context_.restart();
  auto guard = asio::make_work_guard(context_);
  return context_.run_for(duration);
}

bool EventLoop::runUntil(const std::function<bool()>& done, Duration timeout) {
  context_.restart();
  auto guard = asio::make_work_guard(context_);
  const TimePoint deadline = Clock::now() + timeout;
  while (!done()) {
    const TimePoint now = Clock::now();
    if (now >= deadline || context_.stopped()) break;
    // Short slices so that a predicate which turns true without a handler (rare) is still seen.
    context_.run_one_for(std::min<Duration>(deadline - now, std::chrono::milliseconds(50)));
  }
  return done();
}

std::size_t EventLoop::poll() {
  context_.restart();
  return context_.poll();
}

}  // namespace p2psip::net
