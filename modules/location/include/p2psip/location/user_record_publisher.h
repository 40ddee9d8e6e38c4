// SPDX-License-Identifier: Apache-2.0
// UserRecordPublisher: keeps this peer's user records in the DHT in step with its bindings.
//   - An AOR's first binding appears  -> publish a signed UserRecord (one DHT put).
//   - While it has bindings           -> re-sign and re-put before the DHT value lifetime ends.
//   - Its last binding goes (unregister, expiry, flow failure) -> withdraw (LookupService::remove).
//   - A refresh REGISTER that changes nothing touches no record: BindingStore only tells us about
//     first and last bindings, never about refreshes.
//   - Graceful shutdown: withdrawAll() removes every record and reports when done or timed out.
//   - While the DHT reaches no other peer (LookupService::connected()), or `maxPutsInFlight` puts
//     are unanswered, a new AOR's record is held: not signed, not put, no timer. Held records are
//     published once the DHT connects, as fast as puts complete.
// A failed put is retried after `retryInterval`, doubled with each failure in a row (at most 32
// times it). Runs on the signalling loop; owns one timer per published AOR.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/dht/lookup_service.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/identity/record_signer.h"
#include "p2psip/location/binding_store.h"

namespace p2psip::location {

struct UserRecordPublisherConfig {
  // How long a record lives in the DHT (and the expiry written into it). OpenDHT's default value
  // lifetime is 10 minutes; records are refreshed at `refreshFraction` of it.
  Duration recordLifetime = std::chrono::minutes(10);
  double refreshFraction = 0.5;
  Duration retryInterval = std::chrono::seconds(2);  // after a failed put
  // New records beyond this many puts in flight (signing, or waiting for the DHT) are held and
  // follow as puts complete, so that a burst of first registrations cannot queue work in OpenDHT
  // without bound.
  std::size_t maxPutsInFlight = 512;
};
Result<void> validate(const UserRecordPublisherConfig& config);

struct PublishedUser {
  std::string aor;
  std::uint64_t sequence = 0;
  bool stored = false;  // the last put succeeded
  TimePoint nextRefresh{};
};

class UserRecordPublisher {
 public:
  // Registers itself as an observer of `store` (which must outlive it). Records are signed by
  // `signer` (a ThreadedRecordSigner in p2psipd, so signing stays off the signalling loop) with
  // the key of `self`.
  UserRecordPublisher(const UserRecordPublisherConfig& config, BindingStore& store,
                      dht::LookupService& dht, const identity::NodeIdentity& self,
                      identity::RecordSigner& signer, TimerService& timers, WallClock wallClock,
                      MetricsRegistry& metrics, Logger logger);
  ~UserRecordPublisher();
  UserRecordPublisher(const UserRecordPublisher&) = delete;
  UserRecordPublisher& operator=(const UserRecordPublisher&) = delete;

  // Withdraws every record; `done` runs once every removal was acknowledged or after `timeout`.
  // Later binding changes are ignored (the peer is shutting down).
  void withdrawAll(Duration timeout, std::function<void()> done);

  std::size_t size() const;  // AORs with bindings, held ones included
  std::size_t held() const;  // of those, records not published yet (see above)
  std::vector<PublishedUser> snapshot(std::size_t limit) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::location
