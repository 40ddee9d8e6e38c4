// SPDX-License-Identifier: Apache-2.0
// The peer directory: publishing our record, finding others', following changes.
#include "p2psip/overlay/peer_directory.h"

#include <gtest/gtest.h>

#include "p2psip/common/timer_queue.h"
#include "p2psip/dht/testing/in_memory_lookup_service.h"
#include "p2psip/net/event_loop.h"

namespace p2psip::overlay {
namespace {

using namespace std::chrono_literals;

struct Node {
  Node(net::EventLoop& loop, ManualTimerService& timers,
       std::shared_ptr<dht::testing::InMemoryLookupService::Network> network, WallClock wall)
      : id(*identity::NodeIdentity::generate(identity::KeyType::Ed25519)),
        dht(std::move(network), loop),
        directory(PeerDirectoryConfig{}, dht, id, timers, std::move(wall), metrics, Logger{}) {}
  identity::NodeIdentity id;
  MetricsRegistry metrics;
  dht::testing::InMemoryLookupService dht;
  PeerDirectory directory;
};

class PeerDirectoryTest : public ::testing::Test {
 protected:
  PeerDirectoryTest()
      : network(dht::testing::InMemoryLookupService::makeNetwork(timers)),
        a(loop, timers, network, [this] { return wall; }),
        b(loop, timers, network, [this] { return wall; }) {}

  void settle() {
    for (int i = 0; i < 100 && loop.poll() > 0;) ++i;
  }
  Result<PeerRecord> findAt(Node& n, const identity::NodeId& node) {
    std::optional<Result<PeerRecord>> out;
    n.directory.find(node, [&](Result<PeerRecord> r) { out = std::move(r); });
    settle();
    if (!out) {
      // A miss is asked once more after PeerDirectoryConfig::missRetry.
      timers.advance(PeerDirectoryConfig{}.missRetry);
      settle();
    }
    if (!out) return makeError(ErrorCode::Timeout, "no answer");
    return std::move(*out);
  }
  static std::vector<PeerEndpoint> at(const char* text) {
    return {PeerEndpoint{LinkTransport::Tls, *net::Endpoint::parse(text)}};
  }

  net::EventLoop loop;
  ManualTimerService timers;
  WallTime wall = WallTime{} + std::chrono::hours(24 * 365 * 56);
  std::shared_ptr<dht::testing::InMemoryLookupService::Network> network;
  Node a;
  Node b;
};

TEST_F(PeerDirectoryTest, APublishedPeerIsFoundWithItsEndpointsAndCertificate) {
  b.directory.publish(at("127.0.0.1:5072"), kCapabilityRelay);
  settle();
  auto found = findAt(a, b.id.nodeId());
  ASSERT_TRUE(found) << found.error().detail;
  EXPECT_EQ(found->linkEndpoint()->endpoint.toString(), "127.0.0.1:5072");
  EXPECT_EQ(found->certificateDer, b.id.certificateDer());
  EXPECT_EQ(found->capabilities, kCapabilityRelay);
  EXPECT_TRUE(b.directory.stats().published);
}

TEST_F(PeerDirectoryTest, APeerBehindANatIsFoundWithItsReachabilityAndRendezvous) {
  PeerPublication p;
  p.endpoints = at("10.0.0.5:5072");
  p.reachability = Reachability::Symmetric;
  p.reflexiveAddress = asio::ip::make_address("203.0.113.9");
  p.rendezvous = a.id.nodeId();
  ASSERT_TRUE(b.directory.publish(p));
  settle();
  auto found = findAt(a, b.id.nodeId());
  ASSERT_TRUE(found) << found.error().detail;
  EXPECT_EQ(found->reachability, Reachability::Symmetric);
  EXPECT_EQ(found->reflexiveAddress, asio::ip::make_address("203.0.113.9"));
  EXPECT_EQ(found->rendezvous, a.id.nodeId());
  EXPECT_EQ(found->protocolVersion, kPeerProtocolVersion);
}

TEST_F(PeerDirectoryTest, ARepublicationIsPutOnlyWhenSomethingChanged) {
  PeerPublication p;
  p.endpoints = at("10.0.0.5:5072");
  p.reachability = Reachability::RestrictedCone;
  ASSERT_TRUE(b.directory.publish(p));
  settle();
  const auto puts = b.dht.putCount();
  const auto sequence = b.directory.stats().sequence;
  ASSERT_TRUE(b.directory.publish(p));
  settle();
  EXPECT_EQ(b.dht.putCount(), puts);
  EXPECT_EQ(b.directory.stats().sequence, sequence);

  p.rendezvous = a.id.nodeId();  // lost our inbound reachability: go through a
  ASSERT_TRUE(b.directory.publish(p));
  settle();
  EXPECT_EQ(b.dht.putCount(), puts + 1);
  EXPECT_GT(b.directory.stats().sequence, sequence);
  auto found = findAt(a, b.id.nodeId());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->rendezvous, a.id.nodeId());
}

TEST_F(PeerDirectoryTest, APublicationNamingUsAsOurOwnRendezvousIsRefused) {
  ASSERT_TRUE(b.directory.publish(at("127.0.0.1:5072"), 0));
  settle();
  const auto puts = b.dht.putCount();
  PeerPublication p;
  p.endpoints = at("127.0.0.1:6072");
  p.rendezvous = b.id.nodeId();
  auto refused = b.directory.publish(p);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
  settle();
  EXPECT_EQ(b.dht.putCount(), puts);
  EXPECT_EQ(b.directory.self().linkEndpoint()->endpoint.toString(), "127.0.0.1:5072");
}

TEST_F(PeerDirectoryTest, AnUnknownPeerIsNotFound) {
  auto found = findAt(a, b.id.nodeId());
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, ErrorCode::NotFound);
}

TEST_F(PeerDirectoryTest, AMissIsAskedOnceMoreBeforeTheAnswerIsNotFound) {
  std::optional<Result<PeerRecord>> out;
  a.directory.find(b.id.nodeId(), [&](Result<PeerRecord> r) { out = std::move(r); });
  settle();
  EXPECT_FALSE(out) << "an empty get is not the answer yet";
  b.directory.publish(at("127.0.0.1:5072"), 0);  // lands on nodes the first search missed
  settle();
  timers.advance(PeerDirectoryConfig{}.missRetry);
  settle();
  ASSERT_TRUE(out);
  ASSERT_TRUE(*out);
  EXPECT_EQ((*out)->linkEndpoint()->endpoint.toString(), "127.0.0.1:5072");
}

TEST_F(PeerDirectoryTest, APeerThatMovesIsFollowedThroughTheListen) {
  b.directory.publish(at("127.0.0.1:5072"), 0);
  settle();
  ASSERT_TRUE(findAt(a, b.id.nodeId()));
  b.directory.publish(at("127.0.0.1:6072"), 0);  // restarted on another port
  settle();
  auto found = findAt(a, b.id.nodeId());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->linkEndpoint()->endpoint.toString(), "127.0.0.1:6072");
}

TEST_F(PeerDirectoryTest, WithdrawnPeersAreGoneAndTheCallbackRuns) {
  b.directory.publish(at("127.0.0.1:5072"), 0);
  settle();
  ASSERT_TRUE(findAt(a, b.id.nodeId()));
  bool done = false;
  b.directory.withdraw(2s, [&] { done = true; });
  settle();
  EXPECT_TRUE(done);
  EXPECT_FALSE(findAt(a, b.id.nodeId()));
}

TEST_F(PeerDirectoryTest, TheRecordIsRefreshedAndOutlivesTheDhtLifetime) {
  b.directory.publish(at("127.0.0.1:5072"), 0);
  settle();
  for (int i = 0; i < 6; ++i) {
    wall += 10min;  // the wall clock and the loop's clock move together
    timers.advance(10min);
    settle();
  }
  EXPECT_GE(b.dht.putCount(), 7u);
  EXPECT_TRUE(findAt(a, b.id.nodeId()));
}

TEST_F(PeerDirectoryTest, GarbageUnderAPeerKeyIsIgnoredAndCounted) {
  dht::testing::InMemoryLookupService mallory(network, loop);
  mallory.put(dht::LookupKey{dht::Namespace::Peer, b.id.nodeId().toHex()},
              dht::StoredValue{peerRecordValueId(b.id.nodeId()), "not a record"}, 10min,
              [](Result<void>) {});
  settle();
  EXPECT_FALSE(findAt(a, b.id.nodeId()));
  EXPECT_EQ(a.metrics.counter("p2psip_overlay_peer_records_refused_total").value(), 1u);
}

}  // namespace
}  // namespace p2psip::overlay
