// SPDX-License-Identifier: Apache-2.0
#include "p2psip/overlay/relay_record.h"

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"

#include "address_codec.h"

namespace p2psip::overlay {
namespace {

constexpr std::uint8_t kVersion = 1;

template <typename T>
tl::unexpected<Error> fail(const Result<T>& r) {
  return tl::unexpected(r.error());
}

std::uint64_t leadingWord(const identity::NodeId& node) {
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    word = (word << 8) | static_cast<std::uint8_t>(node.bytes()[i]);
  }
  return word;
}

}  // namespace

bool RelayRecord::expired(WallTime now) const {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() >=
         expiresAt;
}

std::size_t relayBucketOf(const identity::NodeId& node) {
  return static_cast<std::size_t>(leadingWord(node) % kRelayBuckets);
}

dht::LookupKey relayBucketKey(std::size_t bucket) {
  return dht::LookupKey{dht::Namespace::Relay, "relays/" + std::to_string(bucket % kRelayBuckets)};
}

std::uint64_t relayRecordValueId(const identity::NodeId& node) {
  const std::uint64_t id = leadingWord(node);
  return id == 0 ? 1 : id;
}

Result<void> checkRelayRecord(const RelayRecord& record) {
  if (record.node.isZero()) {
    return makeError(ErrorCode::InvalidArgument, "relay record names no node");
  }
  if (record.peerLink.port == 0 || record.peerLink.address.is_unspecified()) {
    return makeError(ErrorCode::InvalidArgument, "relay record of " + record.node.shortHex() +
                                                     " has no usable peer-link endpoint (" +
                                                     record.peerLink.toString() + ")");
  }
  if (record.mediaAddress.is_unspecified()) {
    return makeError(ErrorCode::InvalidArgument,
                     "relay record of " + record.node.shortHex() + " has no media address");
  }
  return {};
}

Result<std::string> sealRelayRecord(const identity::NodeIdentity& signer,
                                    const RelayRecord& record) {
  if (signer.nodeId() != record.node) {
    return makeError(ErrorCode::InvalidArgument, "a relay record is signed by the relay itself");
  }
  if (auto ok = checkRelayRecord(record); !ok) return fail(ok);
  ByteWriter body;
  body.u8(kVersion);
  body.raw(record.node.bytes());
  detail::writeAddress(body, record.peerLink.address);
  body.u16(record.peerLink.port);
  detail::writeAddress(body, record.mediaAddress);
  body.u32(record.capacity);
  body.u64(static_cast<std::uint64_t>(record.expiresAt));
  body.u64(record.sequence);
  return identity::seal(signer, identity::RecordKind::Relay, body.bytes());
}

Result<RelayRecord> openRelayRecord(std::string_view bytes) {
  auto opened = identity::open(bytes, identity::RecordKind::Relay);
  if (!opened) return fail(opened);
  ByteReader in(opened->envelope.body);
  auto version = in.u8("relay record version");
  if (!version) return fail(version);
  if (*version != kVersion) {
    return makeError(ErrorCode::ParseError,
                     "relay record version " + std::to_string(*version) + " is not supported");
  }
  RelayRecord record;
  auto node = in.raw(identity::NodeId::kSize, "relay record NodeId");
  if (!node) return fail(node);
  auto nodeId = identity::NodeId::fromBytes(*node);
  if (!nodeId) return fail(nodeId);
  record.node = *nodeId;
  auto linkAddress = detail::readAddress(in, "relay record peer-link address");
  if (!linkAddress) return fail(linkAddress);
  auto linkPort = in.u16("relay record peer-link port");
  if (!linkPort) return fail(linkPort);
  record.peerLink = net::Endpoint{*linkAddress, *linkPort};
  auto media = detail::readAddress(in, "relay record media address");
  if (!media) return fail(media);
  record.mediaAddress = *media;
  auto capacity = in.u32("relay record capacity");
  if (!capacity) return fail(capacity);
  record.capacity = *capacity;
  auto expires = in.u64("relay record expiry");
  if (!expires) return fail(expires);
  record.expiresAt = static_cast<std::int64_t>(*expires);
  auto sequence = in.u64("relay record sequence");
  if (!sequence) return fail(sequence);
  record.sequence = *sequence;
  if (auto end = in.expectEnd("relay record"); !end) return fail(end);
  if (auto ok = checkRelayRecord(record); !ok) {
    return makeError(ErrorCode::ParseError, ok.error().detail);
  }
  // A record is only good from the relay it names: otherwise anyone could advertise another
  // node's relay with made-up capacity or addresses.
  if (opened->signer != record.node) {
    return makeError(ErrorCode::ParseError, "relay record of " + record.node.shortHex() +
                                                " is signed by another node (" +
                                                opened->signer.shortHex() + ")");
  }
  return record;
}

}  // namespace p2psip::overlay
