// SPDX-License-Identifier: Apache-2.0
// Loss and jitter as RFC 3550 A.1, A.3 and A.8 define them, checked against hand computation.
#include "reception_statistics.h"

#include <gtest/gtest.h>

namespace p2psip::media {
namespace {

constexpr std::int64_t kMs = 1'000'000;  // nanoseconds

// Feeds packets 20 ms apart with timestamps 160 apart (8 kHz, 20 ms frames): no jitter.
void feed(ReceptionStatistics& s, std::uint32_t ssrc, std::initializer_list<int> sequences) {
  for (int seq : sequences) {
    s.onPacket(ssrc, static_cast<std::uint16_t>(seq), static_cast<std::uint32_t>(seq * 160),
               seq * 20 * kMs);
  }
}

TEST(ReceptionStatistics, AGapOfTwoPacketsIsTwoLost) {
  ReceptionStatistics s(8000);
  feed(s, 1, {100, 101, 102, 103, 104, 107, 108, 109});
  // A.1: the first packet only starts probation; counting starts at 101.
  // expected = 109 - 101 + 1 = 9, received = 7.
  EXPECT_EQ(s.received(), 7U);
  EXPECT_EQ(s.lost(), 2);
}

TEST(ReceptionStatistics, NothingIsLostInOrder) {
  ReceptionStatistics s(8000);
  feed(s, 1, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(s.lost(), 0);
  EXPECT_DOUBLE_EQ(s.jitter(), 0.0);
}

TEST(ReceptionStatistics, SequenceWrapAroundIsNotLoss) {
  ReceptionStatistics s(8000);
  feed(s, 1, {65533, 65534, 65535, 0, 1, 2});
  EXPECT_EQ(s.lost(), 0);
  feed(s, 1, {4});  // 3 missing, across the wrap
  EXPECT_EQ(s.lost(), 1);
}

TEST(ReceptionStatistics, DuplicatesMakeLossNegative) {
  ReceptionStatistics s(8000);
  feed(s, 1, {10, 11, 12, 12, 13});
  EXPECT_EQ(s.lost(), -1);  // A.3: duplicates count as received
}

TEST(ReceptionStatistics, ReorderedPacketsAreNotLost) {
  ReceptionStatistics s(8000);
  feed(s, 1, {10, 11, 13, 12, 14});
  EXPECT_EQ(s.lost(), 0);
}

TEST(ReceptionStatistics, NoLossIsReportedDuringProbation) {
  ReceptionStatistics s(8000);
  feed(s, 1, {10, 20, 30});  // never two in sequence
  EXPECT_EQ(s.received(), 0U);
  EXPECT_EQ(s.lost(), 0);
}

TEST(ReceptionStatistics, AJumpConfirmedByTheNextPacketResynchronises) {
  ReceptionStatistics s(8000);
  feed(s, 1, {10, 11, 12});
  feed(s, 1, {20000});  // sender restarted? held until the next one confirms (A.1)
  feed(s, 1, {20001, 20002});
  // A.1 init_seq(20001): counting restarts there; 20001 and 20002 received, none lost.
  EXPECT_EQ(s.lost(), 0);
  EXPECT_EQ(s.received(), 2U);
}

TEST(ReceptionStatistics, LossOfAnEarlierSsrcIsKept) {
  ReceptionStatistics s(8000);
  feed(s, 1, {1, 2, 5});  // 3 and 4 lost
  EXPECT_EQ(s.lost(), 2);
  feed(s, 2, {700, 701, 702});
  EXPECT_EQ(s.lost(), 2);
}

TEST(ReceptionStatistics, JitterFollowsRfc3550A8) {
  ReceptionStatistics s(8000);
  // seq 10 starts probation (no jitter sample); 11 gives the first transit.
  s.onPacket(7, 10, 0, 0);
  s.onPacket(7, 11, 160, 20 * kMs);
  EXPECT_DOUBLE_EQ(s.jitter(), 0.0);
  // 25 ms after the previous one instead of 20: arrival is 200 units after seq 11's, the
  // timestamp 160: |D| = 40, J = 0 + (40 - 0) / 16 = 2.5.
  s.onPacket(7, 12, 320, 45 * kMs);
  EXPECT_DOUBLE_EQ(s.jitter(), 2.5);
  // 15 ms after: arrival +120 units, timestamp +160: |D| = 40, J = 2.5 + (40 - 2.5) / 16.
  s.onPacket(7, 13, 480, 60 * kMs);
  EXPECT_DOUBLE_EQ(s.jitter(), 4.84375);
  EXPECT_DOUBLE_EQ(s.jitterMs(), 4.84375 / 8.0);  // 8 units per ms at 8 kHz
  // Back on the 20 ms grid: D = 0, J = J - J / 16.
  s.onPacket(7, 14, 640, 80 * kMs);
  EXPECT_DOUBLE_EQ(s.jitter(), 4.84375 * 15.0 / 16.0);
}

TEST(ReceptionStatistics, JitterUsesTheClockRate) {
  ReceptionStatistics s(48000);  // Opus
  s.onPacket(7, 10, 0, 0);
  s.onPacket(7, 11, 960, 20 * kMs);
  s.onPacket(7, 12, 1920, 50 * kMs);  // 10 ms late: |D| = 480 units
  EXPECT_DOUBLE_EQ(s.jitter(), 30.0);
  EXPECT_DOUBLE_EQ(s.jitterMs(), 30.0 / 48.0);
}

TEST(ReceptionStatistics, TimestampWrapAroundIsNotJitter) {
  ReceptionStatistics s(8000);
  const std::uint32_t start = 0xffffff00U;
  for (std::uint32_t i = 0; i < 6; ++i) {
    s.onPacket(7, static_cast<std::uint16_t>(i), start + i * 160,
               static_cast<std::int64_t>(i) * 20 * kMs);
  }
  EXPECT_DOUBLE_EQ(s.jitter(), 0.0);
}

}  // namespace
}  // namespace p2psip::media
