// SPDX-License-Identifier: Apache-2.0
// ContactBinding: one registered contact of an address-of-record (RFC 3261 §10), with what is
// needed to reach it again: its Path (RFC 3327) and the flow it registered over (RFC 5626).
// Value type; knows no SIP syntax (the registrar writes canonical strings into it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::location {

// The transport a flow uses; the numeric values mirror transport::Protocol.
enum class FlowTransport : std::uint8_t { Udp = 0, Tcp = 1, Tls = 2 };

// How a binding's REGISTER reached us: requests to the binding go back over this flow when the
// phone is behind NAT or asked for outbound (RFC 5626 §5.3), on the same connection for TCP/TLS.
struct Flow {
  FlowTransport transport = FlowTransport::Udp;
  net::Endpoint local{};
  net::Endpoint remote{};
  std::uint64_t connection = 0;  // transport::ConnectionId, 0 for UDP

  friend bool operator==(const Flow&, const Flow&) = default;
};

struct ContactBinding {
  std::string aor;                // canonical "sip:user@domain" (sip::LocalDomains::canonicalAor)
  std::string contactUri;         // the Contact URI as registered, without <> or header parameters
  std::string instanceId;         // +sip.instance (RFC 5626 §4.1), empty when absent
  std::uint32_t regId = 0;        // reg-id (RFC 5626 §4.2), 0 when absent
  std::vector<std::string> path;  // Path header values in order (RFC 3327 §5.3)
  std::uint16_t q = 1000;         // q-value in thousandths; absent counts as 1.0 for ordering
  TimePoint expires{};            // absolute expiry on the signalling loop's clock
  std::string callId;             // of the REGISTER that last refreshed it (§10.3 step 7)
  std::uint32_t cseq = 0;
  Flow flow;              // where the REGISTER came from
  bool outbound = false;  // registered with reg-id and +sip.instance: route over `flow` (RFC 5626)
  // Not a phone of ours: the AOR is served by another overlay peer, reached over a TLS peer link
  // to flow.remote whose key must hash to this NodeId (hex). contactUri is then the AOR itself.
  std::string peerNode;
  // With peerNode: what that peer's signed record says of its media reachability, so that the
  // calling peer can choose the media path (anchor/): its NAT class as the overlay writes it
  // ("public", "restricted-cone", "symmetric", ...; empty if unknown) and the public address its
  // relay's packets come from.
  std::string peerNat;
  std::optional<asio::ip::address> peerPublicAddress;
};

}  // namespace p2psip::location
