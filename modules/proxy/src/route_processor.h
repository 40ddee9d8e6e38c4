// SPDX-License-Identifier: Apache-2.0
// RouteProcessor: RFC 3261 §16.4 on a received request, in place.
//   * Strict-route compatibility: a Request-URI that is our Record-Route URI means the previous hop
//     is a strict router (RFC 2543); the real Request-URI is the last Route value.
//   * Loose routing: our own Route values on top are removed (several in a row: RFC 5658 double
//     Record-Route, when a request changes transport at this peer).
// Pure: no I/O.
#pragma once

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "request_validator.h"

namespace p2psip::proxy {

class OwnAddresses;

class RouteProcessor {
 public:
  explicit RouteProcessor(const OwnAddresses& own) : own_(own) {}
  Result<void, Rejection> process(sip::Message& request) const;

 private:
  const OwnAddresses& own_;
};

// Replaces the whole Route set, keeping `routes` in order (none: removes the header).
void replaceRoutes(sip::Message& request, const std::vector<std::string>& routes);

}  // namespace p2psip::proxy
