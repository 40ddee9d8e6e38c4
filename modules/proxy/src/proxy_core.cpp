// SPDX-License-Identifier: Apache-2.0
#include "p2psip/proxy/proxy_core.h"
#include "p2psip/common/overloaded.h"

#include <stdexcept>
#include <utility>
#include <variant>

#include "forking_context.h"
#include "loop_hash.h"
#include "next_hop.h"
#include "own_addresses.h"
#include "p2psip/sip/parser.h"
#include "proxy_metrics.h"
#include "request_validator.h"
#include "route_processor.h"
#include "stateless_forwarding.h"
#include "target_determination.h"

namespace p2psip::proxy {
namespace {

const ProxyConfig& validated(const ProxyConfig& config) {
  if (auto ok = config.validate(); !ok) throw std::invalid_argument(ok.error().detail);
  return config;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// A binding as a fork target (§16.5, RFC 3327 §5.3, RFC 5626 §5.3); nullopt if its Contact does
// not parse (the registrar should not have stored it).
std::optional<BranchTarget> branchTargetFor(const location::ContactBinding& binding) {
  auto contact = sip::parseUri(binding.contactUri);
  if (!contact || !contact->isSip()) return std::nullopt;
  BranchTarget target;
  target.requestUri = binding.contactUri;
  target.routes = binding.path;
  target.flow = flowTargetFor(binding, *contact);
  if (!binding.peerNode.empty()) {
    target.farPeer = FarPeer{binding.peerNat, binding.peerPublicAddress};
  }
  return target;
}

// Route values (not header lines): what §16.4 pops one at a time.
std::size_t routeValues(const sip::Message& request) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto value : request.values(sip::HeaderId::Route)) ++n;
  return n;
}

}  // namespace

ProxyCore::ProxyCore(transaction::TransactionLayer& transactions,
                     location::LocationService& location, sip::LocalDomains domains,
                     const ProxyConfig& config, RequestSink& sink, MetricsRegistry& metrics,
                     Logger logger, MediaPolicy* media)
    : transactions_(transactions),
      location_(location),
      domains_(std::move(domains)),
      config_(validated(config)),
      sink_(sink),
      logger_(std::move(logger)),
      media_(media),
      metrics_(std::make_unique<ProxyMetrics>(metrics)),
      own_(std::make_unique<OwnAddresses>(config_.addresses, domains_)),
      validator_(std::make_unique<RequestValidator>(*own_, config_.supported)),
      stateless_(
          std::make_unique<StatelessForwarding>(transactions_, *own_, *metrics_, logger_, media_)),
      aliveToken_(std::make_shared<ProxyCore*>(this)) {}

ProxyCore::~ProxyCore() = default;

void ProxyCore::reapRetired() {
  retired_.clear();
}

void ProxyCore::retire(std::uint64_t contextId) {
  auto it = contexts_.find(contextId);
  if (it == contexts_.end()) return;
  retired_.push_back(std::move(it->second));
  contexts_.erase(it);
  metrics_->active.add(-1);
}

std::string ProxyCore::newToTag() {
  // The branch generator is random plus a counter: unique enough for a tag (§19.3 wants 32 bits).
  return transactions_.newBranch().substr(sip::kMagicCookie.size());
}

void ProxyCore::respondLocally(transaction::ServerTransactionId id, const sip::Message& request,
                               std::uint16_t status, std::string_view reason) {
  auto response = sip::makeResponse(request, status, reason, newToTag());
  if (status == 503) {
    response.addHeader("Retry-After", std::to_string(config_.overloadRetryAfterSeconds));
  }
  metrics_->localResponses.inc();
  logger_.debug("proxy answers {} {} to {} call_id={} branch={}", status, reason,
                request.methodText(), request.callId(), request.branch().value_or(""));
  if (auto sent = transactions_.respond(id, std::move(response)); !sent) {
    logger_.info("proxy could not answer {}: {} call_id={} branch={}", status, sent.error().detail,
                 request.callId(), request.branch().value_or(""));
  }
}

void ProxyCore::answerOptions(transaction::ServerTransactionId id, const sip::Message& request) {
  // §11.2: the capabilities of this peer, for monitoring pings and capability queries.
  auto response = sip::makeResponse(request, 200, "OK", newToTag());
  response.setHeader(sip::HeaderId::Allow, join(config_.allow));
  response.setHeader(sip::HeaderId::Accept, join(config_.accept));
  response.setHeader(sip::HeaderId::Supported, join(config_.supported));
  metrics_->optionsAnswered.inc();
  logger_.debug("proxy answers OPTIONS for itself call_id={} branch={}", request.callId(),
                request.branch().value_or(""));
  if (auto sent = transactions_.respond(id, std::move(response)); !sent) {
    logger_.info("proxy could not answer OPTIONS: {} call_id={} branch={}", sent.error().detail,
                 request.callId(), request.branch().value_or(""));
  }
}

void ProxyCore::onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                          const transport::Flow& flow) {
  reapRetired();
  metrics_->requests.inc();
  const std::uint64_t loopHash = LoopHash::of(request);
  // §16.3: validation first; a rejection is our final answer.
  if (auto valid = validator_->validate(request, loopHash); !valid) {
    const auto& rejection = valid.error();
    metrics_->rejected.inc();
    if (rejection.status == 482) metrics_->loopsDetected.inc();
    auto response = sip::makeResponse(request, rejection.status, rejection.reason, newToTag());
    for (const auto& [name, value] : rejection.headers) response.addHeader(name, value);
    metrics_->localResponses.inc();
    logger_.info("proxy rejects {} with {} {} call_id={} branch={}", request.methodText(),
                 rejection.status, rejection.reason, request.callId(),
                 request.branch().value_or(""));
    if (auto sent = transactions_.respond(id, std::move(response)); !sent) {
      logger_.info("proxy could not answer {}: {} call_id={} branch={}", rejection.status,
                   sent.error().detail, request.callId(), request.branch().value_or(""));
    }
    return;
  }
  // §16.4.
  // A request from an overlay peer reaches only this peer's users, or follows a route set that
  // names us (in-dialog requests through our Record-Route). Anything else would make us a relay
  // for the peer, into the overlay or out of it. (Routes are counted only for peers' requests.)
  const bool fromPeer = own_->isPeerLinkFlow(flow);
  const std::size_t routesBefore = fromPeer ? routeValues(request) : 0;
  if (auto routed = RouteProcessor(*own_).process(request); !routed) {
    respondLocally(id, request, routed.error().status, routed.error().reason);
    return;
  }
  const bool routedThroughUs = fromPeer && routeValues(request) < routesBefore;
  // §16.5.
  std::visit(
      Overloaded{
          [&](const AnswerOptions&) { answerOptions(id, request); },
          [&](const DeliverToSink&) {
            if (fromPeer) {
              metrics_->peerRequestsRefused.inc();
              respondLocally(id, request, 403, "Forbidden (register at your own peer)");
              return;
            }
            metrics_->sinkRequests.inc();
            sink_.onRequest(id, std::move(request), flow);
          },
          [&](const Rejection& r) { respondLocally(id, request, r.status, r.reason); },
          [&](const ForwardAsAddressed&) {
            if (fromPeer && !routedThroughUs) {
              metrics_->peerRequestsRefused.inc();
              logger_.info("proxy refuses to relay {} for peer {} call_id={} branch={}",
                           request.methodText(), flow.peerIdentity.substr(0, 8), request.callId(),
                           request.branch().value_or(""));
              respondLocally(id, request, 403, "Forbidden (not a user of this peer)");
              return;
            }
            if (contexts_.size() >= config_.maxConcurrentRequests) {
              metrics_->overloaded.inc();
              respondLocally(id, request, 503, "Service Unavailable");
              return;
            }
            startContext(id, std::move(request), flow, loopHash);
            if (auto it = contexts_.find(id.value); it != contexts_.end()) {
              it->second->fork({BranchTarget{}}, ForkingContext::TargetOrigin::Addressed);
            }
          },
          [&](const LookUpLocation& lookup) {
            if (contexts_.size() >= config_.maxConcurrentRequests) {
              metrics_->overloaded.inc();
              respondLocally(id, request, 503, "Service Unavailable");
              return;
            }
            logger_.debug("proxy looks up {} call_id={} branch={}", lookup.aor, request.callId(),
                          request.branch().value_or(""));
            std::string callId(request.callId());
            startContext(id, std::move(request), flow, loopHash);
            metrics_->lookups.inc();
            // The callback may run inside lookup() or much later (a DHT): it re-enters by
            // id, and a request that ended meanwhile (CANCEL) is simply not found.
            std::weak_ptr<ProxyCore*> alive = aliveToken_;
            const std::uint64_t contextId = id.value;
            location_.lookup(
                lookup.aor,
                fromPeer ? location::LookupScope::ThisPeer : location::LookupScope::Everywhere,
                [alive, contextId,
                 callId = std::move(callId)](Result<location::LookupResult> result) {
                  if (auto self = alive.lock())
                    (*self)->onLookupComplete(contextId, callId, std::move(result));
                });
          },
      },
      determineTarget(request, *own_, domains_));
}

void ProxyCore::startContext(transaction::ServerTransactionId id, sip::Message&& request,
                             const transport::Flow& flow, std::uint64_t loopHash) {
  ForkingContext::Collaborators collaborators{
      transactions_,
      *own_,
      config_,
      *metrics_,
      logger_,
      [this](std::uint64_t contextId) { retire(contextId); },
      [this] { return newToTag(); },
      media_,
  };
  contexts_[id.value] = std::make_unique<ForkingContext>(std::move(collaborators), id,
                                                         std::move(request), flow, loopHash);
  metrics_->active.add(1);
}

void ProxyCore::onLookupComplete(std::uint64_t contextId, std::string_view callId,
                                 Result<location::LookupResult> result) {
  reapRetired();
  auto it = contexts_.find(contextId);
  if (it == contexts_.end() || it->second->state() != ForkingContext::State::AwaitingTargets) {
    logger_.debug(
        "proxy lookup answered for a request that has ended (server transaction {}) "
        "call_id={}",
        contextId, callId);
    return;
  }
  ForkingContext& context = *it->second;
  if (!result) {
    metrics_->lookupsFailed.inc();
    context.respondLocally(480, "Temporarily Unavailable (location lookup failed)");
    return;
  }
  std::vector<BranchTarget> targets;
  for (const auto& binding : result->bindings) {
    if (auto target = branchTargetFor(binding)) targets.push_back(std::move(*target));
  }
  if (targets.empty()) {
    // §21.4.4 404: no such user here; §21.4.18 480: a user of ours who is not reachable now.
    if (result->bindings.empty() && !result->knownUser) {
      context.respondLocally(404, "Not Found");
    } else {
      context.respondLocally(480, "Temporarily Unavailable");
    }
    return;
  }
  context.fork(targets, ForkingContext::TargetOrigin::Location);
}

void ProxyCore::onCancel(transaction::ServerTransactionId id,
                         std::optional<transaction::ServerTransactionId> invite,
                         sip::Message&& cancel, const transport::Flow& /*flow*/) {
  reapRetired();
  if (!invite) {
    // §16.10 would forward a CANCEL matching nothing statelessly, for an INVITE that may have been
    // forwarded statelessly. We forward every INVITE statefully, and a CANCEL must reach the same
    // targets as its INVITE, which our location-based forking could not reproduce. So there is
    // nothing it can cancel: 481 as a UAS would (§9.2).
    respondLocally(id, cancel, 481, "Call/Transaction Does Not Exist");
    return;
  }
  // §16.10 / §9.2: the CANCEL itself is answered 200 at once, hop by hop.
  auto ok = sip::makeResponse(cancel, 200, "OK");
  if (auto sent = transactions_.respond(id, std::move(ok)); !sent) {
    logger_.info("proxy could not answer CANCEL: {} call_id={} branch={}", sent.error().detail,
                 cancel.callId(), cancel.branch().value_or(""));
  }
  auto it = contexts_.find(invite->value);
  if (it == contexts_.end()) return;  // already answered: the CANCEL has no effect (§9.2)
  metrics_->cancels.inc();
  logger_.info("proxy cancels INVITE on the caller's request call_id={} branch={}", cancel.callId(),
               cancel.branch().value_or(""));
  it->second->cancelByCaller();
}

void ProxyCore::onAck(sip::Message&& ack, const transport::Flow& flow) {
  reapRetired();
  // An ACK cannot be answered: whatever fails here drops it (§17.1.1.3 / §16.11).
  const std::uint64_t loopHash = LoopHash::of(ack);
  if (auto valid = validator_->validate(ack, loopHash); !valid) {
    logger_.info("proxy drops ACK: {} call_id={} branch={}", valid.error().reason, ack.callId(),
                 ack.branch().value_or(""));
    return;
  }
  const bool fromPeer = own_->isPeerLinkFlow(flow);
  const std::size_t routesBefore = fromPeer ? routeValues(ack) : 0;
  if (auto routed = RouteProcessor(*own_).process(ack); !routed) {
    logger_.info("proxy drops ACK: {} call_id={} branch={}", routed.error().reason, ack.callId(),
                 ack.branch().value_or(""));
    return;
  }
  if (fromPeer && routeValues(ack) >= routesBefore) {
    metrics_->peerRequestsRefused.inc();
    logger_.info("proxy drops ACK from peer {} not routed through us call_id={} branch={}",
                 flow.peerIdentity.substr(0, 8), ack.callId(), ack.branch().value_or(""));
    return;
  }
  if (!std::holds_alternative<ForwardAsAddressed>(determineTarget(ack, *own_, domains_))) {
    // An ACK for a 2xx follows the dialog's route set and remote target. One addressed to an AOR
    // or to us cannot be forked or absorbed meaningfully.
    logger_.info("proxy drops ACK not routable as addressed call_id={} branch={}", ack.callId(),
                 ack.branch().value_or(""));
    return;
  }
  stateless_->forwardAck(std::move(ack), flow, loopHash);
}

void ProxyCore::onStrayResponse(sip::Message&& response, const transport::Flow& /*flow*/) {
  reapRetired();
  stateless_->forwardResponse(std::move(response));
}

void ProxyCore::onServerTransactionFailed(transaction::ServerTransactionId id,
                                          transaction::ServerTransactionFailure reason,
                                          const Error& error) {
  reapRetired();
  auto it = contexts_.find(id.value);
  if (it == contexts_.end()) return;
  it->second->abandon(reason == transaction::ServerTransactionFailure::AckTimeout
                          ? "Timer H"
                          : "transport error: " + error.detail);
}

std::vector<ProxyRequestInfo> ProxyCore::snapshot() const {
  std::vector<ProxyRequestInfo> out;
  out.reserve(contexts_.size());
  for (const auto& [id, context] : contexts_) out.push_back(context->info());
  return out;
}

}  // namespace p2psip::proxy
