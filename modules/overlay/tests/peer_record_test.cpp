// SPDX-License-Identifier: Apache-2.0
// Peer records: signed by the peer, bound to its key three ways (signer, NodeId, certificate).
#include "p2psip/overlay/peer_record.h"

#include <gtest/gtest.h>

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"

namespace p2psip::overlay {
namespace {

identity::NodeIdentity makeIdentity() {
  auto id = identity::NodeIdentity::generate(identity::KeyType::Ed25519);
  EXPECT_TRUE(id);
  return std::move(*id);
}

PeerRecord recordOf(const identity::NodeIdentity& id) {
  PeerRecord r;
  r.node = id.nodeId();
  r.certificateDer = id.certificateDer();
  r.endpoints = {PeerEndpoint{LinkTransport::Tls, *net::Endpoint::parse("198.18.0.2:5071")},
                 PeerEndpoint{LinkTransport::Tls, *net::Endpoint::parse("[2001:db8::2]:5071")}};
  r.capabilities = kCapabilityRelay;
  r.expiresAt = 2'000'000'000;
  r.sequence = 7;
  return r;
}

TEST(PeerRecord, RoundTripsWithEveryField) {
  auto peer = makeIdentity();
  auto sealed = sealPeerRecord(peer, recordOf(peer));
  ASSERT_TRUE(sealed) << sealed.error().detail;
  auto opened = openPeerRecord(*sealed);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(*opened, recordOf(peer));
  ASSERT_NE(opened->linkEndpoint(), nullptr);
  EXPECT_EQ(opened->linkEndpoint()->endpoint.toString(), "198.18.0.2:5071");
}

TEST(PeerRecord, CarryingAnotherPeersCertificateIsRefused) {
  auto peer = makeIdentity();
  auto other = makeIdentity();
  PeerRecord r = recordOf(peer);
  r.certificateDer = other.certificateDer();
  auto sealed = sealPeerRecord(peer, r);
  ASSERT_TRUE(sealed);
  auto opened = openPeerRecord(*sealed);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().detail.find("another key"), std::string::npos);
}

TEST(PeerRecord, SignedByAnotherNodeIsRefused) {
  auto peer = makeIdentity();
  auto mallory = makeIdentity();
  EXPECT_FALSE(sealPeerRecord(mallory, recordOf(peer)));
  // Re-sign peer's genuine body with mallory's key.
  auto genuine = *identity::decodeEnvelope(*sealPeerRecord(peer, recordOf(peer)));
  auto forged = identity::seal(mallory, identity::RecordKind::Peer, genuine.body);
  ASSERT_TRUE(forged);
  auto opened = openPeerRecord(*forged);
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().detail.find("signed by another node"), std::string::npos);
}

TEST(PeerRecord, EveryTruncationAndTrailingBytesAreRefused) {
  auto peer = makeIdentity();
  auto sealed = *sealPeerRecord(peer, recordOf(peer));
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(openPeerRecord(std::string_view(sealed).substr(0, n))) << "length " << n;
  }
  EXPECT_FALSE(openPeerRecord(sealed + std::string(1, '\0')));
}

TEST(PeerRecord, HostileEndpointCountsAndAddressLengthsAreRefused) {
  auto peer = makeIdentity();
  auto make = [&](std::uint8_t count, std::uint8_t addressLength) {
    ByteWriter body;
    body.u8(1);
    body.raw(peer.nodeId().bytes());
    body.str16(peer.certificateDer());
    body.u8(count);
    body.u8(2);
    body.u8(addressLength);
    body.raw(std::string(addressLength, '\x01'));
    body.u16(5071);
    body.u32(0);
    body.u16(1);
    body.u64(2'000'000'000);
    body.u64(1);
    return *identity::seal(peer, identity::RecordKind::Peer, body.bytes());
  };
  EXPECT_TRUE(openPeerRecord(make(1, 4)));
  EXPECT_FALSE(openPeerRecord(make(200, 4)));  // over kMaxPeerEndpoints
  EXPECT_FALSE(openPeerRecord(make(1, 7)));    // neither IPv4 nor IPv6
}

}  // namespace
}  // namespace p2psip::overlay
