// SPDX-License-Identifier: Apache-2.0
// Picking a third relay for a call: found in the overlay's relay records once, then handed out
// from the cache without another DHT lookup, forgotten when it fails, looked up again when stale.
#include "relay_directory_picker.h"

#include <gtest/gtest.h>

#include <optional>

#include "p2psip/common/timer_queue.h"
#include "p2psip/dht/testing/in_memory_lookup_service.h"
#include "p2psip/net/event_loop.h"

namespace p2psip::app {
namespace {

using namespace std::chrono_literals;

identity::NodeIdentity makeIdentity() {
  auto id = identity::NodeIdentity::generate(identity::KeyType::Ed25519);
  EXPECT_TRUE(id);
  return std::move(*id);
}

class RelayDirectoryPickerTest : public ::testing::Test {
 protected:
  RelayDirectoryPickerTest()
      : network(dht::testing::InMemoryLookupService::makeNetwork(timers)),
        relayDht(network, loop),
        ourDht(network, loop),
        relayDirectory(overlay::RelayDirectoryConfig{}, relayDht, relayId, timers, wallClock(),
                       metrics, Logger{}),
        ourDirectory(overlay::RelayDirectoryConfig{}, ourDht, ourId, timers, wallClock(), metrics,
                     Logger{}),
        picker(ourDirectory, ourId.nodeId(), timers, 60s) {}

  WallClock wallClock() {
    return [] { return WallTime{} + std::chrono::hours(24 * 365 * 56); };
  }
  void settle() {
    for (int i = 0; i < 100 && loop.poll() > 0;) ++i;
  }
  std::optional<Result<anchor::RelayPeer>> pickNow() {
    std::optional<Result<anchor::RelayPeer>> out;
    picker.pick([&](Result<anchor::RelayPeer> r) { out = std::move(r); });
    settle();
    return out;
  }
  std::uint64_t bucketGets() {
    return metrics.counter("p2psip_overlay_relay_bucket_gets_total").value();
  }

  net::EventLoop loop;
  ManualTimerService timers;
  MetricsRegistry metrics;
  std::shared_ptr<dht::testing::InMemoryLookupService::Network> network;
  identity::NodeIdentity relayId = makeIdentity();
  identity::NodeIdentity ourId = makeIdentity();
  dht::testing::InMemoryLookupService relayDht;
  dht::testing::InMemoryLookupService ourDht;
  overlay::RelayDirectory relayDirectory;
  overlay::RelayDirectory ourDirectory;
  RelayDirectoryPicker picker;
};

TEST_F(RelayDirectoryPickerTest, AFoundRelayIsCachedForLaterCallsAndForgottenWhenItFails) {
  auto none = pickNow();
  ASSERT_TRUE(none.has_value());
  EXPECT_FALSE(*none) << "no relay offered yet";

  ASSERT_TRUE(relayDirectory.publish(overlay::RelayOffer{
      *net::Endpoint::parse("198.18.0.11:5071"), asio::ip::make_address("198.18.0.11"), 100}));
  settle();
  auto first = pickNow();
  ASSERT_TRUE(first.has_value() && *first);
  EXPECT_EQ((*first)->node, relayId.nodeId().toHex());

  // The next call gets it at once, without a DHT lookup.
  const auto gets = bucketGets();
  std::optional<Result<anchor::RelayPeer>> second;
  picker.pick([&](Result<anchor::RelayPeer> r) { second = std::move(r); });
  ASSERT_TRUE(second.has_value() && *second) << "answered inside pick(), from the cache";
  EXPECT_EQ((*second)->node, relayId.nodeId().toHex());
  settle();
  EXPECT_EQ(bucketGets(), gets);

  // A relay that failed is looked up again rather than handed out.
  picker.forget(**second);
  auto third = pickNow();
  ASSERT_TRUE(third.has_value() && *third);
  EXPECT_GT(bucketGets(), gets);
}

TEST_F(RelayDirectoryPickerTest, WarmFindsTheRelayBeforeTheFirstCallAndAStaleCacheIsRenewed) {
  ASSERT_TRUE(relayDirectory.publish(overlay::RelayOffer{
      *net::Endpoint::parse("198.18.0.11:5071"), asio::ip::make_address("198.18.0.11"), 100}));
  settle();
  picker.warm();
  settle();
  const auto gets = bucketGets();
  std::optional<Result<anchor::RelayPeer>> first;
  picker.pick([&](Result<anchor::RelayPeer> r) { first = std::move(r); });
  ASSERT_TRUE(first.has_value() && *first) << "the warmed cache answers at once";
  settle();
  EXPECT_EQ(bucketGets(), gets);

  timers.advance(61s);  // past the cache's lifetime: a call waits for a fresh lookup
  std::optional<Result<anchor::RelayPeer>> later;
  picker.pick([&](Result<anchor::RelayPeer> r) { later = std::move(r); });
  EXPECT_FALSE(later.has_value());
  settle();
  ASSERT_TRUE(later.has_value() && *later);
  EXPECT_GT(bucketGets(), gets);
}

}  // namespace
}  // namespace p2psip::app
