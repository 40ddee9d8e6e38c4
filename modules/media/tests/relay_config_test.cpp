// SPDX-License-Identifier: Apache-2.0
#include "p2psip/media/relay_config.h"

#include <gtest/gtest.h>

namespace p2psip::media {
namespace {

RelayConfig good() {
  RelayConfig c;
  c.addresses = {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("::1")};
  return c;
}

void expectInvalid(const RelayConfig& c, const char* mentioning) {
  const auto result = validate(c);
  ASSERT_FALSE(result) << "accepted, expected an error mentioning " << mentioning;
  EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(result.error().detail.find(mentioning), std::string::npos) << result.error().detail;
}

TEST(RelayConfig, TheDefaultsWithAnAddressAreValid) {
  EXPECT_TRUE(validate(good()));
  EXPECT_EQ(portPairCount(good()), 5000U);
}

TEST(RelayConfig, TheRangeMustStartEvenAndHoldAPair) {
  auto c = good();
  c.portMin = 30001;
  expectInvalid(c, "even");
  c.portMin = 30000;
  c.portMax = 30000;
  expectInvalid(c, "no RTP/RTCP pair");
  c.portMax = 30001;
  EXPECT_TRUE(validate(c));
  EXPECT_EQ(portPairCount(c), 1U);
  c.portMax = 30002;  // the odd one out is unused
  EXPECT_EQ(portPairCount(c), 1U);
  c.portMin = 0;
  expectInvalid(c, "portMin");
}

TEST(RelayConfig, AddressesMustBeGivenConcreteAndDistinct) {
  auto c = good();
  c.addresses.clear();
  expectInvalid(c, "no relay address");
  c.addresses = {asio::ip::make_address("0.0.0.0")};
  expectInvalid(c, "unspecified");
  c.addresses = {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("127.0.0.1")};
  expectInvalid(c, "twice");
}

TEST(RelayConfig, LimitsMustBeSensible) {
  auto c = good();
  c.inactivityTimeout = Duration::zero();
  expectInvalid(c, "inactivityTimeout");
  c = good();
  c.workerThreads = 0;
  expectInvalid(c, "workerThreads");
  c = good();
  c.maxStreams = 0;
  expectInvalid(c, "maxStreams");
  c = good();
  c.batchSize = 0;
  expectInvalid(c, "batchSize");
  c = good();
  c.maxDatagramSize = 10;
  expectInvalid(c, "maxDatagramSize");
  c = good();
  c.relatchSilence = -std::chrono::seconds(1);
  expectInvalid(c, "relatchSilence");
}

}  // namespace
}  // namespace p2psip::media
