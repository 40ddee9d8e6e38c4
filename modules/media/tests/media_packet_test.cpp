// SPDX-License-Identifier: Apache-2.0
// Which datagrams the relay takes for RTP or RTCP (RFC 3550 §5.1, §6.4; RFC 5761 §4).
#include "media_packet.h"

#include <gtest/gtest.h>

#include "relay_test_support.h"

namespace p2psip::media {
namespace {

using testing::rtcpReceiverReport;
using testing::rtpPacket;

TEST(MediaPacket, ReadsSequenceTimestampAndSsrcOfRtp) {
  const auto bytes = rtpPacket(0xbeef, 0x01020304, 0xcafef00d);
  const auto packet = inspectRtpPortDatagram(bytes);
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->kind, PacketKind::Rtp);
  EXPECT_EQ(packet->sequence, 0xbeef);
  EXPECT_EQ(packet->timestamp, 0x01020304U);
  EXPECT_EQ(packet->ssrc, 0xcafef00dU);
}

TEST(MediaPacket, AcceptsAHeaderOnlyRtpPacket) {
  EXPECT_TRUE(inspectRtpPortDatagram(rtpPacket(1, 2, 3, 0)));
}

TEST(MediaPacket, RefusesAVersionOtherThanTwo) {
  auto bytes = rtpPacket(1, 2, 3);
  bytes[0] = 0x40;  // version 1
  EXPECT_EQ(inspectRtpPortDatagram(bytes).error(), PacketDefect::BadVersion);
  bytes[0] = 0x00;  // version 0 (also what a STUN message starts with)
  EXPECT_EQ(inspectRtpPortDatagram(bytes).error(), PacketDefect::BadVersion);
}

TEST(MediaPacket, RefusesDatagramsShorterThanTheFixedHeader) {
  const std::vector<std::uint8_t> empty;
  EXPECT_EQ(inspectRtpPortDatagram(empty).error(), PacketDefect::TooShort);
  auto bytes = rtpPacket(1, 2, 3, 0);
  bytes.resize(11);
  EXPECT_EQ(inspectRtpPortDatagram(bytes).error(), PacketDefect::TooShort);
}

TEST(MediaPacket, RefusesACsrcListPastTheEnd) {
  auto bytes = rtpPacket(1, 2, 3, 8);
  bytes[0] = 0x83;  // three CSRCs: 12 bytes, only 8 follow
  EXPECT_EQ(inspectRtpPortDatagram(bytes).error(), PacketDefect::BadHeader);
  bytes[0] = 0x82;  // two: 8 bytes, exactly what follows
  EXPECT_TRUE(inspectRtpPortDatagram(bytes));
}

TEST(MediaPacket, RefusesAHeaderExtensionPastTheEnd) {
  auto bytes = rtpPacket(1, 2, 3, 8);
  bytes[0] = 0x90;  // X bit
  bytes[12] = 0xbe;
  bytes[13] = 0xde;
  bytes[14] = 0;
  bytes[15] = 2;  // two words of extension: 8 bytes, only 4 follow the extension header
  EXPECT_EQ(inspectRtpPortDatagram(bytes).error(), PacketDefect::BadHeader);
  bytes[15] = 1;
  EXPECT_TRUE(inspectRtpPortDatagram(bytes));
}

TEST(MediaPacket, DoesNotCheckPaddingWhichSrtpEncrypts) {
  auto bytes = rtpPacket(1, 2, 3, 20);
  bytes[0] = 0xa0;     // P bit
  bytes.back() = 200;  // the last byte of an SRTP authentication tag, not a padding count
  EXPECT_TRUE(inspectRtpPortDatagram(bytes));
}

TEST(MediaPacket, TakesRtcpMultiplexedOnTheRtpPortForRtcp) {
  const auto packet = inspectRtpPortDatagram(rtcpReceiverReport(0x11223344));
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->kind, PacketKind::Rtcp);
  EXPECT_EQ(packet->ssrc, 0x11223344U);
}

TEST(MediaPacket, ReadsTheSenderSsrcOfRtcp) {
  const auto packet = inspectRtcpPortDatagram(rtcpReceiverReport(0x55667788));
  ASSERT_TRUE(packet);
  EXPECT_EQ(packet->kind, PacketKind::Rtcp);
  EXPECT_EQ(packet->ssrc, 0x55667788U);
}

TEST(MediaPacket, RefusesRtpOnTheRtcpPort) {
  EXPECT_EQ(inspectRtcpPortDatagram(rtpPacket(1, 2, 3)).error(), PacketDefect::NotRtcp);
}

TEST(MediaPacket, RefusesAnRtcpLengthPastTheEnd) {
  auto bytes = rtcpReceiverReport(1);
  bytes[3] = 2;  // 12 bytes announced, 8 present
  EXPECT_EQ(inspectRtcpPortDatagram(bytes).error(), PacketDefect::BadRtcpLength);
  EXPECT_EQ(inspectRtcpPortDatagram(std::vector<std::uint8_t>{0x80, 201, 0, 0}).error(),
            PacketDefect::TooShort);
}

TEST(MediaPacket, AcceptsSrtcpWithItsTrailerAfterTheFirstPacket) {
  auto bytes = rtcpReceiverReport(1);
  // RFC 3711 §3.4: E flag and SRTCP index, then a 10-byte authentication tag.
  bytes.insert(bytes.end(), {0x80, 0, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9});
  EXPECT_TRUE(inspectRtcpPortDatagram(bytes));
}

}  // namespace
}  // namespace p2psip::media
