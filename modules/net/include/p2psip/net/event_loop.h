// SPDX-License-Identifier: Apache-2.0
// EventLoop: the one signalling loop (conventions §3.3). It wraps one asio::io_context that one
// thread runs; every SIP-side object (transport, transactions, proxy) lives on it and needs no
// locks. Other threads talk to it only through post(). Owned by the composition root (app/) and
// constructed before, destroyed after, everything that uses it.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include "p2psip/common/clock.h"

namespace p2psip::net {

class EventLoop {
 public:
  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // For the asio objects built on this loop (sockets, timers). Not for running it elsewhere.
  asio::io_context& context() { return context_; }
  asio::io_context::executor_type executor() { return context_.get_executor(); }

  // Queues `fn` to run on the loop thread. The only member that is safe to call from any thread.
  template <typename F>
  void post(F&& fn) {
    asio::post(context_, std::forward<F>(fn));
  }

  // Runs handlers until stop() is called, even when there is momentarily nothing to do.
  void run();
  // Makes run()/runFor()/runUntil() return soon. Safe from any thread, and from a handler.
  void stop();
  // Runs handlers for `duration` (waiting when idle), then returns. Returns handlers executed.
  std::size_t runFor(Duration duration);
  // Runs handlers until `done()` is true (checked after each handler) or `timeout` elapses.
  // Returns done(). For tests: "eventually, within a generous bound".
  bool runUntil(const std::function<bool()>& done, Duration timeout);
  // Runs handlers that are ready now, without waiting. Returns handlers executed.
  std::size_t poll();
  // True when called from inside a handler of this loop (for P2PSIP_ASSERT_ON_LOOP-style checks).
  bool isInLoopThread() { return context_.get_executor().running_in_this_thread(); }

 private:
  asio::io_context context_{1};  // concurrency hint 1: one thread, so asio may skip locking
};

}  // namespace p2psip::net
