// SPDX-License-Identifier: Apache-2.0
// OpenDhtLookupService: LookupService over OpenDHT 2.4 (dht::DhtRunner on its own thread). This
// module is the only place in p2psip that includes OpenDHT headers; this header does not, so
// users of the class do not either.
//
// Threading: DhtRunner calls back on its own thread. Every callback is posted to `loop`, and runs
// there only if this object still exists (a liveness token), so callers need no locks and a late
// DHT answer after shutdown is dropped. Not thread-safe otherwise: call every member, destructor
// included, on the loop's thread (or while the loop is not running).
//
// Bad input: values from the network are capped at DhtConfig::maxValueBytes (bigger ones are
// dropped and counted in p2psip_dht_values_refused_total); OpenDHT itself bounds its packets.
//
// OpenDHT behaviours this class relies on or works around (2.4.12, see src/value_record.h):
// - Lifetimes are OpenDHT ValueTypes. Every p2psipd registers the same fixed table
//   (src/lifetime_class.h: 30 s to 60 min); a lifetime is rounded up to the next entry. A storing
//   node honours only types it knows, so all nodes of an overlay must run this code.
// - OpenDHT never tells listeners about an edited value, so each put travels as a new OpenDHT
//   value with a version, the previous one is blanked, and remove() publishes a removal record
//   (alive DhtConfig::removedLifetime) that listeners see at once.
// - A node that knows no good node (new overlay, or cut off) stores puts itself: put succeeds and
//   get answers from its own storage. While it pings bootstrap nodes that do not answer, OpenDHT
//   holds every queued operation (about 9 s per attempt); retries come every bootstrapRetry, and
//   only once OpenDHT has given up on the previous attempt.
// - On a node alone, OpenDHT tells this node's listeners only about what was stored when the
//   listen began; this class reports its own puts and removes to them itself, but the expiry of
//   values on such a node is not reported.
// - stats() takes OpenDHT's lock for a moment; OpenDHT 2.4 does not count keys (storedKeys is 0).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/dht/lookup_service.h"

namespace p2psip::net {
class EventLoop;
}

namespace p2psip::dht {

struct DhtConfig {
  std::uint16_t port = 4222;             // UDP port of the DHT node (0 picks a free one)
  std::string bindAddress;               // IPv4 or IPv6 literal; empty = all addresses
  std::vector<std::string> bootstrap;    // "HOST:PORT" / "[V6]:PORT" literals; empty = new overlay
  std::string network = "p2psip";        // hashed into OpenDHT's network id: overlays stay apart
  std::size_t maxValueBytes = 8 * 1024;  // per value, both ways
  Duration maxLifetime = std::chrono::minutes(10);      // OpenDHT's default value lifetime
  Duration removedLifetime = std::chrono::seconds(30);  // how long remove()'s empty value lives
  Duration bootstrapRetry = std::chrono::seconds(30);   // while no DHT node is known
  // A get answers this long after the first values arrived, without waiting for the rest of the
  // search (which waits ~1 s on each dead node it asked); 0 = always wait for the search to end.
  // Values that arrive later still reach listeners.
  Duration getSettle = std::chrono::milliseconds(10);
  // Every value is stored under this many independent DHT keys (the key itself, and "#replica<r>"
  // variants), and a get searches them all in parallel and answers with the first values: after
  // many nodes died, one search can wait a second per dead node asked (OpenDHT's request timeout),
  // while the chance that every replica's search hits dead nodes first is much smaller. Costs
  // `replicas` puts per put and listens per listen. 1 = no replicas.
  std::size_t replicas = 3;
  // OpenDHT's limit on the values this node stores, its own included. Its default (64 MiB) holds
  // about 100,000 users' records under 3 replicas; past its limit OpenDHT rescans its whole store
  // on every put (Dht::expireStore), falls ever further behind and cannot be stopped until it
  // catches up. 2 GiB covers the registrar's default limit of 1,000,000 bindings on a lone peer.
  std::size_t maxStoreBytes = std::size_t{2} << 30;
  // OpenDHT's rate limits on the requests this node answers, per second: in all, and from one IP
  // address. OpenDHT's defaults (8,192 and 1,024) suit a phone-sized node; a peer serving
  // thousands of users sends its neighbours three puts per user, so a registration burst of a few
  // thousand users went over 1,024, the neighbour dropped requests, OpenDHT took it for dead, and
  // every reconnection re-announced everything (measured: 66,000 failed puts for 5,000 users).
  // Still bounded, so that one flooding address cannot take the node's whole thread.
  std::size_t maxRequestsPerSecond = 131072;
  std::size_t maxPeerRequestsPerSecond = 32768;
};
// InvalidArgument with a sentence naming the field: bootstrap entries must be IP literals with a
// port (the system resolver is never used), sizes and durations must be positive.
Result<void> validate(const DhtConfig& config);

class OpenDhtLookupService final : public LookupService {
 public:
  OpenDhtLookupService(const DhtConfig& config, net::EventLoop& loop, MetricsRegistry& metrics,
                       Logger logger);
  ~OpenDhtLookupService() override;  // stops the DHT thread (join), drops pending callbacks
  OpenDhtLookupService(const OpenDhtLookupService&) = delete;
  OpenDhtLookupService& operator=(const OpenDhtLookupService&) = delete;

  // Validates the config, binds the UDP port (TransportError naming the port when taken), starts
  // the DHT thread, then bootstraps. Calling it while running does nothing.
  Result<void> start();
  // Port actually bound (after start()).
  std::uint16_t boundPort() const;
  // Stops announcing and joins the DHT thread; pending puts and gets then fail with Unavailable,
  // as does anything later until start(). Listens are kept and resume at start(). Safe to call
  // twice; the destructor calls it, but drops the pending callbacks instead. What OpenDHT has not
  // sent yet is lost: to withdraw records at shutdown, wait for remove()'s callbacks first.
  void stop();

  void put(const LookupKey& key, StoredValue value, Duration lifetime, PutCallback done) override;
  void get(const LookupKey& key, GetCallback done) override;
  ListenToken listen(const LookupKey& key, ListenCallback onChange) override;
  void cancelListen(ListenToken token) override;
  void remove(const LookupKey& key, std::uint64_t id, PutCallback done) override;
  LookupServiceStats stats() const override;
  // Connected: OpenDHT knows a good node (its status "connected"), as last posted to the loop.
  // A stop() does not report a change.
  bool connected() const override;
  void watchConnected(std::function<void(bool connected)> observer) override;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::dht
