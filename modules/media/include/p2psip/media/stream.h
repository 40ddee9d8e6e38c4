// SPDX-License-Identifier: Apache-2.0
// The vocabulary of one relay stream: its id, its two sides, how each leg is set up, and the
// counters it reports. A stream relays one media line (RTP and its RTCP) between phone A and
// phone B; each side is a leg: an RTP/RTCP port pair bound on its own local address.
#pragma once

#include <cstdint>
#include <optional>

#include <asio/ip/address.hpp>

#include "p2psip/common/clock.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::media {

struct StreamId {
  std::uint64_t value = 0;
  friend bool operator==(StreamId, StreamId) = default;
};

enum class Side : std::uint8_t { A = 0, B = 1 };

constexpr Side otherSide(Side side) {
  return side == Side::A ? Side::B : Side::A;
}
const char* toString(Side side);

// Which source a leg accepts media from (RFC 7362 latching; RFC 4961 symmetric RTP: a phone
// sends from the port it receives on, so the source we learn is where we send).
enum class LatchPolicy : std::uint8_t {
  // Never latch: send to `remote` and accept only packets from exactly `remote` (RTCP: its port
  // + 1). For a far peer's relay, which is symmetric and whose address is known.
  Fixed,
  // Latch to the first valid packet from the expected IP: `latchAddress`, else `remote`'s IP;
  // with neither known, the first valid source. The port may differ (NAT port mapping).
  SameAddress,
  // Latch to the first valid packet from any source. For a phone behind a NAT whose public IP is
  // not known to the caller (its SDP carries a private address).
  AnyAddress,
};

// One side of a stream as requested by signalling.
struct LegConfig {
  asio::ip::address local{};              // bind here: one of RelayConfig::addresses
  std::optional<net::Endpoint> remote{};  // from SDP (c= and m=): where RTP goes until latched
  LatchPolicy latch = LatchPolicy::SameAddress;
  // The IP media must come from to latch, when it is not `remote`'s: signalling sets it to the
  // phone's SIP source address when the SDP address is private (the phone is behind a NAT).
  std::optional<asio::ip::address> latchAddress{};
  // RTP clock rate of what this side's phone sends (SDP a=rtpmap; 8000 for G.711), for jitter.
  std::uint32_t clockRate = 8000;
  // Towards another peer's relay behind a NAT that waits for us: send RTP keepalives (RFC 6263
  // §4.6, an RTP header with no payload) to `remote` about once a second until this leg hears
  // anything. They open our own NAT's mapping and filter towards the far relay, and let it latch
  // onto us before any phone speaks. Relays never forward them.
  bool keepAlive = false;
  // Hole punching with a way out (issue 5; the idea of RFC 8445's connectivity checks, without
  // ICE on the phones): a third peer's relay stream to switch to when nothing at all is heard
  // from `remote` within `fallbackAfter` of learning it. Until then the leg also sends its
  // keepalives to the fallback, so that our NAT lets the fallback relay's packets in; media from
  // the fallback's IP at any time means the far relay gave up on the direct path, and this leg
  // follows it there (both ends switch even when only one direction failed).
  std::optional<net::Endpoint> fallback{};
  Duration fallbackAfter = std::chrono::seconds(2);
};

// What allocate() returns: the RTP endpoints to write into each side's SDP (RTCP is port + 1).
struct AllocatedStream {
  StreamId id;
  net::Endpoint legA;  // phone A sends here; phone B receives from legB
  net::Endpoint legB;
};

// Media received on one leg and relayed out of the other (RFC 3550 A.1, A.3, A.8).
struct DirectionStats {
  std::uint64_t packets = 0;  // RTP forwarded
  std::uint64_t bytes = 0;    // RTP bytes forwarded (UDP payload)
  std::uint64_t rtcpPackets = 0;
  std::uint64_t rtcpBytes = 0;
  std::uint64_t dropped = 0;    // arrived on this leg, not forwarded (all reasons below, and more)
  std::uint64_t malformed = 0;  // not valid RTP/RTCP: wrong version, too short, truncated
  std::uint64_t refused = 0;    // from a source the latch does not accept (hijack attempts)
  std::int64_t lost = 0;        // cumulative packets lost (A.3; negative with duplicates)
  double jitterMs = 0;          // interarrival jitter (A.8) converted with the leg's clock rate
  std::optional<TimePoint> lastActivity{};  // last accepted packet on this leg
};

struct LegStats {
  net::Endpoint local{};                  // our RTP port on this side (RTCP: port + 1)
  std::optional<net::Endpoint> remote{};  // where RTP to this side's phone goes: SDP or latched
  bool latched = false;                   // remote was learnt from the phone's packets
  bool fellBack = false;  // the direct path failed: media goes through LegConfig::fallback
};

struct StreamStats {
  StreamId id;
  LegStats a;
  LegStats b;
  DirectionStats aToB;  // received on leg A from phone A, sent out of leg B
  DirectionStats bToA;
};

// Engine totals since construction (the same numbers as the p2psip_media_* metrics).
struct RelayTotals {
  std::uint64_t packetsForwarded = 0;  // RTP and RTCP
  std::uint64_t bytesForwarded = 0;
  std::uint64_t packetsDropped = 0;  // every datagram received and not forwarded
  std::uint64_t packetsMalformed = 0;
  std::uint64_t packetsRefused = 0;
  std::uint64_t latches = 0;    // first latches and re-latches
  std::uint64_t fallbacks = 0;  // legs switched to their fallback relay
  std::uint64_t streamsTimedOut = 0;
};

}  // namespace p2psip::media
