// SPDX-License-Identifier: Apache-2.0
// buildTargetRequest: RFC 3261 §16.6, the copy of a request sent to one target. Steps: copy (1),
// Request-URI (2), Max-Forwards (3), Record-Route (4), Path values as Route (RFC 3327 §5.3, in
// step 5's place), strict-router postprocessing (6), next hop (7), our Via (8). Timer C (11) is
// the transaction layer's. Pure: ForkingContext sends the result.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/proxy/media_policy.h"
#include "p2psip/sip/message.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

class OwnAddresses;

// One element of the target set (§16.5) with how to reach it.
struct BranchTarget {
  std::string requestUri;           // the new Request-URI (a Contact); empty keeps the received one
  std::vector<std::string> routes;  // Route values to put on top: a binding's Path, in order
  std::optional<transport::Target> flow;  // send over this flow instead (RFC 5626, NAT)
  std::optional<FarPeer> farPeer;         // a user served by another peer: what it published
};

struct TargetRequestOptions {
  bool recordRoute = true;
  transport::Flow inbound;  // where the request came from: the upstream side of Record-Route
  std::string branch;       // our Via branch (LoopHash::branch)
};

struct TargetRequest {
  sip::Message request;
  transport::Target destination;
};

// §16.6 step 4: dialog-creating requests outside a dialog (no To tag).
bool createsDialog(const sip::Message& request);

Result<TargetRequest> buildTargetRequest(const sip::Message& original, const BranchTarget& target,
                                         const TargetRequestOptions& options,
                                         const OwnAddresses& own);
// The same, edited in place: for a request that goes to exactly one target and is not needed
// afterwards (a stateless ACK, §16.11), step 1's copy is the message itself.
Result<TargetRequest> buildTargetRequest(sip::Message&& original, const BranchTarget& target,
                                         const TargetRequestOptions& options,
                                         const OwnAddresses& own);

}  // namespace p2psip::proxy
