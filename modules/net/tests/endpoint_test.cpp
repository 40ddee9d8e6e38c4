// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/endpoint.h"

#include <gtest/gtest.h>

#include <unordered_set>

namespace p2psip::net {
namespace {

TEST(Endpoint, PrintsIpv4AsAddressColonPort) {
  const Endpoint e{asio::ip::make_address("192.0.2.1"), 5060};
  EXPECT_EQ(e.toString(), "192.0.2.1:5060");
}

TEST(Endpoint, PrintsIpv6InBrackets) {
  const Endpoint e{asio::ip::make_address("2001:db8::1"), 5061};
  EXPECT_EQ(e.toString(), "[2001:db8::1]:5061");
}

TEST(Endpoint, ParsesIpv4AndIpv6AndRoundTrips) {
  for (const char* text : {"1.2.3.4:5060", "[::1]:5060", "[2001:db8::a:1]:65535", "127.0.0.1:0"}) {
    auto e = Endpoint::parse(text);
    ASSERT_TRUE(e) << text << ": " << e.error().detail;
    EXPECT_EQ(e->toString(), text);
  }
  auto v6 = Endpoint::parse("[::1]:5060");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->address.is_v6());
  EXPECT_EQ(v6->port, 5060);
}

TEST(Endpoint, RefusesNamesMissingPortsAndBadPorts) {
  for (const char* text :
       {"example.com:5060", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:50x", "::1:5060",
        "[::1]", "[::1]5060", "[1.2.3.4]:5060", "[::1:5060", "", ":5060"}) {
    auto e = Endpoint::parse(text);
    EXPECT_FALSE(e) << text;
    if (!e) {
      EXPECT_EQ(e.error().code, ErrorCode::InvalidArgument);
    }
  }
}

TEST(Endpoint, MapsIpv4MappedIpv6ToIpv4) {
  const asio::ip::udp::endpoint mapped(asio::ip::make_address("::ffff:192.0.2.7"), 5060);
  const Endpoint e = Endpoint::fromAsio(mapped);
  EXPECT_TRUE(e.address.is_v4());
  EXPECT_EQ(e.toString(), "192.0.2.7:5060");
}

TEST(Endpoint, AddressTextForViaReceivedHasNoBracketsOrZone) {
  auto a = asio::ip::make_address("fe80::1%1");
  EXPECT_EQ(addressToString(a), "fe80::1");
  EXPECT_EQ(addressToString(asio::ip::make_address("10.0.0.1")), "10.0.0.1");
}

TEST(Endpoint, HashesAndComparesByValue) {
  std::unordered_set<Endpoint, EndpointHash> set;
  set.insert(*Endpoint::parse("1.2.3.4:5060"));
  set.insert(*Endpoint::parse("1.2.3.4:5060"));
  set.insert(*Endpoint::parse("1.2.3.4:5061"));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(*Endpoint::parse("1.2.3.4:5060") < *Endpoint::parse("1.2.3.4:5061"));
}

}  // namespace
}  // namespace p2psip::net

namespace p2psip::net {
namespace {

// parseAddress must say what asio::ip::make_address (inet_pton underneath) says, for every text:
// the transport and proxy decide "is this Via host one of ours / where does this response go" on
// it.
TEST(ParseAddress, AgreesWithAsioOnLiteralsAndNonLiterals) {
  const char* texts[] = {"127.0.0.1",
                         "0.0.0.0",
                         "255.255.255.255",
                         "198.18.0.1",
                         "256.1.1.1",
                         "1.2.3",
                         "1.2.3.4.5",
                         "01.2.3.4",
                         "1.2.3.04",
                         "1.2.3.0",
                         "1..3.4",
                         "1.2.3.4.",
                         ".1.2.3",
                         "1.2.3.4 ",
                         " 1.2.3.4",
                         "1.2.3.1000",
                         "p2p.test",
                         "",
                         "a",
                         "::1",
                         "::",
                         "2001:db8::1",
                         "2001:db8::1:2:3:4:5:6:7",
                         "::ffff:192.0.2.1",
                         "2001:db8:::1",
                         "2001:db8::g",
                         "fe80::1%1",
                         "1:2:3:4:5:6:7:8",
                         "1:2:3:4:5:6:7:8:9",
                         "::1.2.3.4",
                         "12345::1",
                         "1.2.3.-4",
                         "+1.2.3.4",
                         "1.2.3.4:5060"};
  for (const char* text : texts) {
    asio::error_code error;
    const auto expected = asio::ip::make_address(text, error);
    const auto got = parseAddress(text);
    ASSERT_EQ(got.has_value(), !error) << "\"" << text << "\"";
    if (got) {
      EXPECT_EQ(*got, expected) << "\"" << text << "\"";
    }
  }
}

TEST(ParseAddress, TakesBracketedIpv6AsInAViaOrUriHost) {
  EXPECT_EQ(parseAddress("[2001:db8::1]"), asio::ip::make_address("2001:db8::1"));
  EXPECT_EQ(parseAddress("[::1]"), asio::ip::make_address("::1"));
  EXPECT_FALSE(parseAddress("[]").has_value());
  EXPECT_FALSE(parseAddress("[2001:db8::1").has_value());
}

}  // namespace
}  // namespace p2psip::net
