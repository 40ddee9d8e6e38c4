// SPDX-License-Identifier: Apache-2.0
// TransactionLayerImpl: the body of TransactionLayer (pimpl keeps the table and the machines out of
// the public header). Private to the module. Signalling loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_config.h"
#include "p2psip/transaction/transaction_id.h"
#include "p2psip/transaction/transaction_key.h"
#include "p2psip/transaction/transaction_user.h"
#include "p2psip/transport/transport.h"
#include "transaction_context.h"
#include "transaction_table.h"

namespace p2psip::transaction {

// Everything behind TransactionLayer. Events are handled inside a DispatchScope: transactions that
// terminate are erased only when the outermost event is done, so a TU that calls back into the
// layer from a callback never destroys the transaction whose method is still running.
class TransactionLayerImpl {
 public:
  TransactionLayerImpl(transport::MessageSender& sender, TimerService& timers,
                       TransactionUser& user, const TransactionConfig& config,
                       MetricsRegistry& metrics, Logger logger);

  void onMessage(transport::InboundMessage&& inbound);
  void onTransportError(const transport::Target& target, const Error& error);
  Result<ClientTransactionId> sendRequest(sip::Message&& request, const transport::Target& target,
                                          ClientTransactionUser& user);
  Result<void> cancel(ClientTransactionId invite);
  void detach(ClientTransactionId id);
  std::string newBranch();
  Result<void> respond(ServerTransactionId id, sip::Message&& response);
  Result<void> sendStateless(const sip::Message& message, const transport::Target& target) {
    return context_.sender.send(message, target);
  }
  std::optional<TransactionInfo> find(ClientTransactionId id) const;
  std::optional<TransactionInfo> find(ServerTransactionId id) const;
  std::vector<TransactionInfo> snapshot() const;
  std::size_t count(TransactionKind kind) const;
  std::size_t size() const { return table_.size(); }

 private:
  class DispatchScope {
   public:
    explicit DispatchScope(TransactionLayerImpl& layer) : layer_(layer) { ++layer_.depth_; }
    ~DispatchScope() {
      if (--layer_.depth_ == 0) layer_.reapTerminated();
    }
    DispatchScope(const DispatchScope&) = delete;
    DispatchScope& operator=(const DispatchScope&) = delete;

   private:
    TransactionLayerImpl& layer_;
  };

  void onResponse(sip::Message&& response, const transport::Flow& flow);
  void onRequest(sip::Message&& request, const transport::Flow& flow);
  void createServerTransaction(sip::Message&& request, const transport::Flow& flow,
                               TransactionKey key);
  void refuse(const sip::Message& request, const transport::Flow& flow);
  Result<void> startCancel(ClientInviteTransaction& invite);
  void onTimerFired(std::uint64_t id, TransactionTimer timer);
  void reapTerminated();
  bool full() const { return table_.size() >= maxTransactions_; }

  // Declared before table_: transactions reach it from their destructors (timer cancellation).
  TransactionContext context_;
  TransactionTable table_;
  std::size_t maxTransactions_;
  std::uint64_t nextId_ = 1;
  int depth_ = 0;
  std::mt19937_64 random_;
  std::uint64_t branchCounter_ = 0;
};

}  // namespace p2psip::transaction
