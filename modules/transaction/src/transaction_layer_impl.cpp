// SPDX-License-Identifier: Apache-2.0
#include "transaction_layer_impl.h"

#include <cstdio>
#include <utility>

#include "p2psip/common/hex.h"
#include "p2psip/common/overloaded.h"
#include "p2psip/sip/parser.h"

namespace p2psip::transaction {
namespace {

// The transport reports failures per Target; a transaction is affected when it talks to the same
// connection, or to the same endpoint over the same protocol.
bool sameDestination(const transport::Target& a, const transport::Target& b) {
  if (a.protocol != b.protocol) return false;
  if (a.connection != 0 && a.connection == b.connection) return true;
  return a.endpoint == b.endpoint;
}

}  // namespace

TransactionLayerImpl::TransactionLayerImpl(transport::MessageSender& sender, TimerService& timers,
                                           TransactionUser& user, const TransactionConfig& config,
                                           MetricsRegistry& metrics, Logger logger)
    : context_(sender, timers, user, config, metrics, std::move(logger)),
      maxTransactions_(config.maxTransactions),
      random_(std::random_device{}()) {
  context_.timerFired = [this](std::uint64_t id, TransactionTimer timer) {
    onTimerFired(id, timer);
  };
}

void TransactionLayerImpl::reapTerminated() {
  // Erasing may not add ids (destructors only cancel timers), so one pass suffices.
  auto ids = std::move(context_.terminated);
  context_.terminated.clear();
  for (auto id : ids) {
    if (table_.erase(id)) {
      context_.metrics.terminated.inc();
      context_.metrics.active.add(-1);
    }
  }
}

void TransactionLayerImpl::onMessage(transport::InboundMessage&& inbound) {
  DispatchScope scope(*this);
  if (inbound.message.isResponse()) {
    onResponse(std::move(inbound.message), inbound.flow);
  } else {
    onRequest(std::move(inbound.message), inbound.flow);
  }
}

void TransactionLayerImpl::onResponse(sip::Message&& response, const transport::Flow& flow) {
  // §17.1.3: branch and CSeq method; without a branch nothing of ours can match.
  const auto key = TransactionKey::forClient(response);
  const auto id = key ? table_.matchClient(*key) : std::nullopt;
  auto* entry = id ? table_.client(*id) : nullptr;
  if (entry == nullptr) {
    context_.metrics.strayResponses.inc();
    context_.logger.debug("stray {} response for {} call_id={} branch={}", response.statusCode(),
                          response.cseq().methodText, response.callId(),
                          response.branch().value_or(""));
    context_.user.onStrayResponse(std::move(response), flow);
    return;
  }
  std::visit(Overloaded{[&](std::unique_ptr<ClientInviteTransaction>& invite) {
                          invite->onResponse(std::move(response), flow);
                          // §9.1: a CANCEL asked for in Calling leaves with the first provisional.
                          if (invite->takeDeferredCancel()) {
                            if (auto sent = startCancel(*invite); !sent) {
                              const auto info = invite->info();
                              context_.logger.warn(
                                  "client INVITE {} could not send its deferred CANCEL: {} "
                                  "call_id={} branch={}",
                                  info.id, sent.error().detail, info.callId, info.branch);
                            }
                          }
                        },
                        [&](std::unique_ptr<ClientNonInviteTransaction>& other) {
                          other->onResponse(std::move(response), flow);
                        }},
             entry->transaction);
}

void TransactionLayerImpl::onRequest(sip::Message&& request, const transport::Flow& flow) {
  auto key = TransactionKey::forServer(request);
  const auto id = table_.matchServer(key);
  if (auto* entry = id ? table_.server(*id) : nullptr) {
    // A retransmission, or the ACK of a non-2xx final (§17.2.3).
    visitMachine(entry->transaction,
                 [&](auto& machine) { machine.onRequest(std::move(request), flow); });
    return;
  }
  if (request.method() == sip::Method::Ack) {
    // §17.2.3 / RFC 6026 §7.1: the ACK for a 2xx carries its own branch; it is the TU's.
    context_.metrics.strayAcks.inc();
    context_.logger.debug("ACK outside any transaction to the TU call_id={} branch={}",
                          request.callId(), request.branch().value_or(""));
    context_.user.onAck(std::move(request), flow);
    return;
  }
  if (full()) {
    refuse(request, flow);
    return;
  }
  createServerTransaction(std::move(request), flow, std::move(key));
}

void TransactionLayerImpl::createServerTransaction(sip::Message&& request,
                                                   const transport::Flow& flow,
                                                   TransactionKey key) {
  const std::uint64_t id = nextId_++;
  const bool isCancel = request.method() == sip::Method::Cancel;
  // §9.2: the INVITE a CANCEL cancels is the one with the same key but for the method.
  std::optional<ServerTransactionId> cancelled;
  if (isCancel) {
    if (auto invite = table_.matchServer(key.withMethod("INVITE")))
      cancelled = ServerTransactionId{*invite};
  }
  if (request.method() == sip::Method::Invite) {
    auto machine = std::make_unique<ServerInviteTransaction>(context_, id, request, flow);
    machine->start(request);
    table_.add(id, std::move(key), ServerTransaction{std::move(machine)});
    context_.metrics.serverInviteCreated.inc();
  } else {
    auto machine = std::make_unique<ServerNonInviteTransaction>(context_, id, request, flow);
    machine->start();
    table_.add(id, std::move(key), ServerTransaction{std::move(machine)});
    context_.metrics.serverNonInviteCreated.inc();
  }
  context_.metrics.active.add(1);
  if (isCancel) {
    context_.user.onCancel(ServerTransactionId{id}, cancelled, std::move(request), flow);
  } else {
    context_.user.onRequest(ServerTransactionId{id}, std::move(request), flow);
  }
}

void TransactionLayerImpl::refuse(const sip::Message& request, const transport::Flow& flow) {
  // Out of room: answer statelessly rather than grow without bound (§21.5.4 503).
  context_.metrics.refused.inc();
  context_.logger.warn("transaction table full ({}), refusing {} call_id={} branch={}",
                       maxTransactions_, request.methodText(), request.callId(),
                       request.branch().value_or(""));
  auto busy = sip::makeResponse(request, 503, "Service Unavailable");
  busy.addHeader("Retry-After", "5");
  (void)context_.sender.send(busy, transport::responseTarget(request.topVia(), flow));
}

void TransactionLayerImpl::onTransportError(const transport::Target& target, const Error& error) {
  DispatchScope scope(*this);
  // Collect first: the TU may start transactions from its callbacks.
  std::vector<std::uint64_t> clients;
  std::vector<std::uint64_t> servers;
  for (const auto& [id, entry] : table_.clients()) {
    std::visit(
        [&](const auto& machine) {
          if (!machine->isTerminated() && sameDestination(machine->target(), target))
            clients.push_back(id);
        },
        entry.transaction);
  }
  for (const auto& [id, entry] : table_.servers()) {
    std::visit(
        [&](const auto& machine) {
          if (!machine->isTerminated() && sameDestination(machine->responseTarget(), target))
            servers.push_back(id);
        },
        entry.transaction);
  }
  // Each affected transaction logs its own transition (with call_id and branch); say so when none
  // is.
  if (clients.empty() && servers.empty()) {
    context_.logger.debug("transport error to {} matches no transaction: {}",
                          target.endpoint.toString(), error.detail);
  }
  for (auto id : clients) {
    if (auto* entry = table_.client(id)) {
      visitMachine(entry->transaction, [&](auto& machine) { machine.onTransportError(error); });
    }
  }
  for (auto id : servers) {
    if (auto* entry = table_.server(id)) {
      visitMachine(entry->transaction, [&](auto& machine) { machine.onTransportError(error); });
    }
  }
}

Result<ClientTransactionId> TransactionLayerImpl::sendRequest(sip::Message&& request,
                                                              const transport::Target& target,
                                                              ClientTransactionUser& user) {
  DispatchScope scope(*this);
  if (!request.isRequest())
    return makeError(ErrorCode::InvalidArgument, "sendRequest needs a request");
  if (request.method() == sip::Method::Ack) {
    // §17.1: the ACK for a 2xx is no transaction; the TU sends it with sendStateless().
    return makeError(ErrorCode::InvalidArgument,
                     "ACK has no client transaction; use sendStateless");
  }
  // §8.1.1.7: the branch is the transaction id, so it must be ours and unique.
  if (!request.topVia().isRfc3261Branch()) {
    return makeError(ErrorCode::InvalidArgument, "top Via needs an RFC 3261 branch (z9hG4bK...)");
  }
  auto key = TransactionKey::forClient(request);
  if (!key || table_.matchClient(*key)) {
    return makeError(ErrorCode::InvalidArgument,
                     "a client transaction with this branch and method exists");
  }
  if (full()) {
    context_.metrics.refused.inc();
    return makeError(ErrorCode::LimitExceeded, "transaction table full");
  }
  const std::uint64_t id = nextId_++;
  if (request.method() == sip::Method::Invite) {
    auto machine =
        std::make_unique<ClientInviteTransaction>(context_, id, std::move(request), target, &user);
    if (auto started = machine->start(); !started) return tl::unexpected(started.error());
    table_.add(id, std::move(*key), ClientTransaction{std::move(machine)});
    context_.metrics.clientInviteCreated.inc();
  } else {
    auto machine = std::make_unique<ClientNonInviteTransaction>(context_, id, std::move(request),
                                                                target, &user);
    if (auto started = machine->start(); !started) return tl::unexpected(started.error());
    table_.add(id, std::move(*key), ClientTransaction{std::move(machine)});
    context_.metrics.clientNonInviteCreated.inc();
  }
  context_.metrics.active.add(1);
  return ClientTransactionId{id};
}

Result<void> TransactionLayerImpl::cancel(ClientTransactionId inviteId) {
  DispatchScope scope(*this);
  auto* entry = table_.client(inviteId.value);
  auto* invite =
      entry ? std::get_if<std::unique_ptr<ClientInviteTransaction>>(&entry->transaction) : nullptr;
  if (invite == nullptr) return makeError(ErrorCode::NotFound, "no such client INVITE transaction");
  switch ((*invite)->requestCancel()) {
    case ClientInviteTransaction::CancelDecision::SendNow:
      return startCancel(**invite);
    case ClientInviteTransaction::CancelDecision::Deferred:
    case ClientInviteTransaction::CancelDecision::AlreadyRequested:
      return {};
    case ClientInviteTransaction::CancelDecision::TooLate:
      return makeError(ErrorCode::InvalidArgument,
                       "the INVITE already has a final response (§9.1)");
  }
  return {};
}

Result<void> TransactionLayerImpl::startCancel(ClientInviteTransaction& invite) {
  auto request = invite.buildCancel();
  if (!request) return tl::unexpected(request.error());
  auto key = TransactionKey::forClient(*request);
  if (!key) return makeError(ErrorCode::InvalidArgument, "CANCEL without branch");
  if (table_.matchClient(*key)) return {};
  const std::uint64_t id = nextId_++;
  // §9.1: same destination as the INVITE; its 200 (or 481) interests nobody, hence no user.
  auto machine = std::make_unique<ClientNonInviteTransaction>(context_, id, std::move(*request),
                                                              invite.target(), nullptr);
  if (auto started = machine->start(); !started) return started;
  table_.add(id, std::move(*key), ClientTransaction{std::move(machine)});
  context_.metrics.clientNonInviteCreated.inc();
  context_.metrics.active.add(1);
  invite.onCancelSent();
  return {};
}

void TransactionLayerImpl::detach(ClientTransactionId id) {
  if (auto* entry = table_.client(id.value))
    visitMachine(entry->transaction, [](auto& machine) { machine.detach(); });
}

std::string TransactionLayerImpl::newBranch() {
  // §8.1.1.7: unique across space and time: randomness for space, a counter for time.
  std::string text(sip::kMagicCookie);
  text.reserve(sip::kMagicCookie.size() + 24);
  appendHex(text, random_(), 16);
  appendHex(text, ++branchCounter_ & 0xffffffffULL, 8);
  return text;
}

Result<void> TransactionLayerImpl::respond(ServerTransactionId id, sip::Message&& response) {
  DispatchScope scope(*this);
  auto* entry = table_.server(id.value);
  if (entry == nullptr) return makeError(ErrorCode::NotFound, "no such server transaction");
  if (!response.isResponse())
    return makeError(ErrorCode::InvalidArgument, "respond needs a response");
  // RFC 2543 (§17.2.3): the ACK of this INVITE will carry the To tag of its final response.
  std::optional<TransactionKey> ackAlias;
  const auto& primary = entry->keys.front();
  if (!primary.rfc3261 && primary.method == "INVITE" && response.statusCode() >= 200) {
    ackAlias = primary.withToTag(response.to().tag().value_or(""));
  }
  auto result = visitMachine(entry->transaction,
                             [&](auto& machine) { return machine.respond(std::move(response)); });
  if (result && ackAlias) table_.addAlias(id.value, std::move(*ackAlias));
  return result;
}

void TransactionLayerImpl::onTimerFired(std::uint64_t id, TransactionTimer timer) {
  DispatchScope scope(*this);
  if (auto* client = table_.client(id)) {
    visitMachine(client->transaction, [&](auto& machine) { machine.onTimer(timer); });
  } else if (auto* server = table_.server(id)) {
    visitMachine(server->transaction, [&](auto& machine) { machine.onTimer(timer); });
  }
}

std::optional<TransactionInfo> TransactionLayerImpl::find(ClientTransactionId id) const {
  const auto* entry = table_.client(id.value);
  if (entry == nullptr) return std::nullopt;
  return std::visit([](const auto& machine) { return machine->info(); }, entry->transaction);
}

std::optional<TransactionInfo> TransactionLayerImpl::find(ServerTransactionId id) const {
  const auto* entry = table_.server(id.value);
  if (entry == nullptr) return std::nullopt;
  return std::visit([](const auto& machine) { return machine->info(); }, entry->transaction);
}

std::vector<TransactionInfo> TransactionLayerImpl::snapshot() const {
  std::vector<TransactionInfo> out;
  out.reserve(table_.size());
  for (const auto& [id, entry] : table_.clients()) {
    out.push_back(
        std::visit([](const auto& machine) { return machine->info(); }, entry.transaction));
  }
  for (const auto& [id, entry] : table_.servers()) {
    out.push_back(
        std::visit([](const auto& machine) { return machine->info(); }, entry.transaction));
  }
  return out;
}

std::size_t TransactionLayerImpl::count(TransactionKind kind) const {
  std::size_t n = 0;
  for (const auto& [id, entry] : table_.clients()) {
    n += std::visit([&](const auto& machine) { return machine->info().kind == kind; },
                    entry.transaction)
             ? 1
             : 0;
  }
  for (const auto& [id, entry] : table_.servers()) {
    n += std::visit([&](const auto& machine) { return machine->info().kind == kind; },
                    entry.transaction)
             ? 1
             : 0;
  }
  return n;
}

}  // namespace p2psip::transaction
