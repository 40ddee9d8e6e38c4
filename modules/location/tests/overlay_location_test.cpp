// SPDX-License-Identifier: Apache-2.0
// Publishing user records and finding users through them: several peers on one in-memory overlay.
#include <gtest/gtest.h>

#include <set>

#include "overlay_test_support.h"
#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/location/user_record.h"
#include "p2psip/location/user_record_publisher.h"

namespace p2psip::location {
namespace {

using namespace std::chrono_literals;
using testing::endpoint;
using testing::makeIdentity;

// One peer: identity, bindings, its view of the DHT, publisher and location service.
struct Peer {
  Peer(net::EventLoop& loop, ManualTimerService& timers,
       std::shared_ptr<dht::testing::InMemoryLookupService::Network> network,
       testing::TestWallClock& wall, testing::TablePeerResolver& resolver,
       const UserRecordPublisherConfig& publishing = {})
      : id(makeIdentity()),
        store(BindingStoreConfig{}, timers),
        dht(std::move(network), loop),
        signer(id),
        publisher(publishing, store, dht, id, signer, timers, wall.clock(), metrics, Logger{}),
        location(OverlayLocationConfig{}, store, nullptr, dht, resolver, id.nodeId(), timers,
                 wall.clock(), metrics, Logger{}) {}

  void registerUser(const std::string& aor, const std::string& contact, TimePoint expires) {
    ContactBinding b;
    b.aor = aor;
    b.contactUri = contact;
    b.expires = expires;
    b.flow.remote = endpoint("127.0.0.1:6000");
    ASSERT_TRUE(store.upsert(b));
  }
  std::uint64_t counter(std::string_view name) { return metrics.counter(name).value(); }

  identity::NodeIdentity id;
  MetricsRegistry metrics;
  BindingStore store;
  dht::testing::InMemoryLookupService dht;
  identity::InlineRecordSigner signer;
  UserRecordPublisher publisher;
  OverlayLocationService location;
};

class OverlayLocation : public ::testing::Test {
 protected:
  OverlayLocation()
      : network(dht::testing::InMemoryLookupService::makeNetwork(timers)),
        alice(loop, timers, network, wall, resolver),
        bob(loop, timers, network, wall, resolver),
        carol(loop, timers, network, wall, resolver) {
    resolver.peers[bob.id.nodeId()] = endpoint("127.0.0.1:5072");
    resolver.peers[carol.id.nodeId()] = endpoint("127.0.0.1:5073");
  }

  // Runs posted DHT callbacks until nothing is left.
  void settle() {
    for (int i = 0; i < 100 && loop.poll() > 0;) ++i;
  }

  Result<LookupResult> lookupAt(Peer& peer, const std::string& aor,
                                LookupScope scope = LookupScope::Everywhere) {
    std::optional<Result<LookupResult>> answer;
    peer.location.lookup(aor, scope, [&](Result<LookupResult> r) { answer = std::move(r); });
    settle();
    if (!answer) {
      // A miss is asked once more after OverlayLocationConfig::missRetry.
      timers.advance(OverlayLocationConfig{}.missRetry);
      settle();
    }
    if (!answer) return makeError(ErrorCode::Timeout, "no answer");
    return std::move(*answer);
  }

  TimePoint in(Duration d) { return timers.now() + d; }

  net::EventLoop loop;
  ManualTimerService timers;
  testing::TestWallClock wall;
  testing::TablePeerResolver resolver;
  std::shared_ptr<dht::testing::InMemoryLookupService::Network> network;
  Peer alice;
  Peer bob;
  Peer carol;
};

const std::string kBob = "sip:bob@p2p.test";

TEST_F(OverlayLocation, AUserOnAnotherPeerIsFoundThroughItsRecord) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result) << result.error().detail;
  ASSERT_EQ(result->bindings.size(), 1u);
  const ContactBinding& target = result->bindings[0];
  EXPECT_EQ(target.peerNode, bob.id.nodeId().toHex());
  EXPECT_EQ(target.flow.remote, endpoint("127.0.0.1:5072"));
  EXPECT_EQ(target.contactUri, kBob);
  EXPECT_EQ(alice.counter("p2psip_overlay_lookups_found_total"), 1u);
  EXPECT_TRUE(target.peerNat.empty()) << "a peer whose record names no NAT class";
}

TEST_F(OverlayLocation, TheTargetCarriesWhatTheServingPeersRecordSaysOfItsNat) {
  resolver.nats[bob.id.nodeId()] = "symmetric";
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result && result->bindings.size() == 1u);
  EXPECT_EQ(result->bindings[0].peerNat, "symmetric");
}

TEST_F(OverlayLocation, AUserOnThisPeerNeedsNoDhtRoundTrip) {
  alice.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  alice.dht.setReachable(false);  // any DHT use would now fail
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->bindings.size(), 1u);
  EXPECT_TRUE(result->bindings[0].peerNode.empty());
  EXPECT_EQ(result->bindings[0].contactUri, "sip:bob@127.0.0.1:6002");
  EXPECT_EQ(alice.counter("p2psip_overlay_dht_gets_total"), 0u);
}

TEST_F(OverlayLocation, NobodyRegisteredAnywhereIsNotFound) {
  auto result = lookupAt(alice, "sip:nobody@p2p.test");
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->bindings.empty());
  EXPECT_FALSE(result->knownUser);  // the proxy answers 404
}

TEST_F(OverlayLocation, ARequestFromAPeerLinkIsNeverLookedUpInTheOverlay) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  auto result = lookupAt(alice, kBob, LookupScope::ThisPeer);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->bindings.empty());
  EXPECT_EQ(alice.counter("p2psip_overlay_dht_gets_total"), 0u);
}

TEST_F(OverlayLocation, AUserRegisteredAtTwoPeersForksToBoth) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  carol.registerUser(kBob, "sip:bob@127.0.0.1:6003", in(3600s));
  settle();
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->bindings.size(), 2u);
  std::set<std::string> peers{result->bindings[0].peerNode, result->bindings[1].peerNode};
  EXPECT_EQ(peers, (std::set<std::string>{bob.id.nodeId().toHex(), carol.id.nodeId().toHex()}));
}

TEST_F(OverlayLocation, ARecordWhosePeerCannotBeResolvedMeansTemporarilyUnavailable) {
  resolver.peers.erase(bob.id.nodeId());
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->bindings.empty());
  EXPECT_TRUE(result->knownUser);  // registered somewhere: 480, not 404
}

TEST_F(OverlayLocation, UnregisteringWithdrawsTheRecordAndOthersSeeItGoAtOnce) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  ASSERT_EQ(lookupAt(alice, kBob)->bindings.size(), 1u);  // cached, with a listen
  ASSERT_TRUE(bob.store.remove(kBob, "sip:bob@127.0.0.1:6002"));
  settle();
  EXPECT_EQ(bob.publisher.size(), 0u);
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->bindings.empty());
  EXPECT_FALSE(result->knownUser);
}

TEST_F(OverlayLocation, BindingExpiryWithdrawsTheRecord) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(30s));
  settle();
  ASSERT_EQ(lookupAt(alice, kBob)->bindings.size(), 1u);
  timers.advance(40s);  // the binding expires and the store's purge runs
  settle();
  EXPECT_EQ(bob.counter("p2psip_overlay_user_records_withdrawn_total"), 1u);
  EXPECT_TRUE(lookupAt(alice, kBob)->bindings.empty());
}

TEST_F(OverlayLocation, AUserWhoRegistersElsewhereIsReachableAtOnceDespiteAnEarlierMiss) {
  ASSERT_TRUE(lookupAt(alice, kBob)->bindings.empty());  // a miss, now cached briefly
  carol.registerUser(kBob, "sip:bob@127.0.0.1:6003", in(3600s));
  settle();  // the listen that the miss left behind brings carol's record
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->bindings.size(), 1u);
  EXPECT_EQ(result->bindings[0].peerNode, carol.id.nodeId().toHex());
}

TEST_F(OverlayLocation, ARefreshThatChangesNothingTouchesNoRecord) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  const auto puts = bob.dht.putCount();
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));  // re-REGISTER, same contact
  bob.registerUser(kBob, "sip:bob@127.0.0.1:7002", in(3600s));  // a second contact, same AOR
  settle();
  EXPECT_EQ(bob.dht.putCount(), puts);
}

TEST_F(OverlayLocation, RecordsAreRefreshedBeforeTheirDhtLifetimeEnds) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(24h));
  settle();
  const auto puts = bob.dht.putCount();
  for (int i = 0; i < 6; ++i) {  // an hour, in DHT-lifetime-sized steps
    wall.now += 10min;           // the wall clock and the loop's clock move together
    timers.advance(10min);
    settle();
  }
  EXPECT_GE(bob.dht.putCount(), puts + 6);
  EXPECT_EQ(lookupAt(alice, kBob)->bindings.size(), 1u);
}

TEST_F(OverlayLocation, AForgedRecordIsIgnoredAndCounted) {
  // Mallory stores a record claiming that bob's peer serves "sip:victim@p2p.test", signed by
  // herself, under bob's value id.
  auto mallory = makeIdentity();
  ByteWriter body;
  body.u8(1);
  body.str16("sip:victim@p2p.test");
  body.raw(bob.id.nodeId().bytes());
  body.u64(4'000'000'000);
  body.u64(1);
  auto forged = identity::seal(mallory, identity::RecordKind::User, body.bytes());
  ASSERT_TRUE(forged);
  dht::testing::InMemoryLookupService malloryDht(network, loop);
  malloryDht.put(dht::LookupKey{dht::Namespace::User, "sip:victim@p2p.test"},
                 dht::StoredValue{userRecordValueId(bob.id.nodeId()), *forged}, 10min,
                 [](Result<void>) {});
  // And a genuine record of bob's, replayed under another user's key.
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  std::optional<std::vector<dht::StoredValue>> bobValues;
  malloryDht.get(dht::LookupKey{dht::Namespace::User, kBob},
                 [&](Result<std::vector<dht::StoredValue>> v) { bobValues = *v; });
  settle();
  ASSERT_TRUE(bobValues && bobValues->size() == 1);
  malloryDht.put(dht::LookupKey{dht::Namespace::User, "sip:replayed@p2p.test"}, bobValues->front(),
                 10min, [](Result<void>) {});
  settle();

  auto victim = lookupAt(alice, "sip:victim@p2p.test");
  ASSERT_TRUE(victim);
  EXPECT_TRUE(victim->bindings.empty());
  auto replayed = lookupAt(alice, "sip:replayed@p2p.test");
  ASSERT_TRUE(replayed);
  EXPECT_TRUE(replayed->bindings.empty());
  EXPECT_EQ(alice.counter("p2psip_overlay_user_records_refused_total"), 2u);
}

TEST_F(OverlayLocation, ADhtOutageFailsTheLookupInsteadOfHanging) {
  alice.dht.setReachable(false);
  auto result = lookupAt(alice, kBob);
  EXPECT_FALSE(result);
}

TEST_F(OverlayLocation, GracefulShutdownWithdrawsEveryRecord) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  bob.registerUser("sip:dave@p2p.test", "sip:dave@127.0.0.1:6004", in(3600s));
  settle();
  bool done = false;
  bob.publisher.withdrawAll(2s, [&] { done = true; });
  settle();
  EXPECT_TRUE(done);
  EXPECT_TRUE(lookupAt(alice, kBob)->bindings.empty());
  EXPECT_TRUE(lookupAt(alice, "sip:dave@p2p.test")->bindings.empty());
}

TEST_F(OverlayLocation, APeerThatReachesNoOtherHoldsNewRecordsAndPublishesThemOnceItDoes) {
  bob.dht.setReachable(false);
  settle();
  for (int i = 0; i < 300; ++i) {  // more than one publishing slice
    bob.registerUser("sip:user" + std::to_string(i) + "@p2p.test",
                     "sip:u" + std::to_string(i) + "@127.0.0.1:6002", in(3600s));
  }
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  settle();
  EXPECT_EQ(bob.publisher.size(), 301u);
  EXPECT_EQ(bob.publisher.held(), 301u);
  EXPECT_EQ(bob.dht.putCount(), 0u) << "nothing signed or put while alone";
  EXPECT_EQ(bob.metrics.gauge("p2psip_overlay_user_records_held").value(), 301);

  bob.dht.setReachable(true);
  settle();
  for (int i = 0; i < 4 && bob.publisher.held() > 0; ++i) {
    timers.advance(1ms);  // the next slice
    settle();
  }
  EXPECT_EQ(bob.publisher.held(), 0u);
  EXPECT_EQ(bob.dht.putCount(), 301u);
  EXPECT_EQ(bob.counter("p2psip_overlay_user_records_published_total"), 301u);
  EXPECT_EQ(bob.metrics.gauge("p2psip_overlay_user_records_held").value(), 0);
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->bindings.size(), 1u);
  EXPECT_EQ(result->bindings[0].peerNode, bob.id.nodeId().toHex());
  EXPECT_EQ(lookupAt(alice, "sip:user299@p2p.test")->bindings.size(), 1u);
}

TEST_F(OverlayLocation, AHeldRecordWhoseUserLeavesBeforeTheOverlayIsReachableIsNeverPublished) {
  bob.dht.setReachable(false);
  settle();
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(3600s));
  bob.registerUser("sip:dave@p2p.test", "sip:dave@127.0.0.1:6004", in(3600s));
  settle();
  ASSERT_TRUE(bob.store.remove(kBob, "sip:bob@127.0.0.1:6002"));
  settle();
  EXPECT_EQ(bob.publisher.held(), 1u);
  EXPECT_EQ(bob.counter("p2psip_overlay_user_records_withdrawn_total"), 0u);

  bob.dht.setReachable(true);
  settle();
  timers.advance(1ms);
  settle();
  EXPECT_EQ(bob.dht.putCount(), 1u);  // dave's only
  EXPECT_TRUE(lookupAt(alice, kBob)->bindings.empty());
  EXPECT_EQ(lookupAt(alice, "sip:dave@p2p.test")->bindings.size(), 1u);

  // A shutdown withdraws what was published, and finishes at once when that is nothing.
  bool done = false;
  carol.dht.setReachable(false);
  settle();
  carol.registerUser("sip:erin@p2p.test", "sip:erin@127.0.0.1:6005", in(3600s));
  carol.publisher.withdrawAll(2s, [&] { done = true; });
  EXPECT_TRUE(done);
  EXPECT_EQ(carol.publisher.held(), 0u);
}

TEST_F(OverlayLocation, FailedPutsAreRetriedLessAndLessOftenUntilOneSucceeds) {
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(24h));
  settle();
  const auto published = bob.dht.putCount();
  bob.dht.setReachable(false);
  settle();
  auto step = [&](Duration d) {
    wall.now += d;
    timers.advance(d);
    settle();
  };
  step(5min);  // the refresh, due at half the record's lifetime, fails
  const auto failed = bob.dht.putCount();
  EXPECT_EQ(failed, published + 1);
  for (int s = 0; s < 61; ++s) step(1s);
  // Retries 2, 6, 14 and 30 s after the failure (the next at 62 s): four, where a fixed two-second
  // interval would have made thirty.
  EXPECT_EQ(bob.dht.putCount(), failed + 4);
  EXPECT_EQ(bob.counter("p2psip_overlay_user_record_put_failures_total"), 5u);

  bob.dht.setReachable(true);
  step(1s);
  EXPECT_EQ(bob.dht.putCount(), failed + 5);
  ASSERT_EQ(bob.publisher.snapshot(10).size(), 1u);
  EXPECT_TRUE(bob.publisher.snapshot(10)[0].stored);
  EXPECT_EQ(lookupAt(alice, kBob)->bindings.size(), 1u);
}

TEST_F(OverlayLocation, ABurstOfNewUsersKeepsAtMostTheConfiguredPutsInFlight) {
  UserRecordPublisherConfig tight;
  tight.maxPutsInFlight = 4;
  Peer dave(loop, timers, network, wall, resolver, tight);
  resolver.peers[dave.id.nodeId()] = endpoint("127.0.0.1:5074");
  for (int i = 0; i < 20; ++i) {  // no loop turn in between: no put is answered yet
    dave.registerUser("sip:burst" + std::to_string(i) + "@p2p.test",
                      "sip:b" + std::to_string(i) + "@127.0.0.1:6002", in(3600s));
  }
  EXPECT_EQ(dave.publisher.held(), 16u);
  EXPECT_LE(dave.dht.putCount(), 4u);
  for (int i = 0; i < 20 && dave.publisher.held() > 0; ++i) {
    settle();
    timers.advance(1ms);
  }
  settle();
  EXPECT_EQ(dave.publisher.held(), 0u);
  EXPECT_EQ(dave.dht.putCount(), 20u);
  EXPECT_EQ(lookupAt(alice, "sip:burst19@p2p.test")->bindings.size(), 1u);
}

TEST_F(OverlayLocation, AMissIsAskedOnceMoreBeforeTheAnswerIsNotFound) {
  std::optional<Result<LookupResult>> answer;
  alice.location.lookup(kBob, LookupScope::Everywhere,
                        [&](Result<LookupResult> r) { answer = std::move(r); });
  settle();
  EXPECT_FALSE(answer) << "an empty get is not the answer yet";
  // Bob's record lands meanwhile (in a NATed overlay: on nodes the first search had not reached).
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(std::chrono::hours(1)));
  settle();
  timers.advance(OverlayLocationConfig{}.missRetry);
  settle();
  ASSERT_TRUE(answer);
  ASSERT_TRUE(*answer);
  ASSERT_EQ((*answer)->bindings.size(), 1u);
  EXPECT_EQ((*answer)->bindings[0].peerNode, bob.id.nodeId().toHex());
}

// Forwards to another lookup service but holds each get's answer until release(): a real DHT get
// settles for a while, and the listen may deliver meanwhile.
class SettlingGets final : public dht::LookupService {
 public:
  explicit SettlingGets(dht::LookupService& inner) : inner_(inner) {}
  void put(const dht::LookupKey& key, dht::StoredValue value, Duration lifetime,
           dht::PutCallback done) override {
    inner_.put(key, std::move(value), lifetime, std::move(done));
  }
  void get(const dht::LookupKey& key, dht::GetCallback done) override {
    inner_.get(key, [this, done = std::move(done)](Result<std::vector<dht::StoredValue>> r) {
      held_.emplace_back([done, r = std::move(r)] { done(r); });
    });
  }
  dht::ListenToken listen(const dht::LookupKey& key, dht::ListenCallback onChange) override {
    return inner_.listen(key, std::move(onChange));
  }
  void cancelListen(dht::ListenToken token) override { inner_.cancelListen(token); }
  void remove(const dht::LookupKey& key, std::uint64_t id, dht::PutCallback done) override {
    inner_.remove(key, id, std::move(done));
  }
  dht::LookupServiceStats stats() const override { return inner_.stats(); }
  std::size_t held() const { return held_.size(); }
  void release() {
    auto answers = std::move(held_);
    held_.clear();
    for (auto& a : answers) a();
  }

 private:
  dht::LookupService& inner_;
  std::vector<std::function<void()>> held_;
};

TEST_F(OverlayLocation, ARecordTheListenBringsIsNotDroppedByAnOlderEmptyGet) {
  SettlingGets gets(alice.dht);
  OverlayLocationService location(OverlayLocationConfig{}, alice.store, nullptr, gets, resolver,
                                  alice.id.nodeId(), timers, wall.clock(), alice.metrics, Logger{});
  std::optional<Result<LookupResult>> answer;
  location.lookup(kBob, LookupScope::Everywhere,
                  [&](Result<LookupResult> r) { answer = std::move(r); });
  settle();
  ASSERT_EQ(gets.held(), 1u);  // its answer, taken before Bob registered, is empty
  bob.registerUser(kBob, "sip:bob@127.0.0.1:6002", in(std::chrono::hours(1)));
  settle();        // the listen delivers Bob's record first ...
  gets.release();  // ... then the get's older, empty answer arrives
  settle();
  for (int i = 0; i < 3 && !answer; ++i) {  // a second chance, if one is taken, is answered too
    timers.advance(OverlayLocationConfig{}.missRetry);
    settle();
    gets.release();
    settle();
  }
  ASSERT_TRUE(answer);
  ASSERT_TRUE(*answer);
  ASSERT_EQ((*answer)->bindings.size(), 1u) << "Bob's record was lost";
  EXPECT_EQ((*answer)->bindings[0].peerNode, bob.id.nodeId().toHex());
}

}  // namespace
}  // namespace p2psip::location
