// SPDX-License-Identifier: Apache-2.0
#include "request_validator.h"
#include "p2psip/sip/case_insensitive.h"

#include <algorithm>
#include <cctype>

#include "loop_hash.h"
#include "own_addresses.h"

namespace p2psip::proxy {
namespace {

tl::unexpected<Rejection> reject(std::uint16_t status, std::string reason) {
  return tl::unexpected<Rejection>(Rejection{status, std::move(reason), {}});
}

}  // namespace

RequestValidator::RequestValidator(const OwnAddresses& own, std::vector<std::string> supported)
    : own_(own), supported_(std::move(supported)) {}

Result<void, Rejection> RequestValidator::validate(const sip::Message& request,
                                                   std::uint64_t loopHash) const {
  // §16.3 step 2: we can only route SIP and SIPS; TEL and others need a gateway we do not have.
  if (!request.requestUri().isSip()) return reject(416, "Unsupported URI Scheme");

  // §16.3 step 3: a request that has used up its hops ends here, except an OPTIONS for us, which
  // §16.3 step 3 (and §11) lets us answer as its UAS ("Max-Forwards: 0" traceroute-like pings).
  if (request.maxForwards() == 0u) {
    const bool optionsForUs =
        request.method() == sip::Method::Options && own_.isPeerUri(request.requestUri());
    if (!optionsForUs) return reject(483, "Too Many Hops");
  }

  // §16.3 step 4: our own Via with this request's hash means it came round unchanged.
  if (LoopHash::isLooping(request, loopHash, own_)) return reject(482, "Loop Detected");

  // §16.3 step 5: every Proxy-Require tag must be one we support, else 420 listing the others.
  std::string unsupported;
  request.forEachValue(sip::HeaderId::ProxyRequire, [&](std::string_view tag) {
    const bool known = std::any_of(supported_.begin(), supported_.end(), [&](const std::string& s) {
      return sip::equalsIgnoringCase(s, tag);
    });
    if (!known) {
      if (!unsupported.empty()) unsupported += ", ";
      unsupported += tag;
    }
    return true;
  });
  if (!unsupported.empty()) {
    Rejection r{420, "Bad Extension", {}};
    r.headers.emplace_back("Unsupported", std::move(unsupported));
    return tl::unexpected<Rejection>(std::move(r));
  }
  return {};
}

}  // namespace p2psip::proxy
