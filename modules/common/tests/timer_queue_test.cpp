// SPDX-License-Identifier: Apache-2.0
#include "p2psip/common/timer_queue.h"
#include "p2psip/common/metrics.h"

#include <gtest/gtest.h>

#include <vector>

using namespace std::chrono_literals;

namespace p2psip {
namespace {

TEST(ManualTimerService, FiresInDeadlineOrderOnlyWhenTimeAdvancesPastThem) {
  ManualTimerService timers;
  std::vector<int> fired;
  timers.schedule(30ms, [&] { fired.push_back(3); });
  timers.schedule(10ms, [&] { fired.push_back(1); });
  timers.schedule(20ms, [&] { fired.push_back(2); });
  timers.advance(15ms);
  EXPECT_EQ(fired, (std::vector<int>{1}));
  timers.advance(100ms);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
}

TEST(ManualTimerService, CancelledTimerNeverFires) {
  ManualTimerService timers;
  bool fired = false;
  TimerId id = timers.schedule(5ms, [&] { fired = true; });
  timers.cancel(id);
  timers.advance(1s);
  EXPECT_FALSE(fired);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(ManualTimerService, CallbackSeesItsOwnDeadlineAsNowAndCanReschedule) {
  ManualTimerService timers;
  const TimePoint start = timers.now();
  std::vector<Duration> at;
  std::function<void()> tick = [&] {
    at.push_back(timers.now() - start);
    if (at.size() < 3) timers.schedule(10ms, tick);
  };
  timers.schedule(10ms, tick);
  timers.advance(1s);
  ASSERT_EQ(at.size(), 3u);
  EXPECT_EQ(at[0], Duration(10ms));
  EXPECT_EQ(at[2], Duration(30ms));
}

TEST(MetricsRegistry, ReturnsTheSameCounterForTheSameName) {
  MetricsRegistry registry;
  registry.counter("a_total").inc();
  registry.counter("a_total").inc(2);
  EXPECT_EQ(registry.counter("a_total").value(), 3u);
  EXPECT_EQ(registry.snapshot().size(), 1u);
}

}  // namespace
}  // namespace p2psip
