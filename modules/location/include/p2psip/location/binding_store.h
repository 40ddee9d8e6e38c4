// SPDX-License-Identifier: Apache-2.0
// BindingStore: the bindings this peer holds, per AOR (RFC 3261 §10.3). The registrar writes it;
// the location service reads it. Bindings expire on the injected clock: expired ones are never
// returned, and a periodic purge frees them. Capacity is bounded (overload protection): past the
// limits, writes fail with LimitExceeded and the registrar answers 503.
//
// Observers learn when an AOR gains its first binding or loses its last one; the overlay uses this
// to publish and withdraw user records (issue 4) without touching the DHT on plain refreshes.
// Not thread-safe: the signalling loop owns it.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/location/contact_binding.h"

namespace p2psip::location {

struct BindingStoreConfig {
  std::size_t maxBindings = 1'000'000;  // contacts across all AORs
  std::size_t maxBindingsPerAor = 16;
  Duration purgeInterval = std::chrono::seconds(5);  // how often expired bindings are freed
};
Result<void> validate(const BindingStoreConfig& config);

class BindingStore {
 public:
  // Called with the AOR when its first binding appears (bound=true) or its last one goes (false).
  using AorObserver = std::function<void(std::string_view aor, bool bound)>;

  BindingStore(const BindingStoreConfig& config, TimerService& timers);
  ~BindingStore();
  BindingStore(const BindingStore&) = delete;
  BindingStore& operator=(const BindingStore&) = delete;

  // Live bindings of `aor`, highest q first, then most recently refreshed first.
  std::vector<ContactBinding> find(std::string_view aor) const;
  bool hasBindings(std::string_view aor) const;

  // Adds or replaces the binding with the same contact URI (or, for RFC 5626, the same
  // instance-id and reg-id). LimitExceeded past maxBindings or maxBindingsPerAor.
  Result<void> upsert(ContactBinding binding);
  // Added for the registrar: one REGISTER's changes to one AOR, all or nothing (RFC 3261 §10.3
  // step 7: "committed if and only if all binding updates and additions succeed"). First removes
  // the bindings whose contact URI is in `removals`, then upserts each of `upserts` as upsert()
  // does. Every binding in `upserts` must have `aor` empty or equal to `aor`. On LimitExceeded
  // or InvalidArgument nothing changes. Observers fire at most once, for this AOR.
  Result<void> update(std::string_view aor, const std::vector<std::string>& removals,
                      std::vector<ContactBinding> upserts);
  // Removes one binding by contact URI; true if it existed.
  bool remove(std::string_view aor, std::string_view contactUri);
  // Removes every binding of `aor` (Contact: * with Expires: 0); returns how many.
  std::size_t removeAll(std::string_view aor);
  // Removes every binding registered over a connection that has closed (RFC 5626 §5.4 flow
  // failure).
  std::size_t removeFlow(std::uint64_t connection);

  std::size_t size() const;  // live and not-yet-purged bindings
  std::size_t aorCount() const;
  // Every binding, for the control tool; bounded by `limit`.
  std::vector<ContactBinding> snapshot(std::size_t limit) const;

  void addObserver(AorObserver observer);

  // Added: frees expired bindings now (the periodic purge calls this; tests and the control tool
  // may too). Fires observers for AORs left without bindings.
  void purgeExpired();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::location
