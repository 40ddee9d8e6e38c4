// SPDX-License-Identifier: Apache-2.0
// Users served by a peer behind a NAT: reached over a link to the peer's rendezvous, with the
// Route set [rendezvous, peer] (the rendezvous forwards over the link the peer keeps open to it).
#include <gtest/gtest.h>

#include "overlay_test_support.h"
#include "p2psip/identity/record_signer.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/location/user_record_publisher.h"

namespace p2psip::location {
namespace {

using namespace std::chrono_literals;
using testing::endpoint;
using testing::makeIdentity;

// Answers with a fixed PeerContact per node, `via` included.
class ContactTable final : public PeerResolver {
 public:
  void resolve(const identity::NodeId& node,
               std::function<void(Result<PeerContact>)> done) override {
    auto it = contacts.find(node);
    if (it == contacts.end()) {
      done(makeError(ErrorCode::NotFound, "no such peer"));
      return;
    }
    done(it->second);
  }
  std::map<identity::NodeId, PeerContact> contacts;
};

struct Peer {
  Peer(net::EventLoop& loop, ManualTimerService& timers,
       std::shared_ptr<dht::testing::InMemoryLookupService::Network> network,
       testing::TestWallClock& wall, PeerResolver& resolver)
      : id(makeIdentity()),
        store(BindingStoreConfig{}, timers),
        dht(std::move(network), loop),
        signer(id),
        publisher(UserRecordPublisherConfig{}, store, dht, id, signer, timers, wall.clock(),
                  metrics, Logger{}),
        location(OverlayLocationConfig{}, store, nullptr, dht, resolver, id.nodeId(), timers,
                 wall.clock(), metrics, Logger{}) {}

  void registerUser(const std::string& aor, const std::string& contact, TimePoint expires) {
    ContactBinding b;
    b.aor = aor;
    b.contactUri = contact;
    b.expires = expires;
    b.flow.remote = endpoint("10.0.0.9:6000");
    ASSERT_TRUE(store.upsert(b));
  }

  identity::NodeIdentity id;
  MetricsRegistry metrics;
  BindingStore store;
  dht::testing::InMemoryLookupService dht;
  identity::InlineRecordSigner signer;
  UserRecordPublisher publisher;
  OverlayLocationService location;
};

const std::string kBob = "sip:bob@p2p.test";

class OverlayRendezvous : public ::testing::Test {
 protected:
  OverlayRendezvous()
      : network(dht::testing::InMemoryLookupService::makeNetwork(timers)),
        alice(loop, timers, network, wall, resolver),
        bob(loop, timers, network, wall, resolver),
        rendezvous(makeIdentity()) {}

  void settle() {
    for (int i = 0; i < 100 && loop.poll() > 0;) ++i;
  }
  Result<LookupResult> lookupAt(Peer& peer, const std::string& aor) {
    std::optional<Result<LookupResult>> answer;
    peer.location.lookup(aor, LookupScope::Everywhere,
                         [&](Result<LookupResult> r) { answer = std::move(r); });
    settle();
    if (!answer) return makeError(ErrorCode::Timeout, "no answer");
    return std::move(*answer);
  }
  // Bob is served by his peer, which accepts no inbound links and is reached through `via`.
  Result<LookupResult> bobThrough(const identity::NodeId& via, const char* viaEndpoint,
                                  const char* bobEndpoint) {
    resolver.contacts[bob.id.nodeId()] =
        PeerContact{bob.id.nodeId(), endpoint(bobEndpoint), Rendezvous{via, endpoint(viaEndpoint)}};
    bob.registerUser(kBob, "sip:bob@10.0.0.9:6002", timers.now() + 3600s);
    settle();
    return lookupAt(alice, kBob);
  }

  net::EventLoop loop;
  ManualTimerService timers;
  testing::TestWallClock wall;
  ContactTable resolver;
  std::shared_ptr<dht::testing::InMemoryLookupService::Network> network;
  Peer alice;
  Peer bob;
  identity::NodeIdentity rendezvous;
};

TEST_F(OverlayRendezvous, AReachablePeerIsTargetedDirectlyWithoutAPath) {
  resolver.contacts[bob.id.nodeId()] = PeerContact{bob.id.nodeId(), endpoint("198.51.100.2:5072")};
  bob.registerUser(kBob, "sip:bob@10.0.0.9:6002", timers.now() + 3600s);
  settle();
  auto result = lookupAt(alice, kBob);
  ASSERT_TRUE(result) << result.error().detail;
  ASSERT_EQ(result->bindings.size(), 1u);
  const ContactBinding& target = result->bindings[0];
  EXPECT_EQ(target.peerNode, bob.id.nodeId().toHex());
  EXPECT_EQ(target.flow.transport, FlowTransport::Tls);
  EXPECT_EQ(target.flow.remote, endpoint("198.51.100.2:5072"));
  EXPECT_TRUE(target.path.empty());
  EXPECT_EQ(target.contactUri, kBob);
}

TEST_F(OverlayRendezvous, APeerBehindANatIsReachedOverALinkToItsRendezvous) {
  auto result = bobThrough(rendezvous.nodeId(), "198.51.100.7:5071", "10.0.0.9:5072");
  ASSERT_TRUE(result) << result.error().detail;
  ASSERT_EQ(result->bindings.size(), 1u);
  const ContactBinding& target = result->bindings[0];
  // The link goes to the rendezvous, pinned to its key.
  EXPECT_EQ(target.flow.transport, FlowTransport::Tls);
  EXPECT_EQ(target.flow.remote, endpoint("198.51.100.7:5071"));
  EXPECT_EQ(target.peerNode, rendezvous.nodeId().toHex());
  // The Route set: the rendezvous, then bob's peer (at its private address: the rendezvous
  // reaches it over the link it opened, found by its NodeId).
  ASSERT_EQ(target.path.size(), 2u);
  EXPECT_EQ(target.path[0],
            "<sip:198.51.100.7:5071;transport=tls;node=" + rendezvous.nodeId().toHex() + ";lr>");
  EXPECT_EQ(target.path[1],
            "<sip:10.0.0.9:5072;transport=tls;node=" + bob.id.nodeId().toHex() + ";lr>");
  EXPECT_EQ(target.contactUri, kBob);
  EXPECT_EQ(target.aor, kBob);
}

TEST_F(OverlayRendezvous, IPv6AddressesAreBracketedInTheRouteSet) {
  auto result = bobThrough(rendezvous.nodeId(), "[2001:db8::7]:5071", "[fd00::9]:5072");
  ASSERT_TRUE(result) << result.error().detail;
  ASSERT_EQ(result->bindings.size(), 1u);
  const ContactBinding& target = result->bindings[0];
  EXPECT_EQ(target.flow.remote, endpoint("[2001:db8::7]:5071"));
  ASSERT_EQ(target.path.size(), 2u);
  EXPECT_EQ(target.path[0],
            "<sip:[2001:db8::7]:5071;transport=tls;node=" + rendezvous.nodeId().toHex() + ";lr>");
  EXPECT_EQ(target.path[1],
            "<sip:[fd00::9]:5072;transport=tls;node=" + bob.id.nodeId().toHex() + ";lr>");
}

TEST_F(OverlayRendezvous, WhenWeAreTheRendezvousThePeersOwnLinkIsTheWay) {
  auto result = bobThrough(alice.id.nodeId(), "198.51.100.1:5071", "10.0.0.9:5072");
  ASSERT_TRUE(result) << result.error().detail;
  ASSERT_EQ(result->bindings.size(), 1u);
  const ContactBinding& target = result->bindings[0];
  EXPECT_EQ(target.peerNode, bob.id.nodeId().toHex());
  EXPECT_EQ(target.flow.remote, endpoint("10.0.0.9:5072"));
  EXPECT_TRUE(target.path.empty());
}

TEST(RendezvousPath, IsEmptyWithoutARendezvous) {
  auto peer = makeIdentity();
  EXPECT_TRUE(rendezvousPath(PeerContact{peer.nodeId(), endpoint("10.0.0.9:5072")}).empty());
}

}  // namespace
}  // namespace p2psip::location
