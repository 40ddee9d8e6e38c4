// SPDX-License-Identifier: Apache-2.0
// ClientInviteTransaction: the INVITE client transaction of RFC 3261 §17.1.1, with the Accepted
// state of RFC 6026 §7.2 and the CANCEL rules of §9.1. Owned by the transaction table; events
// arrive through typed methods, each one switch over State. Signalling loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_user.h"
#include "p2psip/transport/transport.h"
#include "transaction_context.h"

namespace p2psip::transaction {

class ClientInviteTransaction {
 public:
  enum class State : std::uint8_t { Calling, Proceeding, Completed, Accepted, Terminated };
  // What TransactionLayer::cancel() should do now (§9.1).
  enum class CancelDecision : std::uint8_t { SendNow, Deferred, AlreadyRequested, TooLate };

  ClientInviteTransaction(TransactionContext& context, std::uint64_t id, sip::Message&& invite,
                          const transport::Target& target, ClientTransactionUser* user);

  // Enters Calling: sends the INVITE and arms Timers A (unreliable transports only), B and C.
  Result<void> start();
  void onResponse(sip::Message&& response, const transport::Flow& flow);
  void onTimer(TransactionTimer timer);
  void onTransportError(const Error& error);

  CancelDecision requestCancel();
  // True once, when a CANCEL asked for in Calling may go out because a provisional arrived.
  bool takeDeferredCancel();
  Result<sip::Message> buildCancel() const;
  void onCancelSent();
  void detach() { user_ = nullptr; }

  State state() const { return state_; }
  bool isTerminated() const { return state_ == State::Terminated; }
  TransactionInfo info() const { return identity_.info(toString(state_)); }
  const transport::Target& target() const { return target_; }
  static std::string_view toString(State state);

 private:
  void enter(State next, std::string_view cause);
  void terminate(std::string_view cause);
  void onProvisional(sip::Message&& response);
  void onSuccess(sip::Message&& response, const transport::Flow& flow);
  void onFailure(sip::Message&& response, const transport::Flow& flow);
  void deliver(sip::Message&& response, const transport::Flow& flow);
  Result<sip::Message> buildHopByHop(std::string_view method, std::string_view to) const;

  TransactionContext& context_;
  TransactionIdentity identity_;
  // Needed while the INVITE may be retransmitted or cancelled, and to build the ACK of a non-2xx
  // (§17.1.1.3); released on the final response, since Completed and Accepted linger for Timer D
  // and Timer M (32 s on UDP) and need none of it.
  std::unique_ptr<sip::Message> invite_;  // not inline: a Message is ~900 bytes before its heap
  transport::Target target_;
  bool reliable_;
  ClientTransactionUser* user_;  // null once detached
  State state_ = State::Calling;
  bool cancelPending_ = false;  // asked for in Calling, waiting for a provisional (§9.1)
  bool cancelSent_ = false;
  std::string ack_;  // §17.1.1.3: sent again, as sent, for each retransmitted final response
  TimerSlot timerA_;
  TimerSlot timerB_;
  TimerSlot timerC_;
  TimerSlot timerD_;
  TimerSlot timerM_;
  TimerSlot cancelWait_;
};

}  // namespace p2psip::transaction
