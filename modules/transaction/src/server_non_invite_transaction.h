// SPDX-License-Identifier: Apache-2.0
// ServerNonInviteTransaction: the non-INVITE server transaction of RFC 3261 §17.2.2 (Trying,
// Proceeding, Completed, Terminated; Timer J). CANCELs get one too (§9.2). Owned by the
// transaction table. Signalling loop only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_user.h"
#include "p2psip/transport/transport.h"
#include "transaction_context.h"

namespace p2psip::transaction {

class ServerNonInviteTransaction {
 public:
  enum class State : std::uint8_t { Trying, Proceeding, Completed, Terminated };

  ServerNonInviteTransaction(TransactionContext& context, std::uint64_t id,
                             const sip::Message& request, const transport::Flow& flow);

  void start();
  // A retransmission of the request (§17.2.3 matched it here).
  void onRequest(sip::Message&& request, const transport::Flow& flow);
  Result<void> respond(sip::Message&& response);
  void onTimer(TransactionTimer timer);
  void onTransportError(const Error& error);

  State state() const { return state_; }
  bool isTerminated() const { return state_ == State::Terminated; }
  TransactionInfo info() const { return identity_.info(toString(state_)); }
  const transport::Target& responseTarget() const { return responseTarget_; }
  static std::string_view toString(State state);

 private:
  void enter(State next, std::string_view cause);
  void terminate(std::string_view cause);

  TransactionContext& context_;
  TransactionIdentity identity_;
  transport::Target responseTarget_;  // §18.2.2
  bool reliable_;
  State state_ = State::Trying;
  // What a retransmitted request gets (§17.2.2), as sent: a completed transaction lingers for
  // Timer J (32 s on UDP) and needs nothing else of the response.
  std::string lastResponse_;
  std::uint16_t lastStatus_ = 0;
  TimerSlot timerJ_;
};

}  // namespace p2psip::transaction
