// SPDX-License-Identifier: Apache-2.0
// AnchorConfig: where the media anchor binds relay legs and how much it may hold. Built and
// validated once in app/ from the daemon's configuration (conventions §3.4 item 10).
#pragma once

#include <cstddef>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"

namespace p2psip::anchor {

struct AnchorConfig {
  // Legs facing a phone bind on the address its SIP flow arrived on when the relay has it, else
  // here (a peer may serve phones on loopback and face the overlay on another address).
  asio::ip::address phoneAddress{};
  // Legs facing another peer's relay bind here: the peer-link address (behind a NAT, the inside
  // one; the far relay latches onto whatever the NAT makes of it).
  asio::ip::address overlayAddress{};
  // Every address the RelayEngine has port pairs on (media::RelayConfig::addresses); must contain
  // the two above.
  std::vector<asio::ip::address> relayAddresses{};
  // Calls with anchored media at once; past it a new call is answered 503 (bounded memory).
  std::size_t maxSessions = 20000;
  // m= lines anchored per call (audio, video, ...); an offer with more is answered 488.
  std::size_t maxStreamsPerSession = 8;
  // A hole-punched path that stays silent this long (no keepalive from the far relay) is given up
  // for the third relay kept ready as its fallback (media::LegConfig::fallback).
  Duration punchCheck = std::chrono::seconds(2);
  // A call with a late offer (an INVITE without SDP: the offer comes in the 2xx) whose path needs
  // a third relay gets this many streams there before the INVITE leaves, since the 2xx cannot
  // wait for them; the offer's m= lines take them in order, and the unused ones go back.
  std::size_t lateOfferStreams = 2;

  // Checks every field; the message names the offending one.
  Result<void> validate() const;
};

}  // namespace p2psip::anchor
