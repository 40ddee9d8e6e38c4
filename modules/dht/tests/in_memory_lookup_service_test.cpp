// SPDX-License-Identifier: Apache-2.0
#include "p2psip/dht/testing/in_memory_lookup_service.h"

#include <gtest/gtest.h>

#include <optional>

#include "p2psip/common/timer_queue.h"
#include "p2psip/net/event_loop.h"

namespace p2psip::dht::testing {
namespace {

using namespace std::chrono_literals;

struct Report {
  std::vector<StoredValue> values;
  bool expired;
  friend bool operator==(const Report&, const Report&) = default;
};

class InMemoryLookupServiceTest : public ::testing::Test {
 protected:
  Result<void> put(InMemoryLookupService& service, StoredValue value, Duration lifetime = 10min) {
    std::optional<Result<void>> result;
    service.put(kKey, std::move(value), lifetime, [&](Result<void> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "callbacks are never called inside the call";
    loop.poll();
    EXPECT_TRUE(result.has_value());
    return result.value_or(makeError(ErrorCode::Timeout, "no answer"));
  }
  Result<void> remove(InMemoryLookupService& service, std::uint64_t id) {
    std::optional<Result<void>> result;
    service.remove(kKey, id, [&](Result<void> r) { result = std::move(r); });
    loop.poll();
    return result.value_or(makeError(ErrorCode::Timeout, "no answer"));
  }
  Result<std::vector<StoredValue>> get(InMemoryLookupService& service) {
    std::optional<Result<std::vector<StoredValue>>> result;
    service.get(kKey, [&](Result<std::vector<StoredValue>> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value());
    loop.poll();
    return result.value_or(makeError(ErrorCode::Timeout, "no answer"));
  }
  ListenToken listen(InMemoryLookupService& service, std::vector<Report>& reports) {
    return service.listen(kKey, [&reports](const std::vector<StoredValue>& values, bool expired) {
      reports.push_back({values, expired});
    });
  }

  const LookupKey kKey{Namespace::User, "sip:bob@p2p.test"};
  net::EventLoop loop;
  ManualTimerService timers;
  std::shared_ptr<InMemoryLookupService::Network> network =
      InMemoryLookupService::makeNetwork(timers);
  InMemoryLookupService alice{network, loop};
  InMemoryLookupService bob{network, loop};
};

TEST_F(InMemoryLookupServiceTest, APutIsSeenByAnotherPeer) {
  ASSERT_TRUE(put(alice, {1, "one"}).has_value());
  EXPECT_EQ(*get(bob), (std::vector<StoredValue>{{1, "one"}}));
  EXPECT_EQ(alice.putCount(), 1u);
  EXPECT_EQ(bob.putCount(), 0u);
}

TEST_F(InMemoryLookupServiceTest, AnEmptyKeyIsNotAnError) {
  auto values = get(bob);
  ASSERT_TRUE(values.has_value());
  EXPECT_TRUE(values->empty());
}

TEST_F(InMemoryLookupServiceTest, APutWithTheSameIdReplaces) {
  put(alice, {1, "one"});
  put(bob, {2, "two"});
  put(alice, {1, "uno"});
  EXPECT_EQ(*get(bob), (std::vector<StoredValue>{{1, "uno"}, {2, "two"}}));
}

TEST_F(InMemoryLookupServiceTest, RemoveWithdrawsOnlyThatId) {
  put(alice, {1, "one"});
  put(alice, {2, "two"});
  ASSERT_TRUE(remove(alice, 1).has_value());
  EXPECT_EQ(*get(bob), (std::vector<StoredValue>{{2, "two"}}));
  EXPECT_TRUE(remove(alice, 42).has_value());  // nothing to remove is fine
}

TEST_F(InMemoryLookupServiceTest, ValuesExpireOnTheInjectedTimers) {
  put(alice, {1, "short"}, 30s);
  put(alice, {2, "long"}, 5min);
  put(alice, {3, "capped"}, 2h);  // capped at the 10-minute maximum
  timers.advance(29s);
  EXPECT_EQ(get(bob)->size(), 3u);
  timers.advance(1s);
  EXPECT_EQ(*get(bob), (std::vector<StoredValue>{{2, "long"}, {3, "capped"}}));
  timers.advance(5min);
  EXPECT_EQ(*get(bob), (std::vector<StoredValue>{{3, "capped"}}));
  timers.advance(5min);
  EXPECT_TRUE(get(bob)->empty());
}

TEST_F(InMemoryLookupServiceTest, ARefreshRestartsTheLifetime) {
  put(alice, {1, "one"}, 1min);
  timers.advance(50s);
  put(alice, {1, "one"}, 1min);
  timers.advance(50s);
  EXPECT_EQ(get(bob)->size(), 1u);
  timers.advance(10s);
  EXPECT_TRUE(get(bob)->empty());
}

TEST_F(InMemoryLookupServiceTest, OversizeValuesFailAtOnce) {
  auto result = put(alice, {1, std::string(8 * 1024 + 1, 'x')});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::LimitExceeded);
  EXPECT_TRUE(get(bob)->empty());

  auto small = InMemoryLookupService::makeNetwork(timers, 4);
  InMemoryLookupService tiny(small, loop);
  EXPECT_FALSE(put(tiny, {1, "12345"}).has_value());
  EXPECT_TRUE(put(tiny, {1, "1234"}).has_value());
}

TEST_F(InMemoryLookupServiceTest, AListenFirstReportsWhatIsStored) {
  put(alice, {1, "one"});
  std::vector<Report> reports;
  const ListenToken token = listen(bob, reports);
  EXPECT_NE(token, 0u);
  EXPECT_TRUE(reports.empty()) << "never inside the call";
  loop.poll();
  EXPECT_EQ(reports, (std::vector<Report>{{{{1, "one"}}, false}}));
}

TEST_F(InMemoryLookupServiceTest, AListenSeesValuesAppearBeReplacedExpireAndGo) {
  std::vector<Report> reports;
  listen(bob, reports);
  loop.poll();
  EXPECT_TRUE(reports.empty());  // nothing stored: no call

  put(alice, {1, "one"}, 1min);
  put(alice, {2, "two"}, 10min);
  put(alice, {2, "two"}, 10min);  // a refresh is not news
  put(alice, {2, "deux"}, 10min);
  remove(alice, 2);
  timers.advance(1min);
  loop.poll();
  EXPECT_EQ(reports, (std::vector<Report>{{{{1, "one"}}, false},
                                          {{{2, "two"}}, false},
                                          {{{2, "deux"}}, false},
                                          {{{2, "deux"}}, true},
                                          {{{1, "one"}}, true}}));
}

TEST_F(InMemoryLookupServiceTest, ACancelledListenHearsNothingMore) {
  std::vector<Report> reports;
  const ListenToken token = listen(bob, reports);
  alice.put(kKey, {1, "one"}, 10min, nullptr);  // the report to bob is queued before the cancel
  bob.cancelListen(token);
  loop.poll();
  EXPECT_TRUE(reports.empty());
  EXPECT_EQ(bob.stats().listens, 0u);
}

TEST_F(InMemoryLookupServiceTest, AnUnreachableServiceFailsEveryOperation) {
  put(alice, {1, "one"});
  std::vector<Report> reports;
  listen(bob, reports);
  bob.setReachable(false);
  loop.poll();
  EXPECT_TRUE(reports.empty());

  auto putResult = put(bob, {2, "two"});
  ASSERT_FALSE(putResult.has_value());
  EXPECT_EQ(putResult.error().code, ErrorCode::Unavailable);
  auto getResult = get(bob);
  ASSERT_FALSE(getResult.has_value());
  EXPECT_EQ(getResult.error().code, ErrorCode::Unavailable);
  auto removeResult = remove(bob, 1);
  ASSERT_FALSE(removeResult.has_value());
  EXPECT_EQ(removeResult.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(bob.putCount(), 1u);      // counted even when it failed
  EXPECT_EQ(get(alice)->size(), 1u);  // the others are not affected

  bob.setReachable(true);
  EXPECT_EQ(get(bob)->size(), 1u);
}

TEST_F(InMemoryLookupServiceTest, NoCallbackRunsAfterTheServiceIsGone) {
  auto carol = std::make_unique<InMemoryLookupService>(network, loop);
  bool called = false;
  carol->get(kKey, [&](Result<std::vector<StoredValue>>) { called = true; });
  carol->listen(kKey, [&](const std::vector<StoredValue>&, bool) { called = true; });
  carol.reset();
  put(alice, {1, "one"});
  loop.poll();
  EXPECT_FALSE(called);
}

TEST_F(InMemoryLookupServiceTest, StatsCountPeersValuesListensAndPuts) {
  put(alice, {1, "one"});
  put(alice, {2, "two"});
  put(bob, {3, "three"});
  std::vector<Report> reports;
  listen(bob, reports);
  const LookupServiceStats stats = bob.stats();
  EXPECT_EQ(stats.nodes, 1u);
  EXPECT_EQ(stats.storedKeys, 1u);
  EXPECT_EQ(stats.storedValues, 3u);
  EXPECT_EQ(stats.listens, 1u);
  EXPECT_EQ(stats.puts, 1u);
  alice.setReachable(false);
  EXPECT_EQ(bob.stats().nodes, 0u);
}

}  // namespace
}  // namespace p2psip::dht::testing
