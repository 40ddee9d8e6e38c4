// SPDX-License-Identifier: Apache-2.0
#include "p2psip/overlay/peer_directory.h"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>

namespace p2psip::overlay {

Result<void> validate(const PeerDirectoryConfig& config) {
  if (config.recordLifetime < std::chrono::seconds(10)) {
    return makeError(ErrorCode::InvalidArgument, "peer record lifetime must be at least 10 s");
  }
  if (!(config.refreshFraction > 0.1 && config.refreshFraction < 0.95)) {
    return makeError(ErrorCode::InvalidArgument,
                     "peer record refresh fraction must be between 0.1 and 0.95");
  }
  if (config.retryInterval <= Duration::zero() || config.lookupTimeout <= Duration::zero() ||
      config.missLifetime < Duration::zero() || config.maxCachedPeers == 0) {
    return makeError(ErrorCode::InvalidArgument,
                     "peer directory intervals must be positive and its cache non-empty");
  }
  return {};
}

class PeerDirectory::Impl {
 public:
  Impl(const PeerDirectoryConfig& config, dht::LookupService& dht,
       const identity::NodeIdentity& self, TimerService& timers, WallClock wallClock,
       MetricsRegistry& metrics, Logger logger)
      : config_(config),
        dht_(dht),
        identity_(self),
        timers_(timers),
        wallClock_(wallClock),
        logger_(std::move(logger)),
        publishes_(metrics.counter("p2psip_overlay_peer_record_puts_total")),
        putFailures_(metrics.counter("p2psip_overlay_peer_record_put_failures_total")),
        refused_(metrics.counter("p2psip_overlay_peer_records_refused_total")),
        lookups_(metrics.counter("p2psip_overlay_peer_lookups_total")),
        lookupFailures_(metrics.counter("p2psip_overlay_peer_lookups_failed_total")),
        alive_(std::make_shared<Impl*>(this)) {
    if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().detail);
    self_.node = identity_.nodeId();
    self_.certificateDer = identity_.certificateDer();
  }

  ~Impl() {
    timers_.cancel(refreshTimer_);
    for (auto& [node, e] : entries_) {
      timers_.cancel(e.timeout);
      timers_.cancel(e.retry);
      if (e.listen != 0) dht_.cancelListen(e.listen);
    }
  }

  Result<void> publish(PeerPublication publication) {
    // Nothing new: the refresh timer already keeps the record alive, and a put with a new
    // sequence would only wake every listener for nothing.
    if (started_ && !withdrawn_ && publication == published()) return {};
    PeerRecord next = self_;
    next.endpoints = std::move(publication.endpoints);
    next.capabilities = publication.capabilities;
    next.reachability = publication.reachability;
    next.reflexiveAddress = publication.reflexiveAddress;
    next.rendezvous = publication.rendezvous;
    if (auto ok = checkPeerRecord(next); !ok) {
      logger_.error("overlay: not publishing our peer record: {}", ok.error().detail);
      return ok;
    }
    self_ = std::move(next);
    started_ = true;
    withdrawn_ = false;
    put();
    return {};
  }

  void withdraw(Duration timeout, std::function<void()> done) {
    withdrawn_ = true;
    timers_.cancel(refreshTimer_);
    refreshTimer_ = kNoTimer;
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    auto finishOnce = [finished] {
      if (*finished) {
        auto fn = std::move(*finished);
        *finished = nullptr;
        fn();
      }
    };
    timers_.schedule(timeout, finishOnce);
    dht_.remove(dht::LookupKey{dht::Namespace::Peer, self_.node.toHex()},
                peerRecordValueId(self_.node), [finishOnce](Result<void>) { finishOnce(); });
  }

  void find(const identity::NodeId& node, FindCallback done) {
    lookups_.inc();
    auto [it, inserted] = entries_.try_emplace(node);
    Entry& e = it->second;
    e.lastUsed = timers_.now();
    if (inserted) {
      e.node = node;
      evictIfFull(node);
      startListen(e);
    }
    const TimePoint now = timers_.now();
    // A record past its signed expiry counts as none: ask the DHT again after missLifetime.
    if (e.record && e.record->expired(wallClock_())) e.record.reset();
    if (e.loaded && (e.record || now - e.loadedAt < config_.missLifetime)) {
      answer(e, std::move(done));
      return;
    }
    e.waiters.push_back(std::move(done));
    if (!e.getInFlight) startGet(e);
  }

  const PeerRecord& self() const { return self_; }

  std::vector<PeerRecord> known() const {
    std::vector<PeerRecord> out;
    for (const auto& [node, e] : entries_) {
      if (e.record) out.push_back(*e.record);
    }
    return out;
  }

  PeerDirectoryStats stats() const {
    return PeerDirectoryStats{entries_.size(), published_, self_.sequence};
  }

 private:
  PeerPublication published() const {
    return PeerPublication{self_.endpoints, self_.capabilities, self_.reachability,
                           self_.reflexiveAddress, self_.rendezvous};
  }

  struct Entry {
    identity::NodeId node;
    std::optional<PeerRecord> record;
    std::size_t seenHash = 0;  // of the bytes last verified: the same value is not checked twice
    bool seen = false;
    bool loaded = false;
    bool getInFlight = false;
    TimePoint loadedAt{};
    TimePoint lastUsed{};
    dht::ListenToken listen = 0;
    TimerId timeout = kNoTimer;
    TimerId retry = kNoTimer;
    bool secondChance = false;  // the empty get is being asked again (missRetry)
    // The listen delivered the record since the last get answer: the next answer may predate it
    // (a get settles for a while), so an empty one must not drop it.
    bool listened = false;
    std::uint64_t generation = 0;
    std::vector<FindCallback> waiters;
  };

  void put() {
    const auto now = wallClock_();
    self_.expiresAt = std::chrono::duration_cast<std::chrono::seconds>(
                          (now + config_.recordLifetime).time_since_epoch())
                          .count();
    self_.sequence = std::max<std::uint64_t>(
        self_.sequence + 1,
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()));
    timers_.cancel(refreshTimer_);
    auto sealed = sealPeerRecord(identity_, self_);
    if (!sealed) {
      putFailures_.inc();
      logger_.error("cannot sign our peer record: {}", sealed.error().detail);
      scheduleRefresh(config_.retryInterval);
      return;
    }
    publishes_.inc();
    std::weak_ptr<Impl*> alive = alive_;
    const std::uint64_t sequence = self_.sequence;
    dht_.put(dht::LookupKey{dht::Namespace::Peer, self_.node.toHex()},
             dht::StoredValue{peerRecordValueId(self_.node), std::move(*sealed)},
             config_.recordLifetime, [alive, sequence](Result<void> r) {
               if (auto self = alive.lock()) (*self)->onPut(sequence, r);
             });
    scheduleRefresh(
        std::chrono::duration_cast<Duration>(config_.recordLifetime * config_.refreshFraction));
  }

  void onPut(std::uint64_t sequence, const Result<void>& r) {
    if (withdrawn_ || sequence != self_.sequence) return;
    published_ = r.has_value();
    if (r) {
      logger_.debug("peer record {} stored (sequence {})", self_.node.shortHex(), sequence);
      return;
    }
    putFailures_.inc();
    logger_.info("our peer record was not stored: {}; retrying", r.error().detail);
    scheduleRefresh(config_.retryInterval);
  }

  void scheduleRefresh(Duration delay) {
    timers_.cancel(refreshTimer_);
    refreshTimer_ = timers_.schedule(delay, [this] {
      refreshTimer_ = kNoTimer;
      if (!withdrawn_) put();
    });
  }

  void evictIfFull(const identity::NodeId& keep) {
    while (entries_.size() > config_.maxCachedPeers) {
      auto victim = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->first == keep || !it->second.waiters.empty()) continue;
        if (victim == entries_.end() || it->second.lastUsed < victim->second.lastUsed) victim = it;
      }
      if (victim == entries_.end()) return;
      timers_.cancel(victim->second.timeout);
      timers_.cancel(victim->second.retry);
      if (victim->second.listen != 0) dht_.cancelListen(victim->second.listen);
      entries_.erase(victim);
    }
  }

  void startListen(Entry& e) {
    std::weak_ptr<Impl*> alive = alive_;
    const identity::NodeId node = e.node;
    e.listen =
        dht_.listen(dht::LookupKey{dht::Namespace::Peer, node.toHex()},
                    [alive, node](const std::vector<dht::StoredValue>& values, bool expired) {
                      if (auto self = alive.lock()) (*self)->onListen(node, values, expired);
                    });
  }

  void onListen(const identity::NodeId& node, const std::vector<dht::StoredValue>& values,
                bool expired) {
    auto it = entries_.find(node);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    for (const auto& v : values) {
      if (v.id != peerRecordValueId(node)) continue;
      if (expired) {
        e.record.reset();
        e.seen = false;
        e.listened = false;
        continue;
      }
      accept(e, v);
      e.listened = e.record.has_value();
    }
  }

  void accept(Entry& e, const dht::StoredValue& value) {
    const std::size_t hash = std::hash<std::string>{}(value.data);
    if (e.seen && e.seenHash == hash) return;
    e.seen = true;
    e.seenHash = hash;
    auto record = openPeerRecord(value.data);
    if (!record) {
      refused_.inc();
      logger_.info("overlay: ignoring a peer record under {}: {}", e.node.shortHex(),
                   record.error().detail);
      return;
    }
    if (record->node != e.node) {
      refused_.inc();
      logger_.info("overlay: ignoring the record of {} stored under {}", record->node.shortHex(),
                   e.node.shortHex());
      return;
    }
    if (!e.record || e.record->sequence < record->sequence) e.record = std::move(*record);
  }

  void startGet(Entry& e) {
    e.getInFlight = true;
    const std::uint64_t generation = ++e.generation;
    const identity::NodeId node = e.node;
    e.timeout = timers_.schedule(config_.lookupTimeout, [this, node, generation] {
      auto it = entries_.find(node);
      if (it == entries_.end() || it->second.generation != generation) return;
      it->second.timeout = kNoTimer;
      it->second.getInFlight = false;
      lookupFailures_.inc();
      auto waiters = std::move(it->second.waiters);
      it->second.waiters.clear();
      for (auto& w : waiters) {
        w(makeError(ErrorCode::Timeout,
                    "overlay lookup of peer " + node.shortHex() + " timed out"));
      }
    });
    std::weak_ptr<Impl*> alive = alive_;
    dht_.get(dht::LookupKey{dht::Namespace::Peer, node.toHex()},
             [alive, node, generation](Result<std::vector<dht::StoredValue>> values) {
               if (auto self = alive.lock()) (*self)->onGet(node, generation, std::move(values));
             });
  }

  void onGet(const identity::NodeId& node, std::uint64_t generation,
             Result<std::vector<dht::StoredValue>> values) {
    auto it = entries_.find(node);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    if (e.generation == generation) {
      timers_.cancel(e.timeout);
      e.timeout = kNoTimer;
      e.getInFlight = false;
    }
    auto waiters = std::move(e.waiters);
    e.waiters.clear();
    if (!values) {
      lookupFailures_.inc();
      for (auto& w : waiters) w(tl::unexpected(values.error()));
      return;
    }
    bool present = e.listened;
    e.listened = false;
    for (const auto& v : *values) {
      if (v.id != peerRecordValueId(node)) continue;
      present = true;
      accept(e, v);
    }
    if (!present) {
      e.record.reset();
      e.seen = false;
      if (!e.secondChance && !waiters.empty() && config_.missRetry > Duration::zero()) {
        e.secondChance = true;
        e.waiters = std::move(waiters);
        e.getInFlight = true;  // concurrent finds wait for the second answer
        e.retry = timers_.schedule(config_.missRetry, [this, node] {
          auto found = entries_.find(node);
          if (found == entries_.end()) return;
          found->second.retry = kNoTimer;
          startGet(found->second);
        });
        return;
      }
    }
    e.secondChance = false;
    e.loaded = true;
    e.loadedAt = timers_.now();
    for (auto& w : waiters) answer(e, std::move(w));
  }

  void answer(const Entry& e, FindCallback done) {
    if (!e.record || e.record->expired(wallClock_())) {
      done(makeError(ErrorCode::NotFound, "no record of peer " + e.node.shortHex()));
      return;
    }
    done(*e.record);
  }

  PeerDirectoryConfig config_;
  dht::LookupService& dht_;
  const identity::NodeIdentity& identity_;
  TimerService& timers_;
  WallClock wallClock_;
  Logger logger_;
  Counter& publishes_;
  Counter& putFailures_;
  Counter& refused_;
  Counter& lookups_;
  Counter& lookupFailures_;
  PeerRecord self_;
  bool published_ = false;
  bool started_ = false;  // publish() was called
  bool withdrawn_ = false;
  TimerId refreshTimer_ = kNoTimer;
  std::map<identity::NodeId, Entry> entries_;
  std::shared_ptr<Impl*> alive_;
};

PeerDirectory::PeerDirectory(const PeerDirectoryConfig& config, dht::LookupService& dht,
                             const identity::NodeIdentity& self, TimerService& timers,
                             WallClock wallClock, MetricsRegistry& metrics, Logger logger)
    : impl_(std::make_unique<Impl>(config, dht, self, timers, wallClock, metrics,
                                   std::move(logger))) {}
PeerDirectory::~PeerDirectory() = default;
Result<void> PeerDirectory::publish(PeerPublication publication) {
  return impl_->publish(std::move(publication));
}
Result<void> PeerDirectory::publish(std::vector<PeerEndpoint> endpoints,
                                    std::uint32_t capabilities) {
  PeerPublication publication;
  publication.endpoints = std::move(endpoints);
  publication.capabilities = capabilities;
  return impl_->publish(std::move(publication));
}
void PeerDirectory::withdraw(Duration timeout, std::function<void()> done) {
  impl_->withdraw(timeout, std::move(done));
}
void PeerDirectory::find(const identity::NodeId& node, FindCallback done) {
  impl_->find(node, std::move(done));
}
const PeerRecord& PeerDirectory::self() const {
  return impl_->self();
}
std::vector<PeerRecord> PeerDirectory::known() const {
  return impl_->known();
}
PeerDirectoryStats PeerDirectory::stats() const {
  return impl_->stats();
}

}  // namespace p2psip::overlay
