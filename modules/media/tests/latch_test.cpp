// SPDX-License-Identifier: Apache-2.0
// The latching rule (latch.h): who may latch, who may move a latch, and who may not.
#include "latch.h"

#include <gtest/gtest.h>

#include "relay_test_support.h"

namespace p2psip::media {
namespace {

using namespace std::chrono_literals;
using Verdict = Latch::Verdict;

SocketAddress at(const char* endpoint) {
  return SocketAddress::from(*net::Endpoint::parse(endpoint));
}

Latch::Settings settings(LatchPolicy policy, std::optional<const char*> remote = std::nullopt) {
  Latch::Settings s;
  s.policy = policy;
  if (remote) s.remote = at(*remote);
  s.relatchSilence = 1s;
  return s;
}

constexpr std::uint32_t kSsrc = 0x1234;
const TimePoint t0 = TimePoint{} + 1000s;

TEST(Latch, SendsToTheSdpAddressUntilLatched) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_NE(latch.destination(), nullptr);
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:4000"));
  EXPECT_FALSE(latch.latched());
}

TEST(Latch, LatchesToAnotherPortOfTheSdpAddress) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  EXPECT_EQ(latch.admit(at("10.0.0.1:61000"), kSsrc, t0), Verdict::Latched);
  EXPECT_TRUE(latch.latched());
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:61000"));
  EXPECT_EQ(latch.admit(at("10.0.0.1:61000"), kSsrc, t0 + 20ms), Verdict::Accept);
}

TEST(Latch, AStrangerAddressCannotLatchBeforeThePhone) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  EXPECT_EQ(latch.admit(at("10.6.6.6:4000"), kSsrc, t0), Verdict::Refuse);
  EXPECT_FALSE(latch.latched());
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:4000"));
}

TEST(Latch, TheLatchAddressFromSignallingWinsOverThePrivateSdpAddress) {
  auto s = settings(LatchPolicy::SameAddress, "192.168.1.10:4000");             // behind a NAT
  s.latchHost = SocketAddress::from(asio::ip::make_address("203.0.113.5"), 0);  // SIP source
  Latch latch(s);
  EXPECT_EQ(latch.admit(at("192.168.1.10:4000"), kSsrc, t0), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("203.0.113.5:20002"), kSsrc, t0), Verdict::Latched);
}

TEST(Latch, WithoutAnyExpectedAddressTheFirstValidSourceLatches) {
  Latch latch(settings(LatchPolicy::SameAddress));
  EXPECT_EQ(latch.destination(), nullptr);
  EXPECT_EQ(latch.admit(at("198.51.100.7:5000"), kSsrc, t0), Verdict::Latched);
  EXPECT_EQ(*latch.destination(), at("198.51.100.7:5000"));
}

TEST(Latch, AnyAddressLatchesFromElsewhereThanTheSdpAddress) {
  Latch latch(settings(LatchPolicy::AnyAddress, "192.168.1.10:4000"));
  EXPECT_EQ(latch.admit(at("203.0.113.5:20002"), kSsrc, t0), Verdict::Latched);
}

TEST(Latch, OnceLatchedAStrangerIsRefusedWhateverItSends) {
  Latch latch(settings(LatchPolicy::AnyAddress));
  ASSERT_EQ(latch.admit(at("203.0.113.5:20002"), kSsrc, t0), Verdict::Latched);
  // Another SSRC, even after a long silence; the right SSRC while media flows; another IP, even
  // with the right SSRC after a long silence (AnyAddress frees the first latch only).
  EXPECT_EQ(latch.admit(at("203.0.113.5:20004"), 0x9999, t0 + 10s), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("203.0.113.5:20004"), kSsrc, t0 + 10ms), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("198.51.100.66:20002"), kSsrc, t0 + 10s), Verdict::Refuse);
  EXPECT_EQ(*latch.destination(), at("203.0.113.5:20002"));
}

TEST(Latch, AStrangerWithTheRightSsrcCannotCutInWhileMediaFlows) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_EQ(latch.admit(at("10.0.0.1:4000"), kSsrc, t0), Verdict::Latched);
  for (int i = 1; i <= 100; ++i) {
    const TimePoint now = t0 + i * 20ms;
    EXPECT_EQ(latch.admit(at("10.0.0.1:4000"), kSsrc, now), Verdict::Accept);
    EXPECT_EQ(latch.admit(at("10.0.0.1:4444"), kSsrc, now + 1ms), Verdict::Refuse);
  }
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:4000"));
}

TEST(Latch, ARebindingWithTheSameSsrcAfterSilenceRelatches) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_EQ(latch.admit(at("10.0.0.1:61000"), kSsrc, t0), Verdict::Latched);
  // The NAT mapping changed: same phone, same SSRC, new port; the old one went quiet.
  EXPECT_EQ(latch.admit(at("10.0.0.1:61002"), kSsrc, t0 + 999ms), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("10.0.0.1:61002"), kSsrc, t0 + 1s), Verdict::Relatched);
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:61002"));
  EXPECT_EQ(latch.admit(at("10.0.0.1:61000"), kSsrc, t0 + 1s + 20ms), Verdict::Refuse);
}

TEST(Latch, AfterSilenceAnotherSsrcOrAnotherAddressStillCannotRelatch) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_EQ(latch.admit(at("10.0.0.1:4000"), kSsrc, t0), Verdict::Latched);
  EXPECT_EQ(latch.admit(at("10.0.0.1:4002"), kSsrc + 1, t0 + 60s), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("10.0.0.9:4000"), kSsrc, t0 + 60s), Verdict::Refuse);
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:4000"));
}

TEST(Latch, TheLatchedSourceMayChangeItsSsrc) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_EQ(latch.admit(at("10.0.0.1:4000"), kSsrc, t0), Verdict::Latched);
  EXPECT_EQ(latch.admit(at("10.0.0.1:4000"), 0x7777, t0 + 20ms), Verdict::Accept);
  // A re-latch must now carry the new SSRC.
  EXPECT_EQ(latch.admit(at("10.0.0.1:4002"), kSsrc, t0 + 5s), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("10.0.0.1:4002"), 0x7777, t0 + 5s), Verdict::Relatched);
}

TEST(Latch, FixedAcceptsOnlyTheRemoteItself) {
  Latch latch(settings(LatchPolicy::Fixed, "192.0.2.1:30000"));
  EXPECT_EQ(latch.admit(at("192.0.2.1:30002"), kSsrc, t0), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("192.0.2.1:30000"), kSsrc, t0), Verdict::Accept);
  EXPECT_EQ(latch.admit(at("192.0.2.1:30002"), kSsrc, t0 + 60s), Verdict::Refuse);
  EXPECT_FALSE(latch.latched());
}

TEST(Latch, FixedWithoutRemoteAcceptsNothing) {
  Latch latch(settings(LatchPolicy::Fixed));
  EXPECT_EQ(latch.admit(at("192.0.2.1:30000"), kSsrc, t0), Verdict::Refuse);
  EXPECT_EQ(latch.destination(), nullptr);
}

TEST(Latch, ANewSdpAddressRearmsTheLatch) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_EQ(latch.admit(at("10.0.0.1:4000"), kSsrc, t0), Verdict::Latched);
  latch.setRemote(at("10.0.0.2:5000"));  // re-INVITE: the phone moved
  EXPECT_FALSE(latch.latched());
  EXPECT_EQ(*latch.destination(), at("10.0.0.2:5000"));
  EXPECT_EQ(latch.admit(at("10.0.0.1:4000"), kSsrc, t0 + 20ms), Verdict::Refuse);
  EXPECT_EQ(latch.admit(at("10.0.0.2:5000"), kSsrc, t0 + 40ms), Verdict::Latched);
}

TEST(Latch, TheSameSdpAddressAgainChangesNothing) {
  Latch latch(settings(LatchPolicy::SameAddress, "10.0.0.1:4000"));
  ASSERT_EQ(latch.admit(at("10.0.0.1:61000"), kSsrc, t0), Verdict::Latched);
  latch.setRemote(at("10.0.0.1:4000"));  // a re-INVITE that did not move the media
  EXPECT_TRUE(latch.latched());
  EXPECT_EQ(*latch.destination(), at("10.0.0.1:61000"));
}

TEST(Latch, RtcpFollowsTheLatchedRtpSource) {
  Latch rtcp(settings(LatchPolicy::AnyAddress, "192.168.1.10:4001"));
  rtcp.followRtp(at("203.0.113.5:20002"));
  EXPECT_FALSE(rtcp.latched());
  EXPECT_EQ(*rtcp.destination(), at("203.0.113.5:20003"));
  // Only RTCP from the RTP source's IP may latch now, on whatever port the NAT gave it.
  EXPECT_EQ(rtcp.admit(at("198.51.100.1:20003"), kSsrc, t0), Verdict::Refuse);
  EXPECT_EQ(rtcp.admit(at("203.0.113.5:20999"), kSsrc, t0), Verdict::Latched);
  // An RTP re-latch on the same host keeps the RTCP latch.
  rtcp.followRtp(at("203.0.113.5:20010"));
  EXPECT_TRUE(rtcp.latched());
  EXPECT_EQ(*rtcp.destination(), at("203.0.113.5:20999"));
}

}  // namespace
}  // namespace p2psip::media
