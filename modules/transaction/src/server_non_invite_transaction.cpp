// SPDX-License-Identifier: Apache-2.0
#include "server_non_invite_transaction.h"

#include <string>
#include <utility>

namespace p2psip::transaction {

ServerNonInviteTransaction::ServerNonInviteTransaction(TransactionContext& context,
                                                       std::uint64_t id,
                                                       const sip::Message& request,
                                                       const transport::Flow& flow)
    : context_(context),
      identity_(TransactionIdentity::of(id, TransactionKind::ServerNonInvite, request)),
      responseTarget_(transport::responseTarget(request.topVia(), flow)),
      reliable_(transport::isReliable(flow.protocol)),
      timerJ_(context, id, TransactionTimer::J) {}

std::string_view ServerNonInviteTransaction::toString(State state) {
  switch (state) {
    case State::Trying:
      return "Trying";
    case State::Proceeding:
      return "Proceeding";
    case State::Completed:
      return "Completed";
    case State::Terminated:
      return "Terminated";
  }
  return "?";
}

void ServerNonInviteTransaction::start() {
  context_.logTransition(identity_, "-", toString(state_), "request received");
}

void ServerNonInviteTransaction::enter(State next, std::string_view cause) {
  context_.logTransition(identity_, toString(state_), toString(next), cause);
  state_ = next;
}

void ServerNonInviteTransaction::terminate(std::string_view cause) {
  timerJ_.stop();
  enter(State::Terminated, cause);
  context_.markTerminated(identity_);
}

void ServerNonInviteTransaction::onRequest(sip::Message&& /*request*/,
                                           const transport::Flow& /*flow*/) {
  switch (state_) {
    case State::Trying:
      // §17.2.2: nothing to answer with yet; the TU is still working on the original.
      context_.metrics.retransmissionsAbsorbed.inc();
      return;
    case State::Proceeding:
    case State::Completed:
      // §17.2.2: the most recent provisional, or the final, goes out again.
      context_.metrics.retransmissionsAbsorbed.inc();
      if (auto sent = context_.sendSerialized(identity_, lastResponse_, std::to_string(lastStatus_),
                                              responseTarget_);
          !sent) {
        onTransportError(sent.error());
        return;
      }
      context_.metrics.retransmissionsSent.inc();
      return;
    case State::Terminated:
      return;
  }
}

Result<void> ServerNonInviteTransaction::respond(sip::Message&& response) {
  const auto status = response.statusCode();
  switch (state_) {
    case State::Trying:
    case State::Proceeding: {
      std::string bytes = response.serialize();
      auto sent =
          context_.sendSerialized(identity_, bytes, std::to_string(status), responseTarget_);
      if (!sent) {
        // §17.2.4: undeliverable; the caller learns it from the result.
        terminate("transport error");
        return sent;
      }
      lastResponse_ = std::move(bytes);
      lastStatus_ = status;
      if (status < 200) {
        if (state_ == State::Trying) enter(State::Proceeding, std::to_string(status));
        return {};
      }
      enter(State::Completed, std::to_string(status));
      // §17.2.2: Timer J absorbs request retransmissions; zero on reliable transports.
      const auto j = context_.values.timerJ(reliable_);
      if (j == Duration::zero()) {
        terminate("Timer J (reliable transport)");
      } else {
        timerJ_.start(j);
      }
      return {};
    }
    case State::Completed:
    case State::Terminated:
      // §17.2.2: further final responses from the TU are discarded.
      return makeError(
          ErrorCode::InvalidArgument,
          std::string("non-INVITE server transaction is ") + std::string(toString(state_)));
  }
  return makeError(ErrorCode::InvalidArgument, "unknown state");
}

void ServerNonInviteTransaction::onTimer(TransactionTimer timer) {
  if (timer == TransactionTimer::J && state_ == State::Completed) terminate("Timer J");
}

void ServerNonInviteTransaction::onTransportError(const Error& error) {
  if (state_ != State::Proceeding && state_ != State::Completed) return;
  // §17.2.2 / §17.2.4: inform the TU.
  terminate("transport error");
  context_.user.onServerTransactionFailed(ServerTransactionId{identity_.id},
                                          ServerTransactionFailure::TransportError, error);
}

}  // namespace p2psip::transaction
