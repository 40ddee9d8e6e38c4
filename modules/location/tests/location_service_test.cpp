// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/location_service.h"

#include <gtest/gtest.h>

#include <optional>

#include "location_test_support.h"

namespace p2psip::location::testing {
namespace {

struct Fixture {
  ManualTimerService timers;
  BindingStore store{BindingStoreConfig{}, timers};

  std::optional<Result<LookupResult>> lookup(LocationService& service, std::string_view aor) {
    std::optional<Result<LookupResult>> out;
    service.lookup(aor, [&](Result<LookupResult> r) { out = std::move(r); });
    return out;
  }
};

TEST(LocalLocationService, ReturnsBindingsHighestQFirstAtOnce) {
  Fixture f;
  auto low = binding(f.timers, "sip:bob@p2p.test", "sip:bob@192.0.2.1");
  low.q = 200;
  ASSERT_TRUE(f.store.upsert(low).has_value());
  ASSERT_TRUE(
      f.store.upsert(binding(f.timers, "sip:bob@p2p.test", "sip:bob@192.0.2.2")).has_value());
  LocalLocationService service(f.store, {});
  auto result = f.lookup(service, "sip:bob@p2p.test");
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->has_value());
  ASSERT_EQ((*result)->bindings.size(), 2u);
  EXPECT_EQ((*result)->bindings[0].contactUri, "sip:bob@192.0.2.2");
  EXPECT_TRUE((*result)->knownUser);
}

TEST(LocalLocationService, UnknownAorWithoutBindingsIsNotKnown) {
  Fixture f;
  LocalLocationService service(f.store, {});
  auto result = f.lookup(service, "sip:carol@p2p.test");
  ASSERT_TRUE(result.has_value() && result->has_value());
  EXPECT_TRUE((*result)->bindings.empty());
  EXPECT_FALSE((*result)->knownUser);
}

TEST(LocalLocationService, PredicateMakesAUserKnownWithoutBindings) {
  Fixture f;
  LocalLocationService service(f.store,
                               [](std::string_view aor) { return aor == "sip:carol@p2p.test"; });
  auto carol = f.lookup(service, "sip:carol@p2p.test");
  ASSERT_TRUE(carol.has_value() && carol->has_value());
  EXPECT_TRUE((*carol)->knownUser);
  auto dave = f.lookup(service, "sip:dave@p2p.test");
  ASSERT_TRUE(dave.has_value() && dave->has_value());
  EXPECT_FALSE((*dave)->knownUser);
}

TEST(LocalLocationService, ExpiredBindingsAreNotReturned) {
  Fixture f;
  ASSERT_TRUE(
      f.store.upsert(binding(f.timers, "sip:bob@p2p.test", "sip:bob@192.0.2.1", 60s)).has_value());
  LocalLocationService service(f.store, {});
  f.timers.advance(61s);
  auto result = f.lookup(service, "sip:bob@p2p.test");
  ASSERT_TRUE(result.has_value() && result->has_value());
  EXPECT_TRUE((*result)->bindings.empty());
}

}  // namespace
}  // namespace p2psip::location::testing
