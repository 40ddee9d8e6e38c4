// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/user_record_publisher.h"

#include <algorithm>
#include <unordered_map>

#include "p2psip/location/user_record.h"

namespace p2psip::location {

Result<void> validate(const UserRecordPublisherConfig& config) {
  if (config.recordLifetime < std::chrono::seconds(10)) {
    return makeError(ErrorCode::InvalidArgument, "user record lifetime must be at least 10 s");
  }
  if (!(config.refreshFraction > 0.1 && config.refreshFraction < 0.95)) {
    return makeError(ErrorCode::InvalidArgument,
                     "user record refresh fraction must be between 0.1 and 0.95");
  }
  if (config.maxPutsInFlight == 0) {
    return makeError(ErrorCode::InvalidArgument, "user record puts in flight must be at least 1");
  }
  if (config.retryInterval <= Duration::zero()) {
    return makeError(ErrorCode::InvalidArgument, "user record retry interval must be positive");
  }
  return {};
}

class UserRecordPublisher::Impl {
 public:
  Impl(const UserRecordPublisherConfig& config, dht::LookupService& dht,
       const identity::NodeIdentity& self, identity::RecordSigner& signer, TimerService& timers,
       WallClock wallClock, MetricsRegistry& metrics, Logger logger)
      : config_(config),
        dht_(dht),
        self_(self),
        signer_(signer),
        timers_(timers),
        wallClock_(wallClock),
        logger_(std::move(logger)),
        published_(metrics.counter("p2psip_overlay_user_records_published_total")),
        refreshed_(metrics.counter("p2psip_overlay_user_records_refreshed_total")),
        withdrawn_(metrics.counter("p2psip_overlay_user_records_withdrawn_total")),
        putFailures_(metrics.counter("p2psip_overlay_user_record_put_failures_total")),
        active_(metrics.gauge("p2psip_overlay_user_records")),
        heldGauge_(metrics.gauge("p2psip_overlay_user_records_held")),
        alive_(std::make_shared<Impl*>(this)) {
    if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().detail);
  }

  ~Impl() {
    for (auto& [aor, entry] : entries_) timers_.cancel(entry.timer);
    timers_.cancel(publishTimer_);
    active_.add(-static_cast<std::int64_t>(entries_.size()));
    heldGauge_.add(-static_cast<std::int64_t>(held_));
  }

  void onAor(std::string_view aor, bool bound) {
    if (shuttingDown_) return;
    if (bound) {
      auto [it, inserted] = entries_.try_emplace(std::string(aor));
      if (!inserted) return;
      active_.add(1);
      if (!dht_.connected() || inFlight_ >= config_.maxPutsInFlight) {
        // No other peer could read the record: signing it, and keeping it and a refresh timer for
        // it, would buy nothing until one is reachable. Published then (onConnected()). A lone
        // peer's own proxy finds its users in the binding store, never through the overlay.
        // Likewise while maxPutsInFlight puts wait for the DHT (a burst of first registrations):
        // OpenDHT's one thread would queue them without bound; they follow as puts complete.
        it->second.held = true;
        setHeld(held_ + 1);
        return;
      }
      published_.inc();
      put(it->first, it->second);
    } else {
      auto it = entries_.find(std::string(aor));
      if (it == entries_.end()) return;
      const bool wasHeld = it->second.held;
      timers_.cancel(it->second.timer);
      entries_.erase(it);
      active_.add(-1);
      if (wasHeld) {
        setHeld(held_ - 1);  // never published: nothing to withdraw
        return;
      }
      withdraw(std::string(aor), [] {});
    }
  }

  void onConnected(bool connected) {
    if (!connected || shuttingDown_ || held_ == 0) return;
    logger_.info("the overlay is reachable: publishing {} held user records", held_);
    schedulePublishing();
  }

  void withdrawAll(Duration timeout, std::function<void()> done) {
    shuttingDown_ = true;
    auto pending = std::make_shared<std::size_t>(entries_.size());
    auto finished = std::make_shared<std::function<void()>>(std::move(done));
    auto finishOnce = [finished] {
      if (*finished) {
        auto fn = std::move(*finished);
        *finished = nullptr;
        fn();
      }
    };
    if (entries_.empty()) {
      finishOnce();
      return;
    }
    std::vector<std::string> aors;
    aors.reserve(entries_.size() - held_);
    for (auto& [aor, entry] : entries_) {
      timers_.cancel(entry.timer);
      if (!entry.held) aors.push_back(aor);  // a held record was never published
    }
    timers_.cancel(publishTimer_);
    publishTimer_ = kNoTimer;
    active_.add(-static_cast<std::int64_t>(entries_.size()));
    entries_.clear();
    setHeld(0);
    *pending = aors.size();
    if (aors.empty()) {
      finishOnce();
      return;
    }
    logger_.info("withdrawing {} user records from the overlay", aors.size());
    timers_.schedule(timeout, finishOnce);
    for (auto& aor : aors) {
      withdraw(std::move(aor), [pending, finishOnce] {
        if (--*pending == 0) finishOnce();
      });
    }
  }

  std::size_t size() const { return entries_.size(); }
  std::size_t held() const { return held_; }
  std::weak_ptr<Impl*> aliveToken() const { return alive_; }

  std::vector<PublishedUser> snapshot(std::size_t limit) const {
    std::vector<PublishedUser> out;
    for (const auto& [aor, e] : entries_) {
      if (out.size() >= limit) break;
      out.push_back(PublishedUser{aor, e.sequence, e.stored, e.nextRefresh});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.aor < b.aor; });
    return out;
  }

 private:
  struct Entry {
    std::uint64_t sequence = 0;
    bool stored = false;
    bool held = false;          // not published yet: no overlay, or too many puts in flight
    std::uint8_t failures = 0;  // puts failed in a row: the retry backs off (retryDelay())
    TimerId timer = kNoTimer;
    TimePoint nextRefresh{};
  };

  // A put has been answered (or dropped): room for a held record, if any wait for it.
  void putFinished() {
    --inFlight_;
    schedulePublishing();
  }

  // The next publishSome() on the next loop turn, if records are held and could go now.
  void schedulePublishing() {
    if (held_ == 0 || publishTimer_ != kNoTimer || shuttingDown_ ||
        inFlight_ >= config_.maxPutsInFlight || !dht_.connected())
      return;
    publishTimer_ = timers_.schedule(Duration::zero(), [this] { publishSome(); });
  }

  void setHeld(std::size_t held) {
    heldGauge_.add(static_cast<std::int64_t>(held) - static_cast<std::int64_t>(held_));
    held_ = held;
  }

  // Publishes held records a slice per loop turn, so that a peer holding a million users keeps
  // answering SIP while it joins an overlay. Walks the buckets of entries_; a rehash in between
  // (new users) starts the walk again, and the walk repeats until nothing is held.
  void publishSome() {
    publishTimer_ = kNoTimer;
    // Not connected: onConnected() resumes. No room: putFinished() does.
    if (shuttingDown_ || held_ == 0 || !dht_.connected() || inFlight_ >= config_.maxPutsInFlight)
      return;
    constexpr std::size_t kSlice = 256;
    if (walkBuckets_ != entries_.bucket_count()) {
      walkBuckets_ = entries_.bucket_count();
      nextBucket_ = 0;
    }
    std::size_t n = 0;
    const std::size_t budget = std::min(kSlice, config_.maxPutsInFlight - inFlight_);
    for (; nextBucket_ < walkBuckets_ && n < budget; ++nextBucket_) {
      for (auto it = entries_.begin(nextBucket_); it != entries_.end(nextBucket_); ++it) {
        if (!it->second.held) continue;
        it->second.held = false;
        setHeld(held_ - 1);
        published_.inc();
        put(it->first, it->second);
        ++n;
      }
    }
    if (nextBucket_ >= walkBuckets_) nextBucket_ = 0;
    schedulePublishing();
  }

  std::uint64_t nextSequence(const Entry& e) const {
    // Milliseconds of wall time: grows across restarts, so readers keep our newest value.
    const auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(wallClock_().time_since_epoch())
            .count());
    return std::max(e.sequence + 1, ms);
  }

  void put(const std::string& aor, Entry& e) {
    UserRecord record;
    record.aor = aor;
    record.servedBy = self_.nodeId();
    record.expiresAt = std::chrono::duration_cast<std::chrono::seconds>(
                           (wallClock_() + config_.recordLifetime).time_since_epoch())
                           .count();
    record.sequence = nextSequence(e);
    e.sequence = record.sequence;
    const auto refresh =
        std::chrono::duration_cast<Duration>(config_.recordLifetime * config_.refreshFraction);
    schedule(aor, e, refresh);
    auto body = userRecordBody(record);
    if (!body) {
      putFailures_.inc();
      logger_.warn("cannot encode the user record of {}: {}", aor, body.error().detail);
      return;
    }
    const std::uint64_t sequence = record.sequence;
    std::weak_ptr<Impl*> alive = alive_;
    ++inFlight_;  // until onSealed() drops it or onPut() hears back
    signer_.seal(identity::RecordKind::User, std::move(*body),
                 [alive, aor, sequence](Result<std::string> sealed) {
                   if (auto self = alive.lock())
                     (*self)->onSealed(aor, sequence, std::move(sealed));
                 });
  }

  void onSealed(const std::string& aor, std::uint64_t sequence, Result<std::string> sealed) {
    auto it = entries_.find(aor);
    // Withdrawn while it was being signed, or a newer version is on its way: drop this one.
    if (it == entries_.end() || it->second.sequence != sequence) {
      putFinished();
      return;
    }
    if (!sealed) {
      putFinished();
      putFailures_.inc();
      logger_.warn("cannot sign the user record of {}: {}", aor, sealed.error().detail);
      schedule(aor, it->second, retryDelay(it->second));
      return;
    }
    std::weak_ptr<Impl*> alive = alive_;
    dht_.put(dht::LookupKey{dht::Namespace::User, aor},
             dht::StoredValue{userRecordValueId(self_.nodeId()), std::move(*sealed)},
             config_.recordLifetime, [alive, aor, sequence](Result<void> result) {
               if (auto self = alive.lock()) (*self)->onPut(aor, sequence, result);
             });
  }

  void onPut(const std::string& aor, std::uint64_t sequence, const Result<void>& result) {
    putFinished();
    auto it = entries_.find(aor);
    if (it == entries_.end() || it->second.sequence != sequence) return;  // withdrawn or newer
    Entry& e = it->second;
    e.stored = result.has_value();
    if (result) {
      e.failures = 0;
      logger_.debug("user record of {} stored (sequence {})", aor, sequence);
      return;
    }
    putFailures_.inc();
    const Duration delay = retryDelay(e);
    logger_.info("user record of {} not stored: {}; retrying in {} s", aor, result.error().detail,
                 std::chrono::duration_cast<std::chrono::seconds>(delay).count());
    schedule(aor, e, delay);
  }

  // retryInterval, doubled with each failure in a row up to 32 times it: when the DHT fails every
  // put (a neighbour overloaded, or gone), retrying all users every two seconds only adds load.
  Duration retryDelay(Entry& e) {
    if (e.failures < 6) ++e.failures;
    return config_.retryInterval * (1 << e.failures) / 2;
  }

  void schedule(const std::string& aor, Entry& e, Duration delay) {
    timers_.cancel(e.timer);
    e.nextRefresh = timers_.now() + delay;
    e.timer = timers_.schedule(delay, [this, aor] {
      auto it = entries_.find(aor);
      if (it == entries_.end()) return;
      it->second.timer = kNoTimer;
      refreshed_.inc();
      put(it->first, it->second);
    });
  }

  void withdraw(std::string aor, std::function<void()> done) {
    withdrawn_.inc();
    logger_.debug("withdrawing the user record of {}", aor);
    dht_.remove(dht::LookupKey{dht::Namespace::User, std::move(aor)},
                userRecordValueId(self_.nodeId()),
                [done = std::move(done)](Result<void>) { done(); });
  }

  UserRecordPublisherConfig config_;
  dht::LookupService& dht_;
  const identity::NodeIdentity& self_;
  identity::RecordSigner& signer_;
  TimerService& timers_;
  WallClock wallClock_;
  Logger logger_;
  Counter& published_;
  Counter& refreshed_;
  Counter& withdrawn_;
  Counter& putFailures_;
  Gauge& active_;
  Gauge& heldGauge_;
  std::unordered_map<std::string, Entry> entries_;
  std::size_t held_ = 0;      // entries with `held`
  std::size_t inFlight_ = 0;  // puts signed or put, not answered yet
  TimerId publishTimer_ = kNoTimer;
  std::size_t walkBuckets_ = 0;  // publishSome()'s walk: the bucket count it started with
  std::size_t nextBucket_ = 0;
  bool shuttingDown_ = false;
  std::shared_ptr<Impl*> alive_;
};

UserRecordPublisher::UserRecordPublisher(const UserRecordPublisherConfig& config,
                                         BindingStore& store, dht::LookupService& dht,
                                         const identity::NodeIdentity& self,
                                         identity::RecordSigner& signer, TimerService& timers,
                                         WallClock wallClock, MetricsRegistry& metrics,
                                         Logger logger)
    : impl_(std::make_unique<Impl>(config, dht, self, signer, timers, wallClock, metrics,
                                   std::move(logger))) {
  // The store may outlive us: the observer holds only a weak reference.
  std::weak_ptr<Impl*> alive = impl_->aliveToken();
  store.addObserver([alive](std::string_view aor, bool bound) {
    if (auto impl = alive.lock()) (*impl)->onAor(aor, bound);
  });
  dht.watchConnected([alive](bool connected) {
    if (auto impl = alive.lock()) (*impl)->onConnected(connected);
  });
}
UserRecordPublisher::~UserRecordPublisher() = default;
void UserRecordPublisher::withdrawAll(Duration timeout, std::function<void()> done) {
  impl_->withdrawAll(timeout, std::move(done));
}
std::size_t UserRecordPublisher::size() const {
  return impl_->size();
}
std::size_t UserRecordPublisher::held() const {
  return impl_->held();
}
std::vector<PublishedUser> UserRecordPublisher::snapshot(std::size_t limit) const {
  return impl_->snapshot(limit);
}

}  // namespace p2psip::location
