// SPDX-License-Identifier: Apache-2.0
// OverlayLocationService: the LocationService of a peer in the overlay (the seed's "lookup in the
// DHT"). For an AOR of ours:
//   1. Bindings on this peer answer at once, without a DHT round trip.
//   2. Otherwise the user records under LookupKey{User, aor} name the peers serving the user. Each
//      is verified (signature, signer = servedBy), expired ones and our own stale ones are
//      dropped, and each serving peer is resolved (PeerResolver: NodeId -> peer-link endpoint).
//      Every resolved peer becomes one fork target (ContactBinding::peerNode), so a user
//      registered at two peers rings at both. A peer reached through its rendezvous R (a NAT
//      keeps it from accepting links) becomes a target over a link to R whose Path is
//      [R, peer]: the proxy writes it as the Route set, R pops its own entry and forwards over
//      the link the peer keeps open to it.
//   3. No record: not registered anywhere (the proxy answers 404, or 480 for a known user).
//      Records whose peers cannot be resolved: knownUser with no binding (480).
// Lookups are cached per AOR and kept fresh with a DHT listen, so a user who registers at another
// peer is reachable through it at once; a miss is cached only for `missLifetime`. Concurrent
// lookups of one AOR share one DHT get. The cache is bounded (`maxCachedUsers`, least recently
// used first out) and entries unused for `idleLifetime` are dropped with their listen.
// Runs on the signalling loop.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/dht/lookup_service.h"
#include "p2psip/identity/node_id.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/location/location_service.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::location {

// A peer behind a NAT that accepts no inbound peer links keeps a link open to a reachable peer,
// its rendezvous, and is reached through it.
struct Rendezvous {
  identity::NodeId node;
  net::Endpoint endpoint;  // the rendezvous's TLS peer-link listener
  friend bool operator==(const Rendezvous&, const Rendezvous&) = default;
};

// Where a peer accepts peer links. Implemented in app/ over overlay::PeerDirectory.
struct PeerContact {
  identity::NodeId node;
  net::Endpoint endpoint;  // TLS peer-link listener (possibly a private address when `via` is set)
  // Set when the peer is reached through its rendezvous: requests go over a link to `via` with
  // the Route set [via, node], and the rendezvous forwards them over the link the peer opened.
  std::optional<Rendezvous> via = std::nullopt;
  // Its media reachability (ContactBinding::peerNat, peerPublicAddress).
  std::string nat{};
  std::optional<asio::ip::address> publicAddress = std::nullopt;
  friend bool operator==(const PeerContact&, const PeerContact&) = default;
};
class PeerResolver {
 public:
  virtual ~PeerResolver() = default;
  // Calls back on the signalling loop, possibly inside the call.
  virtual void resolve(const identity::NodeId& node,
                       std::function<void(Result<PeerContact>)> done) = 0;
};

// The Route values that take a request to `contact.node` through its rendezvous: the rendezvous's
// peer-link URI, then the peer's, each "<sip:host:port;transport=tls;node=<hex>;lr>" (IPv6 in
// brackets), the form of a peer's own Record-Route towards peer links, which the proxy recognises
// as its own and pins by node= (proxy own_addresses.cpp, next_hop.cpp). Empty without `via`.
std::vector<std::string> rendezvousPath(const PeerContact& contact);

struct OverlayLocationConfig {
  Duration missLifetime = std::chrono::seconds(2);
  // A get that finds no record is asked once more after this delay before the answer is "not
  // found": in an overlay with peers behind NATs a fresh search can finish on nodes that do not
  // hold the value while the ones that do are still being learnt. Zero: answer at once.
  Duration missRetry = std::chrono::milliseconds(400);
  Duration idleLifetime = std::chrono::minutes(10);
  std::size_t maxCachedUsers = 100'000;
  Duration lookupTimeout = std::chrono::seconds(5);  // a DHT get that takes longer counts as failed
};
Result<void> validate(const OverlayLocationConfig& config);

struct OverlayLocationStats {
  std::size_t cachedUsers = 0;
  std::size_t listens = 0;
  std::size_t pendingGets = 0;
};

class OverlayLocationService final : public LocationService {
 public:
  using KnownUserPredicate = std::function<bool(std::string_view aor)>;
  OverlayLocationService(const OverlayLocationConfig& config, const BindingStore& store,
                         KnownUserPredicate isKnownUser, dht::LookupService& dht,
                         PeerResolver& peers, const identity::NodeId& self, TimerService& timers,
                         WallClock wallClock, MetricsRegistry& metrics, Logger logger);
  ~OverlayLocationService() override;
  OverlayLocationService(const OverlayLocationService&) = delete;
  OverlayLocationService& operator=(const OverlayLocationService&) = delete;

  using LocationService::lookup;
  void lookup(std::string_view aor, LookupScope scope, LookupCallback callback) override;

  // The verified records the cache holds for `aor` (for p2psipctl), without a DHT round trip.
  std::vector<std::string> describe(std::string_view aor) const;
  OverlayLocationStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::location
