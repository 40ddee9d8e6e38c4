// SPDX-License-Identifier: Apache-2.0
#include "client_non_invite_transaction.h"

#include <string>
#include <utility>

namespace p2psip::transaction {

ClientNonInviteTransaction::ClientNonInviteTransaction(TransactionContext& context,
                                                       std::uint64_t id, sip::Message&& request,
                                                       const transport::Target& target,
                                                       ClientTransactionUser* user)
    : context_(context),
      identity_(TransactionIdentity::of(id, TransactionKind::ClientNonInvite, request)),
      request_(request.serialize()),
      target_(target),
      reliable_(transport::isReliable(target.protocol)),
      user_(user),
      timerE_(context, id, TransactionTimer::E),
      timerF_(context, id, TransactionTimer::F),
      timerK_(context, id, TransactionTimer::K) {}

std::string_view ClientNonInviteTransaction::toString(State state) {
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

Result<void> ClientNonInviteTransaction::start() {
  auto sent = context_.sendSerialized(identity_, request_, identity_.method(), target_);
  if (!sent) return sent;
  // §17.1.2.2: Timer E only where the transport does not retransmit for us; Timer F always.
  if (!reliable_) timerE_.start(context_.values.timerE());
  timerF_.start(context_.values.timerF());
  context_.logTransition(identity_, "-", toString(state_), "request sent");
  return {};
}

void ClientNonInviteTransaction::enter(State next, std::string_view cause) {
  context_.logTransition(identity_, toString(state_), toString(next), cause);
  state_ = next;
}

void ClientNonInviteTransaction::terminate(std::string_view cause) {
  timerE_.stop();
  timerF_.stop();
  timerK_.stop();
  enter(State::Terminated, cause);
  context_.markTerminated(identity_);
}

void ClientNonInviteTransaction::onResponse(sip::Message&& response,
                                            const transport::Flow& /*flow*/) {
  const auto status = response.statusCode();
  switch (state_) {
    case State::Trying:
    case State::Proceeding:
      if (status < 200) {
        if (state_ == State::Trying) enter(State::Proceeding, "1xx");
      } else {
        timerE_.stop();
        timerF_.stop();
        request_ = std::string();
        enter(State::Completed, std::to_string(status));
        // §17.1.2.2: Timer K absorbs retransmitted finals; zero on reliable transports.
        const auto k = context_.values.timerK(reliable_);
        if (k == Duration::zero()) {
          terminate("Timer K (reliable transport)");
        } else {
          timerK_.start(k);
        }
      }
      if (user_) user_->onResponse(ClientTransactionId{identity_.id}, std::move(response));
      return;
    case State::Completed:
      context_.metrics.retransmissionsAbsorbed.inc();  // §17.1.2.2: retransmitted finals stay here
      return;
    case State::Terminated:
      return;
  }
}

void ClientNonInviteTransaction::onTimer(TransactionTimer timer) {
  switch (timer) {
    case TransactionTimer::E:
      if (state_ != State::Trying && state_ != State::Proceeding) return;
      if (auto sent = context_.sendSerialized(identity_, request_, identity_.method(), target_);
          !sent) {
        onTransportError(sent.error());
        return;
      }
      context_.metrics.retransmissionsSent.inc();
      // §17.1.2.2: doubling up to T2 while Trying; every T2 once a provisional has arrived.
      timerE_.start(state_ == State::Trying ? context_.values.doubledUpToT2(timerE_.interval())
                                            : context_.values.t2());
      return;
    case TransactionTimer::F:
      if (state_ != State::Trying && state_ != State::Proceeding) return;
      context_.metrics.timeouts.inc();
      terminate("Timer F");
      if (user_) user_->onTimeout(ClientTransactionId{identity_.id}, ClientTimeout::TimerF);
      return;
    case TransactionTimer::K:
      if (state_ == State::Completed) terminate("Timer K");
      return;
    default:
      return;
  }
}

void ClientNonInviteTransaction::onTransportError(const Error& error) {
  if (state_ != State::Trying && state_ != State::Proceeding) return;
  // §17.1.2.2: inform the TU, which acts as on 503 (§8.1.3.1).
  terminate("transport error");
  if (user_) user_->onTransportError(ClientTransactionId{identity_.id}, error);
}

}  // namespace p2psip::transaction
