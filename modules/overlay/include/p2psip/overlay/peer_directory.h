// SPDX-License-Identifier: Apache-2.0
// PeerDirectory: this peer's presence in the overlay and its view of the others.
//   - publish(): signs our PeerRecord (certificate, peer-link endpoints, capabilities, what we know
//     of our reachability through NATs) and keeps it in the DHT under LookupKey{Peer, our NodeId},
//     refreshed before the value lifetime ends. A publication that changes anything is put at
//     once with a higher sequence; one that changes nothing leaves the refresh schedule alone.
//   - withdraw(): removes it (graceful shutdown).
//   - find(): resolves a NodeId to its verified PeerRecord. Answers are cached and kept current
//     with a DHT listen (a peer that moves or restarts is followed at once); a miss is cached
//     briefly. Records that fail verification are ignored and counted, never used.
// Independent of SIP. Runs on the signalling loop; DHT answers arrive there.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/dht/lookup_service.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/overlay/peer_record.h"

namespace p2psip::overlay {

struct PeerDirectoryConfig {
  Duration recordLifetime = std::chrono::minutes(10);
  double refreshFraction = 0.5;
  Duration retryInterval = std::chrono::seconds(2);  // after a failed put
  Duration missLifetime = std::chrono::seconds(2);
  // A get that finds no record is asked once more after this delay before the answer is
  // NotFound: with peers behind NATs a fresh search can end on nodes that do not hold the value
  // while those that do are still being learnt. Zero: answer at once.
  Duration missRetry = std::chrono::milliseconds(400);
  Duration lookupTimeout = std::chrono::seconds(5);
  std::size_t maxCachedPeers = 10'000;
};
Result<void> validate(const PeerDirectoryConfig& config);

// What we say about ourselves in our PeerRecord.
struct PeerPublication {
  std::vector<PeerEndpoint> endpoints;
  std::uint32_t capabilities = 0;  // Capability bits
  Reachability reachability = Reachability::Unknown;
  std::optional<asio::ip::address> reflexiveAddress;
  // Set when we accept no inbound peer links: the peer we keep a link open to.
  std::optional<identity::NodeId> rendezvous;
  friend bool operator==(const PeerPublication&, const PeerPublication&) = default;
};

struct PeerDirectoryStats {
  std::size_t cachedPeers = 0;
  bool published = false;  // our record's last put succeeded
  std::uint64_t sequence = 0;
};

class PeerDirectory {
 public:
  using FindCallback = std::function<void(Result<PeerRecord>)>;

  PeerDirectory(const PeerDirectoryConfig& config, dht::LookupService& dht,
                const identity::NodeIdentity& self, TimerService& timers, WallClock wallClock,
                MetricsRegistry& metrics, Logger logger);
  ~PeerDirectory();
  PeerDirectory(const PeerDirectory&) = delete;
  PeerDirectory& operator=(const PeerDirectory&) = delete;

  // Starts (or updates) publishing our record. InvalidArgument, and what was published stays, when
  // the publication breaks checkPeerRecord() (e.g. it names us as our own rendezvous).
  Result<void> publish(PeerPublication publication);
  // The same with reachability Unknown, no reflexive address and no rendezvous (what the daemon
  // published before NAT traversal).
  Result<void> publish(std::vector<PeerEndpoint> endpoints, std::uint32_t capabilities);
  // Removes our record; `done` runs when acknowledged or after `timeout`.
  void withdraw(Duration timeout, std::function<void()> done);

  // NotFound when the overlay holds no valid, unexpired record for `node`; Timeout/Unavailable
  // when the DHT did not answer. Calls back on the loop, possibly inside the call.
  void find(const identity::NodeId& node, FindCallback done);

  // Our own record as last published (empty endpoints before publish()).
  const PeerRecord& self() const;
  // Cached records of other peers, for p2psipctl.
  std::vector<PeerRecord> known() const;
  PeerDirectoryStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::overlay
