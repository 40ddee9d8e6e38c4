// SPDX-License-Identifier: Apache-2.0
#include "stateless_forwarding.h"

#include <cstdio>
#include <functional>
#include <string>

#include "loop_hash.h"
#include "next_hop.h"
#include "own_addresses.h"
#include "p2psip/common/hex.h"
#include "proxy_metrics.h"
#include "target_request.h"

namespace p2psip::proxy {

void StatelessForwarding::forwardAck(sip::Message&& ack, const transport::Flow& inbound,
                                     std::uint64_t loopHash) {
  // §16.11: "the same branch for retransmissions": derive ours from the received branch.
  const std::string_view received = ack.branch().value_or(ack.callId());
  std::string unique(sip::kMagicCookie);
  appendHex(unique, std::hash<std::string_view>{}(received), 16);
  TargetRequestOptions options{false, inbound, LoopHash::branch(loopHash, unique)};
  // The ACK goes to one place and is not needed afterwards: edited in place, not copied. What the
  // log lines name is kept first.
  const std::string callId(ack.callId());
  const std::string branch(received);
  auto built = buildTargetRequest(std::move(ack), BranchTarget{}, options, own_);
  if (!built) {
    logger_.info("proxy drops ACK: {} call_id={} branch={}", built.error().detail, callId, branch);
    return;
  }
  if (media_ != nullptr) {
    OutboundRequest out{std::move(built->request), built->destination,
                        !built->destination.peerIdentity.empty()};
    media_->onAckOut(MessageSource{inbound, own_.isPeerLinkFlow(inbound)}, out);
    built->request = std::move(out.request);
  }
  if (auto sent = transactions_.sendStateless(built->request, built->destination); !sent) {
    logger_.info("proxy could not relay ACK to {}: {} call_id={} branch={}",
                 built->destination.endpoint.toString(), sent.error().detail, callId, branch);
    return;
  }
  metrics_.statelessForwarded.inc();
  if (logger_.shouldLog(spdlog::level::debug)) {  // Endpoint text costs an inet_ntop
    logger_.debug("proxy relayed ACK to {} call_id={} branch={}",
                  built->destination.endpoint.toString(), callId, branch);
  }
}

void StatelessForwarding::forwardResponse(sip::Message&& response) {
  const std::string branch(response.branch().value_or(""));
  const auto status = response.statusCode();
  // Only 2xx to INVITE must survive a finished transaction (§16.7 step 10); for the others the
  // client transaction that wanted them has ended, so they are dropped like any stray response.
  if (status < 200 || status >= 300 || response.cseq().method != sip::Method::Invite) {
    logger_.debug("proxy drops stray {} call_id={} branch={}", status, response.callId(), branch);
    return;
  }
  // §16.7 step 3 (and §18.1.2): it must carry our Via on top, with a branch we wrote.
  if (!own_.isOwnSentBy(response.topVia()) || !LoopHash::fromBranch(branch)) {
    logger_.debug("proxy drops stray {} not sent through us call_id={} branch={}", status,
                  response.callId(), branch);
    return;
  }
  response.popVia();
  const auto protocol = protocolFromVia(response.topVia().transport);
  if (response.count(sip::HeaderId::Via) == 0 || !protocol) {
    logger_.debug("proxy drops stray {} without a usable next Via call_id={} branch={}", status,
                  response.callId(), branch);
    return;
  }
  // §18.2.2 from the Via alone: the upstream connection is unknown here, so TCP/TLS reuse any open
  // connection to that address or open one.
  transport::Flow upstream;
  upstream.protocol = *protocol;
  const auto target = transport::responseTarget(response.topVia(), upstream);
  if (target.endpoint.address.is_unspecified() || target.endpoint.port == 0) {
    logger_.info("proxy cannot relay stray {}: Via host {} needs DNS call_id={} branch={}", status,
                 response.topVia().host, response.callId(), branch);
    return;
  }
  // A 2xx retransmitted after its transaction ended carries the same answer, and the second 2xx of
  // a fork an answer of its own: both must name our relay like the first.
  if (media_ != nullptr) media_->onResponseOut(response, false);
  if (auto sent = transactions_.sendStateless(response, target); !sent) {
    logger_.info("proxy could not relay stray {}: {} call_id={} branch={}", status,
                 sent.error().detail, response.callId(), branch);
    return;
  }
  metrics_.statelessForwarded.inc();
  logger_.debug("proxy relayed stray {} statelessly call_id={} branch={}", status,
                response.callId(), branch);
}

}  // namespace p2psip::proxy
