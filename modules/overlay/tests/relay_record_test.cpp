// SPDX-License-Identifier: Apache-2.0
// Relay records: signed by the relay they name, strictly bounded, stored in one of eight buckets.
#include "p2psip/overlay/relay_record.h"

#include <gtest/gtest.h>

#include <set>

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"

namespace p2psip::overlay {
namespace {

identity::NodeIdentity makeIdentity() {
  auto id = identity::NodeIdentity::generate(identity::KeyType::Ed25519);
  EXPECT_TRUE(id);
  return std::move(*id);
}

RelayRecord recordOf(const identity::NodeIdentity& id) {
  RelayRecord r;
  r.node = id.nodeId();
  r.peerLink = *net::Endpoint::parse("198.18.0.2:5071");
  r.mediaAddress = asio::ip::make_address("203.0.113.2");
  r.capacity = 120;
  r.expiresAt = 2'000'000'000;
  r.sequence = 7;
  return r;
}

TEST(RelayRecord, RoundTripsWithEveryField) {
  auto relay = makeIdentity();
  auto sealed = sealRelayRecord(relay, recordOf(relay));
  ASSERT_TRUE(sealed) << sealed.error().detail;
  auto opened = openRelayRecord(*sealed);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(*opened, recordOf(relay));

  RelayRecord v6 = recordOf(relay);
  v6.peerLink = *net::Endpoint::parse("[2001:db8::2]:5071");
  v6.mediaAddress = asio::ip::make_address("2001:db8::99");
  v6.capacity = 0;
  auto again = openRelayRecord(*sealRelayRecord(relay, v6));
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(*again, v6);
}

TEST(RelayRecord, SignedByAnotherNodeIsRefused) {
  auto relay = makeIdentity();
  auto mallory = makeIdentity();
  EXPECT_FALSE(sealRelayRecord(mallory, recordOf(relay)));
  // Mallory re-signs the relay's genuine body, e.g. to advertise it with made-up capacity.
  auto genuine = *identity::decodeEnvelope(*sealRelayRecord(relay, recordOf(relay)));
  auto forged = identity::seal(mallory, identity::RecordKind::Relay, genuine.body);
  ASSERT_TRUE(forged);
  auto opened = openRelayRecord(*forged);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().detail.find("signed by another node"), std::string::npos);
}

TEST(RelayRecord, AnEnvelopeOfAnotherKindIsRefused) {
  auto relay = makeIdentity();
  auto genuine = *identity::decodeEnvelope(*sealRelayRecord(relay, recordOf(relay)));
  auto asPeer = identity::seal(relay, identity::RecordKind::Peer, genuine.body);
  ASSERT_TRUE(asPeer);
  EXPECT_FALSE(openRelayRecord(*asPeer));
}

TEST(RelayRecord, EveryTruncationAndTrailingBytesAreRefused) {
  auto relay = makeIdentity();
  const std::string body = identity::decodeEnvelope(*sealRelayRecord(relay, recordOf(relay)))->body;
  for (std::size_t n = 0; n < body.size(); ++n) {
    auto cut = identity::seal(relay, identity::RecordKind::Relay, body.substr(0, n));
    ASSERT_TRUE(cut);
    EXPECT_FALSE(openRelayRecord(*cut)) << "body length " << n;
  }
  auto longer = identity::seal(relay, identity::RecordKind::Relay, body + std::string(1, '\0'));
  EXPECT_FALSE(openRelayRecord(*longer));
  auto sealed = *sealRelayRecord(relay, recordOf(relay));
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(openRelayRecord(std::string_view(sealed).substr(0, n))) << "length " << n;
  }
}

TEST(RelayRecord, HostileFieldsAreRefused) {
  auto relay = makeIdentity();
  auto make = [&](std::uint8_t version, std::uint8_t linkLength, std::uint16_t port,
                  std::uint8_t mediaLength, char fill) {
    ByteWriter body;
    body.u8(version);
    body.raw(relay.nodeId().bytes());
    body.u8(linkLength);
    body.raw(std::string(linkLength, fill));
    body.u16(port);
    body.u8(mediaLength);
    body.raw(std::string(mediaLength, fill));
    body.u32(10);
    body.u64(2'000'000'000);
    body.u64(1);
    return *identity::seal(relay, identity::RecordKind::Relay, body.bytes());
  };
  EXPECT_TRUE(openRelayRecord(make(1, 4, 5071, 4, '\x01')));
  EXPECT_TRUE(openRelayRecord(make(1, 16, 5071, 4, '\x01')));
  EXPECT_FALSE(openRelayRecord(make(2, 4, 5071, 4, '\x01')));  // unknown version
  EXPECT_FALSE(openRelayRecord(make(1, 5, 5071, 4, '\x01')));  // neither IPv4 nor IPv6
  EXPECT_FALSE(openRelayRecord(make(1, 4, 5071, 0, '\x01')));  // media address missing
  EXPECT_FALSE(openRelayRecord(make(1, 4, 0, 4, '\x01')));     // port 0
  EXPECT_FALSE(openRelayRecord(make(1, 4, 5071, 4, '\0')));    // 0.0.0.0
  EXPECT_FALSE(openRelayRecord(make(1, 16, 5071, 16, '\0')));  // ::
}

TEST(RelayRecord, TheSignerRefusesWhatTheReaderWould) {
  auto relay = makeIdentity();
  RelayRecord r = recordOf(relay);
  r.peerLink.port = 0;
  EXPECT_FALSE(sealRelayRecord(relay, r));
  r = recordOf(relay);
  r.mediaAddress = asio::ip::address_v4::any();
  auto refused = sealRelayRecord(relay, r);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
}

TEST(RelayRecord, BucketsAreStableWellKnownKeysThatSpreadTheRelays) {
  EXPECT_EQ(relayBucketKey(3).toString(), "relay:relays/3");
  EXPECT_EQ(relayBucketKey(0).ns, dht::Namespace::Relay);
  std::set<std::size_t> seen;
  for (int i = 0; i < 64; ++i) {
    auto id = makeIdentity();
    const std::size_t b = relayBucketOf(id.nodeId());
    ASSERT_LT(b, kRelayBuckets);
    EXPECT_EQ(b, relayBucketOf(id.nodeId()));
    EXPECT_NE(relayRecordValueId(id.nodeId()), 0u);
    seen.insert(b);
  }
  EXPECT_GE(seen.size(), 6u);  // 64 hashes miss a bucket with probability ~ 8 * (7/8)^64
}

}  // namespace
}  // namespace p2psip::overlay
