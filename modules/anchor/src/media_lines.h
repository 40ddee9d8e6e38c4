// SPDX-License-Identifier: Apache-2.0
// What the relay anchor reads out of an SDP body (RFC 8866, RFC 3264) and how it points the body at
// the relay: one entry per m= line, in order. Pure functions over sdp::SessionDescription.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/sdp/session_description.h"

namespace p2psip::anchor {

// One m= line as the sender of the body described it.
struct MediaLine {
  std::string media;  // "audio", "video", ...
  // RFC 3264 §6/§8.2: port 0 rejects or disables the stream; it needs no relay stream.
  bool rejected = false;
  // c= is 0.0.0.0 (RFC 3264 §8.4, the RFC 2543 way to hold): the sender wants no media now.
  bool hold = false;
  // Where the sender receives RTP (c= and m=); nullopt when rejected or held.
  std::optional<net::Endpoint> remote{};
  // The RTP clock rate of the first payload type (a=rtpmap, else the RFC 3551 static table), for
  // the jitter the relay computes.
  std::uint32_t clockRate = 8000;
  // Between peers only (a=x-p2psip-fallback:<IP> <port>, media_anchor.h): the third relay the
  // sender's peer keeps ready in case hole punching fails. `fallbackMalformed` when the attribute
  // is there but unreadable (it is then ignored).
  std::optional<net::Endpoint> fallback{};
  bool fallbackMalformed = false;
};

// The name of the peer-to-peer fallback attribute; phones never see it.
inline constexpr std::string_view kFallbackAttribute = "x-p2psip-fallback";

// Reads every m= line. Errors (the proxy refuses the request with 488): a c= that names a host
// instead of an IP literal (resolving it would need DNS, which a peer never does for media), an
// m= line with no connection address at either level, or more media than `maxLines`.
Result<std::vector<MediaLine>> readMediaLines(const sdp::SessionDescription& description,
                                              std::size_t maxLines);

// Rewrites the body so that its receiver sends each stream to our relay: for every m= line with an
// endpoint in `relay`, a media-level c= with the relay's address (or 0.0.0.0 again for a held
// stream) and the relay's port; a=rtcp, if present, becomes the relay's port + 1 (RFC 3605: our
// RTCP port); ICE attributes are removed (RFC 8839 candidates would lead the receiver around the
// relay, which is the point of the relay not to allow); the session-level c=, if any, gets the
// first relay address so that no line still names the sender. Lines with no endpoint (rejected)
// keep port 0. `relay.size()` must equal the number of m= lines.
Result<void> pointAtRelay(sdp::SessionDescription& description,
                          const std::vector<std::optional<net::Endpoint>>& relay,
                          const std::vector<MediaLine>& lines);

}  // namespace p2psip::anchor
