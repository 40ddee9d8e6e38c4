// SPDX-License-Identifier: Apache-2.0
// TransactionLayer: RFC 3261 §17 with the RFC 6026 corrections. It owns every transaction (through
// its table), matches inbound messages to them (§17.1.3, §17.2.3, RFC 2543 fallback), runs their
// timers on the injected TimerService, and sends through the injected MessageSender.
//
// Messages enter from the transport through InboundHandler::onMessage() and from the TU through
// sendRequest() / respond() / cancel(); they leave downwards through MessageSender and upwards
// through TransactionUser / ClientTransactionUser. Not thread-safe: construct, call and destroy it
// on the signalling loop; callbacks run on that loop, inside the call that caused them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
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

namespace p2psip::transaction {

class TransactionLayerImpl;

class TransactionLayer final : public transport::InboundHandler {
 public:
  // `config` must pass validate(); otherwise this throws std::invalid_argument (startup only).
  // sender, timers, user and metrics must outlive the layer.
  TransactionLayer(transport::MessageSender& sender, TimerService& timers, TransactionUser& user,
                   const TransactionConfig& config, MetricsRegistry& metrics, Logger logger);
  ~TransactionLayer() override;
  TransactionLayer(const TransactionLayer&) = delete;
  TransactionLayer& operator=(const TransactionLayer&) = delete;

  // ---- from the transport (transport::InboundHandler)
  void onMessage(transport::InboundMessage&& inbound) override;
  void onTransportError(const transport::Target& target, const Error& error) override;

  // ---- client side (§17.1)
  // Starts a client transaction for `request` (any method but ACK), whose top Via must carry an
  // RFC 3261 branch unique to it (see newBranch()). Sends it at once; an immediate transport
  // failure is returned here and creates nothing. Later events go to `user`.
  Result<ClientTransactionId> sendRequest(sip::Message&& request, const transport::Target& target,
                                          ClientTransactionUser& user);
  // CANCELs client INVITE transaction `invite` (§9.1) in its own non-INVITE client transaction,
  // whose responses are absorbed. Before any provisional response the CANCEL is held back until one
  // arrives; after a final response it is refused. Calling it again is harmless.
  Result<void> cancel(ClientTransactionId invite);
  // Stops callbacks to the transaction's ClientTransactionUser; 2xx responses it would have been
  // given become stray responses. For a TU that goes away before its transactions do.
  void detach(ClientTransactionId id);
  // A fresh branch: the magic cookie plus 96 random bits and a counter (§8.1.1.7).
  std::string newBranch();

  // ---- server side (§17.2)
  // Sends `response` in server transaction `id`: 1xx, then one final (2xx for INVITE may be
  // repeated while Accepted, RFC 6026 §7.1). NotFound once the transaction has terminated.
  Result<void> respond(ServerTransactionId id, sip::Message&& response);

  // ---- outside any transaction
  // The ACK for a 2xx (§13.2.2.4) and a proxy's stateless forwarding of 2xx (§16.7 step 10).
  Result<void> sendStateless(const sip::Message& message, const transport::Target& target);

  // ---- introspection (for status pages and a control tool)
  std::optional<TransactionInfo> find(ClientTransactionId id) const;
  std::optional<TransactionInfo> find(ServerTransactionId id) const;
  std::vector<TransactionInfo> snapshot() const;
  std::size_t count(TransactionKind kind) const;
  std::size_t size() const;  // transactions in flight

 private:
  std::unique_ptr<TransactionLayerImpl> impl_;
};

}  // namespace p2psip::transaction
