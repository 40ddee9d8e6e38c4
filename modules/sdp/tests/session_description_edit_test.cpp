// SPDX-License-Identifier: Apache-2.0
// Edits as a media relay makes them: each touches only the lines it names, so every other line
// of the offer or answer reaches the far end byte-exact.
#include "p2psip/sdp/session_description.h"

#include <gtest/gtest.h>

#include <string>

#include "sdp_test_support.h"

namespace p2psip::sdp {
namespace {

using testing::crlf;
using testing::diffLines;

const std::string kOffer = crlf(
    "v=0\n"
    "o=alice 2890844526 2890844527 IN IP4 192.0.2.10\n"
    "s=-\n"
    "c=IN IP4 192.0.2.10\n"
    "t=0 0\n"
    "a=ice-ufrag:sess\n"
    "m=audio 49170 RTP/AVP 0 8 101\n"
    "i=voice\n"
    "a=rtcp:49171 IN IP4 192.0.2.10\n"
    "a=candidate:1 1 UDP 2130706431 192.0.2.10 49170 typ host\n"
    "a=candidate:1 2 UDP 2130706430 192.0.2.10 49171 typ host\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=sendrecv\n"
    "m=video 51372/2  RTP/AVP  99\n"
    "c=IN IP4 192.0.2.11\n"
    "a=candidate:1 1 UDP 2130706431 192.0.2.11 51372 typ host\n"
    "a=rtpmap:99 h263-1998/90000\n");

SessionDescription parseOk(const std::string& text) {
  auto sdp = SessionDescription::parse(text);
  EXPECT_TRUE(sdp.has_value()) << (sdp ? "" : sdp.error().detail);
  return std::move(*sdp);
}

// Every edit must leave a description that parses again to the same text.
void expectReparses(const SessionDescription& sdp) {
  const auto again = SessionDescription::parse(sdp.serialize());
  ASSERT_TRUE(again.has_value()) << again.error().detail << "\n" << sdp.serialize();
  EXPECT_EQ(again->serialize(), sdp.serialize());
}

TEST(SessionDescriptionEdit, SetPortChangesExactlyOneLine) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setPort(0, 30000).has_value());
  const auto diff = diffLines(kOffer, sdp.serialize());
  EXPECT_EQ(diff.removed, 1u);
  EXPECT_EQ(diff.added, 1u);
  EXPECT_EQ(sdp.line(6).raw, "m=audio 30000 RTP/AVP 0 8 101\r\n");
  EXPECT_EQ(sdp.media(0).port(), 30000);
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, SetPortKeepsNumberOfPortsAndOriginalSpacing) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setPort(1, 0).has_value());
  EXPECT_EQ(sdp.line(13).raw, "m=video 0/2  RTP/AVP  99\r\n");
  EXPECT_TRUE(sdp.media(1).isRejected());
  EXPECT_EQ(sdp.media(1).numberOfPorts(), 2u);
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).removed, 1u);
}

TEST(SessionDescriptionEdit, SetSessionConnectionAddressReplacesOnlyThatLine) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setConnectionAddress(Section::session(), "203.0.113.1").has_value());
  EXPECT_EQ(sdp.line(3).raw, "c=IN IP4 203.0.113.1\r\n");
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).removed, 1u);
  EXPECT_EQ(sdp.media(0).effectiveConnection()->address, "203.0.113.1");
  EXPECT_EQ(sdp.media(1).effectiveConnection()->address, "192.0.2.11");
}

TEST(SessionDescriptionEdit, SetMediaConnectionAddressChoosesIp6ForIpv6Literal) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setConnectionAddress(Section::media(1), "2001:db8::7").has_value());
  EXPECT_EQ(sdp.line(14).raw, "c=IN IP6 2001:db8::7\r\n");
  EXPECT_EQ(sdp.media(1).connection()->addrType, "IP6");
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).removed, 1u);
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, SetMediaConnectionAddressInsertsLineAfterMediaAndInformation) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setConnectionAddress(Section::media(0), "203.0.113.1").has_value());
  // RFC 8866 §5: m= i= c= ... so the new line goes after "i=voice".
  EXPECT_EQ(sdp.line(7).raw, "i=voice\r\n");
  EXPECT_EQ(sdp.line(8).raw, "c=IN IP4 203.0.113.1\r\n");
  const auto diff = diffLines(kOffer, sdp.serialize());
  EXPECT_EQ(diff.removed, 0u);
  EXPECT_EQ(diff.added, 1u);
  EXPECT_EQ(sdp.media(0).effectiveConnection()->address, "203.0.113.1");
  EXPECT_EQ(sdp.connection()->address, "192.0.2.10");
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, SetSessionConnectionAddressInsertsBeforeTiming) {
  const std::string text =
      crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
  auto sdp = parseOk(text);
  ASSERT_TRUE(sdp.setConnectionAddress(Section::session(), "192.0.2.9").has_value());
  EXPECT_EQ(sdp.serialize(), crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.9\nt=0 "
                                  "0\nm=audio 4000 RTP/AVP 0\n"));
}

TEST(SessionDescriptionEdit, RejectsAddressesThatAreNotIpLiterals) {
  auto sdp = parseOk(kOffer);
  for (const auto* bad : {"relay.example.com", "192.0.2.1\r\na=evil", "", "192.0.2.1 ", "::1/64"}) {
    const auto result = sdp.setConnectionAddress(Section::session(), bad);
    ASSERT_FALSE(result.has_value()) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
  }
  EXPECT_FALSE(sdp.setRtcp(0, 5000, "bad host").has_value());
  EXPECT_EQ(sdp.serialize(), kOffer);
}

TEST(SessionDescriptionEdit, RejectsOutOfRangeMediaIndex) {
  auto sdp = parseOk(kOffer);
  const auto result = sdp.setPort(2, 1000);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(result.error().detail, "media index 2 is out of range (2 media descriptions)");
  EXPECT_FALSE(sdp.setDirection(Section::media(7), Direction::Inactive).has_value());
  EXPECT_FALSE(sdp.removeAttributes(Section::media(2), "candidate").has_value());
  EXPECT_EQ(sdp.serialize(), kOffer);
}

TEST(SessionDescriptionEdit, SetRtcpReplacesPortAndAddress) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setRtcp(0, 30001, "203.0.113.1").has_value());
  EXPECT_EQ(sdp.line(8).raw, "a=rtcp:30001 IN IP4 203.0.113.1\r\n");
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).removed, 1u);
  const auto rtcp = sdp.media(0).rtcp();
  ASSERT_TRUE(rtcp.has_value() && rtcp->has_value());
  EXPECT_EQ((*rtcp)->port, 30001);
  ASSERT_TRUE(sdp.setRtcp(0, 30003).has_value());
  EXPECT_EQ(sdp.line(8).raw, "a=rtcp:30003\r\n");
}

TEST(SessionDescriptionEdit, SetRtcpAppendsAtEndOfMediaSectionWhenAbsent) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setRtcp(1, 30005, "2001:db8::1").has_value());
  EXPECT_EQ(sdp.line(sdp.lineCount() - 1).raw, "a=rtcp:30005 IN IP6 2001:db8::1\r\n");
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).added, 1u);
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).removed, 0u);
}

TEST(SessionDescriptionEdit, SetDirectionReplacesTheExistingDirectionForHold) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setDirection(Section::media(0), Direction::SendOnly).has_value());
  EXPECT_EQ(sdp.line(12).raw, "a=sendonly\r\n");
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).removed, 1u);
  EXPECT_EQ(sdp.media(0).direction(), Direction::SendOnly);
  EXPECT_EQ(sdp.media(1).direction(), Direction::SendRecv);
}

TEST(SessionDescriptionEdit, SetDirectionAppendsBeforeTheNextMediaLine) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setDirection(Section::session(), Direction::Inactive).has_value());
  EXPECT_EQ(sdp.line(6).raw, "a=inactive\r\n");
  EXPECT_EQ(sdp.line(7).type, 'm');
  EXPECT_EQ(sdp.media(1).direction(), Direction::Inactive);
  EXPECT_EQ(sdp.media(0).direction(), Direction::SendRecv);  // media-level a=sendrecv wins
  EXPECT_EQ(diffLines(kOffer, sdp.serialize()).added, 1u);
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, RemoveAttributesStripsIceCandidatesOfOneSectionOnly) {
  auto sdp = parseOk(kOffer);
  const auto removed = sdp.removeAttributes(Section::media(0), "candidate");
  ASSERT_TRUE(removed.has_value());
  EXPECT_EQ(*removed, 2u);
  EXPECT_TRUE(sdp.media(0).candidates()->empty());
  EXPECT_EQ(sdp.media(1).candidates()->size(), 1u);
  const auto diff = diffLines(kOffer, sdp.serialize());
  EXPECT_EQ(diff.removed, 2u);
  EXPECT_EQ(diff.added, 0u);
  EXPECT_EQ(*sdp.removeAttributes(Section::media(0), "candidate"), 0u);
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, ReplaceAttributesPutsNewLinesWhereTheOldOnesWere) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.replaceAttributes(Section::media(0), "candidate",
                                    {"9 1 UDP 100 203.0.113.1 30000 typ relay"})
                  .has_value());
  EXPECT_EQ(sdp.line(9).raw, "a=candidate:9 1 UDP 100 203.0.113.1 30000 typ relay\r\n");
  EXPECT_EQ(sdp.line(10).raw, "a=rtpmap:0 PCMU/8000\r\n");
  EXPECT_EQ(sdp.media(0).candidates()->size(), 1u);
  EXPECT_FALSE(sdp.replaceAttributes(Section::media(0), "candidate", {"x\r\na=evil"}).has_value());
  EXPECT_FALSE(sdp.replaceAttributes(Section::media(0), "bad name", {"x"}).has_value());
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, AddAttributeAppendsPropertyOrValueAttribute) {
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.addAttribute(Section::media(0), "rtcp-mux").has_value());
  ASSERT_TRUE(sdp.addAttribute(Section::media(0), "ptime", "20").has_value());
  EXPECT_EQ(sdp.line(13).raw, "a=rtcp-mux\r\n");
  EXPECT_EQ(sdp.line(14).raw, "a=ptime:20\r\n");
  EXPECT_TRUE(sdp.media(0).rtcpMux());
  EXPECT_EQ(sdp.media(1).media(), "video");
  EXPECT_FALSE(sdp.addAttribute(Section::session(), "x", std::string_view("a\nb")).has_value());
}

TEST(SessionDescriptionEdit, AddingAfterALastLineWithoutEndingGivesItOne) {
  const std::string text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0";
  auto sdp = parseOk(text);
  ASSERT_TRUE(sdp.addAttribute(Section::media(0), "sendonly").has_value());
  EXPECT_EQ(sdp.serialize(), text + "\na=sendonly");
  ASSERT_TRUE(sdp.setPort(0, 5000).has_value());
  EXPECT_EQ(sdp.line(4).raw, "m=audio 5000 RTP/AVP 0\n");
  expectReparses(sdp);
}

TEST(SessionDescriptionEdit, AddingKeepsTrailingBlankLinesAtTheEnd) {
  const std::string text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n\n";
  auto sdp = parseOk(text);
  ASSERT_TRUE(sdp.setRtcp(0, 4001).has_value());
  EXPECT_EQ(sdp.serialize(),
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\na=rtcp:4001\n\n");
}

TEST(SessionDescriptionEdit, NewLinesFollowTheBareLfEndingsOfTheBody) {
  const std::string text = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n";
  auto sdp = parseOk(text);
  ASSERT_TRUE(sdp.setConnectionAddress(Section::media(0), "192.0.2.2").has_value());
  EXPECT_EQ(sdp.serialize(), text + "c=IN IP4 192.0.2.2\n");
}

TEST(SessionDescriptionEdit, RelayRewriteOfAnOfferTouchesOnlyAddressesAndPorts) {
  // What the media relay does to an offer: anchor each stream on its own address and ports,
  // strip the caller's candidates, and leave everything else alone.
  auto sdp = parseOk(kOffer);
  ASSERT_TRUE(sdp.setConnectionAddress(Section::session(), "203.0.113.1").has_value());
  for (std::size_t i = 0; i < sdp.mediaCount(); ++i) {
    const auto port = static_cast<std::uint16_t>(40000 + 2 * i);
    ASSERT_TRUE(sdp.setPort(i, port).has_value());
    if (sdp.media(i).connection()) {
      ASSERT_TRUE(sdp.setConnectionAddress(Section::media(i), "203.0.113.1").has_value());
    }
    if (sdp.media(i).rtcp()->has_value()) {
      ASSERT_TRUE(sdp.setRtcp(i, static_cast<std::uint16_t>(port + 1), "203.0.113.1").has_value());
    }
    ASSERT_TRUE(sdp.removeAttributes(Section::media(i), "candidate").has_value());
  }
  // session c=, two m=, video c=, audio a=rtcp rewritten; three candidates removed.
  const auto diff = diffLines(kOffer, sdp.serialize());
  EXPECT_EQ(diff.removed, 8u);
  EXPECT_EQ(diff.added, 5u);
  EXPECT_EQ(sdp.media(0).effectiveConnection()->address, "203.0.113.1");
  EXPECT_EQ(sdp.media(1).effectiveConnection()->address, "203.0.113.1");
  EXPECT_EQ(sdp.media(1).port(), 40002);
  EXPECT_EQ(sdp.media(0).rtpmap(0)->encodingName, "PCMU");
  EXPECT_EQ(sdp.origin().unicastAddress, "192.0.2.10");
  expectReparses(sdp);
}

}  // namespace
}  // namespace p2psip::sdp
