// SPDX-License-Identifier: Apache-2.0
// LookupService: the distributed lookup service the overlay stores its records in (the seed's
// "DHT plug-in" layer, as OverCord swaps Bamboo/OpenDHT/Chord behind one interface). Everything is
// asynchronous: a DHT operation takes milliseconds to seconds. Callbacks always run on the
// signalling loop that owns the caller's state, never inside the call itself and never on the
// DHT's own thread; an implementation posts them there.
//
// Keys are namespaced so the layers never collide: the same name under User and Peer are two
// different DHT keys. Values are opaque bytes with a 64-bit id chosen by the writer; a put with an
// id already stored under the key replaces that value. Readers must treat values as untrusted
// input (the overlay wraps them in identity::SignedEnvelope and verifies every one).
//
// Implementations: OpenDhtLookupService (production, the only code that includes OpenDHT) and
// testing::InMemoryLookupService (unit tests only).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"

namespace p2psip::dht {

// The layers of the overlay's key space.
enum class Namespace : std::uint8_t { User, Peer, Relay, Gateway };
std::string_view toString(Namespace ns);  // "user", "peer", "relay", "gateway"

struct LookupKey {
  Namespace ns = Namespace::User;
  std::string name;  // e.g. a canonical AOR, or a NodeId in hex

  // "user:sip:bob@p2p.test": the string the DHT key hashes.
  std::string toString() const;
  friend bool operator==(const LookupKey&, const LookupKey&) = default;
};

struct StoredValue {
  std::uint64_t id = 0;  // writer-chosen; replaces an earlier value with the same id under the key
  std::string data;
  friend bool operator==(const StoredValue&, const StoredValue&) = default;
};

using PutCallback = std::function<void(Result<void>)>;
using GetCallback = std::function<void(Result<std::vector<StoredValue>>)>;
// A listen reports values as they appear (expired=false) and as they go away (expired=true: the
// value expired, or was replaced by remove()). The first call reports what is stored now (there is
// no call while nothing is). A put that replaces a value under the same id is reported as the new
// value appearing (expired=false, same id); a refresh that changes nothing is not reported.
using ListenCallback = std::function<void(const std::vector<StoredValue>& values, bool expired)>;
using ListenToken = std::uint64_t;

struct LookupServiceStats {
  std::size_t nodes = 0;       // good DHT nodes known (0 when alone)
  bool connected = false;      // puts go to other nodes (false: this node holds them itself)
  std::size_t storedKeys = 0;  // keys this node stores for others
  std::size_t storedValues = 0;
  std::size_t listens = 0;  // active listen() subscriptions
  std::size_t puts = 0;     // values this node keeps announcing
  // Of `puts`, those only this node has: put while no other node was reachable, announced once
  // one is.
  std::size_t heldValues = 0;
};

class LookupService {
 public:
  virtual ~LookupService() = default;

  // Stores `value` under `key` for `lifetime` (capped by the implementation's maximum; it is
  // then gone unless put again). `done` reports whether at least one node stored it; a node alone
  // stores it itself and succeeds. Values larger than the implementation's limit fail at once
  // (through `done`) with LimitExceeded.
  virtual void put(const LookupKey& key, StoredValue value, Duration lifetime,
                   PutCallback done) = 0;
  // Every value stored under `key` now (may be empty: NotFound is not an error here).
  virtual void get(const LookupKey& key, GetCallback done) = 0;
  // Subscribes to changes under `key` until cancelListen(). The token is never 0.
  virtual ListenToken listen(const LookupKey& key, ListenCallback onChange) = 0;
  virtual void cancelListen(ListenToken token) = 0;
  // Withdraws the value `id` this node put under `key`: it stops being announced and is replaced
  // on the storing nodes by an empty value with a short lifetime, so readers and listeners see it
  // go at once instead of at expiry. Empty values are never returned by get() or listen().
  virtual void remove(const LookupKey& key, std::uint64_t id, PutCallback done) = 0;

  virtual LookupServiceStats stats() const = 0;

  // Whether a put reaches other nodes now. False while this node knows no other node (the first
  // peer of an overlay, a single-site peer, one cut off): what it puts then stays on this node
  // and is announced once it connects, so a writer may as well wait for that (UserRecordPublisher
  // does). The default is a service that is always connected.
  virtual bool connected() const { return true; }
  // Calls `observer` on the loop, never inside this call, each time connected() changes. Observers
  // stay registered for the service's lifetime: one that may die first must guard itself (hold
  // only a weak reference).
  virtual void watchConnected(std::function<void(bool connected)> observer) { (void)observer; }
};

}  // namespace p2psip::dht
