// SPDX-License-Identifier: Apache-2.0
#include "source_rate_limiter.h"

#include <gtest/gtest.h>

#include <string>

using namespace std::chrono_literals;

namespace p2psip::reachability {
namespace {

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

RateLimitConfig small() {
  RateLimitConfig c;
  c.perSourceRate = 10;  // one token per 100 ms
  c.perSourceBurst = 3;
  c.maxSources = 4;
  c.totalRate = 1e6;  // out of the way, except where a test sets it
  c.totalBurst = 1e6;
  return c;
}

TEST(SourceRateLimiter, AllowsTheBurstThenTheRate) {
  SourceRateLimiter limiter(small());
  const TimePoint t0 = TimePoint{} + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.admit(ip("198.18.0.5"), t0)) << i;
  EXPECT_FALSE(limiter.admit(ip("198.18.0.5"), t0));
  EXPECT_FALSE(limiter.admit(ip("198.18.0.5"), t0 + 50ms));
  EXPECT_TRUE(limiter.admit(ip("198.18.0.5"), t0 + 110ms));
  EXPECT_FALSE(limiter.admit(ip("198.18.0.5"), t0 + 110ms));
  // Other sources have their own buckets.
  EXPECT_TRUE(limiter.admit(ip("198.18.0.6"), t0));
  // Refill is capped at the burst, however long the pause.
  const TimePoint later = t0 + 1h;
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.admit(ip("198.18.0.5"), later));
  EXPECT_FALSE(limiter.admit(ip("198.18.0.5"), later));
}

TEST(SourceRateLimiter, TableIsBoundedAndEvictsTheLeastRecentlySeen) {
  SourceRateLimiter limiter(small());
  const TimePoint t0 = TimePoint{} + 1h;
  for (int i = 0; i < 3; ++i) limiter.admit(ip("198.18.0.1"), t0);  // drained
  EXPECT_FALSE(limiter.admit(ip("198.18.0.1"), t0));
  for (int i = 2; i < 1000; ++i) {
    const std::string a = "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    limiter.admit(ip(a.c_str()), t0);
    EXPECT_LE(limiter.sources(), 4u);
  }
  // 198.18.0.1 was evicted long ago and comes back with a fresh bucket.
  EXPECT_TRUE(limiter.admit(ip("198.18.0.1"), t0));
}

TEST(SourceRateLimiter, RecentlySeenSourcesStay) {
  SourceRateLimiter limiter(small());
  const TimePoint t0 = TimePoint{} + 1h;
  for (int i = 0; i < 3; ++i) limiter.admit(ip("198.18.0.1"), t0);
  limiter.admit(ip("10.0.0.1"), t0);
  limiter.admit(ip("10.0.0.2"), t0);
  limiter.admit(ip("10.0.0.3"), t0);
  EXPECT_FALSE(limiter.admit(ip("198.18.0.1"), t0));  // seen again: now the most recent
  limiter.admit(ip("10.0.0.4"), t0);                  // evicts 10.0.0.1, not 198.18.0.1
  EXPECT_FALSE(limiter.admit(ip("198.18.0.1"), t0));
}

TEST(SourceRateLimiter, TotalBucketBoundsAllSourcesTogether) {
  RateLimitConfig c = small();
  c.maxSources = 100;
  c.totalRate = 1;
  c.totalBurst = 5;
  SourceRateLimiter limiter(c);
  const TimePoint t0 = TimePoint{} + 1h;
  int admitted = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string a = "10.0.0." + std::to_string(i);
    admitted += limiter.admit(ip(a.c_str()), t0) ? 1 : 0;
  }
  EXPECT_EQ(admitted, 5);
}

TEST(SourceRateLimiter, Ipv6SourcesShareTheirSlash64) {
  SourceRateLimiter limiter(small());
  const TimePoint t0 = TimePoint{} + 1h;
  EXPECT_TRUE(limiter.admit(ip("2001:db8:1:2::1"), t0));
  EXPECT_TRUE(limiter.admit(ip("2001:db8:1:2::2"), t0));
  EXPECT_TRUE(limiter.admit(ip("2001:db8:1:2:ffff::3"), t0));
  EXPECT_FALSE(limiter.admit(ip("2001:db8:1:2::4"), t0));
  EXPECT_TRUE(limiter.admit(ip("2001:db8:1:3::1"), t0));
  EXPECT_EQ(rateLimitKey(ip("::ffff:198.18.0.1")), ip("198.18.0.1"));
}

}  // namespace
}  // namespace p2psip::reachability
