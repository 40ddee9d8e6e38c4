// SPDX-License-Identifier: Apache-2.0
#include "server_invite_transaction.h"

#include <string>
#include <utility>

#include "p2psip/sip/parser.h"

namespace p2psip::transaction {

ServerInviteTransaction::ServerInviteTransaction(TransactionContext& context, std::uint64_t id,
                                                 const sip::Message& invite,
                                                 const transport::Flow& flow)
    : context_(context),
      identity_(TransactionIdentity::of(id, TransactionKind::ServerInvite, invite)),
      responseTarget_(transport::responseTarget(invite.topVia(), flow)),
      reliable_(transport::isReliable(flow.protocol)),
      timerG_(context, id, TransactionTimer::G),
      timerH_(context, id, TransactionTimer::H),
      timerI_(context, id, TransactionTimer::I),
      timerL_(context, id, TransactionTimer::L) {}

std::string_view ServerInviteTransaction::toString(State state) {
  switch (state) {
    case State::Proceeding:
      return "Proceeding";
    case State::Completed:
      return "Completed";
    case State::Confirmed:
      return "Confirmed";
    case State::Accepted:
      return "Accepted";
    case State::Terminated:
      return "Terminated";
  }
  return "?";
}

void ServerInviteTransaction::start(const sip::Message& invite) {
  // §17.2.1: 100 Trying at once quenches the client's Timer A retransmissions. makeResponse()
  // gives it no To tag and echoes the Timestamp (§8.2.6.1).
  lastResponse_ = sip::makeResponseText(invite, 100, "Trying");
  lastStatus_ = 100;
  // A failed 100 is not fatal: the TU's own response will meet (and report) the same transport.
  (void)context_.sendSerialized(identity_, lastResponse_, "100", responseTarget_);
  context_.logTransition(identity_, "-", toString(state_), "INVITE received");
}

void ServerInviteTransaction::enter(State next, std::string_view cause) {
  context_.logTransition(identity_, toString(state_), toString(next), cause);
  state_ = next;
}

void ServerInviteTransaction::terminate(std::string_view cause) {
  timerG_.stop();
  timerH_.stop();
  timerI_.stop();
  timerL_.stop();
  enter(State::Terminated, cause);
  context_.markTerminated(identity_);
}

void ServerInviteTransaction::fail(ServerTransactionFailure reason, const Error& error,
                                   std::string_view cause) {
  terminate(cause);
  context_.user.onServerTransactionFailed(ServerTransactionId{identity_.id}, reason, error);
}

void ServerInviteTransaction::onRequest(sip::Message&& request, const transport::Flow& flow) {
  if (request.method() == sip::Method::Ack) {
    onAck(std::move(request), flow);
    return;
  }
  switch (state_) {
    case State::Proceeding:
    case State::Completed:
      // §17.2.1: a retransmitted INVITE gets the most recent provisional, or the final, again.
      context_.metrics.retransmissionsAbsorbed.inc();
      resendLastResponse();
      return;
    case State::Confirmed:
    case State::Accepted:
      // RFC 6026 §7.1: absorbed; the TU retransmits its 2xx itself (§13.3.1.4).
      context_.metrics.retransmissionsAbsorbed.inc();
      return;
    case State::Terminated:
      return;
  }
}

void ServerInviteTransaction::onAck(sip::Message&& ack, const transport::Flow& flow) {
  switch (state_) {
    case State::Completed: {
      timerG_.stop();
      timerH_.stop();
      // §17.2.1: Confirmed only absorbs ACKs; the final response is never sent again.
      lastResponse_ = std::string();
      enter(State::Confirmed, "ACK");
      // §17.2.1: Timer I absorbs further ACKs; zero on reliable transports.
      const auto i = context_.values.timerI(reliable_);
      if (i == Duration::zero()) {
        terminate("Timer I (reliable transport)");
      } else {
        timerI_.start(i);
      }
      return;
    }
    case State::Confirmed:
      context_.metrics.retransmissionsAbsorbed.inc();
      return;
    case State::Accepted:
      // RFC 6026 §7.1: an ACK arriving in Accepted belongs to the TU (the ACK for the 2xx).
      context_.user.onAck(std::move(ack), flow);
      return;
    case State::Proceeding:
      context_.logger.debug(
          "server INVITE {} ignores an ACK before any final response call_id={} branch={}",
          identity_.id, identity_.callId(), identity_.branch());
      return;
    case State::Terminated:
      return;
  }
}

void ServerInviteTransaction::resendLastResponse() {
  if (lastResponse_.empty()) return;
  if (auto sent = context_.sendSerialized(identity_, lastResponse_, std::to_string(lastStatus_),
                                          responseTarget_);
      !sent) {
    onTransportError(sent.error());
    return;
  }
  context_.metrics.retransmissionsSent.inc();
}

Result<void> ServerInviteTransaction::respond(sip::Message&& response) {
  const auto status = response.statusCode();
  switch (state_) {
    case State::Proceeding: {
      std::string bytes = response.serialize();
      auto sent =
          context_.sendSerialized(identity_, bytes, std::to_string(status), responseTarget_);
      if (!sent) {
        // §17.2.4: the response cannot be delivered; the caller learns it from the result.
        terminate("transport error");
        return sent;
      }
      if (status < 200) {
        lastResponse_ = std::move(bytes);
        lastStatus_ = status;
      } else if (status < 300) {
        // RFC 6026 §7.1: the TU retransmits the 2xx; we stay for Timer L to absorb INVITE
        // retransmissions, and keep nothing to send.
        lastResponse_ = std::string();
        enter(State::Accepted, std::to_string(status));
        timerL_.start(context_.values.timerL());
      } else {
        lastResponse_ = std::move(bytes);
        lastStatus_ = status;
        enter(State::Completed, std::to_string(status));
        // §17.2.1: Timer G retransmits the final over unreliable transports until the ACK; Timer H
        // gives up.
        if (!reliable_) timerG_.start(context_.values.timerG());
        timerH_.start(context_.values.timerH());
      }
      return {};
    }
    case State::Accepted:
      // RFC 6026 §7.1: 2xx from the TU (its retransmissions, or other 2xx) pass straight through.
      if (status >= 200 && status < 300) return context_.send(identity_, response, responseTarget_);
      return makeError(ErrorCode::InvalidArgument,
                       "only 2xx may follow a 2xx in an INVITE server transaction");
    case State::Completed:
    case State::Confirmed:
    case State::Terminated:
      return makeError(ErrorCode::InvalidArgument, std::string("INVITE server transaction is ") +
                                                       std::string(toString(state_)));
  }
  return makeError(ErrorCode::InvalidArgument, "unknown state");
}

void ServerInviteTransaction::onTimer(TransactionTimer timer) {
  switch (timer) {
    case TransactionTimer::G:
      if (state_ != State::Completed) return;
      if (auto sent = context_.sendSerialized(identity_, lastResponse_, std::to_string(lastStatus_),
                                              responseTarget_);
          !sent) {
        onTransportError(sent.error());
        return;
      }
      context_.metrics.retransmissionsSent.inc();
      timerG_.start(context_.values.doubledUpToT2(timerG_.interval()));
      return;
    case TransactionTimer::H:
      if (state_ != State::Completed) return;
      // §17.2.1: no ACK ever came; the TU must hear of the failure.
      context_.metrics.timeouts.inc();
      fail(ServerTransactionFailure::AckTimeout,
           Error{ErrorCode::Timeout, "Timer H: no ACK for final response"}, "Timer H");
      return;
    case TransactionTimer::I:
      if (state_ == State::Confirmed) terminate("Timer I");
      return;
    case TransactionTimer::L:
      if (state_ == State::Accepted) terminate("Timer L");
      return;
    default:
      return;
  }
}

void ServerInviteTransaction::onTransportError(const Error& error) {
  switch (state_) {
    case State::Proceeding:
    case State::Completed:
      fail(ServerTransactionFailure::TransportError, error, "transport error");
      return;
    case State::Confirmed:
    case State::Accepted:
    case State::Terminated:
      // Accepted: the 2xx is the TU's to retransmit, and each respond() reports its own failure.
      return;
  }
}

}  // namespace p2psip::transaction
