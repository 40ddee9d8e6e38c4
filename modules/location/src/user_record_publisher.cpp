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
        alive_(std::make_shared<Impl*>(this)) {
    if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().detail);
  }

  ~Impl() {
    for (auto& [aor, entry] : entries_) timers_.cancel(entry.timer);
    active_.add(-static_cast<std::int64_t>(entries_.size()));
  }

  void onAor(std::string_view aor, bool bound) {
    if (shuttingDown_) return;
    if (bound) {
      auto [it, inserted] = entries_.try_emplace(std::string(aor));
      if (!inserted) return;
      active_.add(1);
      published_.inc();
      put(it->first, it->second);
    } else {
      auto it = entries_.find(std::string(aor));
      if (it == entries_.end()) return;
      timers_.cancel(it->second.timer);
      entries_.erase(it);
      active_.add(-1);
      withdraw(std::string(aor), [] {});
    }
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
    aors.reserve(entries_.size());
    for (auto& [aor, entry] : entries_) {
      timers_.cancel(entry.timer);
      aors.push_back(aor);
    }
    active_.add(-static_cast<std::int64_t>(entries_.size()));
    entries_.clear();
    logger_.info("withdrawing {} user records from the overlay", aors.size());
    timers_.schedule(timeout, finishOnce);
    for (auto& aor : aors) {
      withdraw(std::move(aor), [pending, finishOnce] {
        if (--*pending == 0) finishOnce();
      });
    }
  }

  std::size_t size() const { return entries_.size(); }
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
    TimerId timer = kNoTimer;
    TimePoint nextRefresh{};
  };

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
    signer_.seal(identity::RecordKind::User, std::move(*body),
                 [alive, aor, sequence](Result<std::string> sealed) {
                   if (auto self = alive.lock())
                     (*self)->onSealed(aor, sequence, std::move(sealed));
                 });
  }

  void onSealed(const std::string& aor, std::uint64_t sequence, Result<std::string> sealed) {
    auto it = entries_.find(aor);
    // Withdrawn while it was being signed, or a newer version is on its way: drop this one.
    if (it == entries_.end() || it->second.sequence != sequence) return;
    if (!sealed) {
      putFailures_.inc();
      logger_.warn("cannot sign the user record of {}: {}", aor, sealed.error().detail);
      schedule(aor, it->second, config_.retryInterval);
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
    auto it = entries_.find(aor);
    if (it == entries_.end() || it->second.sequence != sequence) return;  // withdrawn or newer
    Entry& e = it->second;
    e.stored = result.has_value();
    if (result) {
      logger_.debug("user record of {} stored (sequence {})", aor, sequence);
      return;
    }
    putFailures_.inc();
    logger_.info("user record of {} not stored: {}; retrying in {} s", aor, result.error().detail,
                 std::chrono::duration_cast<std::chrono::seconds>(config_.retryInterval).count());
    schedule(aor, e, config_.retryInterval);
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
  std::unordered_map<std::string, Entry> entries_;
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
}
UserRecordPublisher::~UserRecordPublisher() = default;
void UserRecordPublisher::withdrawAll(Duration timeout, std::function<void()> done) {
  impl_->withdrawAll(timeout, std::move(done));
}
std::size_t UserRecordPublisher::size() const {
  return impl_->size();
}
std::vector<PublishedUser> UserRecordPublisher::snapshot(std::size_t limit) const {
  return impl_->snapshot(limit);
}

}  // namespace p2psip::location
