// SPDX-License-Identifier: Apache-2.0
#include "p2psip/overlay/relay_directory.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <stdexcept>

namespace p2psip::overlay {

Result<void> validate(const RelayDirectoryConfig& config) {
  if (config.recordLifetime < std::chrono::seconds(10)) {
    return makeError(ErrorCode::InvalidArgument, "relay record lifetime must be at least 10 s");
  }
  if (!(config.refreshFraction > 0.1 && config.refreshFraction < 0.95)) {
    return makeError(ErrorCode::InvalidArgument,
                     "relay record refresh fraction must be between 0.1 and 0.95");
  }
  if (config.retryInterval <= Duration::zero() || config.lookupTimeout <= Duration::zero() ||
      config.findTimeout <= Duration::zero() || config.capacityUpdateInterval < Duration::zero()) {
    return makeError(ErrorCode::InvalidArgument, "relay directory intervals must be positive");
  }
  if (config.maxValuesPerBucket == 0 || config.maxPendingFinds == 0) {
    return makeError(ErrorCode::InvalidArgument,
                     "relay directory must read at least one value and run at least one find");
  }
  return {};
}

class RelayDirectory::Impl {
 public:
  Impl(const RelayDirectoryConfig& config, dht::LookupService& dht,
       const identity::NodeIdentity& self, TimerService& timers, WallClock wallClock,
       MetricsRegistry& metrics, Logger logger)
      : config_(config),
        dht_(dht),
        identity_(self),
        timers_(timers),
        wallClock_(wallClock),
        logger_(std::move(logger)),
        puts_(metrics.counter("p2psip_overlay_relay_record_puts_total")),
        putFailures_(metrics.counter("p2psip_overlay_relay_record_put_failures_total")),
        refused_(metrics.counter("p2psip_overlay_relay_records_refused_total")),
        lookups_(metrics.counter("p2psip_overlay_relay_lookups_total")),
        bucketGets_(metrics.counter("p2psip_overlay_relay_bucket_gets_total")),
        bucketGetFailures_(metrics.counter("p2psip_overlay_relay_bucket_gets_failed_total")),
        random_(std::random_device{}()),
        alive_(std::make_shared<Impl*>(this)) {
    if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().detail);
    self_.node = identity_.nodeId();
  }

  ~Impl() {
    timers_.cancel(refreshTimer_);
    timers_.cancel(capacityTimer_);
    for (auto& [id, f] : finds_) {
      timers_.cancel(f.getTimeout);
      timers_.cancel(f.deadline);
    }
  }

  Result<void> publish(RelayOffer offer) {
    if (offering_ && offer == offer_) return {};
    const bool onlyCapacity =
        offering_ && offer.peerLink == offer_.peerLink && offer.mediaAddress == offer_.mediaAddress;
    RelayRecord candidate = self_;
    candidate.peerLink = offer.peerLink;
    candidate.mediaAddress = offer.mediaAddress;
    if (auto ok = checkRelayRecord(candidate); !ok) {
      logger_.error("overlay: not offering relaying: {}", ok.error().detail);
      return ok;
    }
    if (onlyCapacity) {
      updateCapacity(offer.capacity);
      return {};
    }
    offer_ = offer;
    offering_ = true;
    put();
    return {};
  }

  void updateCapacity(std::uint32_t capacity) {
    offer_.capacity = capacity;
    if (!offering_) return;
    if (capacity == self_.capacity) {
      // Back to what the DHT holds: nothing to send.
      timers_.cancel(capacityTimer_);
      capacityTimer_ = kNoTimer;
      return;
    }
    const bool crossesZero = (capacity == 0) != (self_.capacity == 0);
    const Duration sinceLastPut = timers_.now() - lastPut_;
    if (crossesZero || sinceLastPut >= config_.capacityUpdateInterval) {
      put();
      return;
    }
    if (capacityTimer_ != kNoTimer) return;  // the pending update will carry the latest value
    capacityTimer_ = timers_.schedule(config_.capacityUpdateInterval - sinceLastPut, [this] {
      capacityTimer_ = kNoTimer;
      if (offering_ && offer_.capacity != self_.capacity) put();
    });
  }

  void withdraw(Duration timeout, std::function<void()> done) {
    offering_ = false;
    timers_.cancel(refreshTimer_);
    timers_.cancel(capacityTimer_);
    refreshTimer_ = kNoTimer;
    capacityTimer_ = kNoTimer;
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    auto finishOnce = [finished] {
      if (*finished) {
        auto fn = std::move(*finished);
        *finished = nullptr;
        fn();
      }
    };
    timers_.schedule(timeout, finishOnce);
    dht_.remove(relayBucketKey(relayBucketOf(self_.node)), relayRecordValueId(self_.node),
                [finishOnce](Result<void>) { finishOnce(); });
  }

  void findRelays(std::size_t wanted, const identity::NodeId& excluding, FindCallback done) {
    lookups_.inc();
    if (wanted == 0) {
      done(std::vector<RelayRecord>{});
      return;
    }
    if (finds_.size() >= config_.maxPendingFinds) {
      done(makeError(ErrorCode::LimitExceeded,
                     std::to_string(finds_.size()) + " relay lookups are already running"));
      return;
    }
    const std::uint64_t id = ++nextFind_;
    Find& f = finds_[id];
    f.wanted = wanted;
    f.excluding = excluding;
    f.start = std::uniform_int_distribution<std::size_t>(0, kRelayBuckets - 1)(random_);
    f.done = std::move(done);
    f.deadline = timers_.schedule(config_.findTimeout, [this, id] {
      auto it = finds_.find(id);
      if (it == finds_.end()) return;
      it->second.deadline = kNoTimer;
      if (!it->second.lastError) {
        it->second.lastError = Error{ErrorCode::Timeout, "relay lookup timed out"};
      }
      finish(it);
    });
    askNext(id);
  }

  const RelayRecord& self() const { return self_; }

  RelayDirectoryStats stats() const {
    return RelayDirectoryStats{offering_, published_, self_.sequence, self_.capacity,
                               finds_.size()};
  }

 private:
  struct Find {
    std::size_t wanted = 0;
    identity::NodeId excluding;
    std::size_t start = 0;
    std::size_t asked = 0;     // buckets asked so far
    std::size_t answered = 0;  // of which answered (possibly with nothing)
    std::uint64_t generation = 0;
    TimerId getTimeout = kNoTimer;
    TimerId deadline = kNoTimer;
    std::optional<Error> lastError;
    // Usable records by relay: at most maxValuesPerBucket per bucket asked.
    std::map<identity::NodeId, RelayRecord> found;
    FindCallback done;
  };
  using FindIt = std::map<std::uint64_t, Find>::iterator;

  void put() {
    const auto now = wallClock_();
    RelayRecord next = self_;
    next.peerLink = offer_.peerLink;
    next.mediaAddress = offer_.mediaAddress;
    next.capacity = offer_.capacity;
    next.expiresAt = std::chrono::duration_cast<std::chrono::seconds>(
                         (now + config_.recordLifetime).time_since_epoch())
                         .count();
    // Milliseconds since the epoch, so a restarted relay's record still supersedes its last one.
    next.sequence = std::max<std::uint64_t>(
        self_.sequence + 1,
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()));
    timers_.cancel(refreshTimer_);
    timers_.cancel(capacityTimer_);
    refreshTimer_ = kNoTimer;
    capacityTimer_ = kNoTimer;
    auto sealed = sealRelayRecord(identity_, next);
    if (!sealed) {
      putFailures_.inc();
      logger_.error("cannot sign our relay record: {}", sealed.error().detail);
      scheduleRefresh(config_.retryInterval);
      return;
    }
    self_ = std::move(next);
    lastPut_ = timers_.now();
    puts_.inc();
    std::weak_ptr<Impl*> alive = alive_;
    const std::uint64_t sequence = self_.sequence;
    dht_.put(relayBucketKey(relayBucketOf(self_.node)),
             dht::StoredValue{relayRecordValueId(self_.node), std::move(*sealed)},
             config_.recordLifetime, [alive, sequence](Result<void> r) {
               if (auto self = alive.lock()) (*self)->onPut(sequence, r);
             });
    scheduleRefresh(
        std::chrono::duration_cast<Duration>(config_.recordLifetime * config_.refreshFraction));
  }

  void onPut(std::uint64_t sequence, const Result<void>& r) {
    if (!offering_ || sequence != self_.sequence) return;
    published_ = r.has_value();
    if (r) {
      logger_.debug("relay record {} stored (sequence {}, capacity {})", self_.node.shortHex(),
                    sequence, self_.capacity);
      return;
    }
    putFailures_.inc();
    logger_.info("our relay record was not stored: {}; retrying", r.error().detail);
    scheduleRefresh(config_.retryInterval);
  }

  void scheduleRefresh(Duration delay) {
    timers_.cancel(refreshTimer_);
    refreshTimer_ = timers_.schedule(delay, [this] {
      refreshTimer_ = kNoTimer;
      if (offering_) put();
    });
  }

  // Asks the next bucket, or answers when enough were found or every bucket was asked.
  void askNext(std::uint64_t id) {
    auto it = finds_.find(id);
    if (it == finds_.end()) return;
    Find& f = it->second;
    if (f.found.size() >= f.wanted || f.asked == kRelayBuckets) {
      finish(it);
      return;
    }
    const std::size_t bucket = (f.start + f.asked) % kRelayBuckets;
    ++f.asked;
    const std::uint64_t generation = ++f.generation;
    bucketGets_.inc();
    f.getTimeout = timers_.schedule(config_.lookupTimeout, [this, id, generation, bucket] {
      auto found = finds_.find(id);
      if (found == finds_.end() || found->second.generation != generation) return;
      found->second.getTimeout = kNoTimer;
      ++found->second.generation;  // its late answer is ignored
      bucketGetFailures_.inc();
      found->second.lastError =
          Error{ErrorCode::Timeout, "relay bucket " + std::to_string(bucket) + " timed out"};
      askNext(id);
    });
    std::weak_ptr<Impl*> alive = alive_;
    dht_.get(relayBucketKey(bucket),
             [alive, id, generation, bucket](Result<std::vector<dht::StoredValue>> values) {
               if (auto self = alive.lock()) {
                 (*self)->onGet(id, generation, bucket, std::move(values));
               }
             });
  }

  void onGet(std::uint64_t id, std::uint64_t generation, std::size_t bucket,
             Result<std::vector<dht::StoredValue>> values) {
    auto it = finds_.find(id);
    if (it == finds_.end() || it->second.generation != generation) return;
    Find& f = it->second;
    timers_.cancel(f.getTimeout);
    f.getTimeout = kNoTimer;
    if (!values) {
      bucketGetFailures_.inc();
      logger_.info("overlay: relay bucket {} could not be read: {}", bucket, values.error().detail);
      f.lastError = values.error();
      askNext(id);
      return;
    }
    ++f.answered;
    const WallTime now = wallClock_();
    const std::size_t limit = std::min(values->size(), config_.maxValuesPerBucket);
    if (values->size() > limit) {
      logger_.info("overlay: relay bucket {} holds {} values; reading the first {}", bucket,
                   values->size(), limit);
    }
    for (std::size_t i = 0; i < limit; ++i) accept(f, bucket, (*values)[i], now);
    askNext(id);
  }

  // Verifies one value of `bucket` and keeps it if it is usable and the newest of its relay.
  void accept(Find& f, std::size_t bucket, const dht::StoredValue& value, WallTime now) {
    auto record = openRelayRecord(value.data);
    if (!record) {
      refused_.inc();
      logger_.info("overlay: ignoring a value in relay bucket {}: {}", bucket,
                   record.error().detail);
      return;
    }
    if (relayBucketOf(record->node) != bucket || relayRecordValueId(record->node) != value.id) {
      // A genuine record copied to another bucket or id: a replay, never used.
      refused_.inc();
      logger_.info("overlay: ignoring the relay record of {} copied into bucket {}",
                   record->node.shortHex(), bucket);
      return;
    }
    if (record->expired(now)) {
      // The DHT drops a value when its lifetime (the record's) ends: an expired record is an old
      // one put again, or a relay whose clock is wrong. Either way it is not an offer.
      refused_.inc();
      logger_.info("overlay: ignoring the expired relay record of {}", record->node.shortHex());
      return;
    }
    if (record->node == f.excluding || record->capacity == 0) return;
    auto [slot, inserted] = f.found.try_emplace(record->node, *record);
    if (!inserted && slot->second.sequence < record->sequence) slot->second = std::move(*record);
  }

  void finish(FindIt it) {
    Find f = std::move(it->second);
    finds_.erase(it);
    timers_.cancel(f.getTimeout);
    timers_.cancel(f.deadline);
    std::vector<RelayRecord> relays;
    relays.reserve(f.found.size());
    for (auto& [node, r] : f.found) relays.push_back(std::move(r));
    // Largest capacity first; among equals the map's NodeId order, which is as good as random
    // since NodeIds are hashes.
    std::stable_sort(relays.begin(), relays.end(), [](const RelayRecord& a, const RelayRecord& b) {
      return a.capacity > b.capacity;
    });
    if (relays.size() > f.wanted) relays.resize(f.wanted);
    if (!relays.empty()) {
      f.done(std::move(relays));
      return;
    }
    if (f.answered == 0 && f.lastError) {
      f.done(tl::unexpected(*f.lastError));
      return;
    }
    f.done(makeError(ErrorCode::NotFound, "no relay with free capacity in " +
                                              std::to_string(f.answered) + " of " +
                                              std::to_string(kRelayBuckets) + " relay buckets"));
  }

  RelayDirectoryConfig config_;
  dht::LookupService& dht_;
  const identity::NodeIdentity& identity_;
  TimerService& timers_;
  WallClock wallClock_;
  Logger logger_;
  Counter& puts_;
  Counter& putFailures_;
  Counter& refused_;
  Counter& lookups_;
  Counter& bucketGets_;
  Counter& bucketGetFailures_;
  RelayOffer offer_;  // what we want published
  RelayRecord self_;  // what we last put
  bool offering_ = false;
  bool published_ = false;
  TimePoint lastPut_{};
  TimerId refreshTimer_ = kNoTimer;
  TimerId capacityTimer_ = kNoTimer;
  std::map<std::uint64_t, Find> finds_;
  std::uint64_t nextFind_ = 0;
  std::minstd_rand random_;  // only picks the first bucket of a find
  std::shared_ptr<Impl*> alive_;
};

RelayDirectory::RelayDirectory(const RelayDirectoryConfig& config, dht::LookupService& dht,
                               const identity::NodeIdentity& self, TimerService& timers,
                               WallClock wallClock, MetricsRegistry& metrics, Logger logger)
    : impl_(std::make_unique<Impl>(config, dht, self, timers, wallClock, metrics,
                                   std::move(logger))) {}
RelayDirectory::~RelayDirectory() = default;
Result<void> RelayDirectory::publish(RelayOffer offer) {
  return impl_->publish(std::move(offer));
}
void RelayDirectory::updateCapacity(std::uint32_t capacity) {
  impl_->updateCapacity(capacity);
}
void RelayDirectory::withdraw(Duration timeout, std::function<void()> done) {
  impl_->withdraw(timeout, std::move(done));
}
void RelayDirectory::findRelays(std::size_t wanted, const identity::NodeId& excluding,
                                FindCallback done) {
  impl_->findRelays(wanted, excluding, std::move(done));
}
const RelayRecord& RelayDirectory::self() const {
  return impl_->self();
}
RelayDirectoryStats RelayDirectory::stats() const {
  return impl_->stats();
}

}  // namespace p2psip::overlay
