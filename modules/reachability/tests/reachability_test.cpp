// SPDX-License-Identifier: Apache-2.0
// classify(): the decision table from Binding outcomes to a NatClass, and the config checks.
#include "p2psip/reachability/reachability.h"

#include <gtest/gtest.h>

#include "p2psip/reachability/reachability_config.h"

using namespace std::chrono_literals;

namespace p2psip::reachability {
namespace {

net::Endpoint ep(const char* text) {
  return *net::Endpoint::parse(text);
}

const net::Endpoint kLocal = ep("198.19.1.11:40000");
const net::Endpoint kR1 = ep("198.18.0.11:3478");
const net::Endpoint kR2 = ep("198.18.0.12:3478");
const net::Endpoint kR1Alternate = ep("198.18.0.11:3479");

BindingOutcome plain(const net::Endpoint& reflector, std::optional<net::Endpoint> mapped) {
  BindingOutcome o;
  o.reflector = reflector;
  o.mapped = mapped;
  if (mapped) o.answeredFrom = reflector;
  o.transmissions = 1;
  return o;
}

BindingOutcome changePort(std::optional<net::Endpoint> mapped,
                          std::optional<net::Endpoint> from = kR1Alternate) {
  BindingOutcome o;
  o.reflector = kR1;
  o.changePort = true;
  o.mapped = mapped;
  if (mapped) o.answeredFrom = from;
  o.transmissions = mapped ? 1 : 5;
  return o;
}

TEST(Classify, PublicWhenNotTranslatedAndUnfiltered) {
  auto r = classify(kLocal, {plain(kR1, kLocal), plain(kR2, kLocal), changePort(kLocal)});
  EXPECT_FALSE(r.natted);
  EXPECT_EQ(r.mapping, MappingBehavior::EndpointIndependent);
  EXPECT_EQ(r.filtering, FilteringBehavior::Open);
  EXPECT_EQ(r.natClass, NatClass::Public);
  EXPECT_EQ(r.observed, (std::vector<net::Endpoint>{kLocal}));
  EXPECT_TRUE(r.acceptsUnsolicitedUdp());
}

TEST(Classify, NatIsDetectedByComparisonNotByAddressRange) {
  // 198.18.0.0/15 is not RFC 1918, and still translated: only the comparison can tell.
  const auto mapped = ep("198.18.0.101:40000");
  auto r = classify(kLocal, {plain(kR1, mapped), plain(kR2, mapped), changePort(mapped)});
  EXPECT_TRUE(r.natted);
  EXPECT_EQ(r.natClass, NatClass::FullCone);
  // And a private-looking address that is not translated is public.
  const auto privateLocal = ep("10.0.0.5:5000");
  auto p = classify(privateLocal,
                    {plain(kR1, privateLocal), plain(kR2, privateLocal), changePort(privateLocal)});
  EXPECT_FALSE(p.natted);
  EXPECT_EQ(p.natClass, NatClass::Public);
}

TEST(Classify, PortTranslationAloneCountsAsNat) {
  const auto mapped = ep("198.19.1.11:51000");
  auto r = classify(kLocal, {plain(kR1, mapped), plain(kR2, mapped), changePort(std::nullopt)});
  EXPECT_TRUE(r.natted);
  EXPECT_EQ(r.natClass, NatClass::RestrictedCone);
}

TEST(Classify, RestrictedConeWhenMappingIsSharedButFiltered) {
  const auto mapped = ep("198.18.0.102:40000");
  auto r = classify(kLocal, {plain(kR1, mapped), plain(kR2, mapped), changePort(std::nullopt)});
  EXPECT_EQ(r.mapping, MappingBehavior::EndpointIndependent);
  EXPECT_EQ(r.filtering, FilteringBehavior::Filtered);
  EXPECT_EQ(r.natClass, NatClass::RestrictedCone);
  EXPECT_FALSE(r.acceptsUnsolicitedUdp());
}

TEST(Classify, SymmetricWhenReflectorsSeeDifferentMappings) {
  auto r = classify(kLocal, {plain(kR1, ep("198.18.0.101:1111")),
                             plain(kR2, ep("198.18.0.101:2222")), changePort(std::nullopt)});
  EXPECT_EQ(r.mapping, MappingBehavior::AddressDependent);
  EXPECT_EQ(r.natClass, NatClass::Symmetric);
  EXPECT_EQ(r.observed.size(), 2u);
}

TEST(Classify, FirewallWithoutTranslationIsRestricted) {
  auto r = classify(kLocal, {plain(kR1, kLocal), plain(kR2, kLocal), changePort(std::nullopt)});
  EXPECT_FALSE(r.natted);
  EXPECT_EQ(r.natClass, NatClass::RestrictedCone);
  EXPECT_FALSE(r.notes.empty());
}

TEST(Classify, OneAnswerLeavesMappingUnknownAndSaysSo) {
  const auto mapped = ep("198.18.0.101:1111");
  auto r =
      classify(kLocal, {plain(kR1, mapped), plain(kR2, std::nullopt), changePort(std::nullopt)});
  EXPECT_TRUE(r.natted);
  EXPECT_EQ(r.mapping, MappingBehavior::Unknown);
  EXPECT_EQ(r.natClass, NatClass::Unknown);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.front().find("only 1"), std::string::npos);
  // Not translated, reached through the other port: Public even with one reflector.
  auto p = classify(kLocal, {plain(kR1, kLocal), plain(kR2, std::nullopt), changePort(kLocal)});
  EXPECT_EQ(p.natClass, NatClass::Public);
}

TEST(Classify, NoAnswerIsUnknown) {
  auto r = classify(kLocal,
                    {plain(kR1, std::nullopt), plain(kR2, std::nullopt), changePort(std::nullopt)});
  EXPECT_EQ(r.natClass, NatClass::Unknown);
  EXPECT_EQ(r.filtering, FilteringBehavior::Unknown);
  EXPECT_TRUE(r.observed.empty());
  EXPECT_FALSE(r.notes.empty());
}

TEST(Classify, ChangePortAnswerFromThePrimaryPortProvesNothing) {
  const auto mapped = ep("198.18.0.103:40000");
  auto r = classify(kLocal, {plain(kR1, mapped), plain(kR2, mapped), changePort(mapped, kR1)});
  EXPECT_EQ(r.filtering, FilteringBehavior::Unknown);
  EXPECT_EQ(r.natClass, NatClass::Unknown);
}

TEST(Classify, RefusedChangePortLeavesFilteringUnknown) {
  const auto mapped = ep("198.18.0.103:40000");
  auto cp = changePort(std::nullopt);
  cp.answeredFrom = kR1;
  cp.errorCode = 420;
  auto r = classify(kLocal, {plain(kR1, mapped), plain(kR2, mapped), cp});
  EXPECT_EQ(r.filtering, FilteringBehavior::Unknown);
  EXPECT_NE(r.notes.front().find("420"), std::string::npos);
}

TEST(Classify, NamesAreStable) {
  EXPECT_STREQ(toString(NatClass::Public), "Public");
  EXPECT_STREQ(toString(NatClass::FullCone), "FullCone");
  EXPECT_STREQ(toString(NatClass::RestrictedCone), "RestrictedCone");
  EXPECT_STREQ(toString(NatClass::Symmetric), "Symmetric");
  EXPECT_STREQ(toString(NatClass::Unknown), "Unknown");
  EXPECT_STREQ(toString(MappingBehavior::AddressDependent), "address-dependent");
  EXPECT_STREQ(toString(FilteringBehavior::Filtered), "filtered");
}

// --- configuration -------------------------------------------------------------------------------

TEST(ReachabilityConfig, ProberDefaultsAreValidOnceAddressesAreSet) {
  ProberConfig c;
  c.local = ep("198.19.1.11:0");
  c.reflectors = {kR1, kR2};
  EXPECT_TRUE(validate(c));
  // RFC 5389 §7.2.1 schedule with RTO 100 ms, Rc 5, Rm 4: last send at 1.5 s, give up at 1.9 s.
  EXPECT_EQ(worstCaseDuration(c), 1900ms);
}

TEST(ReachabilityConfig, ProberRefusesBadSettings) {
  ProberConfig good;
  good.local = ep("198.19.1.11:0");
  good.reflectors = {kR1, kR2};
  auto expectInvalid = [&](auto mutate, const char* why) {
    ProberConfig c = good;
    mutate(c);
    auto ok = validate(c);
    EXPECT_FALSE(ok) << why;
    if (!ok) {
      EXPECT_EQ(ok.error().code, ErrorCode::InvalidArgument);
    }
  };
  expectInvalid([](ProberConfig& c) { c.local = ep("0.0.0.0:0"); }, "unspecified local");
  expectInvalid([](ProberConfig& c) { c.reflectors.clear(); }, "no reflectors");
  expectInvalid([](ProberConfig& c) { c.reflectors.push_back(kR1); }, "duplicate");
  expectInvalid([](ProberConfig& c) { c.reflectors.push_back(ep("198.18.0.13:0")); }, "port 0");
  expectInvalid([](ProberConfig& c) { c.reflectors.push_back(ep("[2001:db8::1]:3478")); },
                "family");
  expectInvalid([](ProberConfig& c) { c.maxReflectors = 1; }, "too many reflectors");
  expectInvalid([](ProberConfig& c) { c.initialRto = 0ms; }, "zero RTO");
  expectInvalid([](ProberConfig& c) { c.maxTransmissions = 0; }, "zero Rc");
  expectInvalid([](ProberConfig& c) { c.maxTransmissions = 40; }, "huge Rc");
  expectInvalid([](ProberConfig& c) { c.finalWaitFactor = 0; }, "zero Rm");
}

TEST(ReachabilityConfig, ReflectorRefusesBadSettings) {
  ReflectorConfig good;
  good.primary = ep("198.18.0.11:3478");
  EXPECT_TRUE(validate(good));
  auto expectInvalid = [&](auto mutate, const char* why) {
    ReflectorConfig c = good;
    mutate(c);
    EXPECT_FALSE(validate(c)) << why;
  };
  expectInvalid([](ReflectorConfig& c) { c.primary = ep("0.0.0.0:3478"); }, "unspecified");
  expectInvalid([](ReflectorConfig& c) { c.primary.port = 65535; }, "no room for port + 1");
  expectInvalid([](ReflectorConfig& c) { c.alternatePort = 3478; }, "alternate == primary");
  expectInvalid([](ReflectorConfig& c) { c.rateLimit.perSourceRate = 0; }, "zero rate");
  expectInvalid([](ReflectorConfig& c) { c.rateLimit.perSourceBurst = 0.5; }, "burst < 1");
  expectInvalid([](ReflectorConfig& c) { c.rateLimit.maxSources = 0; }, "no table");
  expectInvalid([](ReflectorConfig& c) { c.rateLimit.totalRate = -1; }, "negative total");
}

}  // namespace
}  // namespace p2psip::reachability
