// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/node_id.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace p2psip::identity {
namespace {

// SHA-256("abc"), FIPS 180-2 Appendix B.1.
constexpr const char* kSha256OfAbc =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(NodeId, IsTheSha256OfTheSubjectPublicKeyInfoBytes) {
  EXPECT_EQ(NodeId::ofPublicKey("abc").toHex(), kSha256OfAbc);
}

TEST(NodeId, DefaultIsZero) {
  EXPECT_TRUE(NodeId().isZero());
  EXPECT_FALSE(NodeId::ofPublicKey("abc").isZero());
}

TEST(NodeId, HexRoundTripsInEitherCase) {
  const NodeId id = NodeId::ofPublicKey("abc");
  auto lower = NodeId::fromHex(id.toHex());
  ASSERT_TRUE(lower) << lower.error().detail;
  EXPECT_EQ(*lower, id);
  std::string upper = id.toHex();
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto fromUpper = NodeId::fromHex(upper);
  ASSERT_TRUE(fromUpper) << fromUpper.error().detail;
  EXPECT_EQ(*fromUpper, id);
  EXPECT_EQ(fromUpper->toHex(), kSha256OfAbc);  // always printed lower-case
}

TEST(NodeId, ShortHexIsTheFirstEightDigits) {
  EXPECT_EQ(NodeId::ofPublicKey("abc").shortHex(), "ba7816bf");
}

TEST(NodeId, BadHexIsInvalidArgument) {
  const std::string good = kSha256OfAbc;
  for (const std::string& bad :
       {std::string(), good.substr(1), good + "0", "g" + good.substr(1), good.substr(0, 63) + " ",
        "0x" + good.substr(2), std::string(64, '-')}) {
    auto id = NodeId::fromHex(bad);
    ASSERT_FALSE(id) << bad;
    EXPECT_EQ(id.error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(id.error().detail.empty());
  }
}

TEST(NodeId, RawBytesRoundTripAndWrongLengthsAreRefused) {
  const NodeId id = NodeId::ofPublicKey("abc");
  auto again = NodeId::fromBytes(id.bytes());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, id);
  EXPECT_FALSE(NodeId::fromBytes(id.bytes().substr(1)));
  EXPECT_FALSE(NodeId::fromBytes(std::string(id.bytes()) + "x"));
}

TEST(NodeId, OrdersByBytesAndHashesForUnorderedContainers) {
  auto low = NodeId::fromHex(std::string(63, '0') + "1");
  auto high = NodeId::fromHex("1" + std::string(63, '0'));
  ASSERT_TRUE(low && high);
  EXPECT_LT(*low, *high);
  std::unordered_set<NodeId, NodeIdHash> set{*low, *high, *low};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace p2psip::identity
