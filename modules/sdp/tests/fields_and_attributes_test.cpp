// SPDX-License-Identifier: Apache-2.0
// The per-field and per-attribute parsers on their own: RFC 8866 §5, RFC 3605, RFC 8839 §5.1.
#include "p2psip/sdp/attributes.h"
#include "p2psip/sdp/fields.h"

#include <gtest/gtest.h>

namespace p2psip::sdp {
namespace {

TEST(IpLiteralType, TellsIp4FromIp6AndRejectsEverythingElse) {
  EXPECT_EQ(ipLiteralType("192.0.2.1"), AddressType::Ip4);
  EXPECT_EQ(ipLiteralType("0.0.0.0"), AddressType::Ip4);
  EXPECT_EQ(ipLiteralType("2001:db8::1"), AddressType::Ip6);
  EXPECT_EQ(ipLiteralType("::"), AddressType::Ip6);
  EXPECT_EQ(ipLiteralType("::ffff:192.0.2.2"), AddressType::Ip6);
  EXPECT_EQ(ipLiteralType("1:2:3:4:5:6:7:8"), AddressType::Ip6);
  EXPECT_FALSE(ipLiteralType("1:2:3:4:5:6:7:8:9"));
  EXPECT_FALSE(ipLiteralType("1::2::3"));
  EXPECT_FALSE(ipLiteralType("2001:db8:::1"));
  EXPECT_FALSE(ipLiteralType("12345::1"));
  EXPECT_FALSE(ipLiteralType("256.0.0.1"));
  EXPECT_FALSE(ipLiteralType("1.2.3"));
  EXPECT_FALSE(ipLiteralType("1.2.3.4.5"));
  EXPECT_FALSE(ipLiteralType("host.example.com"));
  EXPECT_FALSE(ipLiteralType(""));
  EXPECT_FALSE(ipLiteralType("[2001:db8::1]"));
}

TEST(IsUnspecifiedAddress, RecognisesHoldAddressesOnly) {
  EXPECT_TRUE(isUnspecifiedAddress("0.0.0.0"));
  EXPECT_TRUE(isUnspecifiedAddress("::"));
  EXPECT_TRUE(isUnspecifiedAddress("0:0:0:0:0:0:0:0"));
  EXPECT_FALSE(isUnspecifiedAddress("::1"));
  EXPECT_FALSE(isUnspecifiedAddress("192.0.2.1"));
  EXPECT_FALSE(isUnspecifiedAddress("0.0.0.0.0"));
}

TEST(ParseOrigin, ReadsSixFields) {
  const auto o = parseOrigin("jdoe 2890844526 2890842807 IN IP4 198.51.100.1");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->username, "jdoe");
  EXPECT_EQ(o->sessionId, "2890844526");
  EXPECT_EQ(o->sessionVersion, "2890842807");
  EXPECT_EQ(o->unicastAddress, "198.51.100.1");
  EXPECT_FALSE(parseOrigin("jdoe 1 2 IN IP4").has_value());
  EXPECT_FALSE(parseOrigin("jdoe 1 2 IN IP4 a b").has_value());
}

TEST(ParseConnection, ReadsUnicastAndHostName) {
  const auto c = parseConnection("IN IP6 2001:db8::20");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->netType, "IN");
  EXPECT_EQ(c->addrType, "IP6");
  EXPECT_EQ(c->address, "2001:db8::20");
  EXPECT_FALSE(c->ttl.has_value());
  EXPECT_EQ(parseConnection("IN IP4 media.example.com")->address, "media.example.com");
}

TEST(ParseConnection, RejectsMalformedMulticastSuffix) {
  EXPECT_FALSE(parseConnection("IN IP4 233.252.0.1/").has_value());
  EXPECT_FALSE(parseConnection("IN IP4 233.252.0.1/127/0").has_value());
  EXPECT_FALSE(parseConnection("IN IP4 233.252.0.1/1x").has_value());
  EXPECT_FALSE(parseConnection("IN IP6 ff15::101/").has_value());
  EXPECT_EQ(parseConnection("IN IP4 233.252.0.1/0")->ttl, 0);
}

TEST(ParseTiming, ReadsDecimalTimesAndRejectsOthers) {
  EXPECT_EQ(parseTiming("2873397496 2873404696")->startTime, 2873397496u);
  EXPECT_FALSE(parseTiming("0").has_value());
  EXPECT_FALSE(parseTiming("0 x").has_value());
  EXPECT_FALSE(parseTiming("99999999999999999999999 0").has_value());
}

TEST(ParseMediaField, ReadsPortRangeProtoAndFormats) {
  const auto m = parseMediaField("video 51372/2 RTP/AVP 99 100");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->media, "video");
  EXPECT_EQ(m->port, 51372);
  EXPECT_EQ(m->numberOfPorts, 2u);
  EXPECT_EQ(m->proto, "RTP/AVP");
  EXPECT_EQ(m->formats, (std::vector<std::string_view>{"99", "100"}));
  EXPECT_EQ(parseMediaField("audio 65535 RTP/AVP 0")->port, 65535);
  EXPECT_FALSE(parseMediaField("audio 65536 RTP/AVP 0").has_value());
  EXPECT_FALSE(parseMediaField("audio 0x10 RTP/AVP 0").has_value());
  EXPECT_FALSE(parseMediaField("audio 4000 /AVP 0").has_value());
  EXPECT_FALSE(parseMediaField("audio 4000 RTP/ 0").has_value());
}

TEST(Direction, NamesRoundTrip) {
  for (auto d :
       {Direction::SendRecv, Direction::SendOnly, Direction::RecvOnly, Direction::Inactive}) {
    EXPECT_EQ(directionFromAttributeName(toString(d)), d);
  }
  EXPECT_FALSE(directionFromAttributeName("SENDONLY").has_value());
}

TEST(SplitAttribute, SplitsAtTheFirstColonOnly) {
  const auto a = splitAttribute("fmtp:101 0-15:x");
  EXPECT_EQ(a.name, "fmtp");
  EXPECT_EQ(a.value, "101 0-15:x");
  EXPECT_FALSE(splitAttribute("rtcp-mux").value.has_value());
  EXPECT_EQ(splitAttribute("tool:").value, "");
}

TEST(ParseRtpmap, ReadsPayloadTypeEncodingClockRateAndChannels) {
  const auto r = parseRtpmap("111 opus/48000/2");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->payloadType, 111);
  EXPECT_EQ(r->encodingName, "opus");
  EXPECT_EQ(r->clockRate, 48000u);
  EXPECT_EQ(r->channels, 2u);
  EXPECT_FALSE(parseRtpmap("96 H264/90000")->channels.has_value());
}

TEST(ParseRtpmap, RejectsBadPayloadTypeAndMissingClockRate) {
  EXPECT_FALSE(parseRtpmap("128 foo/8000").has_value());
  EXPECT_FALSE(parseRtpmap("31 LPC").has_value());
  EXPECT_FALSE(parseRtpmap("0 PCMU/").has_value());
  EXPECT_FALSE(parseRtpmap("0 PCMU/8000/x").has_value());
  EXPECT_FALSE(parseRtpmap("0").has_value());
  EXPECT_FALSE(parseRtpmap("").has_value());
}

TEST(ParseRtcp, ReadsPortAndOptionalAddress) {
  EXPECT_EQ(parseRtcp("53020")->port, 53020);
  EXPECT_FALSE(parseRtcp("53020")->connection.has_value());
  const auto r = parseRtcp("53020 IN IP6 2001:2345:6789:ABCD:EF01:2345:6789:ABCD");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->connection->address, "2001:2345:6789:ABCD:EF01:2345:6789:ABCD");
  EXPECT_FALSE(parseRtcp("65536").has_value());
  EXPECT_FALSE(parseRtcp("53020 IN IP4").has_value());
  EXPECT_FALSE(parseRtcp("53020 IN IP4 not_an_address").has_value());
  EXPECT_FALSE(parseRtcp("").has_value());
}

TEST(ParseCandidate, ReadsRelayCandidateWithRelatedAddressAndExtensions) {
  const auto c = parseCandidate(
      "2157334355 1 udp 33562367 198.51.100.9 61665 typ relay raddr 203.0.113.7 rport 54400 "
      "generation 0 network-cost 50");
  ASSERT_TRUE(c.has_value()) << c.error().detail;
  EXPECT_EQ(c->type, "relay");
  EXPECT_EQ(c->relatedAddress, "203.0.113.7");
  EXPECT_EQ(c->relatedPort, 54400);
  ASSERT_EQ(c->extensions.size(), 2u);
  EXPECT_EQ(c->extensions[1].first, "network-cost");
  EXPECT_EQ(c->extensions[1].second, "50");
}

TEST(ParseCandidate, AcceptsMdnsHostNameAndIp6) {
  EXPECT_TRUE(
      parseCandidate("1 1 UDP 2122262783 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54321 typ host")
          .has_value());
  EXPECT_TRUE(parseCandidate("a+/b 2 UDP 1 2001:db8::9 9 typ host").has_value());
}

TEST(ParseCandidate, RejectsGrammarViolations) {
  EXPECT_FALSE(parseCandidate("1 1 UDP 1 192.0.2.1 9 host").has_value());        // no typ
  EXPECT_FALSE(parseCandidate("1 0 UDP 1 192.0.2.1 9 typ host").has_value());    // component 0
  EXPECT_FALSE(parseCandidate("1 257 UDP 1 192.0.2.1 9 typ host").has_value());  // component > 256
  EXPECT_FALSE(parseCandidate("1 1 UDP 4294967296 192.0.2.1 9 typ host").has_value());  // priority
  EXPECT_FALSE(parseCandidate("1 1 UDP 1 192.0.2.1 65536 typ host").has_value());       // port
  EXPECT_FALSE(parseCandidate("1 1 UDP 1 192.0.2.1 9 typ host generation").has_value());
  EXPECT_FALSE(parseCandidate("1 1 UDP 1 192.0.2.1 9 typ host rport x").has_value());
  EXPECT_FALSE(parseCandidate(std::string(33, 'f') + " 1 UDP 1 192.0.2.1 9 typ host").has_value());
  EXPECT_FALSE(parseCandidate("f_o 1 UDP 1 192.0.2.1 9 typ host").has_value());
  EXPECT_FALSE(parseCandidate("1 1 UDP 1 bad_host! 9 typ host").has_value());
  EXPECT_FALSE(parseCandidate("").has_value());
}

}  // namespace
}  // namespace p2psip::sdp
