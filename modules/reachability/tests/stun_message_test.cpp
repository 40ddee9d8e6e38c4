// SPDX-License-Identifier: Apache-2.0
#include "p2psip/reachability/stun_message.h"

#include <gtest/gtest.h>

#include <string>

namespace p2psip::reachability {
namespace {

net::Endpoint ep(const char* text) {
  return *net::Endpoint::parse(text);
}

TransactionId someId() {
  return TransactionId{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

// A header with the given type and length, the magic cookie and someId().
std::string header(std::uint16_t type, std::uint16_t length) {
  std::string out =
      bytes({type >> 8, type & 0xFF, length >> 8, length & 0xFF, 0x21, 0x12, 0xA4, 0x42});
  for (auto b : someId()) out.push_back(static_cast<char>(b));
  return out;
}

TEST(StunMessage, MessageTypeInterleavesClassBits) {
  // RFC 5389 §6 and §18.4: Binding request 0x0001, success 0x0101, error 0x0111.
  EXPECT_EQ(stunMessageType(StunClass::Request, kBindingMethod), 0x0001);
  EXPECT_EQ(stunMessageType(StunClass::Indication, kBindingMethod), 0x0011);
  EXPECT_EQ(stunMessageType(StunClass::SuccessResponse, kBindingMethod), 0x0101);
  EXPECT_EQ(stunMessageType(StunClass::ErrorResponse, kBindingMethod), 0x0111);
  EXPECT_EQ(stunMessageType(StunClass::Request, 0xFFF), 0x3EEF);
}

TEST(StunMessage, BindingRequestWithChangePortRoundTrips) {
  StunMessage m;
  m.transactionId = someId();
  m.changeRequest = ChangeRequest{false, true};
  m.fingerprint = true;
  const std::string wire = encodeStun(m);
  ASSERT_EQ(wire.size(), 20u + 8u + 8u);
  EXPECT_TRUE(looksLikeStun(wire));
  // CHANGE-REQUEST: type 0x0003, length 4, flags 0x00000002 (RFC 5780 §7.2).
  EXPECT_EQ(wire.substr(20, 8), bytes({0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x02}));
  auto d = decodeStun(wire);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->messageClass, StunClass::Request);
  EXPECT_EQ(d->method, kBindingMethod);
  EXPECT_EQ(d->transactionId, someId());
  ASSERT_TRUE(d->changeRequest);
  EXPECT_EQ(*d->changeRequest, (ChangeRequest{false, true}));
  EXPECT_TRUE(d->fingerprint);
  EXPECT_FALSE(d->xorMappedAddress);
}

TEST(StunMessage, SuccessResponseWithIpv4AddressesRoundTrips) {
  StunMessage m;
  m.messageClass = StunClass::SuccessResponse;
  m.transactionId = someId();
  m.xorMappedAddress = ep("192.0.2.1:32853");
  m.responseOrigin = ep("198.18.0.11:3479");
  m.otherAddress = ep("198.18.0.12:3479");
  m.mappedAddress = ep("192.0.2.1:32853");
  auto d = decodeStun(encodeStun(m));
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->messageClass, StunClass::SuccessResponse);
  EXPECT_EQ(d->xorMappedAddress, ep("192.0.2.1:32853"));
  EXPECT_EQ(d->mappedAddress, ep("192.0.2.1:32853"));
  EXPECT_EQ(d->responseOrigin, ep("198.18.0.11:3479"));
  EXPECT_EQ(d->otherAddress, ep("198.18.0.12:3479"));
  EXPECT_FALSE(d->fingerprint);
}

TEST(StunMessage, XorMappedAddressMatchesRfc5769Vector) {
  // RFC 5769 §2.2: the IPv4 XOR-MAPPED-ADDRESS of the sample response, 192.0.2.1:32853.
  const std::string attr =
      bytes({0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43});
  auto d = decodeStun(header(0x0101, 12) + attr);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->xorMappedAddress, ep("192.0.2.1:32853"));
}

TEST(StunMessage, XorMappedAddressIpv6RoundTrips) {
  StunMessage m;
  m.messageClass = StunClass::SuccessResponse;
  m.transactionId = someId();
  m.xorMappedAddress = ep("[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  const std::string wire = encodeStun(m);
  // RFC 5769 §2.3: the XORed form of this address under this transaction ID.
  EXPECT_EQ(wire.substr(20, 24),
            bytes({0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
                   0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9}));
  auto d = decodeStun(wire);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->xorMappedAddress, m.xorMappedAddress);
}

TEST(StunMessage, ErrorResponseRoundTripsWithUnknownAttributes) {
  StunMessage m;
  m.messageClass = StunClass::ErrorResponse;
  m.transactionId = someId();
  m.errorCode = StunErrorCode{420, "Unknown Attribute"};
  m.unknownAttributes = {0x0003, 0x7001, 0x0002};
  m.fingerprint = true;
  auto d = decodeStun(encodeStun(m));
  ASSERT_TRUE(d) << d.error().detail;
  ASSERT_TRUE(d->errorCode);
  EXPECT_EQ(*d->errorCode, m.errorCode);
  EXPECT_EQ(d->unknownAttributes, m.unknownAttributes);
  EXPECT_TRUE(d->fingerprint);
}

TEST(StunMessage, EncodeCutsLongReasonAndAttributeLists) {
  StunMessage m;
  m.messageClass = StunClass::ErrorResponse;
  m.errorCode = StunErrorCode{400, std::string(5000, 'x')};
  m.unknownAttributes.assign(1000, 0x7777);
  auto d = decodeStun(encodeStun(m), StunDecodeLimits{32, 100});
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->errorCode->reason.size(), 127u);
  EXPECT_EQ(d->unknownAttributes.size(), 16u);
}

TEST(StunMessage, FingerprintMatchesRfc5769SampleRequest) {
  // RFC 5769 §2.1 sample request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
  // MESSAGE-INTEGRITY, FINGERPRINT. We do not check MESSAGE-INTEGRITY (no credentials here),
  // but the FINGERPRINT must verify and the comprehension-required ICE attributes are listed.
  const std::string sample =
      bytes({0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
             0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e,
             0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24,
             0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
             0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68,
             0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
             0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5,
             0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf});
  auto d = decodeStun(sample);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_TRUE(d->fingerprint);
  EXPECT_EQ(d->transactionId, someId());
  EXPECT_EQ(d->unknownRequired, (std::vector<std::uint16_t>{0x0024}));  // PRIORITY (RFC 8445)

  std::string corrupted = sample;
  corrupted[30] ^= 0x01;  // one bit of SOFTWARE
  auto bad = decodeStun(corrupted);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("FINGERPRINT"), std::string::npos);
}

TEST(StunMessage, UnknownOptionalAttributesAreSkippedAndRequiredOnesListed) {
  const std::string attrs = bytes({0x80, 0x99, 0x00, 0x03, 1, 2, 3, 0,       // optional, padded
                                   0x7f, 0x01, 0x00, 0x00,                   // required, empty
                                   0x7f, 0x01, 0x00, 0x00,                   // listed once
                                   0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x06});  // CHANGE-REQUEST
  auto d = decodeStun(header(0x0001, static_cast<std::uint16_t>(attrs.size())) + attrs);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->unknownRequired, (std::vector<std::uint16_t>{0x7f01}));
  ASSERT_TRUE(d->changeRequest);
  EXPECT_TRUE(d->changeRequest->changeIp);
  EXPECT_TRUE(d->changeRequest->changePort);
}

TEST(StunMessage, FirstOccurrenceOfAnAttributeWins) {
  StunMessage a;
  a.messageClass = StunClass::SuccessResponse;
  a.transactionId = someId();
  a.responseOrigin = ep("10.0.0.1:1");
  StunMessage b = a;
  b.responseOrigin = ep("10.0.0.2:2");
  const std::string first = encodeStun(a).substr(20);
  const std::string second = encodeStun(b).substr(20);
  auto d =
      decodeStun(header(0x0101, static_cast<std::uint16_t>(first.size() * 2)) + first + second);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->responseOrigin, ep("10.0.0.1:1"));
}

TEST(StunMessage, AttributesAfterMessageIntegrityAreIgnored) {
  std::string attrs = bytes({0x00, 0x08, 0x00, 0x14});
  attrs += std::string(20, '\x55');
  attrs += bytes({0x00, 0x03, 0x00, 0x04, 0, 0, 0, 0x02});  // ignored: after MESSAGE-INTEGRITY
  auto d = decodeStun(header(0x0001, static_cast<std::uint16_t>(attrs.size())) + attrs);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_FALSE(d->changeRequest);
}

// --- malformed input ----------------------------------------------------------------------------

void expectRefused(const std::string& datagram, const char* why) {
  auto d = decodeStun(datagram);
  EXPECT_FALSE(d) << "accepted: " << why;
  if (!d) {
    EXPECT_EQ(d.error().code, ErrorCode::ParseError) << why;
  }
}

TEST(StunMessage, RefusesEveryTruncationOfAValidMessage) {
  StunMessage m;
  m.messageClass = StunClass::SuccessResponse;
  m.transactionId = someId();
  m.xorMappedAddress = ep("[2001:db8::1]:5060");
  m.responseOrigin = ep("198.18.0.11:3478");
  m.fingerprint = true;
  const std::string wire = encodeStun(m);
  ASSERT_TRUE(decodeStun(wire));
  for (std::size_t n = 0; n < wire.size(); ++n) {
    EXPECT_FALSE(decodeStun(wire.substr(0, n))) << "prefix of " << n << " bytes accepted";
  }
}

TEST(StunMessage, RefusesBadHeaders) {
  expectRefused("", "empty");
  expectRefused(std::string(19, '\0'), "short header");
  std::string badCookie = header(0x0001, 0);
  badCookie[7] = 0x43;
  expectRefused(badCookie, "bad magic cookie");
  expectRefused(header(0x8001, 0), "leading bits set (RTP-like)");
  expectRefused(header(0x0001, 2) + "ab", "length not a multiple of 4");
  expectRefused(header(0x0001, 8), "length past the datagram");
  expectRefused(header(0x0001, 0) + "abcd", "trailing bytes");
  expectRefused(header(0x0111, 0), "error response without ERROR-CODE");
}

TEST(StunMessage, RefusesBadAttributes) {
  const auto with = [](const std::string& attrs) {
    return header(0x0101, static_cast<std::uint16_t>(attrs.size())) + attrs;
  };
  expectRefused(with(bytes({0x00, 0x20, 0x00, 0xFF, 0, 0, 0, 0})), "length past the end");
  expectRefused(with(bytes({0x00, 0x20, 0x00, 0x08, 0, 1, 0, 0})), "address value truncated");
  expectRefused(with(bytes({0x00, 0x20, 0x00, 0x05, 0, 1, 0, 0})), "missing padding");
  expectRefused(with(bytes({0x00, 0x20, 0x00, 0x08, 0, 3, 0, 0, 1, 2, 3, 4})), "family 3");
  expectRefused(with(bytes({0x00, 0x20, 0x00, 0x08, 0, 2, 0, 0, 1, 2, 3, 4})),
                "IPv6 family with an IPv4-sized address");
  expectRefused(with(bytes({0x00, 0x03, 0x00, 0x08, 0, 0, 0, 2, 0, 0, 0, 0})),
                "CHANGE-REQUEST of 8 bytes");
  expectRefused(with(bytes({0x00, 0x09, 0x00, 0x04, 0, 0, 0x07, 0})), "ERROR-CODE class 7");
  expectRefused(with(bytes({0x00, 0x09, 0x00, 0x04, 0, 0, 0x04, 100})), "ERROR-CODE number 100");
  expectRefused(with(bytes({0x00, 0x0A, 0x00, 0x03, 0, 1, 2, 0})), "odd UNKNOWN-ATTRIBUTES");
  expectRefused(with(bytes({0x80, 0x28, 0x00, 0x04, 0, 0, 0, 0, 0x80, 0x22, 0, 0})),
                "attribute after FINGERPRINT");
  expectRefused(with(bytes({0x80, 0x28, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0})),
                "FINGERPRINT of 8 bytes");
}

TEST(StunMessage, RefusesHugeAttributeCounts) {
  // 16,000 empty comprehension-optional attributes: refused after maxAttributes, not walked.
  std::string attrs;
  for (int i = 0; i < 16000; ++i) attrs += bytes({0x80, 0x99, 0x00, 0x00});
  expectRefused(header(0x0001, static_cast<std::uint16_t>(attrs.size())) + attrs,
                "16,000 attributes");
  std::string few;
  for (int i = 0; i < 32; ++i) few += bytes({0x80, 0x99, 0x00, 0x00});
  EXPECT_TRUE(decodeStun(header(0x0001, static_cast<std::uint16_t>(few.size())) + few));
  // Many distinct unknown required attributes: the list stays bounded.
  std::string unknown;
  for (int i = 0; i < 30; ++i) unknown += bytes({0x70, i, 0x00, 0x00});
  auto d = decodeStun(header(0x0001, static_cast<std::uint16_t>(unknown.size())) + unknown);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->unknownRequired.size(), 16u);
}

TEST(StunMessage, SurvivesPseudoRandomInput) {
  // A cheap stand-in for the fuzz target: random bytes behind a valid header never crash and
  // never leave the input (ASan checks the latter).
  std::uint32_t state = 12345;
  const auto next = [&] {
    state = state * 1103515245u + 12345u;
    return static_cast<char>(state >> 16);
  };
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = 4 * (static_cast<std::uint8_t>(next()) % 24);
    std::string body;
    for (std::size_t i = 0; i < n; ++i) body.push_back(next());
    (void)decodeStun(header(static_cast<std::uint16_t>(round % 3 == 0 ? 0x0001 : 0x0101),
                            static_cast<std::uint16_t>(n)) +
                     body);
    (void)looksLikeStun(body);
  }
  SUCCEED();
}

TEST(StunMessage, ConnectBackAndItsResultRoundTrip) {
  StunMessage m;
  m.transactionId = someId();
  m.connectBackPort = 5071;
  const std::string wire = encodeStun(m);
  // CONNECT-BACK: type 0xC0C1 (comprehension-optional), length 4, port, 2 reserved bytes.
  EXPECT_EQ(wire.substr(20, 8), bytes({0xC0, 0xC1, 0x00, 0x04, 0x13, 0xCF, 0, 0}));
  auto d = decodeStun(wire);
  ASSERT_TRUE(d) << d.error().detail;
  EXPECT_EQ(d->connectBackPort, std::optional<std::uint16_t>(5071));
  EXPECT_TRUE(d->unknownRequired.empty());

  StunMessage answer;
  answer.messageClass = StunClass::SuccessResponse;
  answer.transactionId = someId();
  for (auto result :
       {ConnectResult::Accepted, ConnectResult::NotAccepted, ConnectResult::NotTried}) {
    answer.connectResult = result;
    auto back = decodeStun(encodeStun(answer));
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(back->connectResult, result);
  }
}

TEST(StunMessage, BadConnectBackAttributesAreMalformed) {
  const auto withAttribute = [](std::initializer_list<int> attribute) {
    const std::string body = bytes(attribute);
    return header(0x0001, static_cast<std::uint16_t>(body.size())) + body;
  };
  EXPECT_FALSE(decodeStun(withAttribute({0xC0, 0xC1, 0x00, 0x02, 0x13, 0xCF, 0, 0})))
      << "wrong length";
  EXPECT_FALSE(decodeStun(withAttribute({0xC0, 0xC1, 0x00, 0x04, 0x00, 0x00, 0, 0}))) << "port 0";
  EXPECT_FALSE(decodeStun(withAttribute({0xC0, 0xC2, 0x00, 0x04, 0, 0, 0, 3})))
      << "an unknown result";
  EXPECT_TRUE(decodeStun(withAttribute({0xC0, 0xC2, 0x00, 0x04, 0, 0, 0, 1})));
}

}  // namespace
}  // namespace p2psip::reachability
