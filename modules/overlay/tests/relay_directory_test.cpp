// SPDX-License-Identifier: Apache-2.0
// The relay directory: offering relaying, finding relays without knowing their ids, refusing
// forged and stale offers, keeping capacity current without flooding the DHT.
#include "p2psip/overlay/relay_directory.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "p2psip/common/timer_queue.h"
#include "p2psip/dht/testing/in_memory_lookup_service.h"
#include "p2psip/identity/signed_envelope.h"
#include "p2psip/net/event_loop.h"

namespace p2psip::overlay {
namespace {

using namespace std::chrono_literals;

identity::NodeIdentity makeIdentity() {
  auto id = identity::NodeIdentity::generate(identity::KeyType::Ed25519);
  EXPECT_TRUE(id);
  return std::move(*id);
}

// An identity whose relay bucket is none of `taken`, so tests can place relays in distinct
// buckets.
identity::NodeIdentity identityOutside(std::set<std::size_t>& taken) {
  for (;;) {
    auto id = makeIdentity();
    if (taken.insert(relayBucketOf(id.nodeId())).second) return id;
  }
}

struct Node {
  Node(net::EventLoop& loop, ManualTimerService& timers,
       std::shared_ptr<dht::testing::InMemoryLookupService::Network> network, WallClock wall,
       identity::NodeIdentity identity, const RelayDirectoryConfig& config = {})
      : id(std::move(identity)),
        dht(std::move(network), loop),
        directory(config, dht, id, timers, std::move(wall), metrics, Logger{}) {}
  std::uint64_t counter(std::string_view name) { return metrics.counter(name).value(); }

  identity::NodeIdentity id;
  MetricsRegistry metrics;
  dht::testing::InMemoryLookupService dht;
  RelayDirectory directory;
};

class RelayDirectoryTest : public ::testing::Test {
 protected:
  RelayDirectoryTest() : network(dht::testing::InMemoryLookupService::makeNetwork(timers)) {}

  std::unique_ptr<Node> node(const RelayDirectoryConfig& config = {}) {
    return std::make_unique<Node>(
        loop, timers, network, [this] { return wall; }, identityOutside(buckets), config);
  }
  void settle() {
    for (int i = 0; i < 100 && loop.poll() > 0;) ++i;
  }
  Result<std::vector<RelayRecord>> findAt(Node& n, std::size_t wanted,
                                          std::optional<identity::NodeId> excluding = {}) {
    std::optional<Result<std::vector<RelayRecord>>> out;
    n.directory.findRelays(wanted, excluding.value_or(n.id.nodeId()),
                           [&](Result<std::vector<RelayRecord>> r) { out = std::move(r); });
    settle();
    if (!out) return makeError(ErrorCode::Timeout, "no answer");
    return std::move(*out);
  }
  static RelayOffer offer(const char* link, const char* media, std::uint32_t capacity) {
    return RelayOffer{*net::Endpoint::parse(link), asio::ip::make_address(media), capacity};
  }
  std::int64_t wallSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count();
  }
  // Moves both clocks: the DHT's lifetimes and timers follow `timers`, records' expiry `wall`.
  void advance(Duration d) {
    wall += d;
    timers.advance(d);
    settle();
  }

  net::EventLoop loop;
  ManualTimerService timers;
  WallTime wall = WallTime{} + std::chrono::hours(24 * 365 * 56);
  std::shared_ptr<dht::testing::InMemoryLookupService::Network> network;
  std::set<std::size_t> buckets;  // taken by the nodes made so far
};

TEST_F(RelayDirectoryTest, APublishedRelayIsFoundWithItsOffer) {
  auto relay = node();
  auto caller = node();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  EXPECT_TRUE(relay->directory.stats().published);
  auto found = findAt(*caller, 1);
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_EQ(found->size(), 1u);
  const RelayRecord& r = found->front();
  EXPECT_EQ(r.node, relay->id.nodeId());
  EXPECT_EQ(r.peerLink.toString(), "198.18.0.2:5071");
  EXPECT_EQ(r.mediaAddress, asio::ip::make_address("203.0.113.2"));
  EXPECT_EQ(r.capacity, 40u);
  EXPECT_FALSE(r.expired(wall));
  EXPECT_LE(caller->counter("p2psip_overlay_relay_bucket_gets_total"), kRelayBuckets);
}

TEST_F(RelayDirectoryTest, TheCallerDoesNotFindItself) {
  auto relay = node();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  auto found = findAt(*relay, 1);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::NotFound);
  // Every bucket was asked before giving up.
  EXPECT_EQ(relay->counter("p2psip_overlay_relay_bucket_gets_total"), kRelayBuckets);
  EXPECT_EQ(relay->counter("p2psip_overlay_relay_records_refused_total"), 0u);
}

TEST_F(RelayDirectoryTest, RelaysInSeveralBucketsComeLargestCapacityFirst) {
  auto small = node();
  auto large = node();
  auto medium = node();
  auto full = node();
  auto caller = node();
  ASSERT_TRUE(small->directory.publish(offer("198.18.0.1:5071", "203.0.113.1", 5)));
  ASSERT_TRUE(large->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 500)));
  ASSERT_TRUE(medium->directory.publish(offer("198.18.0.3:5071", "203.0.113.3", 50)));
  ASSERT_TRUE(full->directory.publish(offer("198.18.0.4:5071", "203.0.113.4", 0)));
  settle();
  auto found = findAt(*caller, 10);
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_EQ(found->size(), 3u);  // the full one is no offer
  EXPECT_EQ((*found)[0].node, large->id.nodeId());
  EXPECT_EQ((*found)[1].node, medium->id.nodeId());
  EXPECT_EQ((*found)[2].node, small->id.nodeId());

  // Two wanted: the search stops as soon as two are found (so before the last bucket, wherever
  // it starts: three of the eight hold a relay), and answers no more than two.
  const auto before = caller->counter("p2psip_overlay_relay_bucket_gets_total");
  auto two = findAt(*caller, 2);
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_GE((*two)[0].capacity, (*two)[1].capacity);
  EXPECT_LT(caller->counter("p2psip_overlay_relay_bucket_gets_total") - before, kRelayBuckets);
}

TEST_F(RelayDirectoryTest, ForgedRecordsAreRefusedAndCounted) {
  auto relay = node();
  auto caller = node();
  auto mallory = makeIdentity();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  dht::testing::InMemoryLookupService writer(network, loop);
  const auto key = relayBucketKey(relayBucketOf(relay->id.nodeId()));
  // Garbage, and the relay's genuine body re-signed by mallory, beside the genuine record.
  writer.put(key, dht::StoredValue{42, "not a record"}, 10min, [](Result<void>) {});
  auto body = identity::decodeEnvelope(*sealRelayRecord(relay->id, relay->directory.self()))->body;
  writer.put(key, dht::StoredValue{43, *identity::seal(mallory, identity::RecordKind::Relay, body)},
             10min, [](Result<void>) {});
  // The genuine record copied into another bucket.
  const auto other = relayBucketKey(relayBucketOf(relay->id.nodeId()) + 1);
  writer.put(other,
             dht::StoredValue{relayRecordValueId(relay->id.nodeId()),
                              *sealRelayRecord(relay->id, relay->directory.self())},
             10min, [](Result<void>) {});
  settle();
  auto found = findAt(*caller, 5);
  ASSERT_TRUE(found) << found.error().detail;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().node, relay->id.nodeId());
  EXPECT_EQ(caller->counter("p2psip_overlay_relay_records_refused_total"), 3u);
}

TEST_F(RelayDirectoryTest, AnExpiredRecordPutAgainIsRefused) {
  auto caller = node();
  auto relay = makeIdentity();
  RelayRecord stale;
  stale.node = relay.nodeId();
  stale.peerLink = *net::Endpoint::parse("198.18.0.2:5071");
  stale.mediaAddress = asio::ip::make_address("203.0.113.2");
  stale.capacity = 40;
  stale.expiresAt = wallSeconds() - 1;
  stale.sequence = 1;
  dht::testing::InMemoryLookupService writer(network, loop);
  writer.put(relayBucketKey(relayBucketOf(relay.nodeId())),
             dht::StoredValue{relayRecordValueId(relay.nodeId()), *sealRelayRecord(relay, stale)},
             10min, [](Result<void>) {});
  settle();
  auto found = findAt(*caller, 1);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::NotFound);
  EXPECT_EQ(caller->counter("p2psip_overlay_relay_records_refused_total"), 1u);
}

TEST_F(RelayDirectoryTest, CapacityUpdatesAreRateLimitedExceptAtZero) {
  auto relay = node();
  auto caller = node();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  const auto puts = relay->dht.putCount();
  advance(5s);
  relay->directory.updateCapacity(39);
  relay->directory.updateCapacity(38);
  settle();
  EXPECT_EQ(relay->dht.putCount(), puts);  // within 30 s of the last put
  EXPECT_EQ(findAt(*caller, 1)->front().capacity, 40u);
  advance(25s);  // 30 s after the last put: the latest value goes out, once
  EXPECT_EQ(relay->dht.putCount(), puts + 1);
  EXPECT_EQ(findAt(*caller, 1)->front().capacity, 38u);

  relay->directory.updateCapacity(0);  // full: at once, so callers stop asking
  settle();
  EXPECT_EQ(relay->dht.putCount(), puts + 2);
  EXPECT_EQ(findAt(*caller, 1).error().code, ErrorCode::NotFound);
  relay->directory.updateCapacity(3);  // free again: at once too
  settle();
  EXPECT_EQ(relay->dht.putCount(), puts + 3);
  EXPECT_EQ(findAt(*caller, 1)->front().capacity, 3u);
  relay->directory.updateCapacity(2);
  relay->directory.updateCapacity(3);  // back to what is published: nothing to send
  advance(30s);
  EXPECT_EQ(relay->dht.putCount(), puts + 3);
  EXPECT_EQ(relay->directory.stats().publishedCapacity, 3u);
}

TEST_F(RelayDirectoryTest, AnAddressChangeIsPublishedAtOnceWithAHigherSequence) {
  auto relay = node();
  auto caller = node();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  const auto sequence = relay->directory.stats().sequence;
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));  // same
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.9", 40)));
  settle();
  EXPECT_GT(relay->directory.stats().sequence, sequence);
  EXPECT_EQ(findAt(*caller, 1)->front().mediaAddress, asio::ip::make_address("203.0.113.9"));
  EXPECT_FALSE(relay->directory.publish(offer("198.18.0.2:0", "203.0.113.9", 40)));
  EXPECT_EQ(relay->directory.self().peerLink.port, 5071);
}

TEST_F(RelayDirectoryTest, TheRecordIsRefreshedAndOutlivesTheDhtLifetime) {
  auto relay = node();
  auto caller = node();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  for (int i = 0; i < 6; ++i) advance(10min);
  EXPECT_GE(relay->dht.putCount(), 7u);
  EXPECT_TRUE(findAt(*caller, 1));
}

TEST_F(RelayDirectoryTest, AWithdrawnRelayIsGoneAndTheCallbackRuns) {
  auto relay = node();
  auto caller = node();
  ASSERT_TRUE(relay->directory.publish(offer("198.18.0.2:5071", "203.0.113.2", 40)));
  settle();
  ASSERT_TRUE(findAt(*caller, 1));
  bool done = false;
  relay->directory.withdraw(2s, [&] { done = true; });
  settle();
  EXPECT_TRUE(done);
  EXPECT_FALSE(relay->directory.stats().offering);
  EXPECT_FALSE(findAt(*caller, 1));
  const auto puts = relay->dht.putCount();
  relay->directory.updateCapacity(10);  // remembered, not published
  advance(10min);
  EXPECT_EQ(relay->dht.putCount(), puts);
}

TEST_F(RelayDirectoryTest, AnUnreachableDhtIsReportedAsSuch) {
  auto caller = node();
  caller->dht.setReachable(false);
  auto found = findAt(*caller, 1);
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(caller->counter("p2psip_overlay_relay_bucket_gets_failed_total"), kRelayBuckets);
}

TEST_F(RelayDirectoryTest, AFindIsBoundedInWorkAndInTime) {
  RelayDirectoryConfig config;
  config.maxValuesPerBucket = 2;
  config.maxPendingFinds = 1;
  auto caller = node(config);
  dht::testing::InMemoryLookupService writer(network, loop);
  for (std::size_t b = 0; b < kRelayBuckets; ++b) {
    for (std::uint64_t v = 1; v <= 5; ++v) {
      writer.put(relayBucketKey(b), dht::StoredValue{v, "junk"}, 10min, [](Result<void>) {});
    }
  }
  settle();
  EXPECT_FALSE(findAt(*caller, 1));
  EXPECT_EQ(caller->counter("p2psip_overlay_relay_records_refused_total"), 2 * kRelayBuckets);

  // One find at a time: a second is refused at once.
  std::optional<Result<std::vector<RelayRecord>>> first;
  std::optional<Result<std::vector<RelayRecord>>> second;
  caller->directory.findRelays(1, caller->id.nodeId(), [&](auto r) { first = std::move(r); });
  caller->directory.findRelays(1, caller->id.nodeId(), [&](auto r) { second = std::move(r); });
  ASSERT_TRUE(second);
  EXPECT_EQ(second->error().code, ErrorCode::LimitExceeded);
  EXPECT_FALSE(first);
  // Answers that do not come (the loop is not run): the whole find ends at findTimeout.
  timers.advance(config.findTimeout);
  ASSERT_TRUE(first);
  EXPECT_FALSE(*first);
  EXPECT_EQ(caller->directory.stats().pendingFinds, 0u);
}

}  // namespace
}  // namespace p2psip::overlay
