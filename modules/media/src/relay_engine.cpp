// SPDX-License-Identifier: Apache-2.0
#include "p2psip/media/relay_engine.h"

#include <array>
#include <string>
#include <unordered_map>
#include <utility>

#include "epoll_relay_worker.h"
#include "port_pool.h"
#include "relay_metrics.h"
#include "relay_stream.h"
#include "relay_worker.h"
#include "signalling_channel.h"
#include "socket_address.h"
#include "stream_counters.h"
#include "uring_relay_worker.h"

namespace p2psip::media {

const char* toString(Side side) {
  return side == Side::A ? "A" : "B";
}

namespace {

// The signalling thread's view of one leg.
struct LegRecord {
  net::Endpoint local;
  std::optional<net::Endpoint> sdpRemote;  // last address signalling gave
  std::optional<net::Endpoint> remote;     // where media goes now: sdpRemote or latched source
  bool latched = false;
  bool fellBack = false;
  std::optional<net::Endpoint> fallback;  // LegConfig::fallback or setFallback()
  std::uint64_t generation = 0;           // setRemote() count, to ignore latch reports it overtook
};

struct StreamRecord {
  std::size_t worker = 0;
  std::array<LegRecord, 2> legs;
  std::unique_ptr<StreamCounters> counters;  // see stream_counters.h for who frees it
};

std::size_t index(Side side) {
  return static_cast<std::size_t>(side);
}

DirectionStats readDirection(const DirectionCounters& c) {
  constexpr auto relaxed = std::memory_order_relaxed;
  DirectionStats out;
  out.packets = c.packets.load(relaxed);
  out.bytes = c.bytes.load(relaxed);
  out.rtcpPackets = c.rtcpPackets.load(relaxed);
  out.rtcpBytes = c.rtcpBytes.load(relaxed);
  out.dropped = c.dropped.load(relaxed);
  out.malformed = c.malformed.load(relaxed);
  out.refused = c.refused.load(relaxed);
  out.lost = c.lost.load(relaxed);
  out.jitterMs = c.jitterMs.load(relaxed);
  if (const auto ticks = c.lastActivity.load(relaxed); ticks != 0) {
    out.lastActivity = TimePoint(Duration(ticks));
  }
  return out;
}

LegStats readLeg(const LegRecord& leg) {
  return LegStats{
      .local = leg.local, .remote = leg.remote, .latched = leg.latched, .fellBack = leg.fellBack};
}

bool sameFamily(const asio::ip::address& a, const asio::ip::address& b) {
  return a.is_v4() == b.is_v4();
}

}  // namespace

class RelayEngine::Impl final : public StreamEvents {
 public:
  Impl(RelayConfig config, PostToSignalling post, MetricsRegistry& registry, Logger logger)
      : config_(std::move(config)),
        havePost_(static_cast<bool>(post)),
        metrics_(registry),
        logger_(std::move(logger)),
        channel_(std::move(post), *this) {}
  ~Impl() override { stop(); }

  Result<void> start();
  void stop();
  Result<AllocatedStream> allocate(const LegConfig& a, const LegConfig& b);
  Result<void> setRemote(StreamId id, Side side, const net::Endpoint& remote);
  Result<void> setFallback(StreamId id, Side side, const net::Endpoint& fallback, Duration after);
  Result<void> release(StreamId id);
  std::optional<StreamStats> stats(StreamId id) const;
  std::vector<StreamStats> snapshot() const;
  RelayTotals totals() const;
  std::size_t active() const { return streams_.size(); }
  IoBackend ioBackend() const {
    return workers_.empty() ? config_.ioBackend : workers_.front()->backend();
  }
  std::size_t freePortPairs() const;
  std::size_t freePortPairs(const asio::ip::address& address) const;

  void onStreamTimedOut(StreamId id) override;
  void onLegLatched(StreamId id, Side side, const net::Endpoint& source,
                    std::uint64_t generation) override;
  void onLegFellBack(StreamId id, Side side, const net::Endpoint& fallback,
                     std::uint64_t generation) override;

  TimeoutHandler timeoutHandler;
  LatchHandler latchHandler;

 private:
  enum class State { Idle, Running, Stopped };

  Result<std::unique_ptr<RelayWorker>> startWorker(std::size_t index);
  PortPool* poolFor(const asio::ip::address& address) const;
  Result<void> check(const LegConfig& leg, Side side) const;
  Latch::Settings latchSettings(const LegConfig& leg) const;
  StreamStats statsOf(std::uint64_t id, const StreamRecord& record) const;
  void updateActive() { metrics_.streamsActive.set(static_cast<std::int64_t>(streams_.size())); }

  RelayConfig config_;
  bool havePost_;
  RelayMetrics metrics_;
  Logger logger_;
  SignallingChannel channel_;
  std::vector<std::unique_ptr<PortPool>> pools_;  // declared before workers_: outlives them
  std::vector<std::unique_ptr<RelayWorker>> workers_;
  std::unordered_map<std::uint64_t, StreamRecord> streams_;
  std::uint64_t nextId_ = 1;
  std::size_t nextWorker_ = 0;
  State state_ = State::Idle;
};

Result<void> RelayEngine::Impl::start() {
  if (state_ != State::Idle) {
    return makeError(ErrorCode::Unavailable, "media: relay engine already started or stopped");
  }
  if (auto valid = validate(config_); !valid) return valid;
  if (!havePost_) {
    return makeError(ErrorCode::InvalidArgument, "media: no postToSignalling function");
  }
  const std::size_t pairs = portPairCount(config_);
  for (const auto& address : config_.addresses) {
    pools_.push_back(
        std::make_unique<PortPool>(address, config_.portMin, pairs, config_.socketBufferBytes));
  }
  for (std::size_t i = 0; i < config_.workerThreads; ++i) {
    auto worker = startWorker(i);
    if (!worker) {
      workers_.clear();  // stops those already running
      pools_.clear();
      return tl::unexpected(worker.error());
    }
    workers_.push_back(std::move(*worker));
  }
  state_ = State::Running;
  logger_.info("media: relay engine started: {} address(es), ports {}-{}, {} thread(s), {}",
               config_.addresses.size(), config_.portMin, config_.portMax, config_.workerThreads,
               toString(ioBackend()));
  return {};
}

Result<std::unique_ptr<RelayWorker>> RelayEngine::Impl::startWorker(std::size_t index) {
  if (config_.ioBackend == IoBackend::IoUring) {
    auto uring = std::make_unique<UringRelayWorker>(config_, channel_, metrics_, logger_, index);
    auto started = uring->start();
    if (started) return uring;
    // An old kernel, io_uring disabled by sysctl, or too little locked memory: epoll does the
    // same work with a few more system calls per datagram.
    logger_.warn("media: thread {}: io_uring unavailable ({}), using epoll", index,
                 started.error().detail);
  }
  auto epoll = std::make_unique<EpollRelayWorker>(config_, channel_, metrics_, logger_, index);
  if (auto started = epoll->start(); !started) return tl::unexpected(started.error());
  return epoll;
}

void RelayEngine::Impl::stop() {
  if (state_ != State::Running) return;
  for (auto& worker : workers_) worker->stop();  // joins; their streams close here
  workers_.clear();
  streams_.clear();
  channel_.close();
  state_ = State::Stopped;
  updateActive();
}

PortPool* RelayEngine::Impl::poolFor(const asio::ip::address& address) const {
  for (const auto& pool : pools_) {
    if (pool->address() == address) return pool.get();
  }
  return nullptr;
}

Result<void> RelayEngine::Impl::check(const LegConfig& leg, Side side) const {
  const std::string which = std::string("media: leg ") + toString(side) + ": ";
  if (poolFor(leg.local) == nullptr) {
    return makeError(ErrorCode::InvalidArgument,
                     which + net::addressToString(leg.local) + " is not a relay address");
  }
  if (leg.remote && (!sameFamily(leg.remote->address, leg.local) || leg.remote->port == 0)) {
    return makeError(ErrorCode::InvalidArgument,
                     which + "remote " + leg.remote->toString() + " does not fit the leg");
  }
  if (leg.latchAddress && !sameFamily(*leg.latchAddress, leg.local)) {
    return makeError(ErrorCode::InvalidArgument, which + "latch address of the wrong family");
  }
  if (leg.clockRate == 0) return makeError(ErrorCode::InvalidArgument, which + "clock rate 0");
  if (leg.fallback && (!sameFamily(leg.fallback->address, leg.local) || leg.fallback->port == 0 ||
                       leg.fallbackAfter <= Duration::zero())) {
    return makeError(ErrorCode::InvalidArgument,
                     which + "fallback " + leg.fallback->toString() + " does not fit the leg");
  }
  return {};
}

Latch::Settings RelayEngine::Impl::latchSettings(const LegConfig& leg) const {
  Latch::Settings settings;
  settings.policy = leg.latch;
  if (leg.remote) settings.remote = SocketAddress::from(*leg.remote);
  if (leg.latchAddress) settings.latchHost = SocketAddress::from(*leg.latchAddress, 0);
  settings.relatchSilence = config_.relatchSilence;
  return settings;
}

Result<AllocatedStream> RelayEngine::Impl::allocate(const LegConfig& a, const LegConfig& b) {
  if (state_ != State::Running) {
    return makeError(ErrorCode::Unavailable, "media: relay engine not running");
  }
  if (streams_.size() >= config_.maxStreams) {
    return makeError(ErrorCode::LimitExceeded,
                     "media: " + std::to_string(config_.maxStreams) + " streams already relayed");
  }
  if (auto ok = check(a, Side::A); !ok) return tl::unexpected(ok.error());
  if (auto ok = check(b, Side::B); !ok) return tl::unexpected(ok.error());
  auto leaseA = poolFor(a.local)->lease();
  if (!leaseA) return tl::unexpected(leaseA.error());
  auto leaseB = poolFor(b.local)->lease();
  if (!leaseB) return tl::unexpected(leaseB.error());  // leaseA goes back to its pool

  const StreamId id{nextId_++};
  const AllocatedStream allocated{id, leaseA->rtpEndpoint(), leaseB->rtpEndpoint()};
  auto counters = std::make_unique<StreamCounters>();
  auto stream = std::make_unique<RelayStream>(
      id, RelayLeg(std::move(*leaseA), latchSettings(a), a.clockRate),
      RelayLeg(std::move(*leaseB), latchSettings(b), b.clockRate), *counters, Clock::now());
  for (const auto& [side, config] : {std::pair{Side::A, &a}, std::pair{Side::B, &b}}) {
    RelayLeg& leg = stream->leg(side);
    leg.keepAlive = config->keepAlive;
    if (config->fallback) leg.fallback = SocketAddress::from(*config->fallback);
    leg.fallbackAfter = config->fallbackAfter;
  }

  StreamRecord record;
  record.worker = nextWorker_++ % workers_.size();
  record.legs[0] = LegRecord{
      .local = allocated.legA, .sdpRemote = a.remote, .remote = a.remote, .fallback = a.fallback};
  record.legs[1] = LegRecord{
      .local = allocated.legB, .sdpRemote = b.remote, .remote = b.remote, .fallback = b.fallback};
  record.counters = std::move(counters);
  const std::size_t worker = record.worker;
  streams_.emplace(id.value, std::move(record));
  workers_[worker]->submit(AddStream{std::move(stream)});
  metrics_.streamsAllocated.inc();
  updateActive();
  logger_.debug("media: stream {} allocated: A {} B {}", id.value, allocated.legA.toString(),
                allocated.legB.toString());
  return allocated;
}

Result<void> RelayEngine::Impl::setRemote(StreamId id, Side side, const net::Endpoint& remote) {
  const auto it = streams_.find(id.value);
  if (it == streams_.end()) {
    return makeError(ErrorCode::NotFound, "media: no stream " + std::to_string(id.value));
  }
  LegRecord& leg = it->second.legs[index(side)];
  if (!sameFamily(remote.address, leg.local.address) || remote.port == 0) {
    return makeError(ErrorCode::InvalidArgument,
                     "media: remote " + remote.toString() + " does not fit the leg");
  }
  if (leg.sdpRemote == remote) return {};
  leg.sdpRemote = remote;
  leg.remote = remote;
  leg.latched = false;
  leg.fellBack = false;
  ++leg.generation;
  workers_[it->second.worker]->submit(
      SetRemote{id, side, SocketAddress::from(remote), leg.generation});
  return {};
}

Result<void> RelayEngine::Impl::setFallback(StreamId id, Side side, const net::Endpoint& fallback,
                                            Duration after) {
  const auto it = streams_.find(id.value);
  if (it == streams_.end()) {
    return makeError(ErrorCode::NotFound, "media: no stream " + std::to_string(id.value));
  }
  LegRecord& leg = it->second.legs[index(side)];
  if (!sameFamily(fallback.address, leg.local.address) || fallback.port == 0 ||
      after <= Duration::zero()) {
    return makeError(ErrorCode::InvalidArgument,
                     "media: fallback " + fallback.toString() + " does not fit the leg");
  }
  if (leg.fallback == fallback) return {};  // a 200 repeating the 183's answer: one trial
  leg.fallback = fallback;
  workers_[it->second.worker]->submit(SetFallback{id, side, SocketAddress::from(fallback), after});
  return {};
}

Result<void> RelayEngine::Impl::release(StreamId id) {
  const auto it = streams_.find(id.value);
  if (it == streams_.end()) {
    return makeError(ErrorCode::NotFound, "media: no stream " + std::to_string(id.value));
  }
  const std::size_t worker = it->second.worker;
  auto counters = std::move(it->second.counters);
  streams_.erase(it);
  workers_[worker]->submit(RemoveStream{id, std::move(counters)});
  updateActive();
  logger_.debug("media: stream {} released", id.value);
  return {};
}

void RelayEngine::Impl::onStreamTimedOut(StreamId id) {
  // Released meanwhile: the caller already knows it is gone.
  if (streams_.erase(id.value) == 0) return;
  updateActive();
  if (timeoutHandler) timeoutHandler(id);
}

void RelayEngine::Impl::onLegLatched(StreamId id, Side side, const net::Endpoint& source,
                                     std::uint64_t generation) {
  const auto it = streams_.find(id.value);
  if (it == streams_.end()) return;
  LegRecord& leg = it->second.legs[index(side)];
  if (generation != leg.generation) return;  // a newer SDP address re-armed the latch since
  leg.remote = source;
  leg.latched = true;
  if (latchHandler) latchHandler(id, side, source);
}

void RelayEngine::Impl::onLegFellBack(StreamId id, Side side, const net::Endpoint& fallback,
                                      std::uint64_t generation) {
  const auto it = streams_.find(id.value);
  if (it == streams_.end()) return;
  LegRecord& leg = it->second.legs[index(side)];
  if (generation != leg.generation) return;  // a newer SDP address started a new trial
  leg.remote = fallback;
  leg.latched = false;
  leg.fellBack = true;
}

StreamStats RelayEngine::Impl::statsOf(std::uint64_t id, const StreamRecord& record) const {
  StreamStats out;
  out.id = StreamId{id};
  out.a = readLeg(record.legs[0]);
  out.b = readLeg(record.legs[1]);
  out.aToB = readDirection(record.counters->received[index(Side::A)]);
  out.bToA = readDirection(record.counters->received[index(Side::B)]);
  return out;
}

std::optional<StreamStats> RelayEngine::Impl::stats(StreamId id) const {
  const auto it = streams_.find(id.value);
  if (it == streams_.end()) return std::nullopt;
  return statsOf(it->first, it->second);
}

std::vector<StreamStats> RelayEngine::Impl::snapshot() const {
  std::vector<StreamStats> out;
  out.reserve(streams_.size());
  for (const auto& [id, record] : streams_) out.push_back(statsOf(id, record));
  return out;
}

RelayTotals RelayEngine::Impl::totals() const {
  return RelayTotals{.packetsForwarded = metrics_.packetsForwarded.value(),
                     .bytesForwarded = metrics_.bytesForwarded.value(),
                     .packetsDropped = metrics_.packetsDropped.value(),
                     .packetsMalformed = metrics_.packetsMalformed.value(),
                     .packetsRefused = metrics_.packetsRefused.value(),
                     .latches = metrics_.latches.value(),
                     .fallbacks = metrics_.fallbacks.value(),
                     .streamsTimedOut = metrics_.streamsTimedOut.value()};
}

std::size_t RelayEngine::Impl::freePortPairs() const {
  std::size_t total = 0;
  for (const auto& pool : pools_) total += pool->freePairs();
  return total;
}

std::size_t RelayEngine::Impl::freePortPairs(const asio::ip::address& address) const {
  const PortPool* pool = poolFor(address);
  return pool != nullptr ? pool->freePairs() : 0;
}

RelayEngine::RelayEngine(RelayConfig config, PostToSignalling postToSignalling,
                         MetricsRegistry& metrics, Logger logger)
    : impl_(std::make_unique<Impl>(std::move(config), std::move(postToSignalling), metrics,
                                   std::move(logger))) {}

RelayEngine::~RelayEngine() = default;

Result<void> RelayEngine::start() {
  return impl_->start();
}
void RelayEngine::stop() {
  impl_->stop();
}
Result<AllocatedStream> RelayEngine::allocate(const LegConfig& a, const LegConfig& b) {
  return impl_->allocate(a, b);
}
Result<void> RelayEngine::setRemote(StreamId id, Side side, const net::Endpoint& remote) {
  return impl_->setRemote(id, side, remote);
}
Result<void> RelayEngine::setFallback(StreamId id, Side side, const net::Endpoint& fallback,
                                      Duration after) {
  return impl_->setFallback(id, side, fallback, after);
}
Result<void> RelayEngine::release(StreamId id) {
  return impl_->release(id);
}
void RelayEngine::onTimeout(TimeoutHandler handler) {
  impl_->timeoutHandler = std::move(handler);
}
void RelayEngine::onLatch(LatchHandler handler) {
  impl_->latchHandler = std::move(handler);
}
std::optional<StreamStats> RelayEngine::stats(StreamId id) const {
  return impl_->stats(id);
}
std::vector<StreamStats> RelayEngine::snapshot() const {
  return impl_->snapshot();
}
RelayTotals RelayEngine::totals() const {
  return impl_->totals();
}
IoBackend RelayEngine::ioBackend() const {
  return impl_->ioBackend();
}
std::size_t RelayEngine::active() const {
  return impl_->active();
}
std::size_t RelayEngine::freePortPairs() const {
  return impl_->freePortPairs();
}
std::size_t RelayEngine::freePortPairs(const asio::ip::address& address) const {
  return impl_->freePortPairs(address);
}

}  // namespace p2psip::media
