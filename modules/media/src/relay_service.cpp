// SPDX-License-Identifier: Apache-2.0
#include "p2psip/media/relay_service.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "p2psip/common/overloaded.h"

namespace p2psip::media {

using control::ErrorCode;

namespace {

constexpr std::size_t kErrorCodes = 7;  // control::ErrorCode 1..7

// A peer key is 64 hex characters or 32 raw bytes; logs get a short printable form of either.
std::string peerLabel(std::string_view peer) {
  const bool hex = std::all_of(peer.begin(), peer.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  });
  if (hex) return std::string(peer.substr(0, 16));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : peer.substr(0, 8)) {
    out.push_back(kHex[static_cast<std::uint8_t>(c) >> 4]);
    out.push_back(kHex[static_cast<std::uint8_t>(c) & 0xf]);
  }
  return out;
}

const char* familyName(control::AddressFamily family) {
  return family == control::AddressFamily::V4 ? "IPv4" : "IPv6";
}

bool sameFamily(const asio::ip::address& a, const asio::ip::address& b) {
  return a.is_v4() == b.is_v4();
}

control::DirectionReport toReport(const DirectionStats& d, bool latched) {
  control::DirectionReport r;
  r.packets = d.packets;
  r.bytes = d.bytes;
  r.rtcpPackets = d.rtcpPackets;
  r.rtcpBytes = d.rtcpBytes;
  r.lost = d.lost;
  const double us = std::round(d.jitterMs * 1000.0);
  constexpr double kMaxUs = std::numeric_limits<std::uint32_t>::max();
  r.jitterUs = static_cast<std::uint32_t>(std::clamp(std::isfinite(us) ? us : 0.0, 0.0, kMaxUs));
  r.latched = latched;
  return r;
}

}  // namespace

// Metric names: p2psip_media_relay_control_*. Quota refusals are the errors_quota_exceeded
// counter; a malformed frame is any frame handle() could not use.
struct RelayService::Metrics {
  explicit Metrics(MetricsRegistry& r)
      : allocateRequests(r.counter("p2psip_media_relay_control_allocate_requests_total")),
        connectRequests(r.counter("p2psip_media_relay_control_connect_requests_total")),
        releaseRequests(r.counter("p2psip_media_relay_control_release_requests_total")),
        statsRequests(r.counter("p2psip_media_relay_control_stats_requests_total")),
        errors{&r.counter("p2psip_media_relay_control_errors_bad_request_total"),
               &r.counter("p2psip_media_relay_control_errors_unsupported_version_total"),
               &r.counter("p2psip_media_relay_control_errors_not_authorised_total"),
               &r.counter("p2psip_media_relay_control_errors_quota_exceeded_total"),
               &r.counter("p2psip_media_relay_control_errors_capacity_total"),
               &r.counter("p2psip_media_relay_control_errors_unknown_stream_total"),
               &r.counter("p2psip_media_relay_control_errors_internal_total")},
        malformedFrames(r.counter("p2psip_media_relay_control_malformed_frames_total")),
        responsesIgnored(r.counter("p2psip_media_relay_control_responses_ignored_total")),
        streamsAllocated(r.counter("p2psip_media_relay_control_streams_allocated_total")),
        streamsTimedOut(r.counter("p2psip_media_relay_control_streams_timed_out_total")),
        streamsReleasedOnClose(
            r.counter("p2psip_media_relay_control_streams_released_on_close_total")),
        streams(r.gauge("p2psip_media_relay_control_streams")),
        peers(r.gauge("p2psip_media_relay_control_peers")) {}

  Counter& error(ErrorCode code) {
    const auto i = static_cast<std::size_t>(code);
    return *errors[i >= 1 && i <= kErrorCodes ? i - 1 : kErrorCodes - 1];
  }

  Counter& allocateRequests;
  Counter& connectRequests;
  Counter& releaseRequests;
  Counter& statsRequests;
  std::array<Counter*, kErrorCodes> errors;  // indexed by code - 1
  Counter& malformedFrames;
  Counter& responsesIgnored;
  Counter& streamsAllocated;
  Counter& streamsTimedOut;
  Counter& streamsReleasedOnClose;
  Gauge& streams;
  Gauge& peers;
};

Result<void> validate(const RelayServiceConfig& config) {
  if (config.perPeerStreamQuota == 0) {
    return makeError(p2psip::ErrorCode::InvalidArgument, "relay service: perPeerStreamQuota is 0");
  }
  if (config.maxStreams == 0) {
    return makeError(p2psip::ErrorCode::InvalidArgument, "relay service: maxStreams is 0");
  }
  if (config.addresses.empty()) {
    return makeError(p2psip::ErrorCode::InvalidArgument, "relay service: no address");
  }
  bool v4 = false;
  bool v6 = false;
  for (const auto& a : config.addresses) {
    if (a.is_unspecified()) {
      return makeError(p2psip::ErrorCode::InvalidArgument,
                       "relay service: address " + a.to_string() + " is unspecified");
    }
    bool& seen = a.is_v4() ? v4 : v6;
    if (seen) {
      return makeError(p2psip::ErrorCode::InvalidArgument,
                       "relay service: two addresses of one family (" + a.to_string() + ")");
    }
    seen = true;
  }
  return {};
}

RelayService::RelayService(RelayEngine& engine, RelayServiceConfig config, Authorise authorise,
                           MetricsRegistry& metrics, Logger logger)
    : engine_(engine),
      config_(std::move(config)),
      authorise_(std::move(authorise)),
      metrics_(std::make_unique<Metrics>(metrics)),
      logger_(std::move(logger)) {}

RelayService::~RelayService() {
  // The ports would otherwise stay bound until the engine's inactivity timeout.
  for (const auto& [stream, owned] : owners_) (void)engine_.release(StreamId{stream});
  metrics_->streams.add(-static_cast<std::int64_t>(owners_.size()));
  metrics_->peers.add(-static_cast<std::int64_t>(byPeer_.size()));
}

std::string RelayService::handle(std::string_view peer, std::string_view frameBytes) {
  // Answers a frame that cannot be executed, unless it is (or may be) a response.
  const auto reject = [&](std::uint32_t requestId, std::optional<std::uint8_t> type, ErrorCode code,
                          std::string reason) -> std::string {
    metrics_->malformedFrames.inc();
    logger_.debug("relay control: unusable frame from {}: {}", peerLabel(peer), reason);
    if (type && *type >= 0x80) return {};
    return control::encode(control::Frame{requestId, refuse(code, std::move(reason))});
  };

  auto decoded = control::decodeFrame(frameBytes);
  if (!decoded) return reject(0, std::nullopt, ErrorCode::BadRequest, decoded.error().detail);
  // For the answers below: the request id and type, when at least the header is there.
  const auto header = control::decodeHeader(frameBytes);
  const std::uint32_t requestId = header && *header ? (*header)->requestId : 0;
  const auto type = header && *header ? std::optional<std::uint8_t>((*header)->type) : std::nullopt;

  if (std::holds_alternative<control::NeedMoreBytes>(decoded->outcome)) {
    return reject(requestId, type, ErrorCode::BadRequest, "incomplete relay control frame");
  }
  if (decoded->consumed != frameBytes.size()) {
    return reject(requestId, type, ErrorCode::BadRequest,
                  std::to_string(frameBytes.size() - decoded->consumed) +
                      " bytes after the relay control frame");
  }
  if (auto* rejected = std::get_if<control::Rejected>(&decoded->outcome)) {
    return reject(rejected->requestId, rejected->type, rejected->code, std::move(rejected->reason));
  }
  auto response = execute(peer, std::get<control::Frame>(decoded->outcome));
  return response ? control::encode(*response) : std::string();
}

std::optional<control::Frame> RelayService::execute(std::string_view peer,
                                                    const control::Frame& request) {
  if (!control::isRequest(request.message)) {
    metrics_->responsesIgnored.inc();
    return std::nullopt;
  }
  Reply reply =
      std::visit(Overloaded{
                     [&](const control::Allocate& m) { return allocate(peer, m); },
                     [&](const control::Connect& m) { return connect(peer, m); },
                     [&](const control::Release& m) { return release(peer, m); },
                     [&](const control::Stats& m) { return stats(peer, m); },
                     // Responses were excluded above.
                     [&](const auto&) { return refuse(ErrorCode::BadRequest, "not a request"); },
                 },
                 request.message);
  return control::Frame{request.requestId, std::move(reply)};
}

RelayService::Reply RelayService::refuse(ErrorCode code, std::string reason,
                                         std::vector<std::uint64_t> streams) const {
  metrics_->error(code).inc();
  control::ErrorReply error{code, std::move(reason), {}, std::move(streams)};
  if (code == ErrorCode::UnsupportedVersion) error.supported = {control::Version{}};
  return error;
}

const asio::ip::address* RelayService::addressFor(control::AddressFamily family) const {
  for (const auto& a : config_.addresses) {
    if (a.is_v4() == (family == control::AddressFamily::V4)) return &a;
  }
  return nullptr;
}

LegConfig RelayService::legConfig(const asio::ip::address& local,
                                  const std::optional<asio::ip::address>& expectedSource,
                                  std::uint32_t clockRate) const {
  // Both sides of a relayed stream are peers behind NATs that send first, so both legs latch.
  // With a hint, only media from that IP may latch (RFC 7362: it keeps a stranger who knows the
  // port from grabbing the leg); without one the first valid RTP source wins.
  LegConfig leg;
  leg.local = local;
  leg.latch = expectedSource ? LatchPolicy::SameAddress : LatchPolicy::AnyAddress;
  leg.latchAddress = expectedSource;
  leg.clockRate = clockRate;
  return leg;
}

RelayService::Reply RelayService::allocate(std::string_view peer,
                                           const control::Allocate& request) {
  metrics_->allocateRequests.inc();
  if (!authorise_ || !authorise_(peer)) {
    return refuse(ErrorCode::NotAuthorised, "this relay does not serve this peer");
  }
  const std::size_t n = request.streams.size();
  if (n == 0 || n > control::kMaxStreamsPerAllocate) {
    return refuse(ErrorCode::BadRequest, "Allocate asks for " + std::to_string(n) + " streams");
  }
  const std::size_t held = streamsOf(peer);
  if (held + n > config_.perPeerStreamQuota) {
    // Debug only: a peer retrying could flood the log; the refusals are counted.
    logger_.debug("relay control: peer {} holds {} streams, quota {}: refused {} more",
                  peerLabel(peer), held, config_.perPeerStreamQuota, n);
    return refuse(ErrorCode::QuotaExceeded, "the peer holds " + std::to_string(held) +
                                                " streams of its quota of " +
                                                std::to_string(config_.perPeerStreamQuota));
  }
  if (owners_.size() + n > config_.maxStreams) {
    return refuse(ErrorCode::Capacity, "the relay carries its maximum of " +
                                           std::to_string(config_.maxStreams) + " streams");
  }
  // Everything the engine would refuse for a reason of the request's own is checked before
  // anything is allocated, so a refusal leaves nothing half done.
  for (const auto& s : request.streams) {
    if (addressFor(s.family) == nullptr) {
      return refuse(ErrorCode::Capacity,
                    std::string("this relay has no ") + familyName(s.family) + " address");
    }
    for (const auto& hint : {s.expectedSourceA, s.expectedSourceB}) {
      if (hint && hint->is_v4() != (s.family == control::AddressFamily::V4)) {
        return refuse(ErrorCode::BadRequest, "an expected source is not of the stream's family");
      }
    }
    if (s.clockRate == 0 || s.clockRate > control::kMaxClockRate) {
      return refuse(ErrorCode::BadRequest, "clock rate out of range");
    }
  }

  control::Allocated allocated;
  for (const auto& s : request.streams) {
    const asio::ip::address& local = *addressFor(s.family);
    auto stream = engine_.allocate(legConfig(local, s.expectedSourceA, s.clockRate),
                                   legConfig(local, s.expectedSourceB, s.clockRate));
    if (!stream) {
      // All or nothing: the requester would not know what to do with half of its m= lines.
      for (const auto& done : allocated.streams) (void)engine_.release(StreamId{done.stream});
      const auto code = stream.error().code;
      const bool capacity = code == p2psip::ErrorCode::LimitExceeded ||
                            code == p2psip::ErrorCode::Unavailable ||
                            code == p2psip::ErrorCode::TransportError;
      logger_.warn("relay control: allocation for peer {} failed: {}", peerLabel(peer),
                   stream.error().detail);
      return refuse(capacity ? ErrorCode::Capacity : ErrorCode::Internal,
                    capacity ? "no relay ports free" : "the relay could not allocate a stream");
    }
    allocated.streams.push_back({stream->id.value, stream->legA, stream->legB});
  }
  auto& mine = byPeer_[std::string(peer)];
  if (mine.empty()) metrics_->peers.add(1);
  for (const auto& s : allocated.streams) {
    owners_.emplace(s.stream, Owned{std::string(peer), s.sideA.address});
    mine.insert(s.stream);
  }
  metrics_->streamsAllocated.inc(n);
  metrics_->streams.add(static_cast<std::int64_t>(n));
  logger_.debug("relay control: {} streams allocated for peer {} ({} held)", n, peerLabel(peer),
                mine.size());
  return allocated;
}

Result<void> RelayService::remoteAllowed(const net::Endpoint& remote,
                                         const asio::ip::address& leg) const {
  const auto& a = remote.address;
  const auto no = [&](const char* why) {
    return makeError(p2psip::ErrorCode::InvalidArgument, "remote " + remote.toString() + " " + why);
  };
  if (remote.port == 0) return no("has port 0");
  if (!sameFamily(a, leg)) return no("is not of the stream's family");
  if (a.is_unspecified() || a.is_multicast()) return no("is not a unicast address");
  if (a.is_v4() && a.to_v4() == asio::ip::address_v4::broadcast()) return no("is broadcast");
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return no("is an IPv4-mapped IPv6 address");
  // A peer must not aim the relay at the relay host's own services. Loopback remotes make sense
  // only when the relay itself is on loopback (tests, a single-host overlay).
  if (a.is_loopback() && !leg.is_loopback()) return no("is a loopback address");
  return {};
}

RelayService::Reply RelayService::connect(std::string_view peer, const control::Connect& request) {
  metrics_->connectRequests.inc();
  if (!authorise_ || !authorise_(peer)) {
    return refuse(ErrorCode::NotAuthorised, "this relay does not serve this peer");
  }
  const auto it = owners_.find(request.stream);
  if (it == owners_.end() || it->second.peer != peer) {
    return refuse(ErrorCode::UnknownStream, "no such stream", {request.stream});
  }
  if (auto ok = remoteAllowed(request.remote, it->second.local); !ok) {
    return refuse(ErrorCode::BadRequest, ok.error().detail);
  }
  auto set = engine_.setRemote(StreamId{request.stream}, request.side, request.remote);
  if (!set) {
    if (set.error().code == p2psip::ErrorCode::NotFound) {
      // Gone from the engine without onStreamTimedOut() having been called (yet): the root may
      // forward timeouts later, or another component released it. Forget it now.
      forget(request.stream);
      return refuse(ErrorCode::UnknownStream, "the stream is gone", {request.stream});
    }
    if (set.error().code == p2psip::ErrorCode::InvalidArgument) {
      return refuse(ErrorCode::BadRequest, set.error().detail);
    }
    return refuse(ErrorCode::Internal, "the relay could not connect the stream");
  }
  return control::Ok{};
}

RelayService::Reply RelayService::release(std::string_view peer, const control::Release& request) {
  metrics_->releaseRequests.inc();
  // No authorisation check: giving back what one holds is always allowed (a peer whose
  // enrolment was revoked can still tidy up), and a peer holds nothing it was not granted.
  if (request.streams.empty() || request.streams.size() > control::kMaxHandlesPerRequest) {
    return refuse(ErrorCode::BadRequest,
                  "Release lists " + std::to_string(request.streams.size()) + " streams");
  }
  std::vector<std::uint64_t> unknown;
  for (std::uint64_t stream : request.streams) {
    if (!owns(peer, stream)) {
      unknown.push_back(stream);
      continue;
    }
    // NotFound: the engine no longer has it (see connect()). Released either way.
    (void)engine_.release(StreamId{stream});
    forget(stream);
  }
  if (!unknown.empty()) {
    // The others are released all the same: the requester wanted all of them gone.
    return refuse(ErrorCode::UnknownStream, "not a stream of this peer", std::move(unknown));
  }
  return control::Ok{};
}

RelayService::Reply RelayService::stats(std::string_view peer,
                                        const control::Stats& request) const {
  metrics_->statsRequests.inc();
  if (!authorise_ || !authorise_(peer)) {
    return refuse(ErrorCode::NotAuthorised, "this relay does not serve this peer");
  }
  if (request.streams.empty() || request.streams.size() > control::kMaxHandlesPerRequest) {
    return refuse(ErrorCode::BadRequest,
                  "Stats lists " + std::to_string(request.streams.size()) + " streams");
  }
  control::StatsReport report;
  std::vector<std::uint64_t> unknown;
  for (std::uint64_t stream : request.streams) {
    // A stream the engine no longer has (see connect()) is unknown too.
    const auto st = owns(peer, stream) ? engine_.stats(StreamId{stream}) : std::nullopt;
    if (!st) {
      unknown.push_back(stream);
      continue;
    }
    report.streams.push_back(
        {stream, toReport(st->aToB, st->a.latched), toReport(st->bToA, st->b.latched)});
  }
  if (!unknown.empty()) {
    return refuse(ErrorCode::UnknownStream, "not a stream of this peer", std::move(unknown));
  }
  return report;
}

bool RelayService::owns(std::string_view peer, std::uint64_t stream) const {
  const auto it = owners_.find(stream);
  return it != owners_.end() && it->second.peer == peer;
}

void RelayService::forget(std::uint64_t stream) {
  const auto it = owners_.find(stream);
  if (it == owners_.end()) return;
  const auto mine = byPeer_.find(it->second.peer);
  if (mine != byPeer_.end()) {
    mine->second.erase(stream);
    if (mine->second.empty()) {
      byPeer_.erase(mine);
      metrics_->peers.add(-1);
    }
  }
  owners_.erase(it);
  metrics_->streams.add(-1);
}

std::size_t RelayService::releaseAll(std::string_view peer) {
  const auto mine = byPeer_.find(peer);
  if (mine == byPeer_.end()) return 0;
  const std::set<std::uint64_t> streams = mine->second;  // forget() edits the set
  for (std::uint64_t stream : streams) {
    (void)engine_.release(StreamId{stream});
    forget(stream);
  }
  metrics_->streamsReleasedOnClose.inc(streams.size());
  logger_.info("relay control: link to peer {} closed, {} streams released", peerLabel(peer),
               streams.size());
  return streams.size();
}

bool RelayService::onStreamTimedOut(StreamId id) {
  if (owners_.find(id.value) == owners_.end()) return false;
  logger_.debug("relay control: stream {} of peer {} timed out", id.value,
                peerLabel(owners_.at(id.value).peer));
  forget(id.value);
  metrics_->streamsTimedOut.inc();
  return true;
}

std::size_t RelayService::streamsOf(std::string_view peer) const {
  const auto it = byPeer_.find(peer);
  return it == byPeer_.end() ? 0 : it->second.size();
}

std::size_t RelayService::totalStreams() const {
  return owners_.size();
}

std::size_t RelayService::peers() const {
  return byPeer_.size();
}

}  // namespace p2psip::media
