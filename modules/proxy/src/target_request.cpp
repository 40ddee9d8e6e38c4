// SPDX-License-Identifier: Apache-2.0
#include "target_request.h"

#include <utility>

#include "next_hop.h"
#include "own_addresses.h"
#include "route_processor.h"

namespace p2psip::proxy {

bool createsDialog(const sip::Message& request) {
  if (request.to().tag()) return false;
  switch (request.method()) {
    case sip::Method::Invite:     // RFC 3261 §12.1
    case sip::Method::Subscribe:  // RFC 6665 §4.1.2.1
    case sip::Method::Refer:      // RFC 3515 §2.4.7 (implicit subscription)
    case sip::Method::Notify:     // RFC 6665 §4.1.2.4 (a NOTIFY may create the dialog)
      return true;
    default:
      return false;
  }
}

Result<TargetRequest> buildTargetRequest(const sip::Message& original, const BranchTarget& target,
                                         const TargetRequestOptions& options,
                                         const OwnAddresses& own) {
  // Step 1: each target gets its own copy.
  return buildTargetRequest(original.clone(), target, options, own);
}

Result<TargetRequest> buildTargetRequest(sip::Message&& original, const BranchTarget& target,
                                         const TargetRequestOptions& options,
                                         const OwnAddresses& own) {
  sip::Message request = std::move(original);
  // Step 2: the Request-URI becomes the target (a registered Contact).
  if (!target.requestUri.empty() && !request.setRequestUri(target.requestUri)) {
    return makeError(ErrorCode::InvalidArgument, "target URI does not parse: " + target.requestUri);
  }
  // Step 3: one hop used (RFC 3261 §16.3 step 3 already refused zero).
  if (!request.decrementMaxForwards()) {
    return makeError(ErrorCode::InvalidArgument, "Max-Forwards is zero");
  }
  // RFC 3327 §5.3: the Path recorded at registration becomes the first Route values.
  if (!target.routes.empty()) {
    std::vector<std::string> routes = target.routes;
    for (auto value : request.values(sip::HeaderId::Route)) routes.emplace_back(value);
    replaceRoutes(request, routes);
  }
  // Step 6: a strict router as next hop (no lr) wants the Request-URI to be its own URI, with the
  // real Request-URI appended as the last Route value.
  bool strictNextHop = false;
  if (const auto* route = request.find(sip::HeaderId::Route)) {
    std::string_view rest = route->value;
    std::string_view first;
    sip::Message::nextListItem(rest, first);
    auto top = sip::parseNameAddr(first);
    if (!top) return makeError(ErrorCode::InvalidArgument, "Route does not parse");
    if (!top->uri.param("lr")) {
      std::vector<std::string> routes;
      for (auto value : request.values(sip::HeaderId::Route)) routes.emplace_back(value);
      routes.erase(routes.begin());
      routes.push_back("<" + std::string(request.requestUri().text) + ">");
      const std::string newUri(top->uri.text);
      if (!request.setRequestUri(newUri)) {
        return makeError(ErrorCode::InvalidArgument, "strict Route does not parse as URI");
      }
      replaceRoutes(request, routes);
      strictNextHop = true;
    }
  }
  // Step 7: the next hop: the flow (RFC 5626), else the top Route, else the Request-URI (which is
  // also where a strict router reformatted in step 6 is).
  Result<transport::Target> destination = makeError(ErrorCode::NotFound, "no next hop");
  if (target.flow) {
    destination = *target.flow;
  } else if (const auto* route = request.find(sip::HeaderId::Route); route && !strictNextHop) {
    std::string_view rest = route->value;
    std::string_view first;
    sip::Message::nextListItem(rest, first);
    auto top = sip::parseNameAddr(first);
    if (!top) return makeError(ErrorCode::InvalidArgument, "Route does not parse");
    destination = nextHopFor(top->uri);
  } else {
    destination = nextHopFor(request.requestUri());
  }
  if (!destination) return tl::unexpected(destination.error());

  // Step 4: Record-Route so that the dialog's later requests come back through us. When the
  // transport changes here, RFC 5658 double Record-Route: the upstream side first (it ends up
  // below), then the downstream side on top.
  // Crossing between the phone side and an overlay peer link is such a change too, even over TLS
  // on both sides: each side must route back to its own listener.
  const bool toPeer = !destination->peerIdentity.empty();
  const bool fromPeer = own.isPeerLinkFlow(options.inbound);
  if (options.recordRoute && createsDialog(request)) {
    const bool twice = options.inbound.protocol != destination->protocol || fromPeer != toPeer;
    const sip::CheckedNameAddr* upstream =
        twice ? own.recordRouteFor(options.inbound.protocol, options.inbound.remote, fromPeer)
              : nullptr;
    const sip::CheckedNameAddr* downstream =
        own.recordRouteFor(destination->protocol, destination->endpoint, toPeer);
    if (downstream == nullptr || (twice && upstream == nullptr))
      return makeError(ErrorCode::InvalidArgument, "our Record-Route does not parse");
    if (upstream != nullptr) request.pushRecordRoute(*upstream);
    request.pushRecordRoute(*downstream);
  }
  // Step 8: our Via, whose branch carries the loop hash (§16.6 step 8, LoopHash).
  const sip::PreparedVia* via = own.viaFor(destination->protocol, destination->endpoint, toPeer);
  if (via == nullptr || !request.pushVia(*via, options.branch)) {
    return makeError(ErrorCode::InvalidArgument, "our Via does not parse");
  }
  return TargetRequest{std::move(request), *destination};
}

}  // namespace p2psip::proxy
