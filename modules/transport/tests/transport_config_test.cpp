// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transport/transport_config.h"

#include <gtest/gtest.h>

#include "loopback_fixture.h"
#include "sent_by_set.h"

namespace p2psip::transport {
namespace {

using testing::parse;
using testing::requestText;

TEST(TransportConfig, DefaultsAreValid) {
  EXPECT_TRUE(validate(TransportConfig{}));
}

TEST(TransportConfig, RefusesNonPositiveIdleTimeoutAndZeroConnections) {
  TransportConfig c;
  c.idleTimeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(validate(c));
  c = {};
  c.maxConnections = 0;
  auto r = validate(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("maxConnections"), std::string::npos);
}

TEST(TransportConfig, InboundCapMustHoldOneWholeMessage) {
  TransportConfig c;
  c.maxInboundBytesPerConnection = c.parseLimits.maxMessageSize - 1;
  auto r = validate(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("maxInboundBytesPerConnection"), std::string::npos);
}

TEST(TransportConfig, PongTimeoutMustBePositiveWhenPinging) {
  TransportConfig c;
  c.keepAlive.pingInterval = std::chrono::seconds(30);
  c.keepAlive.pongTimeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(validate(c));
}

TEST(TransportConfig, SentByValuesMustParse) {
  TransportConfig c;
  c.sentBy = {"p2p.example.com", "192.0.2.1:5060", "[2001:db8::1]:5061", "[::1]"};
  EXPECT_TRUE(validate(c));
  for (const char* bad : {"exa mple.com", "192.0.2.1:", "192.0.2.1:70000", "[::1", "[::1]x", ""}) {
    c.sentBy = {bad};
    EXPECT_FALSE(validate(c)) << bad;
  }
}

TEST(SentBySet, MatchesHostAndPortWithDefaultPortWhenViaHasNone) {
  SentBySet set;
  ASSERT_TRUE(set.add("192.0.2.1:5060"));
  EXPECT_TRUE(
      set.matches(parse(requestText("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1")).topVia()));
  EXPECT_TRUE(set.matches(parse(requestText("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1")).topVia()));
  EXPECT_FALSE(
      set.matches(parse(requestText("SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK1")).topVia()));
  EXPECT_FALSE(
      set.matches(parse(requestText("SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bK1")).topVia()));
}

TEST(SentBySet, EntryWithoutPortMatchesAnyPortAndNamesIgnoreCase) {
  SentBySet set;
  ASSERT_TRUE(set.add("P2P.Example.com"));
  EXPECT_TRUE(
      set.matches(parse(requestText("SIP/2.0/TCP p2p.example.COM:6000;branch=z9hG4bK1")).topVia()));
  EXPECT_FALSE(set.matches(
      parse(requestText("SIP/2.0/TCP other.example.com:6000;branch=z9hG4bK1")).topVia()));
}

TEST(SentBySet, ComparesIpv6AsAddressesNotSpellings) {
  SentBySet set;
  ASSERT_TRUE(set.add("[2001:db8:0:0::1]:5060"));
  EXPECT_TRUE(
      set.matches(parse(requestText("SIP/2.0/UDP [2001:DB8::1]:5060;branch=z9hG4bK1")).topVia()));
  EXPECT_FALSE(
      set.matches(parse(requestText("SIP/2.0/UDP [2001:db8::2]:5060;branch=z9hG4bK1")).topVia()));
}

}  // namespace
}  // namespace p2psip::transport
