// SPDX-License-Identifier: Apache-2.0
// ClientNonInviteTransaction: the non-INVITE client transaction of RFC 3261 §17.1.2 (Trying,
// Proceeding, Completed, Terminated; Timers E, F, K). Also carries the CANCELs of §9.1, which
// have no ClientTransactionUser. Owned by the transaction table. Signalling loop only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_user.h"
#include "p2psip/transport/transport.h"
#include "transaction_context.h"

namespace p2psip::transaction {

class ClientNonInviteTransaction {
 public:
  enum class State : std::uint8_t { Trying, Proceeding, Completed, Terminated };

  // `user` may be null (a CANCEL sent on behalf of an INVITE, or a detached TU).
  ClientNonInviteTransaction(TransactionContext& context, std::uint64_t id, sip::Message&& request,
                             const transport::Target& target, ClientTransactionUser* user);

  // Enters Trying: sends the request and arms Timers E (unreliable transports only) and F.
  Result<void> start();
  void onResponse(sip::Message&& response, const transport::Flow& flow);
  void onTimer(TransactionTimer timer);
  void onTransportError(const Error& error);
  void detach() { user_ = nullptr; }

  State state() const { return state_; }
  bool isTerminated() const { return state_ == State::Terminated; }
  TransactionInfo info() const { return identity_.info(toString(state_)); }
  const transport::Target& target() const { return target_; }
  static std::string_view toString(State state);

 private:
  void enter(State next, std::string_view cause);
  void terminate(std::string_view cause);

  TransactionContext& context_;
  TransactionIdentity identity_;
  // The request as sent, for Timer E retransmissions (§17.1.2.2); dropped once Completed, which
  // lingers for Timer K and needs none of it.
  std::string request_;
  transport::Target target_;
  bool reliable_;
  ClientTransactionUser* user_;
  State state_ = State::Trying;
  TimerSlot timerE_;
  TimerSlot timerF_;
  TimerSlot timerK_;
};

}  // namespace p2psip::transaction
