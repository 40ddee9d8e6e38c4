// SPDX-License-Identifier: Apache-2.0
// InMemoryLookupService: a LookupService held in one process, FOR UNIT TESTS ONLY (target
// p2psip_dht_testing, which production code never links). Several services can share one
// InMemoryLookupService::Network to act as several peers of one overlay. Callbacks are posted to
// the loop, like the real one. Lifetimes follow the injected TimerService, so tests can expire
// values in microseconds. `setReachable(false)` makes every operation fail with Unavailable, to
// test DHT outages (and the service's listeners hear nothing meanwhile).
// Storage changes at once, inside put()/remove(); only the callbacks are deferred. Single-threaded:
// every service of one Network, and its TimerService, belong to the same loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "p2psip/common/timer_service.h"
#include "p2psip/dht/lookup_service.h"

namespace p2psip::net {
class EventLoop;
}

namespace p2psip::dht::testing {

class InMemoryLookupService final : public LookupService {
 public:
  class Network;  // shared storage; create with makeNetwork()
  // Values over `maxValueBytes` fail with LimitExceeded; lifetimes are capped at `maxLifetime`
  // (the defaults are DhtConfig's).
  static std::shared_ptr<Network> makeNetwork(TimerService& timers,
                                              std::size_t maxValueBytes = 8 * 1024,
                                              Duration maxLifetime = std::chrono::minutes(10));

  InMemoryLookupService(std::shared_ptr<Network> network, net::EventLoop& loop);
  ~InMemoryLookupService() override;

  void put(const LookupKey& key, StoredValue value, Duration lifetime, PutCallback done) override;
  void get(const LookupKey& key, GetCallback done) override;
  ListenToken listen(const LookupKey& key, ListenCallback onChange) override;
  void cancelListen(ListenToken token) override;
  void remove(const LookupKey& key, std::uint64_t id, PutCallback done) override;
  LookupServiceStats stats() const override;
  // Connected while reachable: the shared network is the overlay.
  bool connected() const override;
  void watchConnected(std::function<void(bool connected)> observer) override;

  // An outage: every operation fails with Unavailable, and watchers hear connected() change.
  void setReachable(bool reachable);
  std::size_t putCount() const;  // puts issued through this service (tests: "touched no record")

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::dht::testing
