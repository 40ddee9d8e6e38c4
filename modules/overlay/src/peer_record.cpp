// SPDX-License-Identifier: Apache-2.0
#include "p2psip/overlay/peer_record.h"

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"
#include "p2psip/net/tls_context.h"

#include "address_codec.h"

namespace p2psip::overlay {
namespace {

// What this build writes; version 1 is still read.
constexpr std::uint8_t kVersion = 2;
constexpr std::uint8_t kVersion1 = 1;

template <typename T>
tl::unexpected<Error> fail(const Result<T>& r) {
  return tl::unexpected(r.error());
}

// The checks on the version 2 fields that hold for writer and reader alike, so a record one side
// accepts the other accepts too.
Result<void> checkNatFields(const PeerRecord& record) {
  if (static_cast<std::uint8_t>(record.reachability) >
      static_cast<std::uint8_t>(Reachability::Symmetric)) {
    return makeError(ErrorCode::ParseError,
                     "peer record has an unknown reachability " +
                         std::to_string(static_cast<int>(record.reachability)));
  }
  if (record.reflexiveAddress && record.reflexiveAddress->is_unspecified()) {
    return makeError(ErrorCode::ParseError, "peer record reflexive address is unspecified");
  }
  if (record.rendezvous && (record.rendezvous->isZero() || *record.rendezvous == record.node)) {
    return makeError(ErrorCode::ParseError, "peer record of " + record.node.shortHex() +
                                                " names no node or itself as its rendezvous");
  }
  return {};
}

Result<PeerEndpoint> readEndpoint(ByteReader& in) {
  auto transport = in.u8("peer endpoint transport");
  if (!transport) return fail(transport);
  if (*transport > static_cast<std::uint8_t>(LinkTransport::Tls)) {
    return makeError(ErrorCode::ParseError, "peer endpoint has an unknown transport");
  }
  auto address = detail::readAddress(in, "peer endpoint address");
  if (!address) return fail(address);
  auto port = in.u16("peer endpoint port");
  if (!port) return fail(port);
  return PeerEndpoint{static_cast<LinkTransport>(*transport), net::Endpoint{*address, *port}};
}

Result<void> readNatFields(ByteReader& in, PeerRecord& record) {
  auto reachability = in.u8("peer record reachability");
  if (!reachability) return fail(reachability);
  record.reachability = static_cast<Reachability>(*reachability);
  auto reflexive = detail::readOptionalAddress(in, "peer record reflexive address");
  if (!reflexive) return fail(reflexive);
  record.reflexiveAddress = *reflexive;
  auto hasRendezvous = in.u8("peer record rendezvous flag");
  if (!hasRendezvous) return fail(hasRendezvous);
  if (*hasRendezvous > 1) {
    return makeError(ErrorCode::ParseError, "peer record rendezvous flag is neither 0 nor 1");
  }
  if (*hasRendezvous == 1) {
    auto raw = in.raw(identity::NodeId::kSize, "peer record rendezvous");
    if (!raw) return fail(raw);
    auto node = identity::NodeId::fromBytes(*raw);
    if (!node) return fail(node);
    record.rendezvous = *node;
  }
  return checkNatFields(record);
}

}  // namespace

std::string_view toString(Reachability reachability) {
  switch (reachability) {
    case Reachability::Unknown:
      return "unknown";
    case Reachability::Public:
      return "public";
    case Reachability::FullCone:
      return "full-cone";
    case Reachability::RestrictedCone:
      return "restricted-cone";
    case Reachability::Symmetric:
      return "symmetric";
  }
  return "invalid";
}

bool PeerRecord::expired(WallTime now) const {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() >=
         expiresAt;
}

const PeerEndpoint* PeerRecord::linkEndpoint() const {
  for (const auto& e : endpoints) {
    if (e.transport == LinkTransport::Tls) return &e;
  }
  return nullptr;
}

std::uint64_t peerRecordValueId(const identity::NodeId& node) {
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < 8; ++i) id = (id << 8) | static_cast<std::uint8_t>(node.bytes()[i]);
  return id == 0 ? 1 : id;
}

Result<void> checkPeerRecord(const PeerRecord& record) {
  if (record.endpoints.size() > kMaxPeerEndpoints ||
      record.certificateDer.size() > kMaxCertificateBytes) {
    return makeError(ErrorCode::InvalidArgument,
                     "peer record has too many endpoints or too large a certificate");
  }
  if (auto ok = checkNatFields(record); !ok) {
    return makeError(ErrorCode::InvalidArgument, ok.error().detail);
  }
  return {};
}

Result<std::string> sealPeerRecord(const identity::NodeIdentity& signer, const PeerRecord& record) {
  if (signer.nodeId() != record.node) {
    return makeError(ErrorCode::InvalidArgument, "a peer record is signed by the peer itself");
  }
  if (auto ok = checkPeerRecord(record); !ok) return fail(ok);
  ByteWriter body;
  body.u8(kVersion);
  body.raw(record.node.bytes());
  body.str16(record.certificateDer);
  body.u8(static_cast<std::uint8_t>(record.endpoints.size()));
  for (const auto& e : record.endpoints) {
    body.u8(static_cast<std::uint8_t>(e.transport));
    detail::writeAddress(body, e.endpoint.address);
    body.u16(e.endpoint.port);
  }
  body.u32(record.capabilities);
  body.u16(record.protocolVersion);
  body.u64(static_cast<std::uint64_t>(record.expiresAt));
  body.u64(record.sequence);
  // Version 2.
  body.u8(static_cast<std::uint8_t>(record.reachability));
  detail::writeOptionalAddress(body, record.reflexiveAddress);
  body.u8(record.rendezvous ? 1 : 0);
  if (record.rendezvous) body.raw(record.rendezvous->bytes());
  return identity::seal(signer, identity::RecordKind::Peer, body.bytes());
}

Result<PeerRecord> openPeerRecord(std::string_view bytes) {
  auto opened = identity::open(bytes, identity::RecordKind::Peer);
  if (!opened) return fail(opened);
  ByteReader in(opened->envelope.body);
  auto version = in.u8("peer record version");
  if (!version) return fail(version);
  if (*version != kVersion && *version != kVersion1) {
    return makeError(ErrorCode::ParseError,
                     "peer record version " + std::to_string(*version) + " is not supported");
  }
  PeerRecord record;
  auto node = in.raw(identity::NodeId::kSize, "peer record NodeId");
  if (!node) return fail(node);
  auto nodeId = identity::NodeId::fromBytes(*node);
  if (!nodeId) return fail(nodeId);
  record.node = *nodeId;
  auto cert = in.str16(kMaxCertificateBytes, "peer record certificate");
  if (!cert) return fail(cert);
  record.certificateDer = std::string(*cert);
  auto count = in.u8("peer record endpoint count");
  if (!count) return fail(count);
  if (*count > kMaxPeerEndpoints) {
    return makeError(ErrorCode::ParseError,
                     "peer record lists " + std::to_string(*count) + " endpoints, over the limit");
  }
  record.endpoints.reserve(*count);
  for (std::uint8_t i = 0; i < *count; ++i) {
    auto e = readEndpoint(in);
    if (!e) return fail(e);
    record.endpoints.push_back(*e);
  }
  auto capabilities = in.u32("peer record capabilities");
  if (!capabilities) return fail(capabilities);
  record.capabilities = *capabilities;
  auto protocol = in.u16("peer record protocol version");
  if (!protocol) return fail(protocol);
  record.protocolVersion = *protocol;
  auto expires = in.u64("peer record expiry");
  if (!expires) return fail(expires);
  record.expiresAt = static_cast<std::int64_t>(*expires);
  auto sequence = in.u64("peer record sequence");
  if (!sequence) return fail(sequence);
  record.sequence = *sequence;
  if (*version >= 2) {
    if (auto nat = readNatFields(in, record); !nat) return fail(nat);
  }
  if (auto end = in.expectEnd("peer record"); !end) return fail(end);

  if (opened->signer != record.node) {
    return makeError(ErrorCode::ParseError, "peer record of " + record.node.shortHex() +
                                                " is signed by another node (" +
                                                opened->signer.shortHex() + ")");
  }
  auto spki = net::subjectPublicKeyInfoDer(record.certificateDer);
  if (!spki) {
    return makeError(ErrorCode::ParseError, "peer record certificate: " + spki.error().detail);
  }
  if (identity::NodeId::ofPublicKey(*spki) != record.node) {
    return makeError(ErrorCode::ParseError, "peer record certificate holds another key than node " +
                                                record.node.shortHex());
  }
  return record;
}

}  // namespace p2psip::overlay
