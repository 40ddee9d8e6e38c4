// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/asio_timer_service.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using namespace std::chrono_literals;

namespace p2psip::net {
namespace {

TEST(AsioTimerService, FiresTimersInDeadlineOrder) {
  EventLoop loop;
  AsioTimerService timers(loop);
  std::vector<int> fired;
  timers.schedule(60ms, [&] { fired.push_back(3); });
  timers.schedule(20ms, [&] { fired.push_back(1); });
  timers.schedule(40ms, [&] { fired.push_back(2); });
  EXPECT_TRUE(loop.runUntil([&] { return fired.size() == 3; }, 5s));
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(AsioTimerService, DoesNotFireBeforeTheDeadline) {
  EventLoop loop;
  AsioTimerService timers(loop);
  TimePoint firedAt{};
  const TimePoint start = timers.now();
  timers.schedule(50ms, [&] { firedAt = timers.now(); });
  EXPECT_TRUE(loop.runUntil([&] { return firedAt != TimePoint{}; }, 5s));
  EXPECT_GE(firedAt - start, 50ms);
}

TEST(AsioTimerService, CancelledTimerNeverFires) {
  EventLoop loop;
  AsioTimerService timers(loop);
  bool cancelledFired = false;
  bool laterFired = false;
  const TimerId id = timers.schedule(10ms, [&] { cancelledFired = true; });
  timers.schedule(50ms, [&] { laterFired = true; });
  timers.cancel(id);
  timers.cancel(id);  // twice is a no-op
  EXPECT_TRUE(loop.runUntil([&] { return laterFired; }, 5s));
  EXPECT_FALSE(cancelledFired);
}

TEST(AsioTimerService, EarlierTimerScheduledLaterStillFiresFirst) {
  EventLoop loop;
  AsioTimerService timers(loop);
  std::vector<int> fired;
  timers.schedule(500ms, [&] { fired.push_back(2); });
  timers.schedule(10ms, [&] { fired.push_back(1); });
  EXPECT_TRUE(loop.runUntil([&] { return !fired.empty(); }, 5s));
  EXPECT_EQ(fired, (std::vector<int>{1}));
}

TEST(AsioTimerService, CallbackMayScheduleFurtherTimers) {
  EventLoop loop;
  AsioTimerService timers(loop);
  int count = 0;
  std::function<void()> tick = [&] {
    if (++count < 5) timers.schedule(0ms, tick);
  };
  timers.schedule(1ms, tick);
  // A timer already queued behind the re-armed one must not be forgotten.
  bool other = false;
  timers.schedule(30ms, [&] { other = true; });
  EXPECT_TRUE(loop.runUntil([&] { return count == 5 && other; }, 5s));
}

TEST(AsioTimerService, DestroyingTheServiceWithPendingTimersIsSafe) {
  EventLoop loop;
  bool fired = false;
  {
    AsioTimerService timers(loop);
    timers.schedule(10ms, [&] { fired = true; });
  }
  loop.runFor(50ms);
  EXPECT_FALSE(fired);
}

}  // namespace
}  // namespace p2psip::net
