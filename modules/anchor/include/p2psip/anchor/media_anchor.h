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
// Between two peers the path (media_path.h: direct relay to relay, hole-punched, or chained
// through a third peer's relay that RelayPicker finds and RelayControlClient allocates streams
// on) is chosen by the calling peer when the far peer's signed record says what its NAT is
// (proxy::FarPeer), and otherwise by the answering peer; the chooser readies the third relay:
// the far side talks to that relay's side A, our relay to its side B. Bodies sent to another peer
// name this peer's public address (the reflexive one behind a NAT) and carry our NAT class; answers
// to a peer name the path. A hole-punched path is checked, not trusted: the answering peer also
// readies a third relay's stream and names it in its answer (a=x-p2psip-fallback per m= line); a
// relay leg that hears nothing from the far relay within AnchorConfig::punchCheck moves its media
// there, and the far leg follows (media::LegConfig::fallback).
//
// Owned by the composition root; the RelayEngine (and the client and picker, when given) must
// outlive it. Not thread-safe: signalling loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "p2psip/anchor/anchor_config.h"
#include "p2psip/anchor/media_path.h"
#include "p2psip/anchor/relay_control_client.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/media/relay_engine.h"
#include "p2psip/proxy/media_policy.h"

namespace p2psip::anchor {

// Finds a peer that relays media for others (app/ implements it over the overlay's relay records).
class RelayPicker {
 public:
  virtual ~RelayPicker() = default;
  // Calls back on the signalling loop, possibly inside the call.
  virtual void pick(std::function<void(Result<RelayPeer>)> done) = 0;
  // The relay did not serve an allocation (refused, or no answer): do not offer it again soon.
  virtual void forget(const RelayPeer& /*relay*/) {}
};

// One call's anchored media, for p2psipctl.
struct MediaSessionInfo {
  std::string callId;
  bool confirmed = false;  // a 2xx to the dialog-creating INVITE went through
  MediaPath path = MediaPath::Local;
  std::string relayNode;     // the third relay peer (NodeId hex): Relayed, or Punched's fallback
  bool punchFailed = false;  // hole punching failed and the media went to the fallback relay
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
  // `client` and `picker` may be null: calls then never take a third peer's relay.
  MediaAnchor(media::RelayEngine& relay, const AnchorConfig& config, MetricsRegistry& metrics,
              Logger logger, RelayControlClient* client = nullptr, RelayPicker* picker = nullptr);
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

  // What this peer learned about its NAT; `reflexive` is its public address when NATed. Bodies
  // sent to other peers from now on name it.
  void setReachability(NatClass nat, std::optional<asio::ip::address> reflexive);
  NatClass natClass() const { return nat_; }

  std::size_t sessions() const { return sessions_.size(); }
  std::vector<MediaSessionInfo> snapshot() const;

 private:
  struct Session;
  struct Metrics;

  Session* find(std::string_view callId);
  // Creates the streams the body's m= lines need (or updates their remotes) and returns the body
  // rewritten for the other side. `from` is the side that sent it.
  Result<std::string> anchorBody(Session& session, media::Side from, std::string_view body);
  // The far peer's offer needs a third relay: asks one, then finishes like onRequestOut.
  // With `backup`, the chain is only the fallback of a hole-punched path (the media tries the
  // direct way first). `farSource`: where the far relay's media comes from, when this peer
  // calls (from the far peer's record); answering, the offer's address says it.
  void chainThroughRelay(std::string callId, media::Side from,
                         std::vector<proxy::OutboundRequest> requests, Completion done, bool backup,
                         std::optional<asio::ip::address> farSource);
  void finishRequest(Session& session, media::Side from,
                     std::vector<proxy::OutboundRequest> requests, Completion done);
  net::Endpoint advertised(const net::Endpoint& leg) const;
  void releaseSession(std::string_view callId, std::string_view why);
  void releaseStream(std::optional<media::StreamId>& id);

  media::RelayEngine& relay_;
  AnchorConfig config_;
  RelayControlClient* client_;
  RelayPicker* picker_;
  NatClass nat_ = NatClass::Unknown;
  std::optional<asio::ip::address> reflexive_;
  Logger logger_;
  std::unique_ptr<Metrics> metrics_;
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;  // by Call-ID
  std::unordered_map<std::uint64_t, std::string> streamOwner_;          // StreamId -> Call-ID
  // Relay picks and control answers hold a weak_ptr to this: late ones find us gone.
  std::shared_ptr<MediaAnchor*> alive_ = std::make_shared<MediaAnchor*>(this);
};

}  // namespace p2psip::anchor
