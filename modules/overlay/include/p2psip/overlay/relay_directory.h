// SPDX-License-Identifier: Apache-2.0
// RelayDirectory: media relays in the overlay (relay_record.h).
//   - publish(): a peer that relays media signs its RelayRecord and keeps it in its bucket,
//     LookupKey{Relay, "relays/<relayBucketOf(our NodeId)>"}, refreshed before the value lifetime
//     ends. An address change goes out at once with a higher sequence.
//   - updateCapacity(): how many more streams we may give out. Republished at most once per
//     `capacityUpdateInterval` (every put costs the bucket's storing nodes and wakes its readers),
//     except that reaching 0 or leaving 0 goes out at once: callers skip a relay at 0, so those two
//     edges change who gets asked, while 37 instead of 38 changes only the order.
//   - withdraw(): removes our record (graceful shutdown).
//   - findRelays(): callers do not know relays' NodeIds, so they read the buckets: starting at a
//     random one (so callers spread over the buckets) and going on to the next until `wanted`
//     usable records are found or all kRelayBuckets were asked. Usable: verified (others are
//     refused and counted in p2psip_overlay_relay_records_refused_total), unexpired, capacity > 0,
//     not `excluding`. The answer is ordered by capacity, largest first.
// Bounded: at most `maxValuesPerBucket` values are verified per bucket, `maxPendingFinds` finds
// run at once, each bucket get has `lookupTimeout` and a whole find `findTimeout` (it then
// answers with what it has). Independent of SIP. Not thread-safe: runs on the signalling loop;
// DHT answers arrive there. Pending finds are dropped without a call when the directory is
// destroyed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/dht/lookup_service.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/overlay/relay_record.h"

namespace p2psip::overlay {

struct RelayDirectoryConfig {
  Duration recordLifetime = std::chrono::minutes(10);
  double refreshFraction = 0.5;
  Duration retryInterval = std::chrono::seconds(2);  // after a failed put
  Duration capacityUpdateInterval = std::chrono::seconds(30);
  Duration lookupTimeout = std::chrono::seconds(3);  // one bucket get
  Duration findTimeout = std::chrono::seconds(6);    // a whole findRelays()
  std::size_t maxValuesPerBucket = 64;
  std::size_t maxPendingFinds = 256;
};
Result<void> validate(const RelayDirectoryConfig& config);

// What we offer as a relay.
struct RelayOffer {
  net::Endpoint peerLink;          // our TLS peer-link listener (the relay control channel)
  asio::ip::address mediaAddress;  // public address of our relay ports
  std::uint32_t capacity = 0;      // streams we may still give out
  friend bool operator==(const RelayOffer&, const RelayOffer&) = default;
};

struct RelayDirectoryStats {
  bool offering = false;   // publish() was called and not withdrawn
  bool published = false;  // our record's last put succeeded
  std::uint64_t sequence = 0;
  std::uint32_t publishedCapacity = 0;  // in the record last put
  std::size_t pendingFinds = 0;
};

class RelayDirectory {
 public:
  using FindCallback = std::function<void(Result<std::vector<RelayRecord>>)>;

  RelayDirectory(const RelayDirectoryConfig& config, dht::LookupService& dht,
                 const identity::NodeIdentity& self, TimerService& timers, WallClock wallClock,
                 MetricsRegistry& metrics, Logger logger);
  ~RelayDirectory();
  RelayDirectory(const RelayDirectory&) = delete;
  RelayDirectory& operator=(const RelayDirectory&) = delete;

  // Starts (or updates) offering relaying. InvalidArgument (and nothing changes) when the offer
  // cannot be signed: port 0 or an unspecified address (checkRelayRecord()).
  Result<void> publish(RelayOffer offer);
  // Rate-limited as described above; before publish() or after withdraw() it only remembers.
  void updateCapacity(std::uint32_t capacity);
  // Removes our record; `done` runs when acknowledged or after `timeout`.
  void withdraw(Duration timeout, std::function<void()> done);

  // Up to `wanted` usable relays other than `excluding` (callers pass their own NodeId), largest
  // capacity first. NotFound when the buckets that answered hold none; Timeout/Unavailable when no
  // bucket answered; LimitExceeded when `maxPendingFinds` are running. Calls back on the loop,
  // inside the call only for LimitExceeded and wanted == 0.
  void findRelays(std::size_t wanted, const identity::NodeId& excluding, FindCallback done);

  // Our record as last put (node only before publish()).
  const RelayRecord& self() const;
  RelayDirectoryStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::overlay
