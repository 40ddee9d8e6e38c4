// SPDX-License-Identifier: Apache-2.0
// OpenDhtLookupService against real OpenDHT nodes in this process, on loopback only, with ports
// picked by the system. Waits are generous bounds ("eventually"), never timing assertions.
#include "p2psip/dht/open_dht_lookup_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>

#include <asio/ip/udp.hpp>

#include "p2psip/net/event_loop.h"

namespace p2psip::dht {
namespace {

using namespace std::chrono_literals;

// A bootstrap node that OpenDHT keeps pinging while it never answers holds queued operations for
// about nine seconds per attempt; waits that may hit that get this bound.
constexpr Duration kWait = 10s;
constexpr Duration kSlowWait = 30s;

struct Report {
  std::vector<StoredValue> values;
  bool expired;
  friend bool operator==(const Report&, const Report&) = default;
};

struct Node {
  Node(const DhtConfig& config, net::EventLoop& loop) : service(config, loop, metrics, Logger{}) {}
  std::int64_t counter(std::string_view name) const {
    for (const auto& [metric, value] : metrics.snapshot()) {
      if (metric == name) return value;
    }
    return -1;
  }

  MetricsRegistry metrics;
  OpenDhtLookupService service;
};

class OpenDhtLookupServiceTest : public ::testing::Test {
 protected:
  static DhtConfig configFor(std::vector<std::string> bootstrap, std::string network = "test") {
    DhtConfig config;
    config.port = 0;
    config.bindAddress = "127.0.0.1";
    config.bootstrap = std::move(bootstrap);
    config.network = std::move(network);
    return config;
  }
  std::unique_ptr<Node> startNode(const DhtConfig& config) {
    auto node = std::make_unique<Node>(config, loop);
    auto started = node->service.start();
    EXPECT_TRUE(started.has_value()) << started.error().detail;
    EXPECT_NE(node->service.boundPort(), 0);
    return node;
  }
  static std::string bootstrapTo(const Node& node) {
    return "127.0.0.1:" + std::to_string(node.service.boundPort());
  }
  // node1, and node2 bootstrapped to it, both knowing the other.
  void startPair() {
    node1 = startNode(configFor({}));
    node2 = startNode(configFor({bootstrapTo(*node1)}));
    ASSERT_TRUE(loop.runUntil(
        [&] { return node1->service.stats().connected && node2->service.stats().connected; },
        kWait));
  }

  Result<void> put(Node& node, StoredValue value, Duration lifetime = 10min,
                   Duration wait = kWait) {
    std::optional<Result<void>> result;
    node.service.put(kKey, std::move(value), lifetime,
                     [&](Result<void> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value()) << "callbacks are never called inside the call";
    loop.runUntil([&] { return result.has_value(); }, wait);
    return result.value_or(makeError(ErrorCode::Timeout, "no answer"));
  }
  Result<void> remove(Node& node, std::uint64_t id) {
    std::optional<Result<void>> result;
    node.service.remove(kKey, id, [&](Result<void> r) { result = std::move(r); });
    loop.runUntil([&] { return result.has_value(); }, kWait);
    return result.value_or(makeError(ErrorCode::Timeout, "no answer"));
  }
  Result<std::vector<StoredValue>> get(Node& node, Duration wait = kWait) {
    std::optional<Result<std::vector<StoredValue>>> result;
    node.service.get(kKey, [&](Result<std::vector<StoredValue>> r) { result = std::move(r); });
    EXPECT_FALSE(result.has_value());
    loop.runUntil([&] { return result.has_value(); }, wait);
    return result.value_or(makeError(ErrorCode::Timeout, "no answer"));
  }
  // Asks again, for a bounded while, until a get answers `expected`.
  bool eventuallyGets(Node& node, const std::vector<StoredValue>& expected) {
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto values = get(node);
      if (values && *values == expected) return true;
      loop.runFor(100ms);
    }
    return false;
  }
  ListenToken listen(Node& node, std::vector<Report>& reports) {
    return node.service.listen(kKey,
                               [&reports](const std::vector<StoredValue>& values, bool expired) {
                                 reports.push_back({values, expired});
                               });
  }
  // Some report of the expected kind (appeared / went away) carries every expected value. How
  // values are batched into reports is OpenDHT's business (with replica keys, several replicas
  // may answer with two values in one batch), so a report may carry more.
  bool waitFor(const std::vector<Report>& reports, const Report& expected) {
    return loop.runUntil(
        [&] {
          return std::any_of(reports.begin(), reports.end(), [&](const Report& r) {
            return r.expired == expected.expired &&
                   std::all_of(
                       expected.values.begin(), expected.values.end(), [&](const StoredValue& v) {
                         return std::find(r.values.begin(), r.values.end(), v) != r.values.end();
                       });
          });
        },
        kWait);
  }

  const LookupKey kKey{Namespace::User, "sip:bob@p2p.test"};
  net::EventLoop loop;
  std::unique_ptr<Node> node1;
  std::unique_ptr<Node> node2;
};

TEST_F(OpenDhtLookupServiceTest, APutOnOneNodeIsFoundFromAnother) {
  startPair();
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  auto values = get(*node2);
  ASSERT_TRUE(values.has_value()) << values.error().detail;
  EXPECT_EQ(*values, (std::vector<StoredValue>{{1, "one"}}));
  EXPECT_EQ(node1->counter("p2psip_dht_puts_total"), 1);
  EXPECT_EQ(node2->counter("p2psip_dht_gets_total"), 1);
  EXPECT_EQ(node1->service.stats().puts, 1u);
  EXPECT_GE(node2->service.stats().storedValues, 1u);  // node2 stores node1's value
}

TEST_F(OpenDhtLookupServiceTest, APutWithTheSameIdReplacesTheValue) {
  startPair();
  std::vector<Report> reports;
  listen(*node2, reports);
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  ASSERT_TRUE(put(*node1, {2, "two"}).has_value());
  ASSERT_TRUE(waitFor(reports, {{{1, "one"}}, false}));
  ASSERT_TRUE(put(*node1, {1, "uno"}).has_value());
  EXPECT_TRUE(waitFor(reports, {{{1, "uno"}}, false}));
  EXPECT_EQ(*get(*node2), (std::vector<StoredValue>{{1, "uno"}, {2, "two"}}));
  EXPECT_EQ(*get(*node1), (std::vector<StoredValue>{{1, "uno"}, {2, "two"}}));
  for (const Report& r : reports) EXPECT_FALSE(r.expired) << "a replacement is not an expiry";
  EXPECT_EQ(node1->service.stats().puts, 2u);
}

TEST_F(OpenDhtLookupServiceTest, ARemovedValueGoesAtOnceForReadersAndListeners) {
  startPair();
  std::vector<Report> reports;
  listen(*node2, reports);
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  ASSERT_TRUE(put(*node1, {2, "two"}).has_value());
  ASSERT_TRUE(waitFor(reports, {{{1, "one"}}, false}));

  ASSERT_TRUE(remove(*node1, 1).has_value());
  EXPECT_TRUE(waitFor(reports, {{{1, "one"}}, true}));
  EXPECT_EQ(*get(*node2), (std::vector<StoredValue>{{2, "two"}}));
  EXPECT_EQ(*get(*node1), (std::vector<StoredValue>{{2, "two"}}));
  EXPECT_EQ(node1->service.stats().puts, 1u);

  // Put again after the remove: it comes back.
  ASSERT_TRUE(put(*node1, {1, "again"}).has_value());
  EXPECT_TRUE(waitFor(reports, {{{1, "again"}}, false}));
  EXPECT_EQ(get(*node2)->size(), 2u);
}

TEST_F(OpenDhtLookupServiceTest, AListenFirstReportsWhatIsStoredAndStopsWhenCancelled) {
  startPair();
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  std::vector<Report> reports;
  const ListenToken token = listen(*node2, reports);
  EXPECT_NE(token, 0u);
  EXPECT_TRUE(reports.empty()) << "never inside the call";
  ASSERT_TRUE(waitFor(reports, {{{1, "one"}}, false}));
  EXPECT_EQ(node2->service.stats().listens, 1u);

  node2->service.cancelListen(token);
  EXPECT_EQ(node2->service.stats().listens, 0u);
  const std::size_t before = reports.size();
  ASSERT_TRUE(put(*node1, {2, "two"}).has_value());
  ASSERT_TRUE(get(*node2).has_value());
  loop.runFor(200ms);
  EXPECT_EQ(reports.size(), before);
}

TEST_F(OpenDhtLookupServiceTest, OversizeValuesAreRefusedOnPutAndOnReceive) {
  DhtConfig big = configFor({});
  big.maxValueBytes = 16 * 1024;
  node1 = startNode(big);
  node2 = startNode(configFor({bootstrapTo(*node1)}));  // the default 8 KiB
  ASSERT_TRUE(loop.runUntil(
      [&] { return node1->service.stats().connected && node2->service.stats().connected; }, kWait));

  auto tooBig = put(*node2, {1, std::string(8 * 1024 + 1, 'x')});
  ASSERT_FALSE(tooBig.has_value());
  EXPECT_EQ(tooBig.error().code, ErrorCode::LimitExceeded);
  EXPECT_EQ(node2->counter("p2psip_dht_failures_total"), 1);

  // node1 may send 10 KiB; node2 neither stores nor returns it, and counts what it refused.
  put(*node1, {2, std::string(10 * 1024, 'y')});
  ASSERT_TRUE(put(*node1, {3, "small"}).has_value());
  auto values = get(*node2);
  ASSERT_TRUE(values.has_value()) << values.error().detail;
  EXPECT_EQ(*values, (std::vector<StoredValue>{{3, "small"}}));
  EXPECT_GE(node2->counter("p2psip_dht_values_refused_total"), 1);
  EXPECT_EQ(get(*node1)->size(), 2u);
}

TEST_F(OpenDhtLookupServiceTest, OverlaysWithDifferentNetworkNamesDoNotMix) {
  // node1 is given a node of another overlay to bootstrap from, besides its own overlay's node2.
  auto stranger = startNode(configFor({}, "another overlay"));
  node1 = startNode(configFor({bootstrapTo(*stranger)}));
  node2 = startNode(configFor({bootstrapTo(*node1)}));
  ASSERT_TRUE(loop.runUntil(
      [&] { return node1->service.stats().connected && node2->service.stats().connected; }, kWait));
  ASSERT_TRUE(put(*node1, {1, "ours"}).has_value());
  ASSERT_TRUE(put(*stranger, {2, "theirs"}).has_value());  // alone: stored on itself

  EXPECT_EQ(*get(*node2), (std::vector<StoredValue>{{1, "ours"}}));
  EXPECT_EQ(*get(*stranger), (std::vector<StoredValue>{{2, "theirs"}}));
  EXPECT_EQ(stranger->service.stats().nodes, 0u);
  EXPECT_EQ(node1->service.stats().nodes, 1u);
}

TEST_F(OpenDhtLookupServiceTest, ANodeAloneStoresAndFindsItsOwnValues) {
  node1 = startNode(configFor({}));
  std::vector<Report> reports;
  listen(*node1, reports);
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  EXPECT_EQ(*get(*node1), (std::vector<StoredValue>{{1, "one"}}));
  EXPECT_TRUE(waitFor(reports, {{{1, "one"}}, false}));
  ASSERT_TRUE(remove(*node1, 1).has_value());
  EXPECT_TRUE(waitFor(reports, {{{1, "one"}}, true}));
  EXPECT_TRUE(get(*node1)->empty());
  EXPECT_EQ(node1->service.stats().nodes, 0u);
}

TEST_F(OpenDhtLookupServiceTest, ANodeAloneHoldsItsValuesItselfAndAnnouncesThemOnJoining) {
  node1 = startNode(configFor({}));
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  ASSERT_TRUE(put(*node1, {2, "two"}).has_value());
  ASSERT_TRUE(put(*node1, {1, "uno"}).has_value());
  ASSERT_TRUE(remove(*node1, 2).has_value());
  const LookupServiceStats alone = node1->service.stats();
  EXPECT_EQ(alone.puts, 1u);
  EXPECT_EQ(alone.heldValues, 1u);
  EXPECT_EQ(alone.storedValues, 0u) << "nothing was handed to OpenDHT while alone";
  std::vector<Report> reports;
  listen(*node1, reports);
  EXPECT_TRUE(waitFor(reports, {{{1, "uno"}}, false}));
  EXPECT_EQ(*get(*node1), (std::vector<StoredValue>{{1, "uno"}}));

  // A second node joins: node1 announces what it held, and only that (2 was removed meanwhile).
  node2 = startNode(configFor({bootstrapTo(*node1)}));
  EXPECT_TRUE(eventuallyGets(*node2, {{1, "uno"}}));
  EXPECT_EQ(node1->service.stats().heldValues, 0u);
  EXPECT_GE(node1->counter("p2psip_dht_values_reannounced_total"), 1);
  // Announced now: a removal reaches the other node too.
  ASSERT_TRUE(remove(*node1, 1).has_value());
  EXPECT_TRUE(eventuallyGets(*node2, {}));
}

TEST_F(OpenDhtLookupServiceTest, ADeadBootstrapNodeLeavesTheNodeWorkingAlone) {
  // Bound but never read: pings to it go unanswered.
  asio::ip::udp::socket silent(loop.context(), {asio::ip::make_address("127.0.0.1"), 0});
  DhtConfig config = configFor({"127.0.0.1:" + std::to_string(silent.local_endpoint().port())});
  config.bootstrapRetry = 1s;
  node1 = startNode(config);
  // OpenDHT holds the operations while it waits for the silent node, then runs them alone.
  ASSERT_TRUE(put(*node1, {1, "one"}, 10min, kSlowWait).has_value());
  auto values = get(*node1, kSlowWait);
  ASSERT_TRUE(values.has_value()) << values.error().detail;
  EXPECT_EQ(*values, (std::vector<StoredValue>{{1, "one"}}));
  EXPECT_EQ(node1->service.stats().nodes, 0u);
}

TEST_F(OpenDhtLookupServiceTest, NoCallbackRunsAfterTheServiceIsDestroyed) {
  startPair();
  ASSERT_TRUE(put(*node1, {1, "one"}).has_value());
  bool called = false;
  node2->service.get(kKey, [&](Result<std::vector<StoredValue>>) { called = true; });
  node2->service.put(kKey, {2, "two"}, 1min, [&](Result<void>) { called = true; });
  node2->service.listen(kKey, [&](const std::vector<StoredValue>&, bool) { called = true; });
  node2.reset();
  loop.runFor(500ms);
  EXPECT_FALSE(called);
}

TEST_F(OpenDhtLookupServiceTest, StopFailsWhatIsPendingAndLaterOperations) {
  startPair();
  std::optional<Result<std::vector<StoredValue>>> pending;
  node2->service.get(kKey, [&](Result<std::vector<StoredValue>> r) { pending = std::move(r); });
  node2->service.stop();
  node2->service.stop();  // twice is fine
  ASSERT_TRUE(loop.runUntil([&] { return pending.has_value(); }, kWait));
  // Either OpenDHT answered before the stop, or the stop failed it.
  if (!pending->has_value()) {
    EXPECT_EQ(pending->error().code, ErrorCode::Unavailable);
  }

  auto later = put(*node2, {1, "one"});
  ASSERT_FALSE(later.has_value());
  EXPECT_EQ(later.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(node2->service.boundPort(), 0);
}

TEST_F(OpenDhtLookupServiceTest, StartFailsWhenThePortIsTaken) {
  node1 = startNode(configFor({}));
  DhtConfig clash = configFor({});
  clash.port = node1->service.boundPort();
  Node node(clash, loop);
  auto started = node.service.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, ErrorCode::TransportError);
  EXPECT_NE(started.error().detail.find(std::to_string(clash.port)), std::string::npos);
}

TEST_F(OpenDhtLookupServiceTest, StartRefusesAnInvalidConfig) {
  Node node(configFor({"dht.example.org:4222"}), loop);
  auto started = node.service.start();
  ASSERT_FALSE(started.has_value());
  EXPECT_EQ(started.error().code, ErrorCode::InvalidArgument);
}

}  // namespace
}  // namespace p2psip::dht
