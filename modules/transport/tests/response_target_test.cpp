// SPDX-License-Identifier: Apache-2.0
// RFC 3261 §18.2.2 with RFC 3581 §4: where a response goes.
#include "p2psip/transport/transport.h"

#include <gtest/gtest.h>

#include "loopback_fixture.h"

namespace p2psip::transport {
namespace {

using testing::parse;
using testing::requestText;

net::Endpoint ep(const char* text) {
  return *net::Endpoint::parse(text);
}

Flow udpFlow() {
  return Flow{Protocol::Udp, ep("127.0.0.1:5060"), ep("198.51.100.7:40000"), 0};
}

TEST(ResponseTarget, UdpWithFilledRportGoesToReceivedAndRport) {
  auto m = parse(
      requestText("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=198.51.100.7;rport=40000"));
  const Target t = responseTarget(m.topVia(), udpFlow());
  EXPECT_EQ(t.protocol, Protocol::Udp);
  EXPECT_EQ(t.endpoint, ep("198.51.100.7:40000"));
  EXPECT_EQ(t.local, ep("127.0.0.1:5060"));  // answer from where it arrived (RFC 3581 §4)
  EXPECT_EQ(t.connection, 0u);
}

TEST(ResponseTarget, UdpWithReceivedButNoRportUsesSentByPort) {
  auto m = parse(requestText("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=198.51.100.7"));
  EXPECT_EQ(responseTarget(m.topVia(), udpFlow()).endpoint, ep("198.51.100.7:5070"));
}

TEST(ResponseTarget, UdpWithoutPortDefaultsTo5060) {
  auto m = parse(requestText("SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1;received=198.51.100.7"));
  EXPECT_EQ(responseTarget(m.topVia(), udpFlow()).endpoint, ep("198.51.100.7:5060"));
}

TEST(ResponseTarget, UdpWithoutReceivedGoesToSentBy) {
  auto m = parse(requestText("SIP/2.0/UDP 198.51.100.7:5080;branch=z9hG4bK1"));
  EXPECT_EQ(responseTarget(m.topVia(), udpFlow()).endpoint, ep("198.51.100.7:5080"));
}

TEST(ResponseTarget, UdpWithUnfilledRportFallsBackToThePacketSource) {
  auto m = parse(requestText("SIP/2.0/UDP 198.51.100.7:5080;branch=z9hG4bK1;rport"));
  EXPECT_EQ(responseTarget(m.topVia(), udpFlow()).endpoint, ep("198.51.100.7:40000"));
}

TEST(ResponseTarget, UdpWithMaddrGoesToMaddrAndSentByPort) {
  auto m = parse(requestText(
      "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;maddr=192.0.2.9;received=198.51.100.7"));
  EXPECT_EQ(responseTarget(m.topVia(), udpFlow()).endpoint, ep("192.0.2.9:5070"));
}

TEST(ResponseTarget, MaddrThatIsANameIsNotResolvedAndIgnored) {
  auto m = parse(requestText(
      "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;maddr=example.com;received=198.51.100.7"));
  EXPECT_EQ(responseTarget(m.topVia(), udpFlow()).endpoint, ep("198.51.100.7:5070"));
}

TEST(ResponseTarget, ReliableTransportUsesTheSameConnectionWithReceivedAndSentByPortAsFallback) {
  auto m = parse(
      requestText("SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK1;received=198.51.100.7;rport=40000"));
  const Flow flow{Protocol::Tcp, ep("127.0.0.1:5060"), ep("198.51.100.7:40000"), 42};
  const Target t = responseTarget(m.topVia(), flow);
  EXPECT_EQ(t.protocol, Protocol::Tcp);
  EXPECT_EQ(t.connection, 42u);
  EXPECT_EQ(t.endpoint, ep("198.51.100.7:5070"));
}

TEST(ResponseTarget, TlsWithoutPortDefaultsTo5061) {
  auto m = parse(requestText("SIP/2.0/TLS 198.51.100.7;branch=z9hG4bK1"));
  const Flow flow{Protocol::Tls, ep("127.0.0.1:5061"), ep("198.51.100.7:40000"), 7};
  const Target t = responseTarget(m.topVia(), flow);
  EXPECT_EQ(t.connection, 7u);
  EXPECT_EQ(t.endpoint, ep("198.51.100.7:5061"));
}

TEST(ResponseTarget, Ipv6ReceivedAndRport) {
  auto m = parse(requestText(
      "SIP/2.0/UDP [2001:db8::1]:5070;branch=z9hG4bK1;received=2001:db8::9;rport=4000"));
  const Flow flow{Protocol::Udp, ep("[::1]:5060"), ep("[2001:db8::9]:4000"), 0};
  EXPECT_EQ(responseTarget(m.topVia(), flow).endpoint, ep("[2001:db8::9]:4000"));
}

TEST(Protocol, NamesAsWrittenInViaAndReliability) {
  EXPECT_EQ(toString(Protocol::Udp), "UDP");
  EXPECT_EQ(toString(Protocol::Tcp), "TCP");
  EXPECT_EQ(toString(Protocol::Tls), "TLS");
  EXPECT_FALSE(isReliable(Protocol::Udp));
  EXPECT_TRUE(isReliable(Protocol::Tcp));
  EXPECT_TRUE(isReliable(Protocol::Tls));
}

}  // namespace
}  // namespace p2psip::transport
