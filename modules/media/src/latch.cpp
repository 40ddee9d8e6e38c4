// SPDX-License-Identifier: Apache-2.0
#include "latch.h"

namespace p2psip::media {

Latch::Latch(const Settings& settings)
    : policy_(settings.policy),
      relatchSilence_(settings.relatchSilence),
      latchHost_(settings.latchHost),
      sdpRemote_(settings.remote) {
  rearm();
}

Latch::Verdict Latch::admit(const SocketAddress& source, std::uint32_t ssrc, TimePoint now) {
  if (policy_ == LatchPolicy::Fixed) {
    return destination_ && *destination_ == source ? Verdict::Accept : Verdict::Refuse;
  }
  if (latched_) {
    if (*destination_ == source) {
      // The phone may change SSRC (a new media session after hold); rule 3 follows the latest.
      ssrc_ = ssrc;
      lastSeen_ = now;
      return Verdict::Accept;
    }
    if (hostAllowed(source) && ssrc == ssrc_ && now - lastSeen_ >= relatchSilence_) {
      destination_ = source;
      lastSeen_ = now;
      return Verdict::Relatched;
    }
    return Verdict::Refuse;
  }
  if (!hostAllowed(source)) return Verdict::Refuse;
  // A latch taken from "any address" keeps to that IP from now on: NATs keep a host's external
  // IP across its mappings (RFC 4787 REQ-2, paired pooling), so a rebinding stays on it.
  if (!allowedHost_) allowedHost_ = source;
  destination_ = source;
  latched_ = true;
  ssrc_ = ssrc;
  lastSeen_ = now;
  return Verdict::Latched;
}

void Latch::setRemote(const SocketAddress& remote) {
  if (sdpRemote_ && *sdpRemote_ == remote) return;
  sdpRemote_ = remote;
  rearm();
}

void Latch::followRtp(const SocketAddress& rtpSource) {
  if (policy_ == LatchPolicy::Fixed) return;
  allowedHost_ = rtpSource;
  if (latched_ && destination_->sameHost(rtpSource)) return;
  destination_ = rtpSource.withPort(static_cast<std::uint16_t>(rtpSource.port() + 1));
  latched_ = false;
}

void Latch::rearm() {
  destination_ = sdpRemote_;
  latched_ = false;
  if (policy_ == LatchPolicy::SameAddress) {
    allowedHost_ = latchHost_ ? latchHost_ : sdpRemote_;
  } else {
    allowedHost_.reset();
  }
}

bool Latch::hostAllowed(const SocketAddress& source) const {
  return !allowedHost_ || allowedHost_->sameHost(source);
}

}  // namespace p2psip::media
