// SPDX-License-Identifier: Apache-2.0
#include "target_determination.h"

#include "next_hop.h"
#include "own_addresses.h"

namespace p2psip::proxy {

TargetDecision determineTarget(const sip::Message& request, const OwnAddresses& own,
                               const sip::LocalDomains& domains) {
  // §16.4/§16.5: with a Route set left after ours was removed, the next hop is its first value
  // and the Request-URI is not ours to change.
  if (const auto* route = request.find(sip::HeaderId::Route)) {
    std::string_view rest = route->value;
    std::string_view first;
    sip::Message::nextListItem(rest, first);
    auto top = sip::parseNameAddr(first);
    if (!top) return Rejection{400, "Bad Route", {}};
    if (auto hop = nextHopFor(top->uri); !hop) {
      return Rejection{404, "Not Found (Route host needs DNS, not supported)", {}};
    }
    return ForwardAsAddressed{};
  }

  const sip::Uri& uri = request.requestUri();
  const bool local = own.isOwnUri(uri) || domains.isDomain(uri.host);
  // §10.3: REGISTER for one of our domains or addresses is the registrar's.
  if (request.method() == sip::Method::Register && local) return DeliverToSink{};
  if (own.isPeerUri(uri) || (uri.user.empty() && domains.isDomain(uri.host))) {
    // §11: OPTIONS to the peer itself is a capability query (monitoring pings).
    if (request.method() == sip::Method::Options) return AnswerOptions{};
    return Rejection{404, "Not Found (no user part)", {}};
  }
  if (local) {
    // §16.5: "If the domain of the Request-URI indicates a domain this element is responsible
    // for, the Request-URI MUST be placed into the target set" after the location service ran.
    if (auto aor = domains.canonicalAor(uri)) return LookUpLocation{std::move(*aor)};
    return Rejection{404, "Not Found", {}};
  }
  if (uri.hostKind == sip::HostKind::Ipv4 || uri.hostKind == sip::HostKind::Ipv6) {
    return ForwardAsAddressed{};
  }
  return Rejection{404, "Not Found (foreign domain; no DNS resolution on this peer)", {}};
}

}  // namespace p2psip::proxy
