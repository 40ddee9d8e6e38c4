// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/binding_store.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

namespace p2psip::location {

Result<void> validate(const BindingStoreConfig& config) {
  if (config.maxBindings == 0) {
    return makeError(ErrorCode::InvalidArgument, "maxBindings must be at least 1");
  }
  if (config.maxBindingsPerAor == 0) {
    return makeError(ErrorCode::InvalidArgument, "maxBindingsPerAor must be at least 1");
  }
  if (config.maxBindingsPerAor > config.maxBindings) {
    return makeError(ErrorCode::InvalidArgument, "maxBindingsPerAor must not exceed maxBindings");
  }
  if (config.purgeInterval <= Duration::zero()) {
    return makeError(ErrorCode::InvalidArgument, "purgeInterval must be positive");
  }
  return {};
}

namespace {

// Heterogeneous lookup, so find(std::string_view) allocates nothing.
struct AorHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
struct AorEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

// One stored binding. The AOR lives once, as the map key: `binding.aor` stays empty inside the
// store and is filled in on the way out. `refreshed` is a store-wide sequence number that orders
// bindings of equal q, most recently written first (a clock could tie).
struct StoredBinding {
  ContactBinding binding;
  std::uint64_t refreshed = 0;
};

// Most AORs have one or two contacts, so a small vector beats a per-binding node container in
// both memory and lookup time.
using AorBindings = std::vector<StoredBinding>;

bool sameBinding(const ContactBinding& existing, const ContactBinding& incoming) {
  if (existing.contactUri == incoming.contactUri) return true;
  // RFC 5626 §6: a registration with the same instance-id and reg-id replaces the earlier flow,
  // whatever its contact URI.
  return !incoming.instanceId.empty() && incoming.regId != 0 &&
         existing.instanceId == incoming.instanceId && existing.regId == incoming.regId;
}

}  // namespace

class BindingStore::Impl {
 public:
  Impl(const BindingStoreConfig& config, TimerService& timers) : config_(config), timers_(timers) {
    schedulePurge();
  }
  ~Impl() { timers_.cancel(purgeTimer_); }

  std::vector<ContactBinding> find(std::string_view aor) const {
    std::vector<ContactBinding> out;
    auto it = aors_.find(aor);
    if (it == aors_.end()) return out;
    const TimePoint now = timers_.now();
    std::vector<const StoredBinding*> live;
    live.reserve(it->second.size());
    for (const auto& stored : it->second) {
      if (stored.binding.expires > now) live.push_back(&stored);
    }
    // RFC 3261 §16.6: the proxy tries higher q first; equal q falls back to the newest binding.
    std::sort(live.begin(), live.end(), [](const StoredBinding* a, const StoredBinding* b) {
      if (a->binding.q != b->binding.q) return a->binding.q > b->binding.q;
      return a->refreshed > b->refreshed;
    });
    out.reserve(live.size());
    for (const auto* stored : live) out.push_back(exported(it->first, *stored));
    return out;
  }

  bool hasBindings(std::string_view aor) const {
    auto it = aors_.find(aor);
    if (it == aors_.end()) return false;
    const TimePoint now = timers_.now();
    return std::any_of(it->second.begin(), it->second.end(),
                       [now](const StoredBinding& s) { return s.binding.expires > now; });
  }

  Result<void> update(std::string_view aor, const std::vector<std::string>& removals,
                      std::vector<ContactBinding> upserts) {
    if (aor.empty()) return makeError(ErrorCode::InvalidArgument, "empty address-of-record");
    for (const auto& b : upserts) {
      if (b.contactUri.empty()) return makeError(ErrorCode::InvalidArgument, "empty contact URI");
      if (!b.aor.empty() && b.aor != aor) {
        return makeError(ErrorCode::InvalidArgument, "binding for another address-of-record");
      }
    }
    const TimePoint now = timers_.now();
    auto it = aors_.find(aor);
    const bool wasBound = it != aors_.end() && hasLive(it->second, now);

    // Work on a copy of this AOR's bindings so that a refusal changes nothing (RFC 3261 §10.3
    // step 7: the updates are committed if and only if all of them succeed).
    AorBindings next;
    if (it != aors_.end()) {
      next.reserve(it->second.size() + upserts.size());
      for (const auto& s : it->second) {
        // Expired bindings of the AOR being written are dropped now rather than at the next purge.
        if (s.binding.expires > now) next.push_back(s);
      }
    }
    for (const auto& uri : removals) {
      std::erase_if(next, [&](const StoredBinding& s) { return s.binding.contactUri == uri; });
    }
    for (auto& b : upserts) {
      std::erase_if(next, [&](const StoredBinding& s) { return sameBinding(s.binding, b); });
      b.aor.clear();
      next.push_back(StoredBinding{std::move(b), ++sequence_});
    }
    std::erase_if(next, [now](const StoredBinding& s) { return s.binding.expires <= now; });

    const std::size_t before = it == aors_.end() ? 0 : it->second.size();
    if (next.size() > config_.maxBindingsPerAor) {
      return makeError(ErrorCode::LimitExceeded, "too many bindings for this address-of-record");
    }
    if (next.size() > before && total_ - before + next.size() > config_.maxBindings) {
      // Expired bindings elsewhere may still be counted: free them before refusing.
      purgeExpired();
      it = aors_.find(aor);
      const std::size_t current = it == aors_.end() ? 0 : it->second.size();
      if (total_ - current + next.size() > config_.maxBindings) {
        return makeError(ErrorCode::LimitExceeded, "binding store is full");
      }
    }

    // Commit. Observers see an AOR as bound from the moment its entry exists until it is erased,
    // so their calls strictly alternate: bound, unbound, bound, ...
    const bool existed = it != aors_.end();
    if (!existed && !next.empty()) {
      it = aors_.emplace(std::string(aor), AorBindings{}).first;
    }
    if (it != aors_.end()) {
      for (const auto& s : it->second) unindexFlow(s.binding.flow.connection, it->first);
      total_ -= it->second.size();
      if (next.empty()) {
        aors_.erase(it);
      } else {
        next.shrink_to_fit();
        it->second = std::move(next);
        total_ += it->second.size();
        for (const auto& s : it->second) indexFlow(s.binding.flow.connection, it->first);
      }
    }
    const bool isBound = aors_.find(aor) != aors_.end();
    if (!existed && isBound) {
      notify(aor, true);
    } else if (existed && !isBound) {
      notify(aor, false);
    } else if (existed && !wasBound && isBound) {
      // Its bindings had expired unnoticed (no purge yet) and it is bound again.
      notify(aor, false);
      notify(aor, true);
    }
    return {};
  }

  std::size_t removeAll(std::string_view aor) {
    auto it = aors_.find(aor);
    if (it == aors_.end()) return 0;
    const TimePoint now = timers_.now();
    std::size_t live = 0;
    for (const auto& s : it->second) live += s.binding.expires > now ? 1 : 0;
    const std::string key = it->first;
    eraseAor(it);
    notify(key, false);
    return live;
  }

  std::size_t removeFlow(std::uint64_t connection) {
    if (connection == 0) return 0;  // UDP has no connection to lose
    auto flow = flows_.find(connection);
    if (flow == flows_.end()) return 0;
    std::vector<std::string> aors;  // copied: the loop below edits the index
    aors.reserve(flow->second.size());
    for (const auto& entry : flow->second) aors.push_back(entry.first);
    const TimePoint now = timers_.now();
    std::size_t removed = 0;
    for (const auto& aor : aors) {
      auto it = aors_.find(aor);
      if (it == aors_.end()) continue;
      for (auto b = it->second.begin(); b != it->second.end();) {
        if (b->binding.flow.connection == connection) {
          removed += b->binding.expires > now ? 1 : 0;
          unindexFlow(connection, it->first);
          b = it->second.erase(b);
          --total_;
        } else {
          ++b;
        }
      }
      if (it->second.empty()) {
        aors_.erase(it);
        notify(aor, false);
      }
    }
    return removed;
  }

  std::size_t size() const { return total_; }
  std::size_t aorCount() const { return aors_.size(); }

  std::vector<ContactBinding> snapshot(std::size_t limit) const {
    std::vector<ContactBinding> out;
    const TimePoint now = timers_.now();
    for (const auto& [aor, bindings] : aors_) {
      for (const auto& s : bindings) {
        if (out.size() >= limit) return out;
        if (s.binding.expires > now) out.push_back(exported(aor, s));
      }
    }
    return out;
  }

  void addObserver(AorObserver observer) { observers_.push_back(std::move(observer)); }

  // Frees every expired binding and tells observers about AORs left without any.
  void purgeExpired() {
    const TimePoint now = timers_.now();
    std::vector<std::string> unbound;
    for (auto it = aors_.begin(); it != aors_.end();) {
      auto& bindings = it->second;
      const std::size_t before = bindings.size();
      for (const auto& s : bindings) {
        if (s.binding.expires <= now) unindexFlow(s.binding.flow.connection, it->first);
      }
      std::erase_if(bindings, [now](const StoredBinding& s) { return s.binding.expires <= now; });
      total_ -= before - bindings.size();
      if (bindings.empty()) {
        unbound.push_back(it->first);
        it = aors_.erase(it);
      } else {
        ++it;
      }
    }
    // Observers run after the walk: they may call back into the store.
    for (const auto& aor : unbound) notify(aor, false);
  }

 private:
  static bool hasLive(const AorBindings& bindings, TimePoint now) {
    return std::any_of(bindings.begin(), bindings.end(),
                       [now](const StoredBinding& s) { return s.binding.expires > now; });
  }

  static ContactBinding exported(const std::string& aor, const StoredBinding& stored) {
    ContactBinding out = stored.binding;
    out.aor = aor;
    return out;
  }

  void eraseAor(std::unordered_map<std::string, AorBindings, AorHash, AorEqual>::iterator it) {
    for (const auto& s : it->second) unindexFlow(s.binding.flow.connection, it->first);
    total_ -= it->second.size();
    aors_.erase(it);
  }

  // RFC 5626 §5.4: when a connection closes, the bindings registered over it go at once. The
  // index (connection -> AOR -> bindings over it) keeps removeFlow() proportional to that
  // connection's bindings, not to the store; UDP bindings (connection 0) are not indexed.
  void indexFlow(std::uint64_t connection, const std::string& aor) {
    if (connection == 0) return;
    auto& perAor = flows_[connection];
    auto it = perAor.find(aor);
    if (it == perAor.end()) it = perAor.emplace(aor, 0).first;
    ++it->second;
  }
  void unindexFlow(std::uint64_t connection, std::string_view aor) {
    if (connection == 0) return;
    auto flow = flows_.find(connection);
    if (flow == flows_.end()) return;
    auto it = flow->second.find(aor);
    if (it == flow->second.end()) return;
    if (--it->second == 0) flow->second.erase(it);
    if (flow->second.empty()) flows_.erase(flow);
  }

  void notify(std::string_view aor, bool bound) {
    // A copy: an observer may add another observer.
    const auto observers = observers_;
    for (const auto& observer : observers) observer(aor, bound);
  }

  void schedulePurge() {
    purgeTimer_ = timers_.schedule(config_.purgeInterval, [this] {
      purgeTimer_ = kNoTimer;
      purgeExpired();
      schedulePurge();
    });
  }

  BindingStoreConfig config_;
  TimerService& timers_;
  std::unordered_map<std::string, AorBindings, AorHash, AorEqual> aors_;
  std::unordered_map<std::uint64_t,
                     std::unordered_map<std::string, std::uint32_t, AorHash, AorEqual>>
      flows_;
  std::vector<AorObserver> observers_;
  std::size_t total_ = 0;
  std::uint64_t sequence_ = 0;
  TimerId purgeTimer_ = kNoTimer;
};

BindingStore::BindingStore(const BindingStoreConfig& config, TimerService& timers)
    : impl_(std::make_unique<Impl>(config, timers)) {}
BindingStore::~BindingStore() = default;

std::vector<ContactBinding> BindingStore::find(std::string_view aor) const {
  return impl_->find(aor);
}
bool BindingStore::hasBindings(std::string_view aor) const {
  return impl_->hasBindings(aor);
}

Result<void> BindingStore::upsert(ContactBinding binding) {
  std::string aor = binding.aor;
  std::vector<ContactBinding> upserts;
  upserts.push_back(std::move(binding));
  return impl_->update(aor, {}, std::move(upserts));
}

Result<void> BindingStore::update(std::string_view aor, const std::vector<std::string>& removals,
                                  std::vector<ContactBinding> upserts) {
  return impl_->update(aor, removals, std::move(upserts));
}

bool BindingStore::remove(std::string_view aor, std::string_view contactUri) {
  auto before = impl_->find(aor);
  const bool existed = std::any_of(before.begin(), before.end(), [&](const ContactBinding& b) {
    return b.contactUri == contactUri;
  });
  if (!existed) return false;
  return impl_->update(aor, {std::string(contactUri)}, {}).has_value();
}

std::size_t BindingStore::removeAll(std::string_view aor) {
  return impl_->removeAll(aor);
}
std::size_t BindingStore::removeFlow(std::uint64_t connection) {
  return impl_->removeFlow(connection);
}
std::size_t BindingStore::size() const {
  return impl_->size();
}
std::size_t BindingStore::aorCount() const {
  return impl_->aorCount();
}
std::vector<ContactBinding> BindingStore::snapshot(std::size_t limit) const {
  return impl_->snapshot(limit);
}
void BindingStore::addObserver(AorObserver observer) {
  impl_->addObserver(std::move(observer));
}
void BindingStore::purgeExpired() {
  impl_->purgeExpired();
}

}  // namespace p2psip::location
