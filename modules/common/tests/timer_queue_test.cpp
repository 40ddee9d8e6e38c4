// SPDX-License-Identifier: Apache-2.0
#include "p2psip/common/timer_queue.h"
#include "p2psip/common/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
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

TEST(TimerQueue, InterleavesLanesAndTheHeapInDeadlineOrderTiesInSchedulingOrder) {
  // More distinct delays than lanes, so some go to the heap lane, scheduled from several "now"s.
  TimerQueue queue;
  const TimePoint t0{};
  std::vector<int> fired;
  std::vector<std::pair<TimePoint, int>> expected;
  int n = 0;
  for (int round = 0; round < 3; ++round) {
    const TimePoint now = t0 + std::chrono::milliseconds(round * 7);
    for (int d = 0; d < static_cast<int>(TimerQueue::kLanes) + 8; ++d) {
      const int tag = n++;
      const Duration delay = std::chrono::milliseconds((d * 13) % 40);
      queue.push(now, delay, [&fired, tag] { fired.push_back(tag); });
      expected.emplace_back(now + delay, tag);
    }
  }
  // Expected order: by deadline, then by scheduling order (tags grow with it).
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  EXPECT_EQ(queue.size(), expected.size());
  const TimePoint end = t0 + std::chrono::seconds(1);
  while (auto fn = queue.popDue(end)) fn();
  std::vector<int> order;
  for (const auto& e : expected) order.push_back(e.second);
  EXPECT_EQ(fired, order);
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_FALSE(queue.nextDeadline().has_value());
}

TEST(TimerQueue, NothingIsDueBeforeItsDeadline) {
  TimerQueue queue;
  const TimePoint t0{};
  queue.push(t0, 500ms, [] {});
  EXPECT_FALSE(queue.popDue(t0 + 499ms));
  ASSERT_TRUE(queue.nextDeadline().has_value());
  EXPECT_EQ(*queue.nextDeadline(), t0 + 500ms);
  EXPECT_TRUE(queue.popDue(t0 + 500ms));
}

TEST(TimerQueue, AStaleIdCannotCancelTheTimerThatReusedItsSlot) {
  TimerQueue queue;
  const TimePoint t0{};
  int fired = 0;
  const TimerId first = queue.push(t0, 10ms, [&] { ++fired; });
  queue.cancel(first);
  // The freed slot is reused at once; the old id names its previous generation.
  const TimerId second = queue.push(t0, 10ms, [&] { fired += 10; });
  EXPECT_NE(first, second);
  EXPECT_NE(second, kNoTimer);
  queue.cancel(first);
  queue.cancel(first + (TimerId{1} << 40));  // ids nobody issued are ignored too
  queue.cancel(kNoTimer);
  while (auto fn = queue.popDue(t0 + 1s)) fn();
  EXPECT_EQ(fired, 10);
  queue.cancel(second);  // after firing: a no-op
  EXPECT_EQ(queue.size(), 0u);
}

TEST(TimerQueue, CancellingReleasesTheCallbackAtOnce) {
  // A transaction's captures (and what they own) must not wait 32 s for a cancelled Timer B entry
  // to reach the front of its lane.
  TimerQueue queue;
  auto owned = std::make_shared<int>(7);
  const std::weak_ptr<int> watch = owned;
  const TimerId id = queue.push(TimePoint{}, 32s, [owned = std::move(owned)] { (void)owned; });
  EXPECT_FALSE(watch.expired());
  queue.cancel(id);
  EXPECT_TRUE(watch.expired());
  EXPECT_EQ(queue.size(), 0u);
  EXPECT_FALSE(queue.nextDeadline().has_value());
}

TEST(TimerQueue, AnEmptiedLaneServesANewDelayInOrder) {
  TimerQueue queue;
  const TimePoint t0{};
  std::vector<int> fired;
  // Fill every lane, drain them, then use new delays: the lanes are reused, order still holds.
  for (std::size_t d = 0; d < TimerQueue::kLanes; ++d)
    queue.push(t0, std::chrono::milliseconds(d + 1), [] {});
  while (auto fn = queue.popDue(t0 + 1s)) fn();
  const TimePoint t1 = t0 + 1s;
  queue.push(t1, 300ms, [&] { fired.push_back(3); });
  queue.push(t1, 100ms, [&] { fired.push_back(1); });
  queue.push(t1 + 50ms, 150ms, [&] { fired.push_back(2); });
  queue.push(t1 + 60ms, 300ms, [&] { fired.push_back(4); });
  while (auto fn = queue.popDue(t1 + 1s)) fn();
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3, 4}));
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
