// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/overlay_location_service.h"

#include <list>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "p2psip/location/user_record.h"

namespace p2psip::location {

Result<void> validate(const OverlayLocationConfig& config) {
  if (config.missLifetime < Duration::zero()) {
    return makeError(ErrorCode::InvalidArgument, "overlay miss lifetime must not be negative");
  }
  if (config.idleLifetime <= Duration::zero() || config.lookupTimeout <= Duration::zero()) {
    return makeError(ErrorCode::InvalidArgument,
                     "overlay idle lifetime and lookup timeout must be positive");
  }
  if (config.maxCachedUsers == 0) {
    return makeError(ErrorCode::InvalidArgument, "overlay cache must hold at least one user");
  }
  return {};
}

namespace {

// One Route value naming a peer's link listener and its NodeId.
std::string peerLinkRoute(const net::Endpoint& endpoint, const identity::NodeId& node) {
  std::string route = "<sip:";
  if (endpoint.address.is_v6()) {
    route += '[';
    route += net::addressToString(endpoint.address);
    route += ']';
  } else {
    route += net::addressToString(endpoint.address);
  }
  route += ':';
  route += std::to_string(endpoint.port);
  route += ";transport=tls;node=";
  route += node.toHex();
  route += ";lr>";
  return route;
}

}  // namespace

std::vector<std::string> rendezvousPath(const PeerContact& contact) {
  if (!contact.via) return {};
  return {peerLinkRoute(contact.via->endpoint, contact.via->node),
          peerLinkRoute(contact.endpoint, contact.node)};
}

class OverlayLocationService::Impl {
 public:
  Impl(const OverlayLocationConfig& config, const BindingStore& store,
       KnownUserPredicate isKnownUser, dht::LookupService& dht, PeerResolver& peers,
       const identity::NodeId& self, TimerService& timers, WallClock wallClock,
       MetricsRegistry& metrics, Logger logger)
      : config_(config),
        store_(store),
        isKnownUser_(std::move(isKnownUser)),
        dht_(dht),
        peers_(peers),
        self_(self),
        timers_(timers),
        wallClock_(wallClock),
        logger_(std::move(logger)),
        localHits_(metrics.counter("p2psip_overlay_lookups_local_total")),
        overlayHits_(metrics.counter("p2psip_overlay_lookups_found_total")),
        misses_(metrics.counter("p2psip_overlay_lookups_not_found_total")),
        unreachable_(metrics.counter("p2psip_overlay_lookups_unresolved_total")),
        failures_(metrics.counter("p2psip_overlay_lookups_failed_total")),
        dhtGets_(metrics.counter("p2psip_overlay_dht_gets_total")),
        refused_(metrics.counter("p2psip_overlay_user_records_refused_total")),
        alive_(std::make_shared<Impl*>(this)) {
    if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().detail);
    scheduleSweep();
  }

  ~Impl() {
    timers_.cancel(sweepTimer_);
    for (auto& [aor, e] : entries_) {
      timers_.cancel(e.timeout);
      timers_.cancel(e.retry);
      if (e.listen != 0) dht_.cancelListen(e.listen);
    }
  }

  void lookup(std::string_view aor, LookupScope scope, LookupCallback callback) {
    // 1. Our own phones first: no DHT round trip for a call within this peer.
    auto local = store_.find(aor);
    if (!local.empty()) {
      localHits_.inc();
      callback(LookupResult{std::move(local), true});
      return;
    }
    if (scope == LookupScope::ThisPeer) {
      callback(LookupResult{{}, known(aor)});
      return;
    }
    Entry& e = entryFor(std::string(aor));
    const TimePoint now = timers_.now();
    // Records whose signed expiry passed are dropped here: a cache holding only those is a miss,
    // and after missLifetime it asks the DHT again.
    const WallTime wallNow = wallClock_();
    std::erase_if(e.records, [&](const auto& entry) { return entry.second.expired(wallNow); });
    if (e.loaded && (!e.records.empty() || now - e.loadedAt < config_.missLifetime)) {
      answer(e, std::move(callback));
      return;
    }
    e.waiters.push_back(std::move(callback));
    if (!e.getInFlight) startGet(e);
  }

  std::vector<std::string> describe(std::string_view aor) const {
    std::vector<std::string> out;
    auto it = entries_.find(std::string(aor));
    if (it == entries_.end()) return out;
    const auto now = wallClock_();
    for (const auto& [id, r] : it->second.records) {
      const auto left =
          r.expiresAt -
          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      out.push_back("served_by=" + r.servedBy.toHex() + " sequence=" + std::to_string(r.sequence) +
                    " expires_in=" + std::to_string(left));
    }
    return out;
  }

  OverlayLocationStats stats() const {
    OverlayLocationStats s;
    s.cachedUsers = entries_.size();
    for (const auto& [aor, e] : entries_) {
      if (e.listen != 0) ++s.listens;
      if (e.getInFlight) ++s.pendingGets;
    }
    return s;
  }

 private:
  struct Entry {
    std::string aor;
    std::map<std::uint64_t, UserRecord> records;  // by DHT value id: one per serving peer
    // What each value id last held (hash of its bytes), accepted or refused: the same bytes coming
    // back (a get after a listen, a refresh seen twice) are neither verified nor counted again.
    struct Verdict {
      std::size_t hash = 0;
      bool accepted = false;
    };
    std::unordered_map<std::uint64_t, Verdict> seen;
    // Values the listen delivered since the last get answer: the next answer may predate them
    // (a get settles for a while), so it must not drop them.
    std::unordered_set<std::uint64_t> listenedSinceGet;
    bool loaded = false;
    bool getInFlight = false;
    TimePoint loadedAt{};
    TimePoint lastUsed{};
    dht::ListenToken listen = 0;
    TimerId timeout = kNoTimer;
    std::uint64_t generation = 0;
    bool secondChance = false;  // the empty get is being asked again (missRetry)
    TimerId retry = kNoTimer;
    std::vector<LookupCallback> waiters;
    std::list<std::string>::iterator lru;
  };

  bool known(std::string_view aor) const { return isKnownUser_ && isKnownUser_(aor); }

  Entry& entryFor(std::string aor) {
    auto it = entries_.find(aor);
    if (it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      it->second.lastUsed = timers_.now();
      return it->second;
    }
    evictIfFull();
    lru_.push_front(aor);
    Entry& e = entries_[aor];
    e.aor = std::move(aor);
    e.lru = lru_.begin();
    e.lastUsed = timers_.now();
    startListen(e);
    return e;
  }

  void evictIfFull() {
    // Least recently used first; an entry with lookups waiting on it stays.
    auto it = lru_.end();
    while (entries_.size() >= config_.maxCachedUsers && it != lru_.begin()) {
      --it;
      auto found = entries_.find(*it);
      if (found == entries_.end() || !found->second.waiters.empty()) continue;
      auto keep = std::next(it);
      erase(found);  // removes *it from lru_
      it = keep;
    }
  }

  void erase(std::unordered_map<std::string, Entry>::iterator it) {
    Entry& e = it->second;
    timers_.cancel(e.timeout);
    timers_.cancel(e.retry);
    if (e.listen != 0) dht_.cancelListen(e.listen);
    lru_.erase(e.lru);
    entries_.erase(it);
  }

  void startListen(Entry& e) {
    std::weak_ptr<Impl*> alive = alive_;
    std::string aor = e.aor;
    e.listen = dht_.listen(dht::LookupKey{dht::Namespace::User, aor},
                           [alive, aor](const std::vector<dht::StoredValue>& values, bool expired) {
                             if (auto self = alive.lock()) (*self)->onListen(aor, values, expired);
                           });
  }

  void onListen(const std::string& aor, const std::vector<dht::StoredValue>& values, bool expired) {
    auto it = entries_.find(aor);
    if (it == entries_.end()) return;
    Entry& e = it->second;
    for (const auto& v : values) {
      if (expired) {
        e.seen.erase(v.id);
        e.listenedSinceGet.erase(v.id);
        if (e.records.erase(v.id) > 0) {
          logger_.debug("overlay: a record of {} went away", aor);
        }
        continue;
      }
      accept(e, v);
      if (e.getInFlight) e.listenedSinceGet.insert(v.id);
    }
  }

  // Verifies one DHT value and keeps it if it is the newest from its peer.
  void accept(Entry& e, const dht::StoredValue& value) {
    const std::size_t hash = std::hash<std::string>{}(value.data);
    if (auto s = e.seen.find(value.id); s != e.seen.end() && s->second.hash == hash) {
      // Refused before: refused again, uncounted. Accepted before and still held: nothing new.
      // Accepted before but dropped since (a get that missed it): verified and taken again.
      if (!s->second.accepted || e.records.count(value.id) > 0) return;
    }
    e.seen[value.id] = Entry::Verdict{hash, false};
    auto record = openUserRecord(value.data);
    if (!record) {
      refused_.inc();
      logger_.info("overlay: ignoring a record under {}: {}", e.aor, record.error().detail);
      return;
    }
    if (record->aor != e.aor || userRecordValueId(record->servedBy) != value.id) {
      // A valid record copied under another key or id: replayed, never used.
      refused_.inc();
      logger_.info("overlay: ignoring a record for {} stored under {}", record->aor, e.aor);
      return;
    }
    // The newest record of a peer wins; an older one replayed, or garbage written over a good one,
    // does not displace it before it expires.
    e.seen[value.id].accepted = true;
    auto [slot, inserted] = e.records.try_emplace(value.id, *record);
    if (!inserted && slot->second.sequence < record->sequence) slot->second = std::move(*record);
  }

  void startGet(Entry& e) {
    e.getInFlight = true;
    const std::uint64_t generation = ++e.generation;
    dhtGets_.inc();
    std::weak_ptr<Impl*> alive = alive_;
    const std::string aor = e.aor;
    e.timeout = timers_.schedule(config_.lookupTimeout, [this, aor, generation] {
      auto it = entries_.find(aor);
      if (it == entries_.end() || it->second.generation != generation) return;
      it->second.timeout = kNoTimer;
      it->second.getInFlight = false;
      failures_.inc();
      logger_.info("overlay: lookup of {} timed out", aor);
      auto waiters = std::move(it->second.waiters);
      it->second.waiters.clear();
      for (auto& w : waiters) {
        w(makeError(ErrorCode::Timeout, "overlay lookup of " + aor + " timed out"));
      }
    });
    dht_.get(dht::LookupKey{dht::Namespace::User, aor},
             [alive, aor, generation](Result<std::vector<dht::StoredValue>> values) {
               if (auto self = alive.lock()) (*self)->onGet(aor, generation, std::move(values));
             });
  }

  void onGet(const std::string& aor, std::uint64_t generation,
             Result<std::vector<dht::StoredValue>> values) {
    auto it = entries_.find(aor);
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
      failures_.inc();
      logger_.info("overlay: lookup of {} failed: {}", aor, values.error().detail);
      for (auto& w : waiters) w(tl::unexpected(values.error()));
      return;
    }
    // What the DHT holds now replaces what we had (the listen keeps it current from here on),
    // except what the listen brought while this get was settling: that is newer than the answer.
    std::map<std::uint64_t, UserRecord> kept;
    for (const auto& v : *values) {
      accept(e, v);  // verifies only what it has not verified and kept before
      if (auto r = e.records.find(v.id); r != e.records.end()) kept.emplace(v.id, r->second);
    }
    for (const auto id : e.listenedSinceGet) {
      if (auto r = e.records.find(id); r != e.records.end()) kept.emplace(id, r->second);
    }
    e.listenedSinceGet.clear();
    e.records = std::move(kept);
    if (e.records.empty() && !e.secondChance && !waiters.empty() &&
        config_.missRetry > Duration::zero()) {
      e.secondChance = true;
      e.waiters = std::move(waiters);
      e.getInFlight = true;  // concurrent lookups wait for the second answer
      const std::string aor = e.aor;
      e.retry = timers_.schedule(config_.missRetry, [this, aor] {
        auto found = entries_.find(aor);
        if (found == entries_.end()) return;
        found->second.retry = kNoTimer;
        startGet(found->second);
      });
      return;
    }
    e.secondChance = false;
    e.loaded = true;
    e.loadedAt = timers_.now();
    for (auto& w : waiters) answer(e, std::move(w));
  }

  // Resolves the serving peers of the live records and answers with one target per peer.
  void answer(Entry& e, LookupCallback callback) {
    const WallTime now = wallClock_();
    std::vector<identity::NodeId> servers;
    for (const auto& [id, r] : e.records) {
      if (r.expired(now) || r.servedBy == self_) continue;  // ours without a binding is stale
      servers.push_back(r.servedBy);
    }
    if (servers.empty()) {
      misses_.inc();
      callback(LookupResult{{}, known(e.aor)});
      return;
    }
    struct Gather {
      std::string aor;
      std::size_t pending = 0;
      std::vector<ContactBinding> bindings;
      LookupCallback callback;
    };
    auto gather = std::make_shared<Gather>();
    gather->aor = e.aor;
    gather->pending = servers.size();
    gather->callback = std::move(callback);
    std::weak_ptr<Impl*> alive = alive_;
    for (const auto& node : servers) {
      peers_.resolve(node, [alive, gather, node](Result<PeerContact> contact) {
        if (!contact) {
          if (auto self = alive.lock()) {
            (*self)->logger_.info("overlay: {} is served by peer {}, which cannot be reached: {}",
                                  gather->aor, node.shortHex(), contact.error().detail);
          }
        }
        if (contact) {
          if (auto self = alive.lock()) {
            gather->bindings.push_back((*self)->bindingFor(gather->aor, *contact));
          }
        }
        if (--gather->pending > 0) return;
        auto self = alive.lock();
        if (!self) return;
        if (gather->bindings.empty()) {
          (*self)->unreachable_.inc();
          // Records exist, so the user is registered somewhere: 480, not 404 (§21.4.18).
          gather->callback(LookupResult{{}, true});
          return;
        }
        (*self)->overlayHits_.inc();
        gather->callback(LookupResult{std::move(gather->bindings), true});
      });
    }
  }

  // The fork target for a user served by `contact`: over a TLS peer link pinned to the peer's
  // NodeId, or, when the peer is reached through its rendezvous, pinned to the rendezvous's, with
  // the Route set [rendezvous, peer].
  ContactBinding bindingFor(const std::string& aor, const PeerContact& contact) const {
    ContactBinding b;
    b.aor = aor;
    b.contactUri = aor;
    b.flow.transport = FlowTransport::Tls;
    b.peerNat = contact.nat;
    b.peerPublicAddress = contact.publicAddress;
    // We are the rendezvous ourselves: the peer's own link to us is the way, and the transport
    // finds it by the peer's NodeId.
    if (!contact.via || contact.via->node == self_) {
      b.flow.remote = contact.endpoint;
      b.peerNode = contact.node.toHex();
      return b;
    }
    b.flow.remote = contact.via->endpoint;
    b.peerNode = contact.via->node.toHex();
    b.path = rendezvousPath(contact);
    return b;
  }

  void scheduleSweep() {
    sweepTimer_ = timers_.schedule(config_.idleLifetime / 4, [this] {
      sweepTimer_ = kNoTimer;
      const TimePoint now = timers_.now();
      for (auto it = entries_.begin(); it != entries_.end();) {
        auto next = std::next(it);
        if (it->second.waiters.empty() && now - it->second.lastUsed >= config_.idleLifetime) {
          erase(it);
        }
        it = next;
      }
      scheduleSweep();
    });
  }

  OverlayLocationConfig config_;
  const BindingStore& store_;
  KnownUserPredicate isKnownUser_;
  dht::LookupService& dht_;
  PeerResolver& peers_;
  identity::NodeId self_;
  TimerService& timers_;
  WallClock wallClock_;
  Logger logger_;
  Counter& localHits_;
  Counter& overlayHits_;
  Counter& misses_;
  Counter& unreachable_;
  Counter& failures_;
  Counter& dhtGets_;
  Counter& refused_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  TimerId sweepTimer_ = kNoTimer;
  std::shared_ptr<Impl*> alive_;
};

OverlayLocationService::OverlayLocationService(
    const OverlayLocationConfig& config, const BindingStore& store, KnownUserPredicate isKnownUser,
    dht::LookupService& dht, PeerResolver& peers, const identity::NodeId& self,
    TimerService& timers, WallClock wallClock, MetricsRegistry& metrics, Logger logger)
    : impl_(std::make_unique<Impl>(config, store, std::move(isKnownUser), dht, peers, self, timers,
                                   wallClock, metrics, std::move(logger))) {}
OverlayLocationService::~OverlayLocationService() = default;
void OverlayLocationService::lookup(std::string_view aor, LookupScope scope,
                                    LookupCallback callback) {
  impl_->lookup(aor, scope, std::move(callback));
}
std::vector<std::string> OverlayLocationService::describe(std::string_view aor) const {
  return impl_->describe(aor);
}
OverlayLocationStats OverlayLocationService::stats() const {
  return impl_->stats();
}

}  // namespace p2psip::location
