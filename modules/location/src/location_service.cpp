// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/location_service.h"

#include <utility>

namespace p2psip::location {

LocalLocationService::LocalLocationService(const BindingStore& store,
                                           KnownUserPredicate isKnownUser)
    : store_(store), isKnownUser_(std::move(isKnownUser)) {}

void LocalLocationService::lookup(std::string_view aor, LookupScope /*scope*/,
                                  LookupCallback callback) {
  // The local store answers at once; the callback runs inside lookup(), which the interface
  // allows (the DHT-backed implementation answers later).
  LookupResult result;
  result.bindings = store_.find(aor);
  result.knownUser = !result.bindings.empty() || (isKnownUser_ && isKnownUser_(aor));
  callback(std::move(result));
}

}  // namespace p2psip::location
