// SPDX-License-Identifier: Apache-2.0
// Port pairs: bound even/odd, handed out in turn, returned on release, skipped when taken.
#include "port_pool.h"

#include <gtest/gtest.h>

#include <set>

#include "relay_test_support.h"

namespace p2psip::media {
namespace {

using testing::ip;
using testing::Phone;

// Each test its own range, below the ephemeral ports, so parallel test processes do not meet.
TEST(PortPool, LeasesAnEvenRtpPortWithRtcpOnTheNextOne) {
  PortPool pool(ip("127.0.0.1"), 21000, 4, 0);
  auto lease = pool.lease();
  ASSERT_TRUE(lease) << lease.error().detail;
  const auto port = lease->rtpEndpoint().port;
  EXPECT_EQ(port % 2, 0);
  EXPECT_GE(port, 21000);
  EXPECT_LT(port, 21008);
  EXPECT_EQ(lease->rtpEndpoint().address, ip("127.0.0.1"));
  // Both ports are really bound: binding them again fails.
  EXPECT_FALSE(Phone::at(ip("127.0.0.1"), port));
  EXPECT_FALSE(Phone::at(ip("127.0.0.1"), static_cast<std::uint16_t>(port + 1)));
  EXPECT_EQ(pool.freePairs(), 3U);
}

TEST(PortPool, RunsOutWithLimitExceededAndRecoversOnRelease) {
  PortPool pool(ip("127.0.0.1"), 21010, 3, 0);
  std::vector<PortLease> leases;
  while (auto lease = pool.lease()) leases.push_back(std::move(*lease));
  ASSERT_FALSE(leases.empty());
  EXPECT_LE(leases.size(), 3U);
  auto refused = pool.lease();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);

  const auto port = leases.front().rtpEndpoint().port;
  leases.erase(leases.begin());                   // closes both sockets and returns the pair
  EXPECT_TRUE(Phone::at(ip("127.0.0.1"), port));  // really closed
  auto again = pool.lease();
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(again->rtpEndpoint().port, port);
}

TEST(PortPool, DoesNotReuseAJustReleasedPairWhileOthersAreFree) {
  PortPool pool(ip("127.0.0.1"), 21020, 4, 0);
  std::set<std::uint16_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto lease = pool.lease();  // released at the end of each turn
    ASSERT_TRUE(lease);
    seen.insert(lease->rtpEndpoint().port);
  }
  EXPECT_EQ(seen.size(), 4U);  // round robin, not the same pair four times
}

TEST(PortPool, SkipsAPairAnotherSocketHolds) {
  Phone squatter(ip("127.0.0.1"), 21031);  // the RTCP port of the first pair
  PortPool pool(ip("127.0.0.1"), 21030, 2, 0);
  auto lease = pool.lease();
  ASSERT_TRUE(lease) << lease.error().detail;
  EXPECT_EQ(lease->rtpEndpoint().port, 21032);
  auto none = pool.lease();
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ErrorCode::LimitExceeded);
}

TEST(PortPool, BindsIpv6) {
  auto probe = Phone::at(ip("::1"), 0);
  if (!probe) GTEST_SKIP() << "no IPv6 loopback";
  PortPool pool(ip("::1"), 21040, 2, 0);
  auto lease = pool.lease();
  ASSERT_TRUE(lease) << lease.error().detail;
  EXPECT_EQ(lease->rtpEndpoint().address, ip("::1"));
}

TEST(PortPool, ALeaseMovedAwayIsReturnedOnce) {
  PortPool pool(ip("127.0.0.1"), 21050, 2, 0);
  {
    auto lease = pool.lease();
    ASSERT_TRUE(lease);
    PortLease moved = std::move(*lease);
    PortLease assigned = std::move(moved);
    EXPECT_EQ(pool.freePairs(), 1U);
  }
  EXPECT_EQ(pool.freePairs(), 2U);
}

}  // namespace
}  // namespace p2psip::media
