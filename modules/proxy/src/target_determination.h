// SPDX-License-Identifier: Apache-2.0
// Target determination, RFC 3261 §16.5, after Route processing: what the proxy does with a
// request. Pure: it only reads the request and our identity; ProxyCore carries the decision out.
//   * A remaining Route: forward as addressed (loose routing; in-dialog requests).
//   * The peer itself: OPTIONS is answered here, REGISTER goes to the RequestSink.
//   * A user in one of our domains: ask the LocationService (its answer may come later).
//   * An IP literal that is not us: forward to it (in-dialog remote targets).
//   * Anything else is a foreign host name: 404, since this peer has no DNS (RFC 3263) yet.
#pragma once

#include <cstdint>
#include <string>
#include <variant>

#include "p2psip/sip/aor.h"
#include "p2psip/sip/message.h"
#include "request_validator.h"

namespace p2psip::proxy {

class OwnAddresses;

struct AnswerOptions {};
struct DeliverToSink {};
struct LookUpLocation {
  std::string aor;  // canonical, sip::LocalDomains::canonicalAor
};
struct ForwardAsAddressed {};  // to the top Route, else to the Request-URI

using TargetDecision =
    std::variant<AnswerOptions, DeliverToSink, LookUpLocation, ForwardAsAddressed, Rejection>;

TargetDecision determineTarget(const sip::Message& request, const OwnAddresses& own,
                               const sip::LocalDomains& domains);

}  // namespace p2psip::proxy
