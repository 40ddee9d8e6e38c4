// SPDX-License-Identifier: Apache-2.0
#include "p2psip/anchor/media_anchor.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "media_lines.h"
#include "p2psip/sdp/session_description.h"
#include "p2psip/sip/case_insensitive.h"

namespace p2psip::anchor {

using media::Side;
using proxy::MediaRefusal;

struct MediaAnchor::Session {
  // One side of the call: where its legs bind, and the IP its media must come from before a leg
  // latches (the phone's or the far peer's SIP source: RFC 7362 §3's check against hijacking).
  struct End {
    asio::ip::address local;
    std::optional<asio::ip::address> latchHint;
    bool peer = false;
  };
  // A third peer's relay stream the far peer's media goes through (MediaPath::Relayed): its side
  // A faces the far peer, side B our relay.
  struct Chain {
    std::uint64_t handle = 0;
    net::Endpoint sideA{};
    net::Endpoint sideB{};
    std::optional<net::Endpoint> farRemote{};  // the far peer's relay, as its SDP said
    bool backup = false;  // only the fallback of a hole-punched path (media goes direct first)
  };
  // The relay stream of one m= line.
  struct Slot {
    std::optional<media::StreamId> id;
    media::AllocatedStream ends{};
    std::string media;
    std::optional<Chain> chain;
  };

  std::string callId;
  std::string callerTag;  // From tag of the dialog-creating INVITE: its sender is side A
  End a;
  End b;
  std::vector<Slot> slots;  // by m= index
  // Third-relay streams readied for a late offer, taken by its m= lines in order.
  std::vector<Chain> spare;
  bool confirmed = false;
  MediaPath path = MediaPath::Local;
  bool pathDecided = false;
  std::optional<RelayPeer> relay;  // with MediaPath::Relayed

  End& end(Side side) { return side == Side::A ? a : b; }
};

struct MediaAnchor::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : sessionsActive(r.gauge("p2psip_anchor_sessions_active")),
        sessions(r.counter("p2psip_anchor_sessions_total")),
        rewritten(r.counter("p2psip_anchor_bodies_rewritten_total")),
        refused(r.counter("p2psip_anchor_requests_refused_total")),
        unanchored(r.counter("p2psip_anchor_bodies_unanchored_total")),
        timedOut(r.counter("p2psip_anchor_streams_timed_out_total")),
        relayUnavailable(r.counter("p2psip_anchor_relay_unavailable_total")),
        fallbacksReady(r.counter("p2psip_anchor_punch_fallbacks_ready_total")),
        attributesIgnored(r.counter("p2psip_anchor_peer_attributes_ignored_total")),
        paths{&r.counter("p2psip_anchor_paths_direct_total"),
              &r.counter("p2psip_anchor_paths_punched_total"),
              &r.counter("p2psip_anchor_paths_relayed_total")} {}
  Gauge& sessionsActive;
  Counter& sessions;
  Counter& rewritten;   // SDP bodies pointed at our relay
  Counter& refused;     // requests answered with a MediaRefusal (no ports, bad SDP, full)
  Counter& unanchored;  // answers and ACK bodies we could not anchor and relayed as they were
  Counter& timedOut;
  Counter& relayUnavailable;   // the path needed a third relay and none could be had
  Counter& fallbacksReady;     // third-relay streams readied behind hole-punched paths
  Counter& attributesIgnored;  // unreadable x-p2psip-* attributes from another peer
  Counter* paths[3];           // paths chosen as the answering peer: direct, punched, relayed
};

namespace {

const AnchorConfig& validated(const AnchorConfig& config) {
  if (auto ok = config.validate(); !ok) throw std::invalid_argument(ok.error().detail);
  return config;
}

bool hasSdp(const sip::Message& message) {
  if (message.body().empty()) return false;
  const auto* type = message.find(sip::HeaderId::ContentType);
  if (type == nullptr) return false;
  std::string_view value = type->value;
  if (auto semicolon = value.find(';'); semicolon != std::string_view::npos) {
    value = value.substr(0, semicolon);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return sip::equalsIgnoringCase(value, "application/sdp");
}

// RFC 3264 offers and answers travel in these (RFC 3262 §5 PRACK, RFC 3311 UPDATE).
bool carriesOfferAnswer(sip::Method method) {
  return method == sip::Method::Invite || method == sip::Method::Update ||
         method == sip::Method::Prack;
}

std::string_view tagOf(const sip::NameAddr& from) {
  return from.tag().value_or(std::string_view{});
}

// Peer-to-peer SDP attributes (media_path.h). The "x-" prefix keeps them out of any registered
// name space; phones never see them.
constexpr std::string_view kNatAttribute = "x-p2psip-nat";
constexpr std::string_view kPathAttribute = "x-p2psip-path";

std::optional<std::string> sessionAttribute(std::string_view body, std::string_view name) {
  auto description = sdp::SessionDescription::parse(std::string(body));
  if (!description) return std::nullopt;
  auto attribute = description->attribute(name);
  if (!attribute || !attribute->value) return std::nullopt;
  return std::string(*attribute->value);
}

}  // namespace

MediaAnchor::MediaAnchor(media::RelayEngine& relay, const AnchorConfig& config,
                         MetricsRegistry& metrics, Logger logger, RelayControlClient* client,
                         RelayPicker* picker)
    : relay_(relay),
      config_(validated(config)),
      client_(client),
      picker_(picker),
      logger_(std::move(logger)),
      metrics_(std::make_unique<Metrics>(metrics)) {}

MediaAnchor::~MediaAnchor() {
  for (auto& [callId, session] : sessions_) {
    for (auto& slot : session->slots) releaseStream(slot.id);
  }
  metrics_->sessionsActive.add(-static_cast<std::int64_t>(sessions_.size()));
}

MediaAnchor::Session* MediaAnchor::find(std::string_view callId) {
  auto it = sessions_.find(std::string(callId));
  return it == sessions_.end() ? nullptr : it->second.get();
}

void MediaAnchor::onRequestOut(const proxy::MessageSource& source,
                               std::vector<proxy::OutboundRequest> requests, Completion done) {
  if (requests.empty()) {
    done(std::move(requests));
    return;
  }
  const sip::Message& first = requests.front().request;
  const auto method = first.method();
  if (method == sip::Method::Bye) {
    // The call is over for media as soon as either side hangs up; the BYE's answer adds nothing.
    releaseSession(first.callId(), "BYE");
    done(std::move(requests));
    return;
  }
  if (!carriesOfferAnswer(method)) {
    done(std::move(requests));
    return;
  }
  Session* session = find(first.callId());
  if (session == nullptr) {
    if (method != sip::Method::Invite || first.to().tag()) {
      // In a dialog we never anchored (it began before this peer started, or on another path):
      // rewriting half of it would cut the media; it stays as the phones set it up.
      done(std::move(requests));
      return;
    }
    if (source.peerLink && requests.front().toPeer) {
      // Between two other peers (we are a rendezvous for one of them): their relays talk to
      // each other; anchoring here would only add a hop.
      done(std::move(requests));
      return;
    }
    if (sessions_.size() >= config_.maxSessions) {
      metrics_->refused.inc();
      done(tl::unexpected(MediaRefusal{503, "Service Unavailable (media relay full)"}));
      return;
    }
    auto created = std::make_unique<Session>();
    created->callId = std::string(first.callId());
    created->callerTag = std::string(tagOf(first.from()));
    const auto& flow = source.flow;
    const bool onRelayAddress =
        std::find(config_.relayAddresses.begin(), config_.relayAddresses.end(),
                  flow.local.address) != config_.relayAddresses.end();
    created->a.peer = source.peerLink;
    created->a.local = source.peerLink  ? config_.overlayAddress
                       : onRelayAddress ? flow.local.address
                                        : config_.phoneAddress;
    // A phone's media comes from its SIP source (RFC 7362 §3); a far peer's relay from the
    // address its SDP names (its public one), which the leg learns from the SDP.
    if (!source.peerLink) created->a.latchHint = flow.remote.address;
    const auto& to = requests.front();
    created->b.peer = to.toPeer;
    created->b.local = to.toPeer ? config_.overlayAddress : config_.phoneAddress;
    if (!to.toPeer && !to.destination.endpoint.address.is_unspecified()) {
      created->b.latchHint = to.destination.endpoint.address;
    }
    session = created.get();
    sessions_.emplace(created->callId, std::move(created));
    metrics_->sessions.inc();
    metrics_->sessionsActive.add(1);
    logger_.debug("media anchor opens a session ({} -> {}) call_id={}",
                  session->a.peer ? "peer" : "phone", session->b.peer ? "peer" : "phone",
                  session->callId);
  }
  const bool withSdp = hasSdp(first);
  const bool lateOffer = !withSdp && method == sip::Method::Invite && !first.to().tag();
  if (!withSdp && !lateOffer) {
    done(std::move(requests));
    return;
  }
  const Side from = tagOf(first.from()) == session->callerTag ? Side::A : Side::B;
  const Side to = media::otherSide(from);
  NatClass remote = NatClass::Unknown;
  std::optional<asio::ip::address> farSource;  // where the far relay's media will come from
  bool choose = false;                         // the path is ours to choose, now
  if (lateOffer && session->end(from).peer) {
    // A late offer from another peer: its caller chose already if it could, and says so in the
    // ACK; otherwise the path stays relay to relay.
  } else if (session->end(from).peer && !session->pathDecided) {
    if (auto told = sessionAttribute(first.body(), kPathAttribute)) {
      // The far peer chose: it called us with its choice in the offer, or answered ours.
      session->path = mediaPathFromString(*told).value_or(MediaPath::Direct);
      session->pathDecided = true;
    } else {
      // A caller that could not choose (it did not know our class): we answer, we choose.
      auto nat = sessionAttribute(first.body(), kNatAttribute);
      remote = nat ? natClassFromString(*nat).value_or(NatClass::Unknown) : NatClass::Unknown;
      choose = true;
    }
  } else if (!session->end(from).peer && session->end(to).peer && !session->pathDecided &&
             method == sip::Method::Invite && requests.size() == 1 && requests.front().farPeer) {
    // We call another peer, and its signed record says what its NAT is: the calling peer
    // chooses the path, and readies any third relay, before the offer leaves (issue 5's overlay
    // manager). A call forked to several peers leaves the choice to each answering peer.
    const auto& far = *requests.front().farPeer;
    remote = natClassFromString(far.nat).value_or(NatClass::Unknown);
    farSource = far.publicAddress;
    choose = remote != NatClass::Unknown;
  } else if (!session->end(from).peer && !session->end(to).peer) {
    session->pathDecided = true;  // both phones are ours: MediaPath::Local
  }
  if (choose) {
    session->path = choosePath(nat_, remote);
    session->pathDecided = true;
    logger_.info("media path {} (this peer {}, the far peer {}; chosen as the {} peer) call_id={}",
                 toString(session->path), toString(nat_), toString(remote),
                 session->end(from).peer ? "answering" : "calling", session->callId);
    const bool thirdRelay =
        session->path == MediaPath::Relayed || session->path == MediaPath::Punched;
    if (thirdRelay && client_ != nullptr && picker_ != nullptr) {
      metrics_->paths[static_cast<int>(session->path) - 1]->inc();
      // A punched path gets the third relay only as its checked fallback.
      chainThroughRelay(session->callId, from, std::move(requests), std::move(done),
                        session->path == MediaPath::Punched, farSource);
      return;
    }
    if (session->path == MediaPath::Relayed) {
      metrics_->relayUnavailable.inc();
      logger_.warn(
          "media needs a third relay, and this peer has no way to ask one; trying "
          "relay to relay call_id={}",
          session->callId);
      session->path = MediaPath::Direct;
    }
    metrics_->paths[static_cast<int>(session->path) - 1]->inc();
  }
  if (lateOffer) {
    done(std::move(requests));  // nothing to rewrite until the offer arrives in the 2xx
    return;
  }
  finishRequest(*session, from, std::move(requests), std::move(done));
}

void MediaAnchor::finishRequest(Session& session, Side from,
                                std::vector<proxy::OutboundRequest> requests, Completion done) {
  const sip::Message& first = requests.front().request;
  auto body = anchorBody(session, from, first.body());
  if (!body) {
    metrics_->refused.inc();
    const auto& error = body.error();
    logger_.info("media anchor refuses {}: {} call_id={}", first.methodText(), error.detail,
                 first.callId());
    if (error.code == ErrorCode::LimitExceeded) {
      done(tl::unexpected(MediaRefusal{503, "Service Unavailable (no relay ports left)"}));
    } else {
      // RFC 3261 §21.4.26: the session description is not acceptable here.
      done(tl::unexpected(MediaRefusal{488, "Not Acceptable Here (" + error.detail + ")"}));
    }
    return;
  }
  for (auto& r : requests) r.request.setBody(*body);
  metrics_->rewritten.inc();
  done(std::move(requests));
}

void MediaAnchor::chainThroughRelay(std::string callId, Side from,
                                    std::vector<proxy::OutboundRequest> requests, Completion done,
                                    bool backup, std::optional<asio::ip::address> farSource) {
  auto held = std::make_shared<std::vector<proxy::OutboundRequest>>(std::move(requests));
  auto finish = std::make_shared<Completion>(std::move(done));
  std::weak_ptr<MediaAnchor*> alive = alive_;
  // An INVITE without SDP: the streams are readied for the offer its 2xx will carry, and the
  // INVITE itself leaves unchanged.
  const bool lateOffer = !hasSdp(held->front().request);
  // Falls back to relay to relay: media may still pass (a NAT may be kinder than it measured),
  // and the call goes on either way.
  // A hole-punched path without its fallback is still worth trying.
  auto fallBack = [this, callId, from, held, finish, backup, lateOffer](std::string_view why) {
    metrics_->relayUnavailable.inc();
    if (backup) {
      logger_.warn("no third relay ({}); hole punching without a fallback call_id={}", why, callId);
    } else {
      logger_.warn("no third relay ({}); trying relay to relay call_id={}", why, callId);
    }
    Session* session = find(callId);
    if (session == nullptr) {
      (*finish)(tl::unexpected(MediaRefusal{500, "Server Internal Error (call ended)"}));
      return;
    }
    if (!backup) session->path = MediaPath::Direct;
    if (lateOffer) {
      (*finish)(std::move(*held));
      return;
    }
    finishRequest(*session, from, std::move(*held), std::move(*finish));
  };
  picker_->pick([this, alive, callId, from, held, finish, fallBack, backup, farSource,
                 lateOffer](Result<RelayPeer> relay) {
    if (alive.expired()) return;
    if (!relay) {
      fallBack(relay.error().detail);
      return;
    }
    Result<std::vector<MediaLine>> lines = std::vector<MediaLine>{};
    if (lateOffer) {
      // Audio, then video: what late offers usually hold; a clock rate for the relay's jitter.
      for (std::size_t i = 0; i < config_.lateOfferStreams; ++i) {
        lines->push_back(MediaLine{i == 0 ? "audio" : "video", false, false, std::nullopt,
                                   i == 0 ? 8000u : 90000u});
      }
    } else {
      auto description = sdp::SessionDescription::parse(std::string(held->front().request.body()));
      lines = description ? readMediaLines(*description, config_.maxStreamsPerSession)
                          : Result<std::vector<MediaLine>>(tl::unexpected(description.error()));
    }
    if (!lines) {
      Session* session = find(callId);
      if (session != nullptr) finishRequest(*session, from, std::move(*held), std::move(*finish));
      return;
    }
    Session* asked = find(callId);
    if (asked == nullptr) {
      (*finish)(tl::unexpected(MediaRefusal{500, "Server Internal Error (call ended)"}));
      return;
    }
    // Answering, the offer names the far relay; calling, the far peer's record says where its
    // media comes from.
    const bool fromPeer = asked->end(from).peer;
    media::control::Allocate allocate;
    std::vector<std::size_t> indexes;
    const auto ours = advertised(net::Endpoint{config_.overlayAddress, 0}).address;
    for (std::size_t i = 0; i < lines->size(); ++i) {
      const auto& line = (*lines)[i];
      if (line.rejected) continue;
      media::control::StreamRequest stream;
      stream.family = relay->mediaAddress.is_v6() ? media::control::AddressFamily::V6
                                                  : media::control::AddressFamily::V4;
      if (farSource && farSource->is_v6() == relay->mediaAddress.is_v6()) {
        stream.expectedSourceA = *farSource;
      } else if (fromPeer && line.remote) {
        stream.expectedSourceA = line.remote->address;
      }
      if (ours.is_v6() == relay->mediaAddress.is_v6()) stream.expectedSourceB = ours;
      stream.clockRate = line.clockRate;
      allocate.streams.push_back(stream);
      indexes.push_back(i);
    }
    if (allocate.streams.empty()) {
      fallBack("no stream to relay");
      return;
    }
    const RelayPeer peer = *relay;
    client_->request(
        peer, std::move(allocate),
        [this, alive, callId, from, held, finish, fallBack, peer, indexes, backup, fromPeer,
         lateOffer, lines = std::move(*lines)](Result<media::control::Message> answer) {
          if (alive.expired()) return;
          const auto* allocated =
              answer ? std::get_if<media::control::Allocated>(&*answer) : nullptr;
          if (allocated == nullptr || allocated->streams.size() != indexes.size()) {
            const auto* refused =
                answer ? std::get_if<media::control::ErrorReply>(&*answer) : nullptr;
            picker_->forget(peer);
            fallBack(!answer   ? answer.error().detail
                     : refused ? std::string(media::control::toString(refused->code)) + ": " +
                                     refused->reason
                               : std::string("unexpected answer"));
            return;
          }
          Session* session = find(callId);
          if (session == nullptr) {
            media::control::Release release;
            for (const auto& s : allocated->streams) release.streams.push_back(s.stream);
            client_->notify(peer, std::move(release));
            (*finish)(tl::unexpected(MediaRefusal{500, "Server Internal Error (call ended)"}));
            return;
          }
          session->relay = peer;
          if (lateOffer) {
            for (const auto& s : allocated->streams) {
              session->spare.push_back(
                  Session::Chain{s.stream, s.sideA, s.sideB, std::nullopt, backup});
            }
            logger_.info("media {} peer {}: {} streams readied for a late offer call_id={}",
                         backup ? "hole-punched, with a fallback through" : "relayed through",
                         peer.node.substr(0, 8), allocated->streams.size(), callId);
            (*finish)(std::move(*held));
            return;
          }
          if (session->slots.size() < lines.size()) session->slots.resize(lines.size());
          for (std::size_t k = 0; k < indexes.size(); ++k) {
            const auto& s = allocated->streams[k];
            // The far relay's address: in the offer when answering, in the answer when calling.
            session->slots[indexes[k]].chain =
                Session::Chain{s.stream, s.sideA, s.sideB,
                               fromPeer ? lines[indexes[k]].remote : std::nullopt, backup};
          }
          if (backup) metrics_->fallbacksReady.inc();
          logger_.info("media {} peer {} ({} streams) call_id={}",
                       backup ? "hole-punched, with a fallback through" : "relayed through",
                       peer.node.substr(0, 8), indexes.size(), callId);
          finishRequest(*session, from, std::move(*held), std::move(*finish));
          // The relay sends to the far peer's relay and to ours until each latches.
          session = find(callId);
          if (session == nullptr) return;
          for (auto& slot : session->slots) {
            if (!slot.chain || !slot.id) continue;
            if (slot.chain->farRemote) {
              client_->notify(peer, media::control::Connect{slot.chain->handle, media::Side::A,
                                                            *slot.chain->farRemote});
            }
            const Side peerSide = fromPeer ? from : media::otherSide(from);
            const auto& leg = peerSide == Side::A ? slot.ends.legA : slot.ends.legB;
            client_->notify(
                peer, media::control::Connect{slot.chain->handle, media::Side::B, advertised(leg)});
          }
        });
  });
}

net::Endpoint MediaAnchor::advertised(const net::Endpoint& leg) const {
  // Behind a NAT the far peer must be told our public address; the port is the leg's, which an
  // endpoint-independent NAT keeps (RFC 4787 §4.1) and a symmetric one does not (the far relay
  // then latches onto where our packets really come from).
  const bool natted = nat_ != NatClass::Public && nat_ != NatClass::Unknown;
  if (natted && reflexive_ && reflexive_->is_v6() == leg.address.is_v6()) {
    return net::Endpoint{*reflexive_, leg.port};
  }
  return leg;
}

void MediaAnchor::setReachability(NatClass nat, std::optional<asio::ip::address> reflexive) {
  if (nat != nat_ || reflexive != reflexive_) {
    logger_.info("media: this peer is {}{}", toString(nat),
                 reflexive ? ", seen as " + net::addressToString(*reflexive) : std::string());
  }
  nat_ = nat;
  reflexive_ = std::move(reflexive);
}

void MediaAnchor::onAckOut(const proxy::MessageSource& /*source*/, proxy::OutboundRequest& ack) {
  Session* session = find(ack.request.callId());
  if (session == nullptr || !hasSdp(ack.request)) return;
  const Side from = tagOf(ack.request.from()) == session->callerTag ? Side::A : Side::B;
  if (session->end(from).peer && !session->pathDecided) {
    // The answer to a late offer of ours: the caller's peer names the path it chose.
    if (auto told = sessionAttribute(ack.request.body(), kPathAttribute)) {
      session->path = mediaPathFromString(*told).value_or(MediaPath::Direct);
      session->pathDecided = true;
    }
  }
  auto body = anchorBody(*session, from, ack.request.body());
  if (!body) {
    metrics_->unanchored.inc();
    logger_.info("media anchor relays the ACK's SDP unchanged: {} call_id={}", body.error().detail,
                 ack.request.callId());
    return;
  }
  ack.request.setBody(*body);
  metrics_->rewritten.inc();
}

void MediaAnchor::onResponseOut(sip::Message& response, bool dialogCreating) {
  Session* session = find(response.callId());
  if (session == nullptr) return;
  const auto status = response.statusCode();
  const auto method = response.cseq().method;
  if (method == sip::Method::Invite && status >= 300) {
    // A failed re-INVITE leaves the call as it was (RFC 3261 §14.1); a failed call ends its media.
    if (dialogCreating && !session->confirmed) {
      releaseSession(response.callId(), "the INVITE failed");
    }
    return;
  }
  if (!carriesOfferAnswer(method) || status <= 100 || status >= 300) return;
  if (method == sip::Method::Invite && status >= 200 && dialogCreating) session->confirmed = true;
  if (!hasSdp(response)) return;
  // The response comes from the side the request went to.
  const Side from = tagOf(response.from()) == session->callerTag ? Side::B : Side::A;
  if (session->end(from).peer && !session->pathDecided) {
    // The far peer answered our offer and named the path it chose.
    if (auto told = sessionAttribute(response.body(), kPathAttribute)) {
      session->path = mediaPathFromString(*told).value_or(MediaPath::Direct);
      session->pathDecided = true;
    }
  }
  auto body = anchorBody(*session, from, response.body());
  if (!body) {
    // A response cannot be refused; the caller gets the callee's own addresses, and media may
    // still flow when the two can reach each other.
    metrics_->unanchored.inc();
    logger_.info("media anchor relays a {} with its SDP unchanged: {} call_id={}", status,
                 body.error().detail, response.callId());
    return;
  }
  response.setBody(*body);
  metrics_->rewritten.inc();
}

void MediaAnchor::onRequestAbandoned(const sip::Message& request) {
  Session* session = find(request.callId());
  if (session == nullptr || session->confirmed) return;
  if (request.method() == sip::Method::Invite && !request.to().tag()) {
    releaseSession(request.callId(), "the INVITE was abandoned");
  }
}

Result<std::string> MediaAnchor::anchorBody(Session& session, Side from, std::string_view body) {
  auto description = sdp::SessionDescription::parse(std::string(body));
  if (!description) return tl::unexpected(description.error());
  auto lines = readMediaLines(*description, config_.maxStreamsPerSession);
  if (!lines) return tl::unexpected(lines.error());
  const Side to = media::otherSide(from);
  // RFC 3264 §8: an m= line is never removed, only disabled; a shorter body still frees the rest.
  while (session.slots.size() > lines->size()) {
    releaseStream(session.slots.back().id);
    session.slots.pop_back();
  }
  if (session.slots.size() < lines->size()) session.slots.resize(lines->size());
  std::vector<std::optional<net::Endpoint>> relay(lines->size());
  for (std::size_t i = 0; i < lines->size(); ++i) {
    const MediaLine& line = (*lines)[i];
    auto& slot = session.slots[i];
    if (line.rejected) {
      releaseStream(slot.id);
      continue;
    }
    // A late offer takes the third relay's streams readied when its INVITE left.
    bool attached = false;
    if (!slot.chain && !session.spare.empty()) {
      slot.chain = session.spare.front();
      session.spare.erase(session.spare.begin());
      attached = true;
    }
    // Through a third relay, the far peer's relay talks to it; our leg keeps talking to the
    // relay's side B, and a new address of the far peer goes to the relay (Connect).
    std::optional<net::Endpoint> remote = line.remote;
    if (slot.chain && session.end(from).peer) {
      if (line.remote && line.remote != slot.chain->farRemote && session.relay && client_) {
        slot.chain->farRemote = line.remote;
        client_->notify(*session.relay,
                        media::control::Connect{slot.chain->handle, media::Side::A, *line.remote});
      }
      if (!slot.chain->backup) remote = slot.chain->sideB;
    }
    if (line.fallbackMalformed) {
      metrics_->attributesIgnored.inc();
      logger_.info("media anchor ignores an unreadable a={} on m= line {} call_id={}",
                   kFallbackAttribute, i + 1, session.callId);
    }
    if (slot.id && remote) {
      if (auto moved = relay_.setRemote(*slot.id, from, *remote); !moved) {
        // Gone meanwhile (an idle timeout raced this message): a new stream takes its place.
        streamOwner_.erase(slot.id->value);
        slot.id.reset();
      }
    }
    if (!slot.id) {
      auto leg = [&](Side side) {
        const auto& end = side == Side::A ? session.a : session.b;
        media::LegConfig config;
        config.local = end.local;
        if (side == from) config.remote = remote;
        if (end.peer && slot.chain && !slot.chain->backup) {
          config.remote = slot.chain->sideB;  // the far relay's media comes through the third
        }
        config.latch = media::LatchPolicy::SameAddress;
        config.latchAddress = end.latchHint;
        config.clockRate = line.clockRate;
        // Towards a far relay: keepalives open our NAT for it and let it latch on us first.
        config.keepAlive = end.peer;
        if (end.peer && slot.chain && slot.chain->backup) {
          config.fallback = slot.chain->sideB;  // we chose the punch and readied its fallback
          config.fallbackAfter = config_.punchCheck;
        }
        return config;
      };
      auto allocated = relay_.allocate(leg(Side::A), leg(Side::B));
      if (!allocated) return tl::unexpected(allocated.error());
      slot.id = allocated->id;
      slot.ends = *allocated;
      slot.media = line.media;
      streamOwner_[allocated->id.value] = session.callId;
    }
    if (attached && session.relay && client_ != nullptr) {
      // The third relay sends our relay's side B to the leg of ours that faces the far peer.
      const auto& leg = session.a.peer ? slot.ends.legA : slot.ends.legB;
      client_->notify(*session.relay,
                      media::control::Connect{slot.chain->handle, media::Side::B, advertised(leg)});
    }
    if (line.fallback && session.end(from).peer && session.path == MediaPath::Punched) {
      // The far peer answered and readied the fallback of our hole-punched path.
      if (auto set = relay_.setFallback(*slot.id, from, *line.fallback, config_.punchCheck); !set) {
        metrics_->attributesIgnored.inc();
        logger_.info("media anchor ignores fallback {}: {} call_id={}", line.fallback->toString(),
                     set.error().detail, session.callId);
      }
    }
    const auto& leg = to == Side::A ? slot.ends.legA : slot.ends.legB;
    if (!session.end(to).peer) {
      relay[i] = leg;
    } else if (slot.chain && !slot.chain->backup) {
      relay[i] = slot.chain->sideA;
    } else {
      relay[i] = advertised(leg);
    }
  }
  if (!session.spare.empty() && session.relay && client_ != nullptr) {
    // The late offer had fewer m= lines than streams were readied: give the rest back.
    media::control::Release release;
    for (const auto& chain : session.spare) release.streams.push_back(chain.handle);
    client_->notify(*session.relay, std::move(release));
  }
  session.spare.clear();
  if (auto pointed = pointAtRelay(*description, relay, *lines); !pointed) {
    return tl::unexpected(pointed.error());
  }
  // Between peers the body says what we are (so the answering peer can choose the path) and, once
  // chosen, the path; a phone gets neither.
  const auto sessionSection = sdp::Section::session();
  for (auto name : {kNatAttribute, kPathAttribute, kFallbackAttribute}) {
    if (auto removed = description->removeAttributes(sessionSection, name); !removed) {
      return tl::unexpected(removed.error());
    }
    for (std::size_t i = 0; i < description->mediaCount(); ++i) {
      if (auto removed = description->removeAttributes(sdp::Section::media(i), name); !removed) {
        return tl::unexpected(removed.error());
      }
    }
  }
  if (session.end(to).peer) {
    if (auto ok = description->addAttribute(sessionSection, kNatAttribute, toString(nat_)); !ok) {
      return tl::unexpected(ok.error());
    }
    if (session.pathDecided && session.path != MediaPath::Local) {
      if (auto ok =
              description->addAttribute(sessionSection, kPathAttribute, toString(session.path));
          !ok) {
        return tl::unexpected(ok.error());
      }
    }
    for (std::size_t i = 0; i < session.slots.size() && i < description->mediaCount(); ++i) {
      const auto& chain = session.slots[i].chain;
      if (!chain || !chain->backup || !relay[i]) continue;
      const std::string value =
          net::addressToString(chain->sideA.address) + " " + std::to_string(chain->sideA.port);
      if (auto ok = description->addAttribute(sdp::Section::media(i), kFallbackAttribute, value);
          !ok) {
        return tl::unexpected(ok.error());
      }
    }
  }
  return description->serialize();
}

void MediaAnchor::releaseStream(std::optional<media::StreamId>& id) {
  if (!id) return;
  (void)relay_.release(*id);  // NotFound: it timed out a moment ago, which is the same end
  streamOwner_.erase(id->value);
  id.reset();
}

void MediaAnchor::releaseSession(std::string_view callId, std::string_view why) {
  auto it = sessions_.find(std::string(callId));
  if (it == sessions_.end()) return;
  media::control::Release release;
  for (auto& slot : it->second->slots) {
    releaseStream(slot.id);
    if (slot.chain) release.streams.push_back(slot.chain->handle);
  }
  for (const auto& chain : it->second->spare) release.streams.push_back(chain.handle);
  if (!release.streams.empty() && it->second->relay && client_ != nullptr) {
    client_->notify(*it->second->relay, std::move(release));
  }
  logger_.debug("media anchor closes the session: {} call_id={}", why, callId);
  sessions_.erase(it);
  metrics_->sessionsActive.add(-1);
}

void MediaAnchor::onStreamTimedOut(media::StreamId id) {
  auto owner = streamOwner_.find(id.value);
  if (owner == streamOwner_.end()) return;
  const std::string callId = owner->second;
  streamOwner_.erase(owner);
  metrics_->timedOut.inc();
  Session* session = find(callId);
  if (session == nullptr) return;
  for (auto& slot : session->slots) {
    if (slot.id && slot.id->value == id.value) slot.id.reset();
  }
  const bool anyLeft = std::any_of(session->slots.begin(), session->slots.end(),
                                   [](const Session::Slot& s) { return s.id.has_value(); });
  logger_.info("media anchor: a relay stream of the call went idle{} call_id={}",
               anyLeft ? "" : "; the call has no media left", callId);
  if (!anyLeft) releaseSession(callId, "every stream idle");
}

std::vector<MediaSessionInfo> MediaAnchor::snapshot() const {
  std::vector<MediaSessionInfo> out;
  out.reserve(sessions_.size());
  for (const auto& [callId, session] : sessions_) {
    MediaSessionInfo info;
    info.callId = callId;
    info.confirmed = session->confirmed;
    info.path = session->path;
    if (session->relay) info.relayNode = session->relay->node;
    for (std::size_t i = 0; i < session->slots.size(); ++i) {
      const auto& slot = session->slots[i];
      if (!slot.id) continue;
      auto stats = relay_.stats(*slot.id);
      if (stats && (stats->a.fellBack || stats->b.fellBack)) info.punchFailed = true;
      info.streams.push_back({i, slot.media, std::move(stats)});
    }
    if (info.punchFailed) info.path = MediaPath::Relayed;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace p2psip::anchor
