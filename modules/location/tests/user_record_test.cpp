// SPDX-License-Identifier: Apache-2.0
// User records: only the serving peer can speak for its users.
#include "p2psip/location/user_record.h"

#include <gtest/gtest.h>

#include "overlay_test_support.h"
#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"

namespace p2psip::location {
namespace {

using testing::makeIdentity;

UserRecord recordOf(const identity::NodeIdentity& id) {
  return UserRecord{"sip:bob@p2p.test", id.nodeId(), 2'000'000'000, 42};
}

TEST(UserRecord, RoundTripsThroughTheSignedEnvelope) {
  auto bob = makeIdentity();
  auto sealed = sealUserRecord(bob, recordOf(bob));
  ASSERT_TRUE(sealed) << sealed.error().detail;
  auto opened = openUserRecord(*sealed);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(*opened, recordOf(bob));
}

TEST(UserRecord, APeerCannotSignForAnother) {
  auto honest = makeIdentity();
  auto mallory = makeIdentity();
  // Sealing refuses outright...
  EXPECT_FALSE(sealUserRecord(mallory, recordOf(honest)));
  // ...and a hand-made envelope naming the honest peer but signed by mallory is refused on read.
  ByteWriter body;
  body.u8(1);
  body.str16("sip:bob@p2p.test");
  body.raw(honest.nodeId().bytes());
  body.u64(2'000'000'000);
  body.u64(43);
  auto forged = identity::seal(mallory, identity::RecordKind::User, body.bytes());
  ASSERT_TRUE(forged);
  auto opened = openUserRecord(*forged);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().detail.find("signed by another node"), std::string::npos);
}

TEST(UserRecord, TamperingAndTruncationAreRefused) {
  auto bob = makeIdentity();
  auto sealed = *sealUserRecord(bob, recordOf(bob));
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(openUserRecord(std::string_view(sealed).substr(0, n))) << "length " << n;
  }
  std::string flipped = sealed;
  flipped[sealed.size() / 2] ^= 0x01;
  EXPECT_FALSE(openUserRecord(flipped));
  EXPECT_FALSE(openUserRecord(sealed + "x"));
}

TEST(UserRecord, APeerRecordIsNotAUserRecord) {
  auto bob = makeIdentity();
  auto peerKind = identity::seal(bob, identity::RecordKind::Peer, "whatever");
  ASSERT_TRUE(peerKind);
  EXPECT_FALSE(openUserRecord(*peerKind));
}

TEST(UserRecord, ValueIdIsStablePerPeerAndDiffersBetweenPeers) {
  auto a = makeIdentity();
  auto b = makeIdentity();
  EXPECT_EQ(userRecordValueId(a.nodeId()), userRecordValueId(a.nodeId()));
  EXPECT_NE(userRecordValueId(a.nodeId()), userRecordValueId(b.nodeId()));
  EXPECT_NE(userRecordValueId(a.nodeId()), 0u);
}

TEST(UserRecord, ExpiryFollowsTheWallClock) {
  auto bob = makeIdentity();
  UserRecord r = recordOf(bob);
  EXPECT_FALSE(r.expired(WallTime{} + std::chrono::seconds(r.expiresAt - 1)));
  EXPECT_TRUE(r.expired(WallTime{} + std::chrono::seconds(r.expiresAt)));
}

}  // namespace
}  // namespace p2psip::location
