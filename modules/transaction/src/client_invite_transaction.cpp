// SPDX-License-Identifier: Apache-2.0
#include "client_invite_transaction.h"

#include <string>
#include <utility>

#include "p2psip/sip/parser.h"

namespace p2psip::transaction {

ClientInviteTransaction::ClientInviteTransaction(TransactionContext& context, std::uint64_t id,
                                                 sip::Message&& invite,
                                                 const transport::Target& target,
                                                 ClientTransactionUser* user)
    : context_(context),
      identity_(TransactionIdentity::of(id, TransactionKind::ClientInvite, invite)),
      invite_(std::make_unique<sip::Message>(std::move(invite))),
      target_(target),
      reliable_(transport::isReliable(target.protocol)),
      user_(user),
      timerA_(context, id, TransactionTimer::A),
      timerB_(context, id, TransactionTimer::B),
      timerC_(context, id, TransactionTimer::C),
      timerD_(context, id, TransactionTimer::D),
      timerM_(context, id, TransactionTimer::M),
      cancelWait_(context, id, TransactionTimer::CancelWait) {}

std::string_view ClientInviteTransaction::toString(State state) {
  switch (state) {
    case State::Calling:
      return "Calling";
    case State::Proceeding:
      return "Proceeding";
    case State::Completed:
      return "Completed";
    case State::Accepted:
      return "Accepted";
    case State::Terminated:
      return "Terminated";
  }
  return "?";
}

Result<void> ClientInviteTransaction::start() {
  auto sent = context_.send(identity_, *invite_, target_);
  if (!sent) return sent;
  // §17.1.1.2: Timer A only where the transport does not retransmit for us.
  if (!reliable_) timerA_.start(context_.values.timerA());
  timerB_.start(context_.values.timerB());
  // §16.6 step 11: Timer C guards a proxy against a branch that rings forever.
  if (auto c = context_.values.timerC()) timerC_.start(*c);
  context_.logTransition(identity_, "-", toString(state_), "INVITE sent");
  return {};
}

void ClientInviteTransaction::enter(State next, std::string_view cause) {
  context_.logTransition(identity_, toString(state_), toString(next), cause);
  state_ = next;
}

void ClientInviteTransaction::terminate(std::string_view cause) {
  timerA_.stop();
  timerB_.stop();
  timerC_.stop();
  timerD_.stop();
  timerM_.stop();
  cancelWait_.stop();
  enter(State::Terminated, cause);
  context_.markTerminated(identity_);
}

void ClientInviteTransaction::onResponse(sip::Message&& response, const transport::Flow& flow) {
  const auto status = response.statusCode();
  switch (state_) {
    case State::Calling:
    case State::Proceeding:
      if (status < 200) {
        onProvisional(std::move(response));
      } else if (status < 300) {
        onSuccess(std::move(response), flow);
      } else {
        onFailure(std::move(response), flow);
      }
      return;
    case State::Completed:
      if (status >= 300) {
        // §17.1.1.2: a retransmitted final response is answered with the same ACK and kept from the
        // TU.
        context_.metrics.retransmissionsAbsorbed.inc();
        if (!ack_.empty() && context_.sendSerialized(identity_, ack_, "ACK", target_))
          context_.metrics.retransmissionsSent.inc();
      } else if (status >= 200) {
        // A 2xx after a non-2xx final (a misbehaving fork): somebody must ACK it, so it goes up.
        deliver(std::move(response), flow);
      }
      return;
    case State::Accepted:
      // RFC 6026 §7.2: further 2xx (retransmissions, other forks) go to the TU, which ACKs them.
      if (status >= 200 && status < 300) {
        deliver(std::move(response), flow);
      } else {
        context_.metrics.retransmissionsAbsorbed.inc();
      }
      return;
    case State::Terminated:
      return;
  }
}

void ClientInviteTransaction::onProvisional(sip::Message&& response) {
  // §17.1.1.2: no more retransmissions once the server is known to be working on it.
  timerA_.stop();
  timerB_.stop();
  // §16.7 step 2: a provisional other than 100 restarts Timer C.
  if (auto c = context_.values.timerC(); c && response.statusCode() > 100) timerC_.start(*c);
  if (state_ == State::Calling) enter(State::Proceeding, "1xx");
  if (user_) user_->onResponse(ClientTransactionId{identity_.id}, std::move(response));
}

void ClientInviteTransaction::onSuccess(sip::Message&& response, const transport::Flow& flow) {
  timerA_.stop();
  timerB_.stop();
  timerC_.stop();
  cancelWait_.stop();
  cancelPending_ = false;
  invite_.reset();
  // RFC 6026 §7.2: stay for Timer M to hand further 2xx to the TU instead of terminating.
  enter(State::Accepted, "2xx");
  timerM_.start(context_.values.timerM());
  deliver(std::move(response), flow);
}

void ClientInviteTransaction::onFailure(sip::Message&& response, const transport::Flow& flow) {
  timerA_.stop();
  timerB_.stop();
  timerC_.stop();
  cancelWait_.stop();
  cancelPending_ = false;
  // §17.1.1.3: the ACK for a non-2xx final is ours, hop by hop, with the response's To tag.
  Result<void> ackSent;
  if (auto ack = buildHopByHop("ACK", response.to().text)) {
    ack_ = ack->serialize();
    ackSent = context_.sendSerialized(identity_, ack_, "ACK", target_);
  } else {
    context_.logger.error("client INVITE {} cannot build ACK: {} call_id={} branch={}",
                          identity_.id, ack.error().detail, identity_.callId(), identity_.branch());
  }
  invite_.reset();
  enter(State::Completed, std::to_string(response.statusCode()));
  // §17.1.1.2: Timer D absorbs retransmitted finals; zero on reliable transports.
  const auto d = context_.values.timerD(reliable_);
  const bool terminateNow = d == Duration::zero() || !ackSent;
  if (!terminateNow) timerD_.start(d);
  deliver(std::move(response), flow);
  if (state_ != State::Completed || !terminateNow) return;  // the TU may have reacted meanwhile
  if (!ackSent) {
    terminate("transport error");
    if (user_) user_->onTransportError(ClientTransactionId{identity_.id}, ackSent.error());
    return;
  }
  terminate("Timer D (reliable transport)");
}

void ClientInviteTransaction::deliver(sip::Message&& response, const transport::Flow& flow) {
  if (user_) {
    user_->onResponse(ClientTransactionId{identity_.id}, std::move(response));
  } else if (response.statusCode() >= 200 && response.statusCode() < 300) {
    // A detached TU must not make a 2xx vanish: a proxy still forwards it (§16.7 step 10).
    context_.metrics.strayResponses.inc();
    context_.user.onStrayResponse(std::move(response), flow);
  }
}

void ClientInviteTransaction::onTimer(TransactionTimer timer) {
  switch (timer) {
    case TransactionTimer::A:
      if (state_ != State::Calling) return;
      if (auto sent = context_.send(identity_, *invite_, target_); !sent) {
        onTransportError(sent.error());
        return;
      }
      context_.metrics.retransmissionsSent.inc();
      // §17.1.1.2: the interval doubles after each retransmission; unlike Timer E it has no T2 cap.
      timerA_.start(2 * timerA_.interval());
      return;
    case TransactionTimer::B:
      if (state_ != State::Calling) return;
      context_.metrics.timeouts.inc();
      terminate("Timer B");
      if (user_) user_->onTimeout(ClientTransactionId{identity_.id}, ClientTimeout::TimerB);
      return;
    case TransactionTimer::C:
      // §16.8: the TU decides (CANCEL, or act as on 408); the transaction itself carries on.
      if (state_ != State::Calling && state_ != State::Proceeding) return;
      if (user_) user_->onTimeout(ClientTransactionId{identity_.id}, ClientTimeout::TimerC);
      return;
    case TransactionTimer::D:
      if (state_ == State::Completed) terminate("Timer D");
      return;
    case TransactionTimer::M:
      if (state_ == State::Accepted) terminate("Timer M");
      return;
    case TransactionTimer::CancelWait:
      // §9.1: no final response 64*T1 after the CANCEL: consider the INVITE cancelled.
      if (state_ != State::Proceeding) return;
      context_.metrics.timeouts.inc();
      terminate("no final response after CANCEL");
      if (user_)
        user_->onTimeout(ClientTransactionId{identity_.id}, ClientTimeout::CancelUnanswered);
      return;
    default:
      return;
  }
}

void ClientInviteTransaction::onTransportError(const Error& error) {
  switch (state_) {
    case State::Calling:
    case State::Proceeding:
    case State::Completed:
      // §17.1.1.2: inform the TU, which acts as on 503 (§8.1.3.1).
      terminate("transport error");
      if (user_) user_->onTransportError(ClientTransactionId{identity_.id}, error);
      return;
    case State::Accepted:
    case State::Terminated:
      return;  // nothing of ours is in flight
  }
}

ClientInviteTransaction::CancelDecision ClientInviteTransaction::requestCancel() {
  switch (state_) {
    case State::Calling:
      // §9.1: no CANCEL before a provisional response; it waits for one.
      if (cancelPending_) return CancelDecision::AlreadyRequested;
      cancelPending_ = true;
      return CancelDecision::Deferred;
    case State::Proceeding:
      return cancelSent_ ? CancelDecision::AlreadyRequested : CancelDecision::SendNow;
    case State::Completed:
    case State::Accepted:
    case State::Terminated:
      return CancelDecision::TooLate;  // §9.1: a final response already arrived
  }
  return CancelDecision::TooLate;
}

bool ClientInviteTransaction::takeDeferredCancel() {
  if (!cancelPending_ || state_ != State::Proceeding || cancelSent_) return false;
  cancelPending_ = false;
  return true;
}

Result<sip::Message> ClientInviteTransaction::buildCancel() const {
  // §9.1: Request-URI, Call-ID, From, To and CSeq number of the INVITE, its top Via only, its
  // Routes.
  if (!invite_)
    return makeError(ErrorCode::InvalidArgument, "the INVITE has had its final response");
  return buildHopByHop("CANCEL", invite_->to().text);
}

void ClientInviteTransaction::onCancelSent() {
  cancelSent_ = true;
  cancelWait_.start(context_.values.cancelWait());
}

Result<sip::Message> ClientInviteTransaction::buildHopByHop(std::string_view method,
                                                            std::string_view to) const {
  // §17.1.1.3 (ACK) and §9.1 (CANCEL) share one shape: they follow the INVITE hop by hop, so they
  // reuse its Request-URI and its top Via (hence its branch), and copy its Route set.
  if (!invite_)
    return makeError(ErrorCode::InvalidArgument, "the INVITE has had its final response");
  const sip::Message& invite = *invite_;
  std::string text;
  text.reserve(512);
  text.append(method).append(" ").append(invite.requestUri().text).append(" SIP/2.0\r\n");
  text.append("Via: ").append(invite.topVia().text).append("\r\n");
  for (auto route : invite.values(sip::HeaderId::Route))
    text.append("Route: ").append(route).append("\r\n");
  text.append("Max-Forwards: 70\r\n");
  text.append("From: ").append(invite.from().text).append("\r\n");
  text.append("To: ").append(to).append("\r\n");
  text.append("Call-ID: ").append(invite.callId()).append("\r\n");
  text.append("CSeq: ")
      .append(std::to_string(invite.cseq().number))
      .append(" ")
      .append(method)
      .append("\r\n");
  text.append("Content-Length: 0\r\n\r\n");
  auto parsed = sip::parseOwnText(std::move(text));
  if (!parsed) return makeError(ErrorCode::ParseError, parsed.error().detail);
  return std::move(*parsed);
}

}  // namespace p2psip::transaction
