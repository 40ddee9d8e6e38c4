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

TEST(PeerRecord, Version2FieldsRoundTrip) {
  auto peer = makeIdentity();
  auto rendezvous = makeIdentity();
  PeerRecord r = recordOf(peer);
  r.reachability = Reachability::Symmetric;
  r.reflexiveAddress = asio::ip::make_address("203.0.113.7");
  r.rendezvous = rendezvous.nodeId();
  auto sealed = sealPeerRecord(peer, r);
  ASSERT_TRUE(sealed) << sealed.error().detail;
  auto opened = openPeerRecord(*sealed);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(*opened, r);
  EXPECT_EQ(opened->protocolVersion, 2);
  EXPECT_EQ(toString(opened->reachability), "symmetric");

  r.reflexiveAddress = asio::ip::make_address("2001:db8::7");
  r.rendezvous.reset();
  r.reachability = Reachability::FullCone;
  auto v6 = openPeerRecord(*sealPeerRecord(peer, r));
  ASSERT_TRUE(v6) << v6.error().detail;
  EXPECT_EQ(*v6, r);
}

TEST(PeerRecord, WritesVersion2) {
  auto peer = makeIdentity();
  auto envelope = identity::decodeEnvelope(*sealPeerRecord(peer, recordOf(peer)));
  ASSERT_TRUE(envelope);
  ASSERT_FALSE(envelope->body.empty());
  EXPECT_EQ(envelope->body[0], '\x02');
}

// A version 1 body as the previous release wrote it.
std::string version1Body(const identity::NodeIdentity& peer) {
  ByteWriter body;
  body.u8(1);
  body.raw(peer.nodeId().bytes());
  body.str16(peer.certificateDer());
  body.u8(1);
  body.u8(2);
  body.u8(4);
  body.raw(std::string("\xc6\x12\x00\x02", 4));
  body.u16(5071);
  body.u32(kCapabilityRelay);
  body.u16(1);
  body.u64(2'000'000'000);
  body.u64(9);
  return std::move(body).bytes();
}

TEST(PeerRecord, Version1RecordsAreReadWithDefaultsForTheNewFields) {
  auto peer = makeIdentity();
  auto sealed = identity::seal(peer, identity::RecordKind::Peer, version1Body(peer));
  ASSERT_TRUE(sealed);
  auto opened = openPeerRecord(*sealed);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(opened->protocolVersion, 1);
  EXPECT_EQ(opened->sequence, 9u);
  EXPECT_EQ(opened->linkEndpoint()->endpoint.toString(), "198.18.0.2:5071");
  EXPECT_EQ(opened->reachability, Reachability::Unknown);
  EXPECT_FALSE(opened->reflexiveAddress);
  EXPECT_FALSE(opened->rendezvous);
  // Version 1 with the version 2 tail appended is trailing garbage, not a version 2 record.
  auto longer = identity::seal(peer, identity::RecordKind::Peer,
                               version1Body(peer) + std::string("\x01\x00\x00", 3));
  EXPECT_FALSE(openPeerRecord(*longer));
}

TEST(PeerRecord, HostileVersion2FieldsAreRefused) {
  auto peer = makeIdentity();
  auto other = makeIdentity();
  // The version 1 fields of a valid record, then a tail the test writes.
  auto make = [&](const std::string& tail) {
    auto body = version1Body(peer);
    body[0] = '\x02';
    return *identity::seal(peer, identity::RecordKind::Peer, body + tail);
  };
  const std::string otherId(other.nodeId().bytes());
  const std::string selfId(peer.nodeId().bytes());
  EXPECT_TRUE(openPeerRecord(make(std::string("\x04\x00\x00", 3))));
  EXPECT_TRUE(openPeerRecord(make(std::string("\x03\x04\xcb\x00\x71\x07\x01", 7) + otherId)));
  EXPECT_FALSE(openPeerRecord(make(std::string("\x05\x00\x00", 3))));  // unknown reachability
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x07\x01\x02\x03\x04\x05\x06\x07\x00", 10))));
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x04\x00\x00\x00\x00\x00", 7))));  // 0.0.0.0
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x00\x02", 3) + otherId)));        // flag 2
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x00\x01", 3) + selfId)));         // itself
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x00\x01", 3) + std::string(32, '\0'))));
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x00\x01", 3) + otherId.substr(0, 31))));
  EXPECT_FALSE(openPeerRecord(make(std::string("\x01\x00", 2))));  // ends before the flag
}

TEST(PeerRecord, TheSignerRefusesWhatTheReaderWould) {
  auto peer = makeIdentity();
  PeerRecord r = recordOf(peer);
  r.rendezvous = peer.nodeId();
  EXPECT_FALSE(sealPeerRecord(peer, r));
  r.rendezvous = identity::NodeId{};
  EXPECT_FALSE(sealPeerRecord(peer, r));
  r.rendezvous.reset();
  r.reflexiveAddress = asio::ip::address_v6::any();
  EXPECT_FALSE(sealPeerRecord(peer, r));
  r.reflexiveAddress.reset();
  r.reachability = static_cast<Reachability>(9);
  auto refused = sealPeerRecord(peer, r);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::InvalidArgument);
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
  auto rendezvous = makeIdentity();
  PeerRecord r = recordOf(peer);
  r.reachability = Reachability::RestrictedCone;
  r.reflexiveAddress = asio::ip::make_address("203.0.113.7");
  r.rendezvous = rendezvous.nodeId();
  auto sealed = *sealPeerRecord(peer, r);
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(openPeerRecord(std::string_view(sealed).substr(0, n))) << "length " << n;
  }
  EXPECT_FALSE(openPeerRecord(sealed + std::string(1, '\0')));
  // The same inside a valid signature: every cut of the body.
  const std::string body = identity::decodeEnvelope(sealed)->body;
  for (std::size_t n = 0; n < body.size(); ++n) {
    auto cut = identity::seal(peer, identity::RecordKind::Peer, body.substr(0, n));
    ASSERT_TRUE(cut);
    EXPECT_FALSE(openPeerRecord(*cut)) << "body length " << n;
  }
  auto longer = identity::seal(peer, identity::RecordKind::Peer, body + std::string(1, '\0'));
  EXPECT_FALSE(openPeerRecord(*longer));
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
