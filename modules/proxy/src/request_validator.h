// SPDX-License-Identifier: Apache-2.0
// RequestValidator: RFC 3261 §16.3, the checks a proxy makes before it forwards anything. Syntax
// (step 1) was checked by sip::parseDatagram; here are the URI scheme (416), Max-Forwards (483,
// except an OPTIONS addressed to us, which we answer), loop detection (482, step 4, see LoopHash)
// and Proxy-Require (420 with Unsupported). Pure: no I/O, one test per rule.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"

namespace p2psip::proxy {

class OwnAddresses;

// Why a request is refused, and the response that says so.
struct Rejection {
  std::uint16_t status = 400;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. Unsupported for 420
};

class RequestValidator {
 public:
  // `supported`: option tags we accept in Proxy-Require (ProxyConfig::supported).
  RequestValidator(const OwnAddresses& own, std::vector<std::string> supported);

  // `loopHash` is LoopHash::of(request), computed once by the caller and reused for our branch.
  Result<void, Rejection> validate(const sip::Message& request, std::uint64_t loopHash) const;

 private:
  const OwnAddresses& own_;
  std::vector<std::string> supported_;
};

}  // namespace p2psip::proxy
