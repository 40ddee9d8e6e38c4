// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/binding_store.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "location_test_support.h"

namespace p2psip::location::testing {
namespace {

struct Fixture {
  explicit Fixture(BindingStoreConfig config = {}) : store(config, timers) {
    store.addObserver([this](std::string_view aor, bool bound) {
      events.push_back((bound ? "+" : "-") + std::string(aor));
    });
  }
  ManualTimerService timers;
  BindingStore store;
  std::vector<std::string> events;
};

constexpr const char* kBob = "sip:bob@p2p.test";
constexpr const char* kAlice = "sip:alice@p2p.test";

TEST(BindingStoreConfig, DefaultsAreValidAndZeroLimitsAreNot) {
  EXPECT_TRUE(validate(BindingStoreConfig{}).has_value());
  BindingStoreConfig c;
  c.maxBindings = 0;
  EXPECT_FALSE(validate(c).has_value());
  c = {};
  c.maxBindingsPerAor = 0;
  EXPECT_FALSE(validate(c).has_value());
  c = {};
  c.purgeInterval = Duration::zero();
  EXPECT_FALSE(validate(c).has_value());
}

TEST(BindingStore, UpsertThenFindReturnsTheBindingWithItsAor) {
  Fixture f;
  auto b = binding(f.timers, kBob, "sip:bob@192.0.2.10:5060");
  b.path = {"<sip:edge.p2p.test;lr>"};
  ASSERT_TRUE(f.store.upsert(b).has_value());
  auto found = f.store.find(kBob);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].aor, kBob);
  EXPECT_EQ(found[0].contactUri, "sip:bob@192.0.2.10:5060");
  EXPECT_EQ(found[0].path, b.path);
  EXPECT_EQ(found[0].flow, b.flow);
  EXPECT_TRUE(f.store.hasBindings(kBob));
  EXPECT_FALSE(f.store.hasBindings(kAlice));
  EXPECT_EQ(f.store.size(), 1u);
  EXPECT_EQ(f.store.aorCount(), 1u);
}

TEST(BindingStore, SameContactUriReplacesTheBinding) {
  Fixture f;
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.10")).has_value());
  auto refreshed = binding(f.timers, kBob, "sip:bob@192.0.2.10", 7200s);
  refreshed.cseq = 2;
  ASSERT_TRUE(f.store.upsert(refreshed).has_value());
  auto found = f.store.find(kBob);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].cseq, 2u);
  EXPECT_EQ(f.store.size(), 1u);
}

TEST(BindingStore, SameInstanceAndRegIdReplacesAnotherContactUri) {
  // RFC 5626 §6: the new flow of an instance replaces the old one.
  Fixture f;
  auto first = binding(f.timers, kBob, "sip:bob@192.0.2.10:40000;transport=tcp");
  first.instanceId = "<urn:uuid:00000000-0000-1000-8000-000a95a0e128>";
  first.regId = 1;
  auto second = first;
  second.contactUri = "sip:bob@192.0.2.99:40001;transport=tcp";
  auto otherRegId = first;
  otherRegId.contactUri = "sip:bob@192.0.2.50:40002;transport=tcp";
  otherRegId.regId = 2;
  ASSERT_TRUE(f.store.upsert(first).has_value());
  ASSERT_TRUE(f.store.upsert(otherRegId).has_value());
  ASSERT_TRUE(f.store.upsert(second).has_value());
  auto found = f.store.find(kBob);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].contactUri, second.contactUri);  // newest first at equal q
  EXPECT_EQ(found[1].contactUri, otherRegId.contactUri);
}

TEST(BindingStore, FindOrdersByQThenMostRecentlyRefreshed) {
  Fixture f;
  auto low = binding(f.timers, kBob, "sip:bob@192.0.2.1");
  low.q = 100;
  auto high = binding(f.timers, kBob, "sip:bob@192.0.2.2");
  high.q = 900;
  auto oldFull = binding(f.timers, kBob, "sip:bob@192.0.2.3");
  auto newFull = binding(f.timers, kBob, "sip:bob@192.0.2.4");
  for (const auto& b : {low, oldFull, high, newFull}) ASSERT_TRUE(f.store.upsert(b).has_value());
  auto found = f.store.find(kBob);
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].contactUri, "sip:bob@192.0.2.4");
  EXPECT_EQ(found[1].contactUri, "sip:bob@192.0.2.3");
  EXPECT_EQ(found[2].contactUri, "sip:bob@192.0.2.2");
  EXPECT_EQ(found[3].contactUri, "sip:bob@192.0.2.1");
}

TEST(BindingStore, ExpiredBindingsAreNeverReturnedAndArePurgedPeriodically) {
  BindingStoreConfig config;
  config.purgeInterval = 10s;
  Fixture f(config);
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1", 30s)).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2", 300s)).has_value());
  f.timers.advance(31s);
  EXPECT_EQ(f.store.find(kBob).size(), 1u);
  EXPECT_EQ(f.store.size(), 1u);  // the purge at 40 s ran at 30 s boundaries: 10, 20, 30
  f.timers.advance(270s);
  EXPECT_TRUE(f.store.find(kBob).empty());
  EXPECT_FALSE(f.store.hasBindings(kBob));
  EXPECT_TRUE(f.store.snapshot(10).empty());
  f.timers.advance(10s);
  EXPECT_EQ(f.store.size(), 0u);
  EXPECT_EQ(f.store.aorCount(), 0u);
  EXPECT_EQ(f.events, (std::vector<std::string>{"+sip:bob@p2p.test", "-sip:bob@p2p.test"}));
}

TEST(BindingStore, ObserversFireOnFirstAndLastBindingOnly) {
  Fixture f;
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1")).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  EXPECT_TRUE(f.store.remove(kBob, "sip:bob@192.0.2.1"));
  EXPECT_FALSE(f.store.remove(kBob, "sip:bob@192.0.2.1"));
  EXPECT_EQ(f.events, (std::vector<std::string>{"+sip:bob@p2p.test"}));
  EXPECT_TRUE(f.store.remove(kBob, "sip:bob@192.0.2.2"));
  EXPECT_EQ(f.events, (std::vector<std::string>{"+sip:bob@p2p.test", "-sip:bob@p2p.test"}));
}

TEST(BindingStore, RemoveAllDropsEveryBindingOfTheAorOnly) {
  Fixture f;
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1")).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kAlice, "sip:alice@192.0.2.3")).has_value());
  EXPECT_EQ(f.store.removeAll(kBob), 2u);
  EXPECT_EQ(f.store.removeAll(kBob), 0u);
  EXPECT_FALSE(f.store.hasBindings(kBob));
  EXPECT_TRUE(f.store.hasBindings(kAlice));
  EXPECT_EQ(f.events.back(), "-sip:bob@p2p.test");
}

TEST(BindingStore, RemoveFlowDropsBindingsOfThatConnectionAcrossAors) {
  Fixture f;
  ASSERT_TRUE(
      f.store.upsert(tcpBinding(f.timers, kBob, "sip:bob@192.0.2.1;transport=tcp", 7)).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  ASSERT_TRUE(f.store.upsert(tcpBinding(f.timers, kAlice, "sip:alice@192.0.2.3;transport=tcp", 7))
                  .has_value());
  ASSERT_TRUE(f.store.upsert(tcpBinding(f.timers, kAlice, "sip:alice@192.0.2.4;transport=tcp", 8))
                  .has_value());
  EXPECT_EQ(f.store.removeFlow(7), 2u);
  EXPECT_EQ(f.store.removeFlow(7), 0u);
  EXPECT_EQ(f.store.removeFlow(0), 0u);
  ASSERT_EQ(f.store.find(kBob).size(), 1u);
  EXPECT_EQ(f.store.find(kBob)[0].contactUri, "sip:bob@192.0.2.2");
  ASSERT_EQ(f.store.find(kAlice).size(), 1u);
  EXPECT_EQ(f.store.removeFlow(8), 1u);
  EXPECT_EQ(f.events.back(), "-sip:alice@p2p.test");
  EXPECT_EQ(f.store.size(), 1u);
}

TEST(BindingStore, RemoveFlowAfterTheBindingMovedToAnotherFlowKeepsIt) {
  Fixture f;
  ASSERT_TRUE(
      f.store.upsert(tcpBinding(f.timers, kBob, "sip:bob@192.0.2.1;transport=tcp", 7)).has_value());
  ASSERT_TRUE(
      f.store.upsert(tcpBinding(f.timers, kBob, "sip:bob@192.0.2.1;transport=tcp", 9)).has_value());
  EXPECT_EQ(f.store.removeFlow(7), 0u);
  EXPECT_EQ(f.store.removeFlow(9), 1u);
}

TEST(BindingStore, LimitsRefuseWithLimitExceededAndChangeNothing) {
  BindingStoreConfig config;
  config.maxBindings = 3;
  config.maxBindingsPerAor = 2;
  Fixture f(config);
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1")).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  auto perAor = f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.3"));
  ASSERT_FALSE(perAor.has_value());
  EXPECT_EQ(perAor.error().code, ErrorCode::LimitExceeded);
  // A refresh of an existing contact is not a new binding.
  EXPECT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kAlice, "sip:alice@192.0.2.1")).has_value());
  auto total = f.store.upsert(binding(f.timers, kAlice, "sip:alice@192.0.2.2"));
  ASSERT_FALSE(total.has_value());
  EXPECT_EQ(total.error().code, ErrorCode::LimitExceeded);
  EXPECT_EQ(f.store.size(), 3u);
}

TEST(BindingStore, ExpiredBindingsDoNotCountAgainstTheLimit) {
  BindingStoreConfig config;
  config.maxBindings = 1;
  config.purgeInterval = 1h;
  Fixture f(config);
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1", 10s)).has_value());
  f.timers.advance(11s);
  EXPECT_TRUE(f.store.upsert(binding(f.timers, kAlice, "sip:alice@192.0.2.1")).has_value());
  EXPECT_EQ(f.events, (std::vector<std::string>{"+sip:bob@p2p.test", "-sip:bob@p2p.test",
                                                "+sip:alice@p2p.test"}));
}

TEST(BindingStore, UpdateIsAllOrNothing) {
  BindingStoreConfig config;
  config.maxBindingsPerAor = 2;
  Fixture f(config);
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1")).has_value());
  std::vector<ContactBinding> three = {binding(f.timers, kBob, "sip:bob@192.0.2.2"),
                                       binding(f.timers, kBob, "sip:bob@192.0.2.3")};
  EXPECT_FALSE(f.store.update(kBob, {}, three).has_value());
  ASSERT_EQ(f.store.find(kBob).size(), 1u);
  // Removing one first makes room.
  EXPECT_TRUE(f.store.update(kBob, {"sip:bob@192.0.2.1"}, three).has_value());
  EXPECT_EQ(f.store.find(kBob).size(), 2u);
  EXPECT_EQ(f.events, (std::vector<std::string>{"+sip:bob@p2p.test"}));
}

TEST(BindingStore, UpdateRefusesBindingsOfAnotherAor) {
  Fixture f;
  auto result = f.store.update(kBob, {}, {binding(f.timers, kAlice, "sip:alice@192.0.2.1")});
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(f.store.size(), 0u);
}

TEST(BindingStore, ObserverCallsAlternateWhenBindingsExpiredBeforeThePurge) {
  BindingStoreConfig config;
  config.purgeInterval = 1h;
  Fixture f(config);
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1", 10s)).has_value());
  f.timers.advance(20s);  // expired, not purged yet
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.2")).has_value());
  EXPECT_EQ(f.events, (std::vector<std::string>{"+sip:bob@p2p.test", "-sip:bob@p2p.test",
                                                "+sip:bob@p2p.test"}));
  f.timers.advance(3601s);  // expired again; a removal arrives before the purge
  EXPECT_FALSE(f.store.remove(kBob, "sip:bob@192.0.2.2"));
  EXPECT_EQ(f.store.removeAll(kBob), 0u);
  EXPECT_EQ(f.events.back(), "-sip:bob@p2p.test");
  EXPECT_EQ(f.events.size(), 4u);
}

TEST(BindingStore, SnapshotIsBoundedByLimit) {
  Fixture f;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(f.store
                    .upsert(binding(f.timers, "sip:u" + std::to_string(i) + "@p2p.test",
                                    "sip:u@192.0.2." + std::to_string(i)))
                    .has_value());
  }
  EXPECT_EQ(f.store.snapshot(3).size(), 3u);
  auto all = f.store.snapshot(100);
  ASSERT_EQ(all.size(), 5u);
  for (const auto& b : all) EXPECT_FALSE(b.aor.empty());
}

TEST(BindingStore, ObserverMayCallBackIntoTheStore) {
  Fixture f;
  std::vector<bool> seen;
  f.store.addObserver(
      [&](std::string_view aor, bool) { seen.push_back(f.store.hasBindings(aor)); });
  ASSERT_TRUE(f.store.upsert(binding(f.timers, kBob, "sip:bob@192.0.2.1", 5s)).has_value());
  f.timers.advance(10s);
  EXPECT_EQ(seen, (std::vector<bool>{true, false}));
}

TEST(BindingStore, DestructionCancelsThePurgeTimer) {
  ManualTimerService timers;
  const std::size_t before = timers.pending();
  {
    BindingStore store(BindingStoreConfig{}, timers);
    EXPECT_EQ(timers.pending(), before + 1);
  }
  EXPECT_EQ(timers.pending(), before);
  timers.advance(1min);  // nothing fires into a destroyed store
}

}  // namespace
}  // namespace p2psip::location::testing
