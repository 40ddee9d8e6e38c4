// SPDX-License-Identifier: Apache-2.0
// LocationService: where the proxy asks "where can this AOR be reached?" (RFC 3261 §16.5). It is
// asynchronous because the overlay's implementation asks a DHT (issue 4): the callback may run
// during lookup() or later, always on the signalling loop. Callers must tolerate both, and must
// not assume their request still exists when it runs (hold an id, not a pointer).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/location/contact_binding.h"

namespace p2psip::location {

struct LookupResult {
  std::vector<ContactBinding> bindings;  // where to fork, highest q first
  // The user exists here even with no binding (for example listed in the credentials file): the
  // proxy answers 480 rather than 404 (RFC 3261 §21.4.18).
  bool knownUser = false;
};

using LookupCallback = std::function<void(Result<LookupResult>)>;

// How far a lookup may reach. A request that arrived over an overlay peer link is only ever
// delivered to this peer's own phones (ThisPeer): a peer is nobody's relay back into the overlay.
enum class LookupScope : std::uint8_t { Everywhere, ThisPeer };

class LocationService {
 public:
  virtual ~LocationService() = default;
  virtual void lookup(std::string_view aor, LookupScope scope, LookupCallback callback) = 0;
  void lookup(std::string_view aor, LookupCallback callback) {
    lookup(aor, LookupScope::Everywhere, std::move(callback));
  }
};

// The local implementation over this peer's BindingStore. `isKnownUser` says whether an AOR
// without bindings is a user of ours (may be empty: then no one is known without a binding).
class LocalLocationService final : public LocationService {
 public:
  using KnownUserPredicate = std::function<bool(std::string_view aor)>;
  LocalLocationService(const BindingStore& store, KnownUserPredicate isKnownUser);
  using LocationService::lookup;
  void lookup(std::string_view aor, LookupScope scope, LookupCallback callback) override;

 private:
  const BindingStore& store_;
  KnownUserPredicate isKnownUser_;
};

}  // namespace p2psip::location
