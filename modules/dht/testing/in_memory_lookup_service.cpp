// SPDX-License-Identifier: Apache-2.0
#include "p2psip/dht/testing/in_memory_lookup_service.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "p2psip/net/event_loop.h"

namespace p2psip::dht::testing {

// The shared storage: key text -> id -> value, with one expiry timer per value. Services register
// themselves so that a change under a key reaches every subscriber on every service.
class InMemoryLookupService::Network {
 public:
  // What a service must do when a key changes; implemented by InMemoryLookupService::Impl.
  class Member {
   public:
    virtual void onChange(const std::string& key, const std::vector<StoredValue>& values,
                          bool expired) = 0;
    virtual bool isReachable() const = 0;

   protected:
    ~Member() = default;
  };

  Network(TimerService& timers, std::size_t maxValueBytes, Duration maxLifetime)
      : timers_(timers), maxValueBytes_(maxValueBytes), maxLifetime_(maxLifetime) {}
  ~Network() {
    for (auto& [key, values] : store_) {
      for (auto& [id, value] : values) timers_.cancel(value.expiry);
    }
  }
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  std::size_t maxValueBytes() const { return maxValueBytes_; }

  // Returns the member's id as a writer (for stats().puts).
  std::uint64_t join(Member& member) {
    members_.push_back(&member);
    return nextWriter_++;
  }
  void leave(const Member& member) { std::erase(members_, &member); }

  void store(const std::string& key, StoredValue value, Duration lifetime, std::uint64_t writer) {
    auto& values = store_[key];
    auto it = values.find(value.id);
    const bool changed = it == values.end() || it->second.data != value.data;
    if (it != values.end()) {
      timers_.cancel(it->second.expiry);
    } else {
      it = values.emplace(value.id, Stored{}).first;
    }
    const std::uint64_t id = value.id;
    it->second.data = value.data;
    it->second.writer = writer;
    it->second.expiry = timers_.schedule(std::clamp(lifetime, Duration::zero(), maxLifetime_),
                                         [this, key, id] { expire(key, id); });
    // A refresh that changed nothing is not news; a replacement is the new value appearing.
    if (changed) broadcast(key, {std::move(value)}, false);
  }

  void erase(const std::string& key, std::uint64_t id) {
    auto values = store_.find(key);
    if (values == store_.end()) return;
    auto it = values->second.find(id);
    if (it == values->second.end()) return;
    timers_.cancel(it->second.expiry);
    StoredValue gone{id, std::move(it->second.data)};
    values->second.erase(it);
    if (values->second.empty()) store_.erase(values);
    broadcast(key, {std::move(gone)}, true);
  }

  std::vector<StoredValue> find(const std::string& key) const {
    std::vector<StoredValue> found;
    if (auto values = store_.find(key); values != store_.end()) {
      for (const auto& [id, value] : values->second) found.push_back({id, value.data});
    }
    return found;  // sorted by id (std::map)
  }

  LookupServiceStats stats(const Member& viewer, std::uint64_t viewerWriter) const {
    LookupServiceStats s;
    s.nodes = static_cast<std::size_t>(
        std::count_if(members_.begin(), members_.end(),
                      [&viewer](const Member* m) { return m != &viewer && m->isReachable(); }));
    s.connected = viewer.isReachable();  // the shared network is the overlay
    s.storedKeys = store_.size();
    for (const auto& [key, values] : store_) {
      s.storedValues += values.size();
      s.puts += static_cast<std::size_t>(std::count_if(
          values.begin(), values.end(),
          [viewerWriter](const auto& entry) { return entry.second.writer == viewerWriter; }));
    }
    return s;
  }

 private:
  struct Stored {
    std::string data;
    TimerId expiry = kNoTimer;
    std::uint64_t writer = 0;
  };

  void expire(const std::string& key, std::uint64_t id) {
    auto values = store_.find(key);
    if (values == store_.end()) return;
    auto it = values->second.find(id);
    if (it == values->second.end()) return;
    StoredValue gone{id, std::move(it->second.data)};
    values->second.erase(it);
    if (values->second.empty()) store_.erase(values);
    broadcast(key, {std::move(gone)}, true);
  }

  void broadcast(const std::string& key, const std::vector<StoredValue>& values, bool expired) {
    // A copy: a member may leave while being told (its callbacks are posted, but be safe).
    const std::vector<Member*> members = members_;
    for (Member* member : members) member->onChange(key, values, expired);
  }

  TimerService& timers_;
  std::size_t maxValueBytes_;
  Duration maxLifetime_;
  std::map<std::string, std::map<std::uint64_t, Stored>> store_;
  std::vector<Member*> members_;
  std::uint64_t nextWriter_ = 1;
};

class InMemoryLookupService::Impl final : public Network::Member {
 public:
  Impl(std::shared_ptr<Network> network, net::EventLoop& loop)
      : network_(std::move(network)), loop_(loop), writer_(network_->join(*this)) {}
  ~Impl() {
    network_->leave(*this);
    *alive_ = false;  // drops the callbacks still queued on the loop
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void put(const LookupKey& key, StoredValue value, Duration lifetime, PutCallback done) {
    ++putCount_;
    if (!reachable_) return answer(std::move(done), unavailable());
    if (value.data.size() > network_->maxValueBytes()) {
      return answer(
          std::move(done),
          makeError(ErrorCode::LimitExceeded, "dht: value of " + std::to_string(value.data.size()) +
                                                  " bytes is over the limit"));
    }
    network_->store(key.toString(), std::move(value), lifetime, writer_);
    answer(std::move(done), Result<void>{});
  }

  void get(const LookupKey& key, GetCallback done) {
    if (!reachable_)
      return answer(std::move(done), Result<std::vector<StoredValue>>(unavailable()));
    answer(std::move(done), Result<std::vector<StoredValue>>(network_->find(key.toString())));
  }

  ListenToken listen(const LookupKey& key, ListenCallback onChange) {
    const ListenToken token = nextToken_++;
    std::string keyText = key.toString();
    std::vector<StoredValue> now = network_->find(keyText);
    subscriptions_.emplace(token, Subscription{std::move(keyText), std::move(onChange)});
    if (!now.empty()) deliver(token, std::move(now), false);
    return token;
  }

  void cancelListen(ListenToken token) { subscriptions_.erase(token); }

  void remove(const LookupKey& key, std::uint64_t id, PutCallback done) {
    if (!reachable_) return answer(std::move(done), unavailable());
    network_->erase(key.toString(), id);
    answer(std::move(done), Result<void>{});
  }

  LookupServiceStats stats() const {
    LookupServiceStats s = network_->stats(*this, writer_);
    s.listens = subscriptions_.size();
    return s;
  }

  void setReachable(bool reachable) {
    if (reachable == reachable_) return;
    reachable_ = reachable;
    for (const auto& observer : observers_) {
      loop_.post([alive = alive_, observer, reachable] {
        if (*alive) observer(reachable);
      });
    }
  }
  bool connected() const { return reachable_; }
  void watchConnected(std::function<void(bool)> observer) {
    observers_.push_back(std::move(observer));
  }
  std::size_t putCount() const { return putCount_; }

  void onChange(const std::string& key, const std::vector<StoredValue>& values,
                bool expired) override {
    for (const auto& [token, subscription] : subscriptions_) {
      if (subscription.key == key) deliver(token, values, expired);
    }
  }
  bool isReachable() const override { return reachable_; }

 private:
  struct Subscription {
    std::string key;
    ListenCallback onChange;
  };

  static tl::unexpected<Error> unavailable() {
    return makeError(ErrorCode::Unavailable, "dht: the DHT is unreachable (test outage)");
  }

  // Callbacks are posted, never run inside the call, like the real service's.
  template <typename Callback, typename Value>
  void answer(Callback done, Value result) {
    loop_.post([alive = alive_, done = std::move(done), result = std::move(result)]() mutable {
      if (*alive && done) done(std::move(result));
    });
  }

  void deliver(ListenToken token, std::vector<StoredValue> values, bool expired) {
    loop_.post([alive = alive_, this, token, values = std::move(values), expired] {
      if (!*alive || !reachable_) return;
      auto it = subscriptions_.find(token);
      if (it == subscriptions_.end()) return;               // cancelled after the change
      const ListenCallback onChange = it->second.onChange;  // it may cancel itself
      onChange(values, expired);
    });
  }

  std::shared_ptr<Network> network_;
  net::EventLoop& loop_;
  std::uint64_t writer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool reachable_ = true;
  std::size_t putCount_ = 0;
  ListenToken nextToken_ = 1;
  std::map<ListenToken, Subscription> subscriptions_;
  std::vector<std::function<void(bool)>> observers_;
};

std::shared_ptr<InMemoryLookupService::Network> InMemoryLookupService::makeNetwork(
    TimerService& timers, std::size_t maxValueBytes, Duration maxLifetime) {
  return std::make_shared<Network>(timers, maxValueBytes, maxLifetime);
}

InMemoryLookupService::InMemoryLookupService(std::shared_ptr<Network> network, net::EventLoop& loop)
    : impl_(std::make_unique<Impl>(std::move(network), loop)) {}

InMemoryLookupService::~InMemoryLookupService() = default;

void InMemoryLookupService::put(const LookupKey& key, StoredValue value, Duration lifetime,
                                PutCallback done) {
  impl_->put(key, std::move(value), lifetime, std::move(done));
}

void InMemoryLookupService::get(const LookupKey& key, GetCallback done) {
  impl_->get(key, std::move(done));
}

ListenToken InMemoryLookupService::listen(const LookupKey& key, ListenCallback onChange) {
  return impl_->listen(key, std::move(onChange));
}

void InMemoryLookupService::cancelListen(ListenToken token) {
  impl_->cancelListen(token);
}

void InMemoryLookupService::remove(const LookupKey& key, std::uint64_t id, PutCallback done) {
  impl_->remove(key, id, std::move(done));
}

LookupServiceStats InMemoryLookupService::stats() const {
  return impl_->stats();
}

bool InMemoryLookupService::connected() const {
  return impl_->connected();
}

void InMemoryLookupService::watchConnected(std::function<void(bool)> observer) {
  impl_->watchConnected(std::move(observer));
}

void InMemoryLookupService::setReachable(bool reachable) {
  impl_->setReachable(reachable);
}

std::size_t InMemoryLookupService::putCount() const {
  return impl_->putCount();
}

}  // namespace p2psip::dht::testing
