// SPDX-License-Identifier: Apache-2.0
// Resolving a peer for the location service: directly, or through the rendezvous its record names.
#include "peer_directory_resolver.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <vector>

#include "p2psip/common/timer_queue.h"

namespace p2psip::app {
namespace {

// A LookupService of one process whose callbacks run only in run(), never inside a call (as the
// real one posts them). Listens report nothing: these tests only get.
class DeferredLookupService final : public dht::LookupService {
 public:
  void put(const dht::LookupKey& key, dht::StoredValue value, Duration /*lifetime*/,
           dht::PutCallback done) override {
    store_[key.toString()][value.id] = std::move(value.data);
    pending_.push_back([done = std::move(done)] { done({}); });
  }
  void get(const dht::LookupKey& key, dht::GetCallback done) override {
    std::vector<dht::StoredValue> values;
    for (const auto& [id, data] : store_[key.toString()]) values.push_back({id, data});
    pending_.push_back([done = std::move(done), values] { done(values); });
  }
  dht::ListenToken listen(const dht::LookupKey&, dht::ListenCallback) override {
    return ++lastToken_;
  }
  void cancelListen(dht::ListenToken) override {}
  void remove(const dht::LookupKey& key, std::uint64_t id, dht::PutCallback done) override {
    store_[key.toString()].erase(id);
    pending_.push_back([done = std::move(done)] { done({}); });
  }
  dht::LookupServiceStats stats() const override { return {}; }

  void run() {
    while (!pending_.empty()) {
      auto batch = std::move(pending_);
      pending_.clear();
      for (auto& fn : batch) fn();
    }
  }

 private:
  std::map<std::string, std::map<std::uint64_t, std::string>> store_;
  std::vector<std::function<void()>> pending_;
  dht::ListenToken lastToken_ = 0;
};

struct Peer {
  Peer(DeferredLookupService& dht, ManualTimerService& timers, WallClock wall)
      : id(*identity::NodeIdentity::generate(identity::KeyType::Ed25519)),
        directory(overlay::PeerDirectoryConfig{}, dht, id, timers, std::move(wall), metrics,
                  Logger{}) {}
  identity::NodeIdentity id;
  MetricsRegistry metrics;
  overlay::PeerDirectory directory;
};

class PeerDirectoryResolverTest : public ::testing::Test {
 protected:
  PeerDirectoryResolverTest()
      : caller(dht, timers, wallClock()),
        natted(dht, timers, wallClock()),
        rendezvous(dht, timers, wallClock()),
        resolver(caller.directory) {}

  WallClock wallClock() {
    return [this] { return wall; };
  }
  static std::vector<overlay::PeerEndpoint> at(const char* text) {
    return {overlay::PeerEndpoint{overlay::LinkTransport::Tls, *net::Endpoint::parse(text)}};
  }
  void publishBehind(const identity::NodeId& via) {
    overlay::PeerPublication p;
    p.endpoints = at("10.0.0.9:5072");
    p.reachability = overlay::Reachability::Symmetric;
    p.rendezvous = via;
    ASSERT_TRUE(natted.directory.publish(p));
  }
  Result<location::PeerContact> resolve(const identity::NodeId& node) {
    std::optional<Result<location::PeerContact>> out;
    resolver.resolve(node, [&](Result<location::PeerContact> r) { out = std::move(r); });
    dht.run();
    for (int i = 0; i < 3 && !out; ++i) {
      // Misses are asked once more after PeerDirectoryConfig::missRetry (one per lookup).
      timers.advance(overlay::PeerDirectoryConfig{}.missRetry);
      dht.run();
    }
    if (!out) return makeError(ErrorCode::Timeout, "no answer");
    return std::move(*out);
  }

  ManualTimerService timers;
  WallTime wall = WallTime{} + std::chrono::hours(24 * 365 * 56);
  DeferredLookupService dht;
  Peer caller;
  Peer natted;
  Peer rendezvous;
  PeerDirectoryResolver resolver;
};

TEST_F(PeerDirectoryResolverTest, AReachablePeerResolvesToItsLinkEndpoint) {
  ASSERT_TRUE(natted.directory.publish(at("198.51.100.9:5072"), 0));
  dht.run();
  auto contact = resolve(natted.id.nodeId());
  ASSERT_TRUE(contact) << contact.error().detail;
  EXPECT_EQ(contact->node, natted.id.nodeId());
  EXPECT_EQ(contact->endpoint.toString(), "198.51.100.9:5072");
  EXPECT_FALSE(contact->via);
}

TEST_F(PeerDirectoryResolverTest, APeerBehindARendezvousResolvesWithIt) {
  ASSERT_TRUE(rendezvous.directory.publish(at("198.51.100.7:5071"), 0));
  publishBehind(rendezvous.id.nodeId());
  dht.run();
  auto contact = resolve(natted.id.nodeId());
  ASSERT_TRUE(contact) << contact.error().detail;
  EXPECT_EQ(contact->node, natted.id.nodeId());
  EXPECT_EQ(contact->endpoint.toString(), "10.0.0.9:5072");
  ASSERT_TRUE(contact->via);
  EXPECT_EQ(contact->via->node, rendezvous.id.nodeId());
  EXPECT_EQ(contact->via->endpoint.toString(), "198.51.100.7:5071");
}

TEST_F(PeerDirectoryResolverTest, AMissingRendezvousIsNotFoundNamingBoth) {
  publishBehind(rendezvous.id.nodeId());  // which never published
  dht.run();
  auto contact = resolve(natted.id.nodeId());
  ASSERT_FALSE(contact);
  EXPECT_EQ(contact.error().code, ErrorCode::NotFound);
  EXPECT_NE(contact.error().detail.find(natted.id.nodeId().shortHex()), std::string::npos);
  EXPECT_NE(contact.error().detail.find(rendezvous.id.nodeId().shortHex()), std::string::npos);
}

TEST_F(PeerDirectoryResolverTest, ARendezvousBehindARendezvousIsRefused) {
  overlay::PeerPublication p;
  p.endpoints = at("10.0.0.7:5071");
  p.rendezvous = caller.id.nodeId();
  ASSERT_TRUE(rendezvous.directory.publish(p));
  publishBehind(rendezvous.id.nodeId());
  dht.run();
  auto contact = resolve(natted.id.nodeId());
  ASSERT_FALSE(contact);
  EXPECT_EQ(contact.error().code, ErrorCode::NotFound);
  EXPECT_NE(contact.error().detail.find("itself behind a rendezvous"), std::string::npos);
}

}  // namespace
}  // namespace p2psip::app
