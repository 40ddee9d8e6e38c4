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
  // The relay stream of one m= line.
  struct Slot {
    std::optional<media::StreamId> id;
    media::AllocatedStream ends{};
    std::string media;
  };

  std::string callId;
  std::string callerTag;  // From tag of the dialog-creating INVITE: its sender is side A
  End a;
  End b;
  std::vector<Slot> slots;  // by m= index
  bool confirmed = false;
};

struct MediaAnchor::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : sessionsActive(r.gauge("p2psip_anchor_sessions_active")),
        sessions(r.counter("p2psip_anchor_sessions_total")),
        rewritten(r.counter("p2psip_anchor_bodies_rewritten_total")),
        refused(r.counter("p2psip_anchor_requests_refused_total")),
        unanchored(r.counter("p2psip_anchor_bodies_unanchored_total")),
        timedOut(r.counter("p2psip_anchor_streams_timed_out_total")) {}
  Gauge& sessionsActive;
  Counter& sessions;
  Counter& rewritten;   // SDP bodies pointed at our relay
  Counter& refused;     // requests answered with a MediaRefusal (no ports, bad SDP, full)
  Counter& unanchored;  // answers and ACK bodies we could not anchor and relayed as they were
  Counter& timedOut;
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

}  // namespace

MediaAnchor::MediaAnchor(media::RelayEngine& relay, const AnchorConfig& config,
                         MetricsRegistry& metrics, Logger logger)
    : relay_(relay),
      config_(validated(config)),
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
    created->a.latchHint = flow.remote.address;
    const auto& to = requests.front();
    created->b.peer = to.toPeer;
    created->b.local = to.toPeer ? config_.overlayAddress : config_.phoneAddress;
    if (!to.destination.endpoint.address.is_unspecified()) {
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
  if (!hasSdp(first)) {
    done(std::move(requests));
    return;
  }
  const Side from = tagOf(first.from()) == session->callerTag ? Side::A : Side::B;
  auto body = anchorBody(*session, from, first.body());
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

void MediaAnchor::onAckOut(const proxy::MessageSource& /*source*/, proxy::OutboundRequest& ack) {
  Session* session = find(ack.request.callId());
  if (session == nullptr || !hasSdp(ack.request)) return;
  const Side from = tagOf(ack.request.from()) == session->callerTag ? Side::A : Side::B;
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
    if (slot.id && line.remote) {
      if (auto moved = relay_.setRemote(*slot.id, from, *line.remote); !moved) {
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
        if (side == from) config.remote = line.remote;
        config.latch = media::LatchPolicy::SameAddress;
        config.latchAddress = end.latchHint;
        config.clockRate = line.clockRate;
        return config;
      };
      auto allocated = relay_.allocate(leg(Side::A), leg(Side::B));
      if (!allocated) return tl::unexpected(allocated.error());
      slot.id = allocated->id;
      slot.ends = *allocated;
      slot.media = line.media;
      streamOwner_[allocated->id.value] = session.callId;
    }
    relay[i] = to == Side::A ? slot.ends.legA : slot.ends.legB;
  }
  if (auto pointed = pointAtRelay(*description, relay, *lines); !pointed) {
    return tl::unexpected(pointed.error());
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
  for (auto& slot : it->second->slots) releaseStream(slot.id);
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
    for (std::size_t i = 0; i < session->slots.size(); ++i) {
      const auto& slot = session->slots[i];
      if (!slot.id) continue;
      info.streams.push_back({i, slot.media, relay_.stats(*slot.id)});
    }
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace p2psip::anchor
