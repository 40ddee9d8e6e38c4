// SPDX-License-Identifier: Apache-2.0
// Parsing and reading of whole SDP bodies (RFC 8866 §5), valid and malformed.
#include "p2psip/sdp/session_description.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "sdp_test_support.h"

namespace p2psip::sdp {
namespace {

using testing::crlf;

// A WebRTC-style offer as a SIP softphone sends it: audio and video, ICE, rtcp-mux, a=rtcp.
const std::string kSoftphoneOffer = crlf(
    "v=0\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\n"
    "s=-\n"
    "t=0 0\n"
    "a=group:BUNDLE 0 1\n"
    "a=msid-semantic: WMS stream\n"
    "a=ice-options:trickle ice2\n"
    "m=audio 54400 UDP/TLS/RTP/SAVPF 111 0 8 101\n"
    "c=IN IP4 203.0.113.7\n"
    "a=rtcp:54401 IN IP4 203.0.113.7\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0\n"
    "a=candidate:435653019 1 tcp 1845501695 192.168.0.196 9 typ host tcptype active generation 0\n"
    "a=candidate:1853887674 1 udp 1518280447 203.0.113.7 54400 typ srflx raddr 192.168.0.196 "
    "rport 46243 generation 0\n"
    "a=ice-ufrag:F7gI\n"
    "a=ice-pwd:x9cml/YzichV2+XlhiMu8g9aE\n"
    "a=fingerprint:sha-256 "
    "49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:F4:70:03:E7:43:91:73:23:"
    "5E\n"
    "a=setup:actpass\n"
    "a=mid:0\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\n"
    "a=sendrecv\n"
    "a=rtcp-mux\n"
    "a=rtpmap:111 opus/48000/2\n"
    "a=rtcp-fb:111 transport-cc\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-15\n"
    "a=ptime:20\n"
    "a=ssrc:3570614608 cname:4TOk42mSjXCkVIa6\n"
    "m=video 54402 UDP/TLS/RTP/SAVPF 96 97\n"
    "c=IN IP4 203.0.113.7\n"
    "b=AS:2000\n"
    "a=rtcp:54403\n"
    "a=ice-ufrag:Vid0\n"
    "a=ice-pwd:videopasswordvideopassword\n"
    "a=mid:1\n"
    "a=recvonly\n"
    "a=rtcp-mux\n"
    "a=rtpmap:96 VP8/90000\n"
    "a=rtpmap:97 rtx/90000\n"
    "a=fmtp:97 apt=96\n");

// A plain SIP phone offer: session-level c=, RTP/AVP, no ICE.
const std::string kPlainPhoneOffer = crlf(
    "v=0\n"
    "o=alice 2890844526 2890844527 IN IP4 192.0.2.10\n"
    "s=Talk\n"
    "c=IN IP4 192.0.2.10\n"
    "t=0 0\n"
    "m=audio 49170 RTP/AVP 0 8 101\n"
    "a=rtpmap:0 PCMU/8000\n"
    "a=rtpmap:8 PCMA/8000\n"
    "a=rtpmap:101 telephone-event/8000\n"
    "a=fmtp:101 0-16\n");

SessionDescription parseOk(std::string text) {
  auto sdp = SessionDescription::parse(std::move(text));
  EXPECT_TRUE(sdp.has_value()) << (sdp ? "" : sdp.error().detail);
  if (!sdp) return *SessionDescription::parse(kPlainPhoneOffer);
  return std::move(*sdp);
}

Error parseError(std::string text, const ParseLimits& limits = {}) {
  auto sdp = SessionDescription::parse(std::move(text), limits);
  EXPECT_FALSE(sdp.has_value());
  if (sdp) return Error{ErrorCode::InvalidArgument, "parsed unexpectedly"};
  return sdp.error();
}

TEST(SessionDescription, ParsesTypicalSoftphoneOfferWithAudioAndVideo) {
  const auto sdp = parseOk(kSoftphoneOffer);
  EXPECT_EQ(sdp.serialize(), kSoftphoneOffer);
  const auto origin = sdp.origin();
  EXPECT_EQ(origin.username, "-");
  EXPECT_EQ(origin.sessionId, "4611731400430051336");
  EXPECT_EQ(origin.sessionVersion, "2");
  EXPECT_EQ(origin.netType, "IN");
  EXPECT_EQ(origin.addrType, "IP4");
  EXPECT_EQ(origin.unicastAddress, "127.0.0.1");
  EXPECT_EQ(sdp.sessionName(), "-");
  ASSERT_EQ(sdp.timings().size(), 1u);
  EXPECT_EQ(sdp.timings()[0].startTime, 0u);
  EXPECT_FALSE(sdp.connection().has_value());
  ASSERT_EQ(sdp.mediaCount(), 2u);

  const auto audio = sdp.media(0);
  EXPECT_EQ(audio.media(), "audio");
  EXPECT_EQ(audio.port(), 54400);
  EXPECT_FALSE(audio.numberOfPorts().has_value());
  EXPECT_EQ(audio.proto(), "UDP/TLS/RTP/SAVPF");
  EXPECT_EQ(audio.formats(), (std::vector<std::string_view>{"111", "0", "8", "101"}));
  EXPECT_TRUE(audio.rtcpMux());
  EXPECT_EQ(audio.direction(), Direction::SendRecv);
  ASSERT_TRUE(audio.effectiveConnection().has_value());
  EXPECT_EQ(audio.effectiveConnection()->address, "203.0.113.7");

  const auto video = sdp.media(1);
  EXPECT_EQ(video.media(), "video");
  EXPECT_EQ(video.port(), 54402);
  EXPECT_EQ(video.direction(), Direction::RecvOnly);
  EXPECT_EQ(video.attribute("mid")->value, "1");
  EXPECT_EQ(sdp.attribute("group")->value, "BUNDLE 0 1");
}

TEST(SessionDescription, ReadsRtpmapEntriesWithClockRateAndChannels) {
  const auto sdp = parseOk(kSoftphoneOffer);
  const auto audio = sdp.media(0);
  const auto rtpmaps = audio.rtpmaps();
  ASSERT_TRUE(rtpmaps.has_value());
  ASSERT_EQ(rtpmaps->size(), 4u);
  EXPECT_EQ((*rtpmaps)[0].payloadType, 111);
  EXPECT_EQ((*rtpmaps)[0].encodingName, "opus");
  EXPECT_EQ((*rtpmaps)[0].clockRate, 48000u);
  EXPECT_EQ((*rtpmaps)[0].channels, 2u);
  EXPECT_FALSE((*rtpmaps)[1].channels.has_value());
  ASSERT_TRUE(audio.rtpmap(101).has_value());
  EXPECT_EQ(audio.rtpmap(101)->encodingName, "telephone-event");
  EXPECT_FALSE(audio.rtpmap(9).has_value());
}

TEST(SessionDescription, ReadsRtcpAttributeWithAndWithoutAddress) {
  const auto sdp = parseOk(kSoftphoneOffer);
  const auto audioRtcp = sdp.media(0).rtcp();
  ASSERT_TRUE(audioRtcp.has_value() && audioRtcp->has_value());
  EXPECT_EQ((*audioRtcp)->port, 54401);
  ASSERT_TRUE((*audioRtcp)->connection.has_value());
  EXPECT_EQ((*audioRtcp)->connection->address, "203.0.113.7");
  const auto videoRtcp = sdp.media(1).rtcp();
  ASSERT_TRUE(videoRtcp.has_value() && videoRtcp->has_value());
  EXPECT_EQ((*videoRtcp)->port, 54403);
  EXPECT_FALSE((*videoRtcp)->connection.has_value());
  const auto plainSdp = parseOk(kPlainPhoneOffer);
  const auto plain = plainSdp.media(0).rtcp();
  ASSERT_TRUE(plain.has_value());
  EXPECT_FALSE(plain->has_value());
}

TEST(SessionDescription, ReportsMalformedRtcpAttributeWithItsLineOnlyWhenAsked) {
  const auto sdp =
      parseOk(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"
                   "m=audio 4000 RTP/AVP 0\na=rtcp:99999\n"));
  const auto rtcp = sdp.media(0).rtcp();
  ASSERT_FALSE(rtcp.has_value());
  EXPECT_EQ(rtcp.error().detail.rfind("line 6: ", 0), 0u) << rtcp.error().detail;
}

TEST(SessionDescription, ReadsIceCredentialsWithMediaLevelOverridingSessionLevel) {
  const auto sdp =
      parseOk(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"
                   "a=ice-ufrag:sess\na=ice-pwd:sessionpasswordsessionpw\na=ice-options:ice2\n"
                   "m=audio 4000 RTP/AVP 0\na=ice-ufrag:med0\na=ice-options:trickle ice2\n"
                   "m=audio 4002 RTP/AVP 0\n"));
  EXPECT_EQ(sdp.media(0).iceUfrag(), "med0");
  EXPECT_EQ(sdp.media(0).icePwd(), "sessionpasswordsessionpw");
  EXPECT_EQ(sdp.media(0).iceOptions(), (std::vector<std::string_view>{"trickle", "ice2"}));
  EXPECT_EQ(sdp.media(1).iceUfrag(), "sess");
  EXPECT_EQ(sdp.media(1).iceOptions(), (std::vector<std::string_view>{"ice2"}));
  const auto plain = parseOk(kPlainPhoneOffer);
  EXPECT_FALSE(plain.media(0).iceUfrag().has_value());
}

TEST(SessionDescription, ParsesIceCandidateLinesIntoStructs) {
  const auto sdp = parseOk(kSoftphoneOffer);
  const auto candidates = sdp.media(0).candidates();
  ASSERT_TRUE(candidates.has_value()) << candidates.error().detail;
  ASSERT_EQ(candidates->size(), 3u);
  const auto& host = (*candidates)[0];
  EXPECT_EQ(host.foundation, "1467250027");
  EXPECT_EQ(host.componentId, 1);
  EXPECT_EQ(host.transport, "udp");
  EXPECT_EQ(host.priority, 2122260223u);
  EXPECT_EQ(host.address, "192.168.0.196");
  EXPECT_EQ(host.port, 46243);
  EXPECT_EQ(host.type, "host");
  const auto& tcp = (*candidates)[1];
  ASSERT_EQ(tcp.extensions.size(), 2u);
  EXPECT_EQ(tcp.extensions[0].first, "tcptype");
  EXPECT_EQ(tcp.extensions[0].second, "active");
  const auto& srflx = (*candidates)[2];
  EXPECT_EQ(srflx.type, "srflx");
  EXPECT_EQ(srflx.relatedAddress, "192.168.0.196");
  EXPECT_EQ(srflx.relatedPort, 46243);
}

TEST(SessionDescription, UsesSessionLevelConnectionWhenMediaHasNone) {
  const auto sdp = parseOk(kPlainPhoneOffer);
  ASSERT_TRUE(sdp.connection().has_value());
  EXPECT_EQ(sdp.connection()->addrType, "IP4");
  EXPECT_FALSE(sdp.media(0).connection().has_value());
  ASSERT_TRUE(sdp.media(0).effectiveConnection().has_value());
  EXPECT_EQ(sdp.media(0).effectiveConnection()->address, "192.0.2.10");
}

TEST(SessionDescription, PrefersMediaLevelConnectionOverSessionLevel) {
  const auto sdp =
      parseOk(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
                   "m=audio 4000 RTP/AVP 0\nc=IN IP6 2001:db8::5\n"
                   "m=video 4002 RTP/AVP 96\n"));
  EXPECT_EQ(sdp.media(0).effectiveConnection()->address, "2001:db8::5");
  EXPECT_EQ(sdp.media(0).effectiveConnection()->addrType, "IP6");
  EXPECT_EQ(sdp.media(1).effectiveConnection()->address, "192.0.2.1");
}

TEST(SessionDescription, RecognisesHoldByUnspecifiedAddressAndDirection) {
  const auto sdp =
      parseOk(crlf("v=0\no=- 1 2 IN IP4 192.0.2.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\n"
                   "a=sendonly\nm=audio 4000 RTP/AVP 0\nm=video 4002 RTP/AVP 96\n"
                   "a=inactive\n"));
  EXPECT_TRUE(isUnspecifiedAddress(sdp.media(0).effectiveConnection()->address));
  EXPECT_EQ(sdp.direction(), Direction::SendOnly);
  EXPECT_EQ(sdp.media(0).direction(), Direction::SendOnly);
  EXPECT_EQ(sdp.media(1).direction(), Direction::Inactive);
}

TEST(SessionDescription, RecognisesRejectedStreamWithPortZero) {
  const auto sdp =
      parseOk(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
                   "m=audio 4000 RTP/AVP 0\nm=video 0 RTP/AVP 96\n"));
  EXPECT_FALSE(sdp.media(0).isRejected());
  EXPECT_TRUE(sdp.media(1).isRejected());
}

TEST(SessionDescription, ReadsNumberOfPortsAndMulticastConnection) {
  const auto sdp =
      parseOk(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=Seminar\n"
                   "c=IN IP4 233.252.0.1/127/3\nt=3034423619 3042462419\n"
                   "m=video 51372/2 RTP/AVP 99\nc=IN IP6 ff15::101/3\n"));
  const auto session = sdp.connection();
  EXPECT_EQ(session->address, "233.252.0.1");
  EXPECT_EQ(session->ttl, 127);
  EXPECT_EQ(session->numberOfAddresses, 3u);
  EXPECT_EQ(sdp.timings()[0].stopTime, 3042462419u);
  EXPECT_EQ(sdp.media(0).numberOfPorts(), 2u);
  EXPECT_EQ(sdp.media(0).connection()->address, "ff15::101");
  EXPECT_EQ(sdp.media(0).connection()->numberOfAddresses, 3u);
  EXPECT_FALSE(sdp.media(0).connection()->ttl.has_value());
}

TEST(SessionDescription, KeepsUnknownLinesByteExactOnRoundTrip) {
  const std::string text = crlf(
      "v=0\n"
      "o=jdoe 2890844526 2890842807 IN IP4 198.51.100.1\n"
      "s=SDP Seminar\n"
      "i=A Seminar on the session description protocol\n"
      "u=http://www.example.com/seminars/sdp.pdf\n"
      "e=j.doe@example.com (Jane Doe)\n"
      "p=+1 617 555-6011\n"
      "c=IN IP4 233.252.0.1/127\n"
      "b=CT:128\n"
      "t=2873397496 2873404696\n"
      "r=7d 1h 0 25h\n"
      "z=2882844526 -1h 2898848070 0\n"
      "k=clear:secret\n"
      "y=an unknown type letter   with  odd   spacing \n"
      "a=recvonly\n"
      "a=x-vendor-thing:\xc3\xa9t\xc3\xa9 \x01 weird  \n"
      "m=audio 49170 RTP/AVP 0\n"
      "i=the audio\n"
      "b=AS:64\n"
      "a=unknown-property\n"
      "a=rtpmap:0 PCMU/8000 \n"
      "m=application 5000 udp wb\n"
      "a=orient:portrait\n");
  const auto sdp = parseOk(text);
  EXPECT_EQ(sdp.serialize(), text);
  EXPECT_EQ(sdp.lineCount(), 23u);
  EXPECT_EQ(sdp.line(13).type, 'y');
  EXPECT_EQ(sdp.line(13).value, "an unknown type letter   with  odd   spacing ");
  EXPECT_EQ(sdp.line(13).raw, "y=an unknown type letter   with  odd   spacing \r\n");
  EXPECT_TRUE(sdp.media(0).hasAttribute("unknown-property"));
  EXPECT_FALSE(sdp.media(0).attribute("unknown-property")->value.has_value());
  EXPECT_EQ(sdp.media(0).rtpmap(0)->clockRate, 8000u);
  EXPECT_EQ(sdp.media(1).proto(), "udp");
}

TEST(SessionDescription, AcceptsBareLfLineEndingsAndPreservesThem) {
  const std::string text =
      "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n";
  const auto sdp = parseOk(text);
  EXPECT_EQ(sdp.serialize(), text);
  EXPECT_EQ(sdp.line(0).raw, "v=0\n");
  EXPECT_EQ(sdp.media(0).port(), 4000);
}

TEST(SessionDescription, PreservesMixedLineEndingsLineByLine) {
  const std::string text =
      "v=0\r\no=- 1 1 IN IP4 192.0.2.1\ns=-\r\nt=0 0\nm=audio 4000 RTP/AVP 0\r\na=sendonly";
  const auto sdp = parseOk(text);
  EXPECT_EQ(sdp.serialize(), text);
  EXPECT_EQ(sdp.line(1).raw, "o=- 1 1 IN IP4 192.0.2.1\n");
  EXPECT_EQ(sdp.line(5).raw, "a=sendonly");
  EXPECT_EQ(sdp.media(0).direction(), Direction::SendOnly);
}

TEST(SessionDescription, KeepsTrailingBlankLinesOutsideTheLastSection) {
  const std::string text =
      crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n\n\n");
  const auto sdp = parseOk(text);
  EXPECT_EQ(sdp.serialize(), text);
  EXPECT_EQ(sdp.lineCount(), 5u);
}

TEST(SessionDescription, AcceptsEmptySessionNameAndSloppySpacing) {
  // Real phones send "s=" and doubled or trailing spaces; neither changes the meaning.
  const auto sdp =
      parseOk(crlf("v=0 \no=bob  1 1 IN IP4 host.example.com\ns=\nt=0  0\n"
                   "m=audio  4000  RTP/AVP  0 \nc=IN IP4  192.0.2.1 \n"));
  EXPECT_EQ(sdp.sessionName(), "");
  EXPECT_EQ(sdp.origin().unicastAddress, "host.example.com");
  EXPECT_EQ(sdp.media(0).port(), 4000);
  EXPECT_EQ(sdp.media(0).formats().size(), 1u);
  EXPECT_EQ(sdp.media(0).connection()->address, "192.0.2.1");
}

TEST(SessionDescription, SurvivesCopyAndMove) {
  auto original = parseOk(kPlainPhoneOffer);
  const SessionDescription copy = original;
  const SessionDescription moved = std::move(original);
  EXPECT_EQ(copy.media(0).port(), 49170);
  EXPECT_EQ(moved.connection()->address, "192.0.2.10");
  EXPECT_EQ(copy.serialize(), moved.serialize());
}

// --- Malformed input: an error value that names the line and the problem.

TEST(SessionDescription, RejectsEmptyBody) {
  const auto error = parseError("");
  EXPECT_EQ(error.code, ErrorCode::ParseError);
  EXPECT_NE(error.detail.find("v=0"), std::string::npos) << error.detail;
  EXPECT_EQ(parseError("\r\n\r\n").code, ErrorCode::ParseError);
}

TEST(SessionDescription, RejectsBodyWithoutVersionFirst) {
  const auto error = parseError(crlf("o=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"));
  EXPECT_EQ(error.detail.rfind("line 1: the first line must be v=0", 0), 0u) << error.detail;
  EXPECT_NE(parseError(crlf("v=1\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"))
                .detail.find("line 1: version"),
            std::string::npos);
}

TEST(SessionDescription, RejectsSecondVersionLine) {
  const auto error = parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nv=0\n"));
  EXPECT_EQ(error.detail.rfind("line 5: v=", 0), 0u) << error.detail;
}

TEST(SessionDescription, RejectsMissingOriginNameOrTiming) {
  EXPECT_NE(parseError(crlf("v=0\ns=-\nt=0 0\n")).detail.find("missing o="), std::string::npos);
  EXPECT_NE(parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\nt=0 0\n")).detail.find("missing s="),
            std::string::npos);
  EXPECT_NE(parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\n")).detail.find("missing t="),
            std::string::npos);
}

TEST(SessionDescription, RejectsDuplicateOriginAndMalformedOrigin) {
  EXPECT_EQ(
      parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n"))
          .detail.rfind("line 3: second o=", 0),
      0u);
  EXPECT_EQ(
      parseError(crlf("v=0\no=- 1 1 IN IP4\ns=-\nt=0 0\n")).detail.rfind("line 2: o= needs", 0),
      0u);
}

TEST(SessionDescription, RejectsLinesThatAreNotTypeEqualsValue) {
  const std::string head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";
  EXPECT_EQ(
      parseError(crlf(head + "m =video 3227 RTP/AVP 31\n")).detail.rfind("line 5: expected", 0),
      0u);
  EXPECT_EQ(parseError(crlf(head + "A=sendonly\n")).detail.rfind("line 5: expected", 0), 0u);
  EXPECT_EQ(parseError(crlf(head + "testing=123\n")).detail.rfind("line 5: expected", 0), 0u);
  EXPECT_EQ(parseError(crlf(head + "a\n")).detail.rfind("line 5: expected", 0), 0u);
}

TEST(SessionDescription, RejectsBlankLineInsideTheBody) {
  const auto error = parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\n\ns=-\nt=0 0\n"));
  EXPECT_EQ(error.detail.rfind("line 3: empty line", 0), 0u) << error.detail;
}

TEST(SessionDescription, RejectsCarriageReturnOrNulInsideALine) {
  EXPECT_EQ(parseError("v=0\ro=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n")
                .detail.rfind("line 1: contains", 0),
            0u);
  constexpr char kWithNul[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=a\0b\r\nt=0 0\r\n";
  const std::string withNul(kWithNul, sizeof(kWithNul) - 1);
  EXPECT_EQ(parseError(withNul).detail.rfind("line 3: contains", 0), 0u);
}

TEST(SessionDescription, RejectsSessionFieldsInsideAMediaDescription) {
  const auto error =
      parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nm=audio 4000 RTP/AVP 0\nt=0 0\n"));
  EXPECT_EQ(error.detail.rfind("line 5: t= is not allowed in a media description", 0), 0u)
      << error.detail;
}

TEST(SessionDescription, RejectsBadMediaLines) {
  const std::string head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";
  const auto port = parseError(crlf(head + "m=audio 70000 RTP/AVP 0\n"));
  EXPECT_EQ(port.detail, "line 5: m= port '70000' is not a number in 0..65535");
  EXPECT_NE(parseError(crlf(head + "m=audio -1 RTP/AVP 0\n")).detail.find("port '-1'"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "m=audio abc RTP/AVP 0\n")).detail.find("port 'abc'"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "m=audio 4000 RTP/AVP\n")).detail.find("at least one format"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "m=audio 4000/0 RTP/AVP 0\n")).detail.find("number of ports"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "m=audio 4000 RTP//AVP 0\n")).detail.find("proto"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "m=audio 4000 RTP/AVP 0 \"8\"\n")).detail.find("format"),
            std::string::npos);
}

TEST(SessionDescription, RejectsBadConnectionLines) {
  const std::string head = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n";
  EXPECT_EQ(parseError(crlf(head + "c=ATM NSAP 47.0005\n")).detail,
            "line 5: c= nettype 'ATM' is not IN");
  EXPECT_NE(parseError(crlf(head + "c=IN IPX 192.0.2.1\n")).detail.find("addrtype 'IPX'"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "c=IN IP4 2001:db8::1\n")).detail.find("not an IP4 address"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "c=IN IP4 300.1.2.3\n")).detail.find("not an IP4 address"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "c=IN IP6 2001:db8:::1\n")).detail.find("not an IP6 address"),
            std::string::npos);
  EXPECT_NE(parseError(crlf(head + "c=IN IP4\n")).detail.find("c= needs"), std::string::npos);
  EXPECT_NE(parseError(crlf(head + "c=IN IP4 233.252.0.1/256\n")).detail.find("TTL"),
            std::string::npos);
  EXPECT_EQ(parseError(crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\n"
                            "c=IN IP4 192.0.2.2\nt=0 0\n"))
                .detail.rfind("line 5: second session-level c=", 0),
            0u);
}

TEST(SessionDescription, RejectsBinaryGarbageWithoutCrashing) {
  // A deterministic stream of arbitrary bytes: parse must return an error value.
  std::uint32_t state = 12345;
  for (int round = 0; round < 200; ++round) {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
      state = state * 1664525u + 1013904223u;
      bytes += static_cast<char>(state >> 24);
    }
    const auto sdp = SessionDescription::parse(bytes);
    ASSERT_FALSE(sdp.has_value());
    EXPECT_EQ(sdp.error().code, ErrorCode::ParseError);
  }
  // Printable garbage after a valid first line still names the line.
  const auto error = parseError("v=0\r\n\x7f\xff\x01garbage");
  EXPECT_EQ(error.detail.rfind("line 2: expected", 0), 0u) << error.detail;
  EXPECT_NE(error.detail.find("'\\x7f\\xff\\x01garbage'"), std::string::npos) << error.detail;
  constexpr char kWithNul[] = "v=0\r\n\x00garbage";
  const auto nul = parseError(std::string(kWithNul, sizeof(kWithNul) - 1));
  EXPECT_EQ(nul.detail.rfind("line 2: contains a CR or NUL byte", 0), 0u) << nul.detail;
}

TEST(SessionDescription, RejectsBodyLargerThanTheLimit) {
  const std::string big(64 * 1024 + 1, 'a');
  const auto error = parseError(big);
  EXPECT_EQ(error.code, ErrorCode::LimitExceeded);
  EXPECT_NE(error.detail.find("65537 bytes"), std::string::npos) << error.detail;
  EXPECT_EQ(parseError(kPlainPhoneOffer, ParseLimits{.maxBodySize = 100}).code,
            ErrorCode::LimitExceeded);
}

TEST(SessionDescription, RejectsHundredThousandLinesInBoundedTime) {
  std::string text = crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
  for (int i = 0; i < 100000; ++i) text += "a=x\r\n";
  const auto start = std::chrono::steady_clock::now();
  // The default body limit stops it before any line is looked at.
  EXPECT_EQ(parseError(text).code, ErrorCode::LimitExceeded);
  // With a large body limit, the line limit stops the split at line 2049.
  const auto lines = parseError(text, ParseLimits{.maxBodySize = 16 * 1024 * 1024});
  EXPECT_EQ(lines.code, ErrorCode::LimitExceeded);
  EXPECT_NE(lines.detail.find("more than 2048 lines"), std::string::npos) << lines.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(SessionDescription, RejectsOverlongLine) {
  const std::string text =
      crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=") + std::string(5000, 'x') + crlf("\nt=0 0\n");
  const auto error = parseError(text);
  EXPECT_EQ(error.code, ErrorCode::LimitExceeded);
  EXPECT_EQ(error.detail.rfind("line 3: length 5002", 0), 0u) << error.detail;
}

TEST(SessionDescription, RejectsTooManyMediaDescriptions) {
  std::string text = crlf("v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nt=0 0\n");
  for (int i = 0; i < 65; ++i) text += "m=audio 4000 RTP/AVP 0\r\n";
  const auto error = parseError(text);
  EXPECT_EQ(error.code, ErrorCode::LimitExceeded);
  EXPECT_EQ(error.detail, "line 69: more than 64 media descriptions");
  EXPECT_TRUE(SessionDescription::parse(text, ParseLimits{.maxMediaSections = 65}).has_value());
}

}  // namespace
}  // namespace p2psip::sdp
