// SPDX-License-Identifier: Apache-2.0
// ServerInviteTransaction: the INVITE server transaction of RFC 3261 §17.2.1 with the Accepted
// state of RFC 6026 §7.1 (Proceeding, Completed, Confirmed, Accepted, Terminated; Timers G, H, I,
// L). Owned by the transaction table. Signalling loop only.
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

class ServerInviteTransaction {
 public:
  enum class State : std::uint8_t { Proceeding, Completed, Confirmed, Accepted, Terminated };

  ServerInviteTransaction(TransactionContext& context, std::uint64_t id, const sip::Message& invite,
                          const transport::Flow& flow);

  // Enters Proceeding and answers 100 Trying at once (§17.2.1), before the TU sees the INVITE.
  void start(const sip::Message& invite);
  // A retransmitted INVITE or an ACK that matched this transaction (§17.2.3).
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
  void fail(ServerTransactionFailure reason, const Error& error, std::string_view cause);
  void onAck(sip::Message&& ack, const transport::Flow& flow);
  void resendLastResponse();

  TransactionContext& context_;
  TransactionIdentity identity_;
  transport::Target responseTarget_;  // §18.2.2
  bool reliable_;
  State state_ = State::Proceeding;
  // The last provisional while Proceeding, then the non-2xx final: what a retransmitted INVITE
  // gets, as sent (serialized once; dropped once no retransmission can need it).
  std::string lastResponse_;
  std::uint16_t lastStatus_ = 0;
  TimerSlot timerG_;
  TimerSlot timerH_;
  TimerSlot timerI_;
  TimerSlot timerL_;
};

}  // namespace p2psip::transaction
