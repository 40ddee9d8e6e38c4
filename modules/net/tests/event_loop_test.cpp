// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/event_loop.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace p2psip::net {
namespace {

TEST(EventLoop, RunsPostedTasksInOrderOnTheLoop) {
  EventLoop loop;
  std::vector<int> order;
  bool onLoop = false;
  loop.post([&] { order.push_back(1); });
  loop.post([&] {
    order.push_back(2);
    onLoop = loop.isInLoopThread();
  });
  EXPECT_TRUE(loop.runUntil([&] { return order.size() == 2; }, 5s));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_TRUE(onLoop);
  EXPECT_FALSE(loop.isInLoopThread());
}

TEST(EventLoop, RunUntilReturnsFalseWhenThePredicateNeverHolds) {
  EventLoop loop;
  const auto start = Clock::now();
  EXPECT_FALSE(loop.runUntil([] { return false; }, 100ms));
  EXPECT_GE(Clock::now() - start, 100ms);
}

TEST(EventLoop, StopFromAnotherThreadEndsRun) {
  EventLoop loop;
  bool ran = false;
  std::thread other([&] {
    loop.post([&] { ran = true; });
    loop.post([&] { loop.stop(); });
  });
  loop.run();
  other.join();
  EXPECT_TRUE(ran);
}

TEST(EventLoop, CanRunAgainAfterStop) {
  EventLoop loop;
  loop.post([&] { loop.stop(); });
  loop.run();
  int n = 0;
  loop.post([&] { ++n; });
  EXPECT_TRUE(loop.runUntil([&] { return n == 1; }, 5s));
}

TEST(EventLoop, RunForWaitsEvenWhenIdle) {
  EventLoop loop;
  const auto start = Clock::now();
  loop.runFor(50ms);
  EXPECT_GE(Clock::now() - start, 50ms);
}

}  // namespace
}  // namespace p2psip::net
