// SPDX-License-Identifier: Apache-2.0
// PeerRecord: what the overlay knows about one peer, stored in the DHT under
// LookupKey{Peer, NodeId hex}: its certificate, where it accepts peer links, what it offers, and
// a version. The peer signs it (identity::SignedEnvelope, RecordKind::Peer). A reader accepts it
// only when the signature verifies, the signer's key hashes to `node`, and so does the key in the
// enclosed certificate: the record cannot be replayed for another node or carry another's
// certificate.
//
// Body, version 1 (big-endian): u8 version, 32-byte NodeId, u16+certificate DER, u8 endpoint
// count (at most kMaxPeerEndpoints), per endpoint u8 transport, u8 address length (4 or 16),
// address, u16 port; u32 capabilities, u16 protocol version, u64 expiry (Unix seconds), u64
// sequence.
#pragma once

#include <cstdint>
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
// The peer protocol this build speaks (SIP over TLS peer links; the relay control protocol of the
// media issue will raise it).
inline constexpr std::uint16_t kPeerProtocolVersion = 1;

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

struct PeerRecord {
  identity::NodeId node;
  std::string certificateDer;
  std::vector<PeerEndpoint> endpoints;
  std::uint32_t capabilities = 0;
  std::uint16_t protocolVersion = kPeerProtocolVersion;
  std::int64_t expiresAt = 0;  // Unix seconds
  std::uint64_t sequence = 0;

  bool expired(WallTime now) const;
  // The first TLS endpoint: where peer links go.
  const PeerEndpoint* linkEndpoint() const;
  friend bool operator==(const PeerRecord&, const PeerRecord&) = default;
};

std::uint64_t peerRecordValueId(const identity::NodeId& node);

// Signs `record` with `signer` (whose NodeId must be record.node).
Result<std::string> sealPeerRecord(const identity::NodeIdentity& signer, const PeerRecord& record);
// Verifies and decodes; ParseError names what is wrong.
Result<PeerRecord> openPeerRecord(std::string_view bytes);

}  // namespace p2psip::overlay
