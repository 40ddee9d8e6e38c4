// SPDX-License-Identifier: Apache-2.0
#include "forking_context.h"

#include <algorithm>
#include <string>
#include <utility>

#include "loop_hash.h"
#include "own_addresses.h"
#include "p2psip/sip/parser.h"
#include "proxy_metrics.h"
#include "response_selection.h"

namespace p2psip::proxy {

using transaction::ClientTimeout;
using transaction::ClientTransactionId;

std::string_view toString(ForkingContext::State state) {
  switch (state) {
    case ForkingContext::State::AwaitingTargets:
      return "AwaitingTargets";
    case ForkingContext::State::AnchoringMedia:
      return "AnchoringMedia";
    case ForkingContext::State::Forking:
      return "Forking";
    case ForkingContext::State::Completed:
      return "Completed";
  }
  return "?";
}

ForkingContext::ForkingContext(Collaborators collaborators, transaction::ServerTransactionId server,
                               sip::Message&& request, const transport::Flow& inbound,
                               std::uint64_t loopHash)
    : c_(std::move(collaborators)),
      server_(server),
      request_(std::move(request)),
      inbound_(inbound),
      loopHash_(loopHash),
      isInvite_(request_.method() == sip::Method::Invite),
      dialogCreating_(!request_.to().tag()) {}

ForkingContext::~ForkingContext() {
  // A ClientTransactionUser must not outlive its transactions' callbacks (transaction_user.h).
  for (const auto& b : branches_) {
    if (b.transaction) c_.transactions.detach(*b.transaction);
  }
}

ForkingContext::Branch* ForkingContext::find(ClientTransactionId id) {
  for (auto& b : branches_) {
    if (b.transaction == id) return &b;
  }
  return nullptr;
}

void ForkingContext::fork(const std::vector<BranchTarget>& targets, TargetOrigin origin) {
  if (state_ != State::AwaitingTargets) return;
  origin_ = origin;
  // §16.6: every target is forked at once (parallel search). Bindings of different q are forked
  // together as well: a sequential search by q would keep the caller waiting a Timer C per group,
  // and a peer's users rarely have more than a handful of contacts.
  branches_.reserve(targets.size());
  if (c_.media == nullptr) {
    // No media policy: each copy leaves as soon as it is built (nothing to collect first).
    state_ = State::Forking;
    for (const auto& target : targets) {
      if (auto request = buildBranch(target)) sendBranch(branches_.back(), std::move(*request));
    }
    finishIfDone();  // every branch may already have failed (no next hop, overload)
    return;
  }
  std::vector<OutboundRequest> built;
  std::vector<std::size_t> indexes;
  built.reserve(targets.size());
  for (const auto& target : targets) {
    if (auto request = buildBranch(target)) {
      built.push_back(std::move(*request));
      indexes.push_back(branches_.size() - 1);
    }
  }
  if (built.empty()) {
    state_ = State::Forking;
    finishIfDone();
    return;
  }
  // The media policy sees every copy with its destination before any is sent, so the offer each
  // target gets already names our relay. It may answer later (another peer's relay is asked).
  state_ = State::AnchoringMedia;
  std::weak_ptr<bool> alive = alive_;
  MessageSource source{inbound_, c_.own.isPeerLinkFlow(inbound_)};
  c_.media->onRequestOut(
      source, std::move(built),
      [this, alive, indexes](tl::expected<std::vector<OutboundRequest>, MediaRefusal> anchored) {
        if (alive.expired()) return;
        onMediaAnchored(indexes, std::move(anchored));
      });
}

void ForkingContext::onMediaAnchored(
    const std::vector<std::size_t>& indexes,
    tl::expected<std::vector<OutboundRequest>, MediaRefusal> anchored) {
  if (state_ != State::AnchoringMedia) return;  // the caller cancelled, or upstream failed
  state_ = State::Forking;
  if (!anchored) {
    c_.logger.info("proxy cannot anchor the media of {}: {} {} call_id={} branch={}",
                   request_.methodText(), anchored.error().status, anchored.error().reason,
                   callId(), upstreamBranch());
    for (auto index : indexes) branches_[index].final = true;
    respondUpstream(anchored.error().status, anchored.error().reason);
    complete();
    return;
  }
  auto& requests = *anchored;
  for (std::size_t i = 0; i < indexes.size() && i < requests.size(); ++i) {
    sendBranch(branches_[indexes[i]], std::move(requests[i]));
  }
  finishIfDone();
}

std::optional<OutboundRequest> ForkingContext::buildBranch(const BranchTarget& target) {
  branches_.emplace_back();
  Branch& b = branches_.back();
  b.branch = LoopHash::branch(loopHash_, c_.transactions.newBranch());
  TargetRequestOptions options{c_.config.recordRoute, inbound_, b.branch};
  auto built = buildTargetRequest(request_, target, options, c_.own);
  if (!built) {
    failBranch(b, 503, built.error().detail);
    return std::nullopt;
  }
  const bool toPeer = !built->destination.peerIdentity.empty();
  return OutboundRequest{std::move(built->request), built->destination, toPeer, target.farPeer};
}

void ForkingContext::sendBranch(Branch& b, OutboundRequest&& outbound) {
  if (b.final) return;
  const auto destination = outbound.destination;
  // The copy is moved into its transaction below; keep its Request-URI only for a debug line.
  std::string requestUri;
  if (c_.logger.shouldLog(spdlog::level::debug)) requestUri = outbound.request.requestUri().text;
  auto started = c_.transactions.sendRequest(std::move(outbound.request), destination, *this);
  if (!started) {
    // Our own transaction table is full: that is overload, not the target's failure.
    b.overload = started.error().code == ErrorCode::LimitExceeded;
    failBranch(b, 503, started.error().detail);
    return;
  }
  b.transaction = *started;
  c_.metrics.branches.inc();
  if (c_.logger.shouldLog(spdlog::level::debug)) {  // Endpoint text costs an inet_ntop
    c_.logger.debug("proxy forked {} to {} via {} call_id={} branch={}", request_.methodText(),
                    requestUri, destination.endpoint.toString(), callId(), b.branch);
  }
}

void ForkingContext::failBranch(Branch& b, std::uint16_t status, std::string_view why) {
  if (b.final) return;
  b.final = true;
  b.status = status;
  c_.metrics.branchFailures.inc();
  c_.logger.info("proxy branch failed as {}: {} call_id={} branch={}", status, why, callId(),
                 b.branch);
}

void ForkingContext::respondLocally(std::uint16_t status, std::string_view reason) {
  if (state_ != State::AwaitingTargets) return;
  respondUpstream(status, reason);
  complete();
}

void ForkingContext::cancelByCaller() {
  if (state_ == State::Completed) return;
  cancelledByCaller_ = true;
  if (state_ == State::AwaitingTargets || state_ == State::AnchoringMedia) {
    // Nothing was forked yet: the lookup's (or the media policy's) answer will find us gone.
    respondUpstream(487, "Request Terminated");
    complete();
    return;
  }
  // §16.10: cancel every pending branch; the downstream 487s make the final response.
  cancelPendingBranches("CANCEL from the caller");
}

void ForkingContext::abandon(std::string_view why) {
  if (state_ == State::Completed) return;
  c_.logger.info("proxy abandons {}: server transaction failed ({}) call_id={} branch={}",
                 request_.methodText(), why, callId(), upstreamBranch());
  cancelPendingBranches("server transaction failed");
  if (c_.media != nullptr) c_.media->onRequestAbandoned(request_);
  complete();
}

void ForkingContext::cancelPendingBranches(std::string_view why) {
  if (!isInvite_) return;  // §9.1: only INVITE can be cancelled
  for (auto& b : branches_) {
    if (b.final || !b.transaction) continue;
    // §9.1: before a provisional the transaction layer holds the CANCEL back until one arrives.
    if (auto sent = c_.transactions.cancel(*b.transaction); !sent) {
      c_.logger.debug("proxy could not cancel branch ({}): {} call_id={} branch={}", why,
                      sent.error().detail, callId(), b.branch);
    } else {
      c_.logger.debug("proxy cancels branch ({}) call_id={} branch={}", why, callId(), b.branch);
    }
  }
}

void ForkingContext::onResponse(ClientTransactionId id, sip::Message&& response) {
  Branch* b = find(id);
  if (b == nullptr || state_ != State::Forking) return;
  // §16.7 step 3: remove our Via; a response with none left was meant for us only.
  if (!response.popVia() || response.count(sip::HeaderId::Via) == 0) return;
  const auto status = response.statusCode();
  if (status < 200) {
    b->provisional = true;
    // §16.7 step 5: provisionals other than 100 go upstream at once (100 is hop by hop, §16.7).
    if (status > 100) forwardUpstream(std::move(response));
    return;
  }
  if (status < 300) {
    // §16.7 step 5 and 10: a 2xx goes upstream at once, and the other branches are cancelled.
    b->final = true;
    b->status = status;
    forwardUpstream(std::move(response));
    cancelPendingBranches("2xx on another branch");
    complete();
    return;
  }
  if (b->final) return;  // Timer C already stood in for this branch (§16.8)
  b->final = true;
  b->status = status;
  b->response.emplace(std::move(response));
  c_.logger.debug("proxy branch answered {} call_id={} branch={}", status, callId(), b->branch);
  // §16.7 step 5/10: a 6xx ends the search; the pending branches are cancelled.
  if (status >= 600) cancelPendingBranches("6xx on another branch");
  finishIfDone();
}

void ForkingContext::onTimeout(ClientTransactionId id, ClientTimeout which) {
  Branch* b = find(id);
  if (b == nullptr || state_ != State::Forking) return;
  switch (which) {
    case ClientTimeout::TimerC:
      // §16.8: Timer C fired: CANCEL the branch if it rang (the layer defers the CANCEL until a
      // provisional otherwise), and treat it as a 408 for response selection.
      c_.metrics.timerC.inc();
      if (auto sent = c_.transactions.cancel(id); !sent) {
        c_.logger.debug("proxy Timer C could not cancel: {} call_id={} branch={}",
                        sent.error().detail, callId(), b->branch);
      }
      failBranch(*b, 408, "Timer C");
      break;
    case ClientTimeout::TimerB:
    case ClientTimeout::TimerF:
      // §16.7 step 6 / §17.1.1.2: a timed-out branch counts as a 408.
      failBranch(*b, 408, which == ClientTimeout::TimerB ? "Timer B" : "Timer F");
      break;
    case ClientTimeout::CancelUnanswered:
      failBranch(*b, 408, "no final response after CANCEL");
      break;
  }
  finishIfDone();
}

void ForkingContext::onTransportError(ClientTransactionId id, const Error& error) {
  Branch* b = find(id);
  if (b == nullptr || state_ != State::Forking) return;
  // §16.7 / §8.1.3.1: a transport error counts as a 503 from that branch.
  failBranch(*b, 503, error.detail);
  finishIfDone();
}

bool ForkingContext::allBranchesFinal() const {
  return std::all_of(branches_.begin(), branches_.end(), [](const Branch& b) { return b.final; });
}

bool ForkingContext::finishIfDone() {
  if (state_ != State::Forking || !allBranchesFinal()) return false;
  sendBestResponse();
  complete();
  return true;
}

void ForkingContext::sendBestResponse() {
  if (branches_.empty()) {
    respondUpstream(480, "Temporarily Unavailable");
    return;
  }
  std::vector<BranchOutcome> outcomes;
  outcomes.reserve(branches_.size());
  for (const auto& b : branches_) {
    outcomes.push_back(BranchOutcome{b.status, b.response ? &*b.response : nullptr});
  }
  const std::size_t best = chooseBestResponse(outcomes);
  const Branch& chosen = branches_[best];
  if (cancelledByCaller_ && !(chosen.response && chosen.status == 487)) {
    // §16.10 / §9.2: the caller cancelled; whatever the branches ended with, it learns 487.
    respondUpstream(487, "Request Terminated");
    return;
  }
  if (chosen.response) {
    if (chosen.status == 503) {
      // §16.7 step 6: a 503 would tell the caller that *we* are overloaded; it becomes a 500.
      respondUpstream(500, "Server Internal Error (503 downstream)");
      return;
    }
    sip::Message response = chosen.response->clone();
    mergeChallenges(response, outcomes, best);  // §16.7 step 7
    forwardUpstream(std::move(response));
    return;
  }
  // A stand-in of ours.
  if (chosen.overload) {
    c_.metrics.overloaded.inc();
    respondUpstream(503, "Service Unavailable");
    return;
  }
  if (chosen.status == 503) {
    if (origin_ == TargetOrigin::Location) {
      respondUpstream(480, "Temporarily Unavailable (no contact reachable)");
    } else {
      respondUpstream(500, "Server Internal Error (next hop unreachable)");
    }
    return;
  }
  respondUpstream(chosen.status, sip::defaultReason(chosen.status));
}

void ForkingContext::forwardUpstream(sip::Message&& response) {
  const auto status = response.statusCode();
  if (c_.media != nullptr) c_.media->onResponseOut(response, dialogCreating_);
  if (auto sent = c_.transactions.respond(server_, std::move(response)); !sent) {
    c_.logger.info("proxy could not relay {} upstream: {} call_id={} branch={}", status,
                   sent.error().detail, callId(), upstreamBranch());
    // §17.2.4: the server transaction ended with that failure, so nobody upstream will hear the
    // outcome of this request any more; stop ringing its branches.
    if (status < 200) abandon("relaying a provisional response failed");
    return;
  }
  c_.metrics.responsesForwarded.inc();
  c_.logger.debug("proxy relayed {} upstream call_id={} branch={}", status, callId(),
                  upstreamBranch());
}

void ForkingContext::respondUpstream(std::uint16_t status, std::string_view reason) {
  auto response = sip::makeResponse(request_, status, reason, c_.newToTag());
  if (status == 503) {
    response.addHeader("Retry-After", std::to_string(c_.config.overloadRetryAfterSeconds));
  }
  if (c_.media != nullptr) c_.media->onResponseOut(response, dialogCreating_);
  c_.metrics.localResponses.inc();
  if (auto sent = c_.transactions.respond(server_, std::move(response)); !sent) {
    c_.logger.info("proxy could not answer {} upstream: {} call_id={} branch={}", status,
                   sent.error().detail, callId(), upstreamBranch());
    return;
  }
  c_.logger.debug("proxy answered {} {} call_id={} branch={}", status, reason, callId(),
                  upstreamBranch());
}

void ForkingContext::complete() {
  if (state_ == State::Completed) return;
  state_ = State::Completed;
  // Branches still running (cancelled ones, Accepted INVITEs) report to nobody from now on; the
  // layer turns their 2xx into stray responses, which ProxyCore relays (§16.7 step 10).
  for (const auto& b : branches_) {
    if (b.transaction) c_.transactions.detach(*b.transaction);
  }
  c_.completed(server_.value);
}

ProxyRequestInfo ForkingContext::info() const {
  ProxyRequestInfo info;
  info.id = server_.value;
  info.method = std::string(request_.methodText());
  info.callId = std::string(request_.callId());
  info.requestUri = std::string(request_.requestUri().text);
  info.state = std::string(toString(state_));
  info.branches = branches_.size();
  info.pendingBranches = static_cast<std::size_t>(
      std::count_if(branches_.begin(), branches_.end(), [](const Branch& b) { return !b.final; }));
  info.cancelled = cancelledByCaller_;
  return info;
}

}  // namespace p2psip::proxy
