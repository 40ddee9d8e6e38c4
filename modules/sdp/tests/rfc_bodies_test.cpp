// SPDX-License-Identifier: Apache-2.0
// The SDP bodies of the RFC 4475 torture messages and the RFC 5118 IPv6 messages (see
// tests/data/README.md): valid ones round-trip byte-exact and survive a one-line edit.
#include "p2psip/sdp/session_description.h"

#include <gtest/gtest.h>

#include <string>

#include "sdp_test_support.h"

namespace p2psip::sdp {
namespace {

using testing::diffLines;
using testing::readTestData;

class ValidRfcBody : public ::testing::TestWithParam<const char*> {};

TEST_P(ValidRfcBody, RoundTripsByteExact) {
  const auto text = readTestData(GetParam());
  ASSERT_FALSE(text.empty()) << GetParam();
  const auto sdp = SessionDescription::parse(text);
  ASSERT_TRUE(sdp.has_value()) << sdp.error().detail;
  EXPECT_EQ(sdp->serialize(), text);
  EXPECT_GE(sdp->mediaCount(), 1u);
  for (const auto& media : sdp->mediaDescriptions()) {
    EXPECT_TRUE(media.effectiveConnection().has_value());
    EXPECT_TRUE(media.rtpmaps().has_value() || media.media() == "video");
  }
}

TEST_P(ValidRfcBody, PortEditChangesExactlyOneLine) {
  const auto text = readTestData(GetParam());
  auto sdp = SessionDescription::parse(text);
  ASSERT_TRUE(sdp.has_value()) << sdp.error().detail;
  ASSERT_TRUE(sdp->setPort(sdp->mediaCount() - 1, 1234).has_value());
  const auto diff = diffLines(text, sdp->serialize());
  EXPECT_EQ(diff.removed, 1u);
  EXPECT_EQ(diff.added, 1u);
  EXPECT_EQ(sdp->media(sdp->mediaCount() - 1).port(), 1234);
}

INSTANTIATE_TEST_SUITE_P(
    Rfc4475, ValidRfcBody,
    ::testing::Values("rfc4475/baddate.sdp", "rfc4475/badinv01.sdp", "rfc4475/bcast.sdp",
                      "rfc4475/clerr.sdp", "rfc4475/esc01.sdp", "rfc4475/escruri.sdp",
                      "rfc4475/insuf.sdp", "rfc4475/inv2543.sdp", "rfc4475/longreq.sdp",
                      "rfc4475/ltgtruri.sdp", "rfc4475/lwsruri.sdp", "rfc4475/lwsstart.sdp",
                      "rfc4475/multi01.sdp", "rfc4475/ncl.sdp", "rfc4475/quotbal.sdp",
                      "rfc4475/sdp01.sdp", "rfc4475/unreason.sdp", "rfc4475/wsinv.sdp"));

INSTANTIATE_TEST_SUITE_P(Rfc5118, ValidRfcBody,
                         ::testing::Values("rfc5118/ipv6-in-sdp.sdp", "rfc5118/mult-ip-in-sdp.sdp",
                                           "rfc5118/ipv4-mapped-ipv6.sdp"));

TEST(RfcBodies, LtgtruriBodyHasBoundedTiming) {
  const auto sdp = SessionDescription::parse(readTestData("rfc4475/ltgtruri.sdp"));
  ASSERT_TRUE(sdp.has_value());
  EXPECT_EQ(sdp->timings().at(0).startTime, 3149328700u);
  ASSERT_FALSE(sdp->media(1).rtpmaps().has_value());  // "a=rtpmap:31 LPC" has no clock rate
  EXPECT_EQ(sdp->media(1).rtpmaps().error().detail.rfind("line 8: ", 0), 0u);
}

TEST(RfcBodies, Multi01BodyKeepsItsTrailingBlankLine) {
  const auto text = readTestData("rfc4475/multi01.sdp");
  ASSERT_EQ(text.substr(text.size() - 4), "\r\n\r\n");
  const auto sdp = SessionDescription::parse(text);
  ASSERT_TRUE(sdp.has_value());
  EXPECT_EQ(sdp->lineCount(), 8u);
  EXPECT_EQ(sdp->serialize(), text);
}

TEST(RfcBodies, DblreqBodyIsRejectedAtTheSpaceBeforeEquals) {
  const auto sdp = SessionDescription::parse(readTestData("rfc4475/dblreq.sdp"));
  ASSERT_FALSE(sdp.has_value());
  EXPECT_EQ(sdp.error().code, ErrorCode::ParseError);
  EXPECT_EQ(sdp.error().detail.rfind("line 7: expected '<type>=<value>'", 0), 0u)
      << sdp.error().detail;
}

TEST(RfcBodies, Mismatch02BodyIsRejectedForMissingSessionName) {
  const auto sdp = SessionDescription::parse(readTestData("rfc4475/mismatch02.sdp"));
  ASSERT_FALSE(sdp.has_value());
  EXPECT_EQ(sdp.error().detail, "missing s= line (RFC 8866 §5.3)");
}

TEST(RfcBodies, TestDatBodyIsRejectedAtItsSecondLine) {
  const auto sdp = SessionDescription::parse(readTestData("rfc4475/test.sdp"));
  ASSERT_FALSE(sdp.has_value());
  EXPECT_EQ(sdp.error().detail.rfind("line 2: expected", 0), 0u) << sdp.error().detail;
  EXPECT_NE(sdp.error().detail.find("'testing=123'"), std::string::npos);
}

TEST(RfcBodies, Ipv6InSdpHasSessionLevelIp6Connection) {
  const auto sdp = SessionDescription::parse(readTestData("rfc5118/ipv6-in-sdp.sdp"));
  ASSERT_TRUE(sdp.has_value());
  EXPECT_EQ(sdp->origin().addrType, "IP6");
  EXPECT_EQ(sdp->connection()->addrType, "IP6");
  EXPECT_EQ(sdp->connection()->address, "2001:db8::20");
  EXPECT_EQ(sdp->media(1).effectiveConnection()->address, "2001:db8::20");
  EXPECT_EQ(sdp->media(0).rtpmap(2)->encodingName, "G726-32");
}

TEST(RfcBodies, MultIpInSdpHasOneConnectionPerMediaOfDifferentFamilies) {
  const auto text = readTestData("rfc5118/mult-ip-in-sdp.sdp");
  auto sdp = SessionDescription::parse(text);
  ASSERT_TRUE(sdp.has_value());
  EXPECT_EQ(sdp->sessionName(), "");
  EXPECT_FALSE(sdp->connection().has_value());
  EXPECT_EQ(sdp->media(0).connection()->address, "192.0.2.1");
  EXPECT_EQ(sdp->media(1).connection()->addrType, "IP6");
  EXPECT_EQ(sdp->media(1).connection()->address, "2001:db8::1");
  // Moving the video stream to IPv4 rewrites its own c= line and nothing else.
  ASSERT_TRUE(sdp->setConnectionAddress(Section::media(1), "198.51.100.1").has_value());
  EXPECT_EQ(sdp->media(1).connection()->addrType, "IP4");
  EXPECT_EQ(sdp->media(0).connection()->address, "192.0.2.1");
  EXPECT_EQ(diffLines(text, sdp->serialize()).removed, 1u);
}

TEST(RfcBodies, Ipv4MappedIpv6IsAnIp6Connection) {
  const auto sdp = SessionDescription::parse(readTestData("rfc5118/ipv4-mapped-ipv6.sdp"));
  ASSERT_TRUE(sdp.has_value());
  EXPECT_EQ(sdp->connection()->address, "::ffff:192.0.2.2");
  EXPECT_EQ(ipLiteralType(sdp->connection()->address), AddressType::Ip6);
}

}  // namespace
}  // namespace p2psip::sdp
