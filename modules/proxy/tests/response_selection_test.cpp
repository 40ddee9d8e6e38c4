// SPDX-License-Identifier: Apache-2.0
// §16.7 steps 6-7 as pure functions.
#include "response_selection.h"

#include <gtest/gtest.h>

#include "loop_hash.h"
#include "p2psip/proxy/proxy_config.h"

namespace p2psip::proxy {
namespace {

std::vector<BranchOutcome> stand_ins(std::initializer_list<std::uint16_t> statuses) {
  std::vector<BranchOutcome> out;
  for (auto s : statuses) out.push_back(BranchOutcome{s, nullptr});
  return out;
}

TEST(ResponseSelection, GlobalFailureWinsOverEverything) {
  EXPECT_EQ(chooseBestResponse(stand_ins({302, 404, 600, 500})), 2u);
}

TEST(ResponseSelection, LowestClassWins) {
  EXPECT_EQ(chooseBestResponse(stand_ins({503, 486, 302})), 2u);
  EXPECT_EQ(chooseBestResponse(stand_ins({503, 486})), 1u);
}

TEST(ResponseSelection, ChallengesArePreferredWithinClientErrors) {
  EXPECT_EQ(chooseBestResponse(stand_ins({404, 486, 407})), 2u);
}

TEST(ResponseSelection, EarliestWinsAmongEquals) {
  EXPECT_EQ(chooseBestResponse(stand_ins({486, 404})), 0u);
}

TEST(LoopHashBranch, RoundTripsAndIgnoresForeignBranches) {
  const auto branch = LoopHash::branch(0xfeedULL, "z9hG4bKabcdef");
  EXPECT_EQ(branch.rfind("z9hG4bK", 0), 0u);
  EXPECT_EQ(LoopHash::fromBranch(branch), 0xfeedULL);
  EXPECT_FALSE(LoopHash::fromBranch("z9hG4bKabcdef").has_value());
  EXPECT_FALSE(LoopHash::fromBranch("z9hG4bK-lhzz").has_value());
}

TEST(ProxyConfigValidation, NeedsAnAddressAPositiveLimitAndTokens) {
  ProxyConfig config;
  EXPECT_FALSE(config.validate().has_value());
  config.addresses = {{transport::Protocol::Udp, "192.0.2.1", 5060}};
  EXPECT_TRUE(config.validate().has_value());
  config.maxConcurrentRequests = 0;
  EXPECT_FALSE(config.validate().has_value());
  config.maxConcurrentRequests = 1;
  config.supported = {"bad tag"};
  EXPECT_FALSE(config.validate().has_value());
  config.supported = {};
  config.addresses[0].port = 0;
  EXPECT_FALSE(config.validate().has_value());
}

}  // namespace
}  // namespace p2psip::proxy
