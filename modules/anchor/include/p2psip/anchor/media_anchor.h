// SPDX-License-Identifier: Apache-2.0
// MediaAnchor: puts this peer's RTP relay into every call the proxy relays (the seed's "RTP port":
// phones never see another peer's address, and the relays carry media across the overlay).
//
// It is the proxy's MediaPolicy. For each call (keyed by Call-ID) it keeps a MediaSession: side A
// is where the dialog-creating INVITE came from, side B where it went; each side binds its relay
// legs on the address that faces it (the phone's address, or the overlay address towards another
// peer). Every SDP offer or answer that passes (INVITE, re-INVITE, UPDATE, PRACK, 18x, 2xx, ACK;
// RFC 3264) gets one relay stream per m= line: the sender's c=/m= become that side's remote, and
// the body the other side receives names the relay leg facing it. Rejected streams (port 0) give
// their stream back; held ones (c=0.0.0.0) keep it. Streams end on BYE, on a final failure of the
// dialog-creating INVITE (a CANCEL's 487 included), when the request is abandoned, and when the
// relay reports them idle (onStreamTimedOut).
//
// Owned by the composition root; the RelayEngine must outlive it. Not thread-safe: signalling loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "p2psip/anchor/anchor_config.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/media/relay_engine.h"
#include "p2psip/proxy/media_policy.h"

namespace p2psip::anchor {

// One call's anchored media, for p2psipctl.
struct MediaSessionInfo {
  std::string callId;
  bool confirmed = false;  // a 2xx to the dialog-creating INVITE went through
  struct Stream {
    std::size_t mediaIndex = 0;  // the m= line
    std::string media;           // "audio", "video", ...
    std::optional<media::StreamStats> stats;
  };
  std::vector<Stream> streams;
};

class MediaAnchor final : public proxy::MediaPolicy {
 public:
  // `config` must pass validate(); otherwise this throws std::invalid_argument (startup only).
  MediaAnchor(media::RelayEngine& relay, const AnchorConfig& config, MetricsRegistry& metrics,
              Logger logger);
  ~MediaAnchor() override;  // releases every stream it holds
  MediaAnchor(const MediaAnchor&) = delete;
  MediaAnchor& operator=(const MediaAnchor&) = delete;

  // ---- proxy::MediaPolicy
  void onRequestOut(const proxy::MessageSource& source,
                    std::vector<proxy::OutboundRequest> requests, Completion done) override;
  void onAckOut(const proxy::MessageSource& source, proxy::OutboundRequest& ack) override;
  void onResponseOut(sip::Message& response, bool dialogCreating) override;
  void onRequestAbandoned(const sip::Message& request) override;

  // The relay released `id` for inactivity (wire RelayEngine::onTimeout here).
  void onStreamTimedOut(media::StreamId id);

  std::size_t sessions() const { return sessions_.size(); }
  std::vector<MediaSessionInfo> snapshot() const;

 private:
  struct Session;
  struct Metrics;

  Session* find(std::string_view callId);
  // Creates the streams the body's m= lines need (or updates their remotes) and returns the body
  // rewritten for the other side. `from` is the side that sent it.
  Result<std::string> anchorBody(Session& session, media::Side from, std::string_view body);
  void releaseSession(std::string_view callId, std::string_view why);
  void releaseStream(std::optional<media::StreamId>& id);

  media::RelayEngine& relay_;
  AnchorConfig config_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;  // by Call-ID
  std::unordered_map<std::uint64_t, std::string> streamOwner_;          // StreamId -> Call-ID
};

}  // namespace p2psip::anchor
