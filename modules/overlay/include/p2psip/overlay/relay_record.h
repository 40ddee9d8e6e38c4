// SPDX-License-Identifier: Apache-2.0
// RelayRecord: a peer's offer to relay media for others (docs/relay-control-protocol.md): where
// its relay control channel is (its TLS peer-link listener), the public address of its relay
// ports, and how many more streams it may give out. The relay signs it (identity::SignedEnvelope,
// RecordKind::Relay); a reader accepts it only when the signature verifies and the signer's key
// hashes to `node`. It carries no certificate: a caller reaches the relay over a peer link pinned
// to `node`, whose TLS handshake proves the key.
//
// Stored under one of kRelayBuckets well-known keys, LookupKey{Relay, "relays/<b>"} with
// b = relayBucketOf(node). Callers look for relays they do not know the NodeIds of, so the keys
// cannot be derived from the relays' ids as peer records' are. One well-known key would put every
// relay's record, and every caller's get, on the few DHT nodes closest to that one key (and into
// OpenDHT's per-key storage limits); eight keys spread both over eight places in the key space and
// keep each value list short, while a caller still finds a relay by asking one or two of them.
//
// Body, version 1 (all integers big-endian):
//   u8 version (1), 32-byte NodeId,
//   peer link: u8 address length (4 or 16), address, u16 port (not 0),
//   media address: u8 length (4 or 16), address,
//   u32 capacity, u64 expiry (Unix seconds), u64 sequence.
// Unspecified addresses (0.0.0.0, ::) and port 0 are refused by both sealRelayRecord() and
// openRelayRecord(); so are truncation and trailing bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"
#include "p2psip/dht/lookup_service.h"
#include "p2psip/identity/node_id.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::overlay {

inline constexpr std::size_t kRelayBuckets = 8;

struct RelayRecord {
  identity::NodeId node;
  net::Endpoint peerLink;          // the relay's TLS peer-link listener: its control channel
  asio::ip::address mediaAddress;  // public address of its relay ports
  std::uint32_t capacity = 0;      // streams it may still give out
  std::int64_t expiresAt = 0;      // Unix seconds
  std::uint64_t sequence = 0;

  bool expired(WallTime now) const;
  friend bool operator==(const RelayRecord&, const RelayRecord&) = default;
};

// The bucket a relay publishes in: from its NodeId (already a SHA-256), so it is stable across
// restarts and spread evenly.
std::size_t relayBucketOf(const identity::NodeId& node);
// LookupKey{Relay, "relays/<bucket>"}; `bucket` < kRelayBuckets.
dht::LookupKey relayBucketKey(std::size_t bucket);
// The DHT value id of a relay's record in its bucket (one value per relay).
std::uint64_t relayRecordValueId(const identity::NodeId& node);

// What sealRelayRecord() checks before signing and openRelayRecord() after decoding.
Result<void> checkRelayRecord(const RelayRecord& record);
// Signs `record` with `signer` (whose NodeId must be record.node).
Result<std::string> sealRelayRecord(const identity::NodeIdentity& signer,
                                    const RelayRecord& record);
// Verifies and decodes; ParseError names what is wrong.
Result<RelayRecord> openRelayRecord(std::string_view bytes);

}  // namespace p2psip::overlay
