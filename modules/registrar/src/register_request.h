// SPDX-License-Identifier: Apache-2.0
// RegisterRequest: what a REGISTER asks of the registrar, read from its Contact, Expires,
// Supported and Path headers and checked in full before any binding changes (RFC 3261 §10.3
// steps 6 and 7: the request is applied all or nothing).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "p2psip/sip/uri.h"

namespace p2psip::registrar {

// A refusal decided while reading the request: the status and a reason phrase naming the problem.
struct Rejection {
  std::uint16_t status = 400;
  std::string reason;
};

// Lifetime rules of §10.3 step 7, from RegistrarConfig.
struct ExpiryRules {
  std::chrono::seconds defaultExpires;
  std::chrono::seconds minExpires;
  std::chrono::seconds maxExpires;
};

struct RequestedContact {
  sip::Uri uri;               // views into the request
  std::uint32_t expires = 0;  // seconds granted (clamped to the maximum); 0 removes the binding
  std::uint16_t q = 1000;     // thousandths; absent counts as 1.0
  std::string instanceId;     // +sip.instance without its quotes, e.g. "<urn:uuid:...>"
  std::uint32_t regId = 0;    // reg-id, kept only with an instance-id
  bool outbound = false;      // RFC 5626: instance-id, reg-id and Supported: outbound
};

struct RegisterRequest {
  bool wildcard = false;  // "Contact: *" with "Expires: 0": remove every binding (§10.2.2)
  std::vector<RequestedContact> contacts;  // empty and not wildcard: a query (§10.2.3)
  std::vector<std::string> path;           // Path values in order (RFC 3327 §5.3)
  bool supportsPath = false;               // Supported: path
  bool supportsOutbound = false;           // Supported: outbound

  bool usesOutbound() const;

  // Reads and checks the request: 400 for a Contact set the registrar cannot apply, 423 for a
  // lifetime below the minimum, 439 when outbound is asked through a first hop without it.
  static Result<RegisterRequest, Rejection> read(const sip::Message& request,
                                                 const ExpiryRules& rules);
};

}  // namespace p2psip::registrar
