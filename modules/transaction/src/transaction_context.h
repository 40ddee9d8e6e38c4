// SPDX-License-Identifier: Apache-2.0
// What the four state machines share: the collaborators injected into the layer (sender, timers,
// TU, metrics, logger), the timer values, and a TimerSlot that arms one named RFC timer.
// Private to the module. Owned by the layer and outliving every transaction; signalling loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_config.h"
#include "p2psip/transaction/transaction_id.h"
#include "p2psip/transaction/transaction_user.h"
#include "p2psip/transport/transport.h"
#include "timer_values.h"

namespace p2psip::transaction {

// p2psip_transaction_* metrics, registered once per layer (conventions §3.4 item 11).
struct TransactionMetrics {
  explicit TransactionMetrics(MetricsRegistry& registry);

  Counter& clientInviteCreated;
  Counter& clientNonInviteCreated;
  Counter& serverInviteCreated;
  Counter& serverNonInviteCreated;
  Counter& retransmissionsSent;  // requests and responses sent again (Timers A, E, G; answers to
                                 // duplicates)
  Counter& retransmissionsAbsorbed;  // duplicates received and kept from the TU
  Counter& timeouts;                 // Timers B, F, H and §9.1's CancelWait
  Counter& transportErrors;
  Counter& strayResponses;
  Counter& strayAcks;
  Counter& refused;  // over maxTransactions
  Counter& terminated;
  Gauge& active;
};

// Who a transaction is. Every log line carries call_id and branch (conventions §3.4 item 11).
// The three texts share one string: a proxied call creates four transactions, and one allocation
// each instead of three was a measurable share of the call's allocations.
struct TransactionIdentity {
  std::uint64_t id = 0;
  TransactionKind kind = TransactionKind::ClientInvite;

  std::string_view method() const { return std::string_view(text_).substr(0, methodSize_); }
  std::string_view callId() const {
    return std::string_view(text_).substr(methodSize_, callIdSize_);
  }
  std::string_view branch() const {
    return std::string_view(text_).substr(methodSize_ + callIdSize_);
  }

  static TransactionIdentity of(std::uint64_t id, TransactionKind kind,
                                const sip::Message& request);
  TransactionInfo info(std::string_view state) const;

 private:
  std::string text_;  // method, Call-ID, branch
  std::size_t methodSize_ = 0;
  std::size_t callIdSize_ = 0;
};

struct TransactionContext {
  TransactionContext(transport::MessageSender& sender, TimerService& timers, TransactionUser& user,
                     const TransactionConfig& config, MetricsRegistry& registry, Logger logger);

  transport::MessageSender& sender;
  TimerService& timers;
  TransactionUser& user;
  TimerValues values;
  TransactionMetrics metrics;
  Logger logger;
  // Set by the layer: routes a timer back to its transaction by id, so that a timer of a
  // transaction that is gone does nothing.
  std::function<void(std::uint64_t, TransactionTimer)> timerFired;
  // Ids of transactions that entered Terminated; the layer erases them once the current event
  // has been handled, never while one of their methods is on the stack.
  std::vector<std::uint64_t> terminated;

  // Sends through the transport; a failure is logged and counted, and returned for the machine to
  // act on.
  Result<void> send(const TransactionIdentity& who, const sip::Message& message,
                    const transport::Target& target);
  // The same for bytes serialized earlier (what a completed transaction keeps); `what` names them
  // in the log line ("ACK", "486").
  Result<void> sendSerialized(const TransactionIdentity& who, std::string_view bytes,
                              std::string_view what, const transport::Target& target);
  void logTransition(const TransactionIdentity& who, std::string_view from, std::string_view to,
                     std::string_view cause);
  void markTerminated(const TransactionIdentity& who);
};

// One named RFC timer of one transaction. Restarting replaces the pending firing; destruction
// cancels it, so a transaction leaves no timers behind.
class TimerSlot {
 public:
  TimerSlot(TransactionContext& context, std::uint64_t owner, TransactionTimer name)
      : context_(context), owner_(owner), name_(name) {}
  ~TimerSlot() { stop(); }
  TimerSlot(const TimerSlot&) = delete;
  TimerSlot& operator=(const TimerSlot&) = delete;

  void start(Duration delay);
  void stop();
  // The current interval, for the doubling retransmit timers (A, E, G).
  Duration interval() const { return interval_; }

 private:
  TransactionContext& context_;
  std::uint64_t owner_;
  TransactionTimer name_;
  TimerId id_ = kNoTimer;
  Duration interval_{};
};

}  // namespace p2psip::transaction
