// SPDX-License-Identifier: Apache-2.0
#include "p2psip/overlay/peer_record.h"

#include <cstring>

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"
#include "p2psip/net/tls_context.h"

namespace p2psip::overlay {
namespace {

constexpr std::uint8_t kVersion = 1;

template <typename T>
tl::unexpected<Error> fail(const Result<T>& r) {
  return tl::unexpected(r.error());
}

}  // namespace

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

Result<std::string> sealPeerRecord(const identity::NodeIdentity& signer, const PeerRecord& record) {
  if (signer.nodeId() != record.node) {
    return makeError(ErrorCode::InvalidArgument, "a peer record is signed by the peer itself");
  }
  if (record.endpoints.size() > kMaxPeerEndpoints ||
      record.certificateDer.size() > kMaxCertificateBytes) {
    return makeError(ErrorCode::InvalidArgument,
                     "peer record has too many endpoints or too "
                     "large a certificate");
  }
  ByteWriter body;
  body.u8(kVersion);
  body.raw(record.node.bytes());
  body.str16(record.certificateDer);
  body.u8(static_cast<std::uint8_t>(record.endpoints.size()));
  for (const auto& e : record.endpoints) {
    body.u8(static_cast<std::uint8_t>(e.transport));
    if (e.endpoint.address.is_v4()) {
      auto bytes = e.endpoint.address.to_v4().to_bytes();
      body.u8(4);
      body.raw(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    } else {
      auto bytes = e.endpoint.address.to_v6().to_bytes();
      body.u8(16);
      body.raw(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    body.u16(e.endpoint.port);
  }
  body.u32(record.capabilities);
  body.u16(record.protocolVersion);
  body.u64(static_cast<std::uint64_t>(record.expiresAt));
  body.u64(record.sequence);
  return identity::seal(signer, identity::RecordKind::Peer, body.bytes());
}

Result<PeerRecord> openPeerRecord(std::string_view bytes) {
  auto opened = identity::open(bytes, identity::RecordKind::Peer);
  if (!opened) return fail(opened);
  ByteReader in(opened->envelope.body);
  auto version = in.u8("peer record version");
  if (!version) return fail(version);
  if (*version != kVersion) {
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
  for (std::uint8_t i = 0; i < *count; ++i) {
    auto transport = in.u8("peer endpoint transport");
    if (!transport) return fail(transport);
    if (*transport > static_cast<std::uint8_t>(LinkTransport::Tls)) {
      return makeError(ErrorCode::ParseError, "peer endpoint has an unknown transport");
    }
    auto length = in.u8("peer endpoint address length");
    if (!length) return fail(length);
    if (*length != 4 && *length != 16) {
      return makeError(ErrorCode::ParseError, "peer endpoint address is neither IPv4 nor IPv6");
    }
    auto address = in.raw(*length, "peer endpoint address");
    if (!address) return fail(address);
    auto port = in.u16("peer endpoint port");
    if (!port) return fail(port);
    PeerEndpoint e;
    e.transport = static_cast<LinkTransport>(*transport);
    if (*length == 4) {
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), address->data(), 4);
      e.endpoint.address = asio::ip::address_v4(b);
    } else {
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), address->data(), 16);
      e.endpoint.address = asio::ip::address_v6(b);
    }
    e.endpoint.port = *port;
    record.endpoints.push_back(e);
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
