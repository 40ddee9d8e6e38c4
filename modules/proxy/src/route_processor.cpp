// SPDX-License-Identifier: Apache-2.0
#include "route_processor.h"

#include <string>
#include <vector>

#include "own_addresses.h"

namespace p2psip::proxy {

void replaceRoutes(sip::Message& request, const std::vector<std::string>& routes) {
  request.removeHeaders(sip::HeaderId::Route);
  if (routes.empty()) return;
  std::string joined;
  for (const auto& r : routes) {
    if (!joined.empty()) joined += ", ";
    joined += r;
  }
  request.setHeader(sip::HeaderId::Route, joined);
}

Result<void, Rejection> RouteProcessor::process(sip::Message& request) const {
  // §16.4: "If the Request-URI contains a value this proxy previously placed into a Record-Route
  // header field ... replace the Request-URI with the value of the last Route header field, and
  // remove that value". Our Record-Route URIs carry no user part, which is what isPeerUri checks;
  // without Route values the request is simply addressed to the peer (OPTIONS, REGISTER).
  if (own_.isPeerUri(request.requestUri()) && request.count(sip::HeaderId::Route) > 0) {
    std::vector<std::string> routes;
    for (auto value : request.values(sip::HeaderId::Route)) routes.emplace_back(value);
    auto last = sip::parseNameAddr(routes.back());
    if (!last || !request.setRequestUri(std::string(last->uri.text))) {
      return tl::unexpected<Rejection>(Rejection{400, "Bad Route (strict routing)", {}});
    }
    routes.pop_back();
    replaceRoutes(request, routes);
  }
  // §16.4: "If the first value in the Route header field indicates this proxy, the proxy MUST
  // remove that value from the request."
  for (;;) {
    const auto* route = request.find(sip::HeaderId::Route);
    if (route == nullptr) break;
    std::string_view rest = route->value;
    std::string_view first;
    if (!sip::Message::nextListItem(rest, first)) break;
    auto top = sip::parseNameAddr(first);
    if (!top || !own_.isOwnUri(top->uri)) break;
    request.popRoute();
  }
  return {};
}

}  // namespace p2psip::proxy
