// SPDX-License-Identifier: Apache-2.0
// Latch: which source one relay socket accepts packets from, and where it sends the packets
// relayed towards its phone. Symmetric RTP (RFC 4961) means the source a phone sends from is
// where it wants to receive, so learning it ("latching", RFC 7362 §4) gets media through NATs
// that rewrite the address the SDP gave. The rule, and why it resists hijacking:
//
//  1. Before latching, a packet may latch only if its source IP is allowed: `latchAddress` if
//     signalling gave one, else the SDP address's IP; with neither, or with
//     LatchPolicy::AnyAddress, any source (first valid packet wins: the weakest case, RFC 7362 §5
//     accepts it), whose IP is then the allowed one. The port is never constrained (NAT port
//     mapping).
//  2. Once latched, only packets from exactly the latched address and port are accepted.
//  3. It moves (re-latches) only to a packet that (a) comes from an allowed IP, (b) carries the
//     SSRC the latched source was last sending, and (c) arrives after the latched source has been
//     silent for `relatchSilence`. A NAT rebinding (same phone, new port, same SSRC, old mapping
//     gone quiet) recovers; a stranger must be at the allowed IP, know the SSRC, and wait for the
//     real phone to stop, and even then cannot take over a stream that is flowing.
//  4. LatchPolicy::Fixed never moves: only `remote` itself is accepted.
//  5. setRemote() with a new SDP address (re-INVITE) re-arms the latch under rule 1.
//
// Only packets that passed the RTP/RTCP checks reach admit(). Owned by a media thread.
#pragma once

#include <cstdint>
#include <optional>

#include "p2psip/common/clock.h"
#include "p2psip/media/stream.h"
#include "socket_address.h"

namespace p2psip::media {

class Latch {
 public:
  enum class Verdict : std::uint8_t { Accept, Latched, Relatched, Refuse };

  struct Settings {
    LatchPolicy policy = LatchPolicy::SameAddress;
    std::optional<SocketAddress> remote;     // from SDP
    std::optional<SocketAddress> latchHost;  // port ignored
    Duration relatchSilence = std::chrono::seconds(1);
  };

  explicit Latch(const Settings& settings);

  // Whether a valid packet from `source` carrying `ssrc`, arriving at `now`, is accepted.
  Verdict admit(const SocketAddress& source, std::uint32_t ssrc, TimePoint now);
  // A new SDP address. A different one re-arms the latch (rule 5); the same one changes nothing.
  void setRemote(const SocketAddress& remote);
  // For the RTCP socket of a leg whose RTP socket just latched to `rtpSource`: RTCP is sent to
  // its port + 1 (RFC 3550 §11) and accepted only from its IP, unless RTCP already latched there.
  void followRtp(const SocketAddress& rtpSource);

  // Where packets for this socket's phone go; nullptr while unknown.
  const SocketAddress* destination() const { return destination_ ? &*destination_ : nullptr; }
  bool latched() const { return latched_; }

 private:
  void rearm();
  bool hostAllowed(const SocketAddress& source) const;

  LatchPolicy policy_;
  Duration relatchSilence_;
  std::optional<SocketAddress> latchHost_;
  std::optional<SocketAddress> sdpRemote_;
  std::optional<SocketAddress> allowedHost_;  // unset: any host
  std::optional<SocketAddress> destination_;
  bool latched_ = false;
  std::uint32_t ssrc_ = 0;
  TimePoint lastSeen_{};
};

}  // namespace p2psip::media
