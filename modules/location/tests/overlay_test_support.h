// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the overlay tests of this module: identities, an overlay of in-memory lookup
// services on one loop, a wall clock the test moves, and a PeerResolver with a fixed table.
#pragma once

#include <gtest/gtest.h>

#include <map>

#include "p2psip/common/timer_queue.h"
#include "p2psip/dht/testing/in_memory_lookup_service.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/location/overlay_location_service.h"
#include "p2psip/net/event_loop.h"

namespace p2psip::location::testing {

inline identity::NodeIdentity makeIdentity() {
  auto id = identity::NodeIdentity::generate(identity::KeyType::Ed25519);
  if (!id) ADD_FAILURE() << id.error().detail;
  return std::move(*id);
}

// A wall clock that starts at a fixed date and moves only when told.
struct TestWallClock {
  WallTime now = WallTime{} + std::chrono::hours(24 * 365 * 56);
  WallClock clock() {
    return [this] { return now; };
  }
};

class TablePeerResolver final : public PeerResolver {
 public:
  void resolve(const identity::NodeId& node,
               std::function<void(Result<PeerContact>)> done) override {
    ++calls;
    auto it = peers.find(node);
    if (it == peers.end()) {
      done(makeError(ErrorCode::NotFound, "no such peer"));
      return;
    }
    PeerContact contact{node, it->second};
    if (auto nat = nats.find(node); nat != nats.end()) contact.nat = nat->second;
    done(std::move(contact));
  }
  std::map<identity::NodeId, net::Endpoint> peers;
  std::map<identity::NodeId, std::string> nats;  // what the peer's record says of its NAT
  int calls = 0;
};

inline net::Endpoint endpoint(const char* text) {
  return *net::Endpoint::parse(text);
}

}  // namespace p2psip::location::testing
