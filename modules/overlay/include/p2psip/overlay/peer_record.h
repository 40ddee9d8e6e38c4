// SPDX-License-Identifier: Apache-2.0
// PeerRecord: what the overlay knows about one peer, stored in the DHT under
// LookupKey{Peer, NodeId hex}: its certificate, where it accepts peer links, what it offers, and
// a version. The peer signs it (identity::SignedEnvelope, RecordKind::Peer). A reader accepts it
// only when the signature verifies, the signer's key hashes to `node`, and so does the key in the
// enclosed certificate: the record cannot be replayed for another node or carry another's
// certificate.
//
// Since version 2 it also says how the peer can be reached through NATs: the NAT class it found
// (Reachability), the public address others see (its reflexive address, as STUN calls it, RFC 8489
// §3), and, for a peer that accepts no inbound links, the peer it keeps a link open to (its
// rendezvous), through which others' requests reach it.
//
// Body (all integers big-endian). Version 1:
//   u8 version (1), 32-byte NodeId, u16 length + certificate DER, u8 endpoint count (at most
//   kMaxPeerEndpoints), per endpoint { u8 transport, u8 address length (4 or 16), address,
//   u16 port }, u32 capabilities, u16 protocol version, u64 expiry (Unix seconds), u64 sequence.
// Version 2 (what this build writes): u8 version (2), the version 1 fields after the version
// byte, then
//   u8 reachability (a Reachability value; others are refused),
//   u8 reflexive address length (0 = absent, 4 or 16), address,
//   u8 rendezvous present (0 or 1), 32-byte NodeId when 1.
// Both versions are read; a version 1 record has Reachability::Unknown, no reflexive address and
// no rendezvous. Every length is checked before it is used and trailing bytes are refused. A
// rendezvous that is the all-zero NodeId or the peer itself, and an unspecified reflexive address
// (0.0.0.0, ::), are refused by both sealPeerRecord() and openPeerRecord().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"
#include "p2psip/identity/node_id.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::overlay {

inline constexpr std::size_t kMaxPeerEndpoints = 16;
inline constexpr std::size_t kMaxCertificateBytes = 4096;
// The peer protocol this build speaks. 1: SIP over TLS peer links. 2: peers also speak the relay
// control protocol (docs/relay-control-protocol.md) in binary frames on those links.
inline constexpr std::uint16_t kPeerProtocolVersion = 2;

enum class LinkTransport : std::uint8_t { Udp = 0, Tcp = 1, Tls = 2 };

struct PeerEndpoint {
  LinkTransport transport = LinkTransport::Tls;
  net::Endpoint endpoint;
  friend bool operator==(const PeerEndpoint&, const PeerEndpoint&) = default;
};

// What a peer offers the overlay.
enum Capability : std::uint32_t {
  kCapabilityRelay = 1u << 0,    // relays media for other peers (media issue)
  kCapabilityGateway = 1u << 1,  // reaches conventional SIP domains
};

// What a peer learned about its own reachability (RFC 4787 vocabulary: "full cone" is
// endpoint-independent mapping and filtering, "restricted cone" endpoint-independent mapping with
// address(-and-port)-dependent filtering, "symmetric" address-and-port-dependent mapping).
// Public: no NAT, inbound peer links and media reach it directly.
enum class Reachability : std::uint8_t {
  Unknown = 0,
  Public = 1,
  FullCone = 2,
  RestrictedCone = 3,
  Symmetric = 4,
};
std::string_view toString(Reachability reachability);  // "unknown", "public", "full-cone", ...

struct PeerRecord {
  identity::NodeId node;
  std::string certificateDer;
  std::vector<PeerEndpoint> endpoints;
  std::uint32_t capabilities = 0;
  std::uint16_t protocolVersion = kPeerProtocolVersion;
  std::int64_t expiresAt = 0;  // Unix seconds
  std::uint64_t sequence = 0;
  // Version 2.
  Reachability reachability = Reachability::Unknown;
  std::optional<asio::ip::address> reflexiveAddress;  // the public address others see
  // Set when the peer accepts no inbound peer links: requests reach it through this peer, to which
  // it keeps a link open (Route set [rendezvous, peer]).
  std::optional<identity::NodeId> rendezvous;

  bool expired(WallTime now) const;
  // The first TLS endpoint: where peer links go.
  const PeerEndpoint* linkEndpoint() const;
  friend bool operator==(const PeerRecord&, const PeerRecord&) = default;
};

std::uint64_t peerRecordValueId(const identity::NodeId& node);

// What sealPeerRecord() checks before signing (and openPeerRecord() after decoding): counts and
// sizes within bounds, a known reachability, no unspecified reflexive address, a rendezvous that
// is neither zero nor the peer itself. InvalidArgument names the field.
Result<void> checkPeerRecord(const PeerRecord& record);
// Signs `record` with `signer` (whose NodeId must be record.node).
Result<std::string> sealPeerRecord(const identity::NodeIdentity& signer, const PeerRecord& record);
// Verifies and decodes; ParseError names what is wrong.
Result<PeerRecord> openPeerRecord(std::string_view bytes);

}  // namespace p2psip::overlay
