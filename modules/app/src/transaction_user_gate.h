// SPDX-License-Identifier: Apache-2.0
// TransactionUserGate: the TransactionUser the transaction layer is built with. It breaks the
// construction cycle (the proxy needs the layer, the layer needs its user) by forwarding to a user
// attached later, and it implements draining for a graceful shutdown: once closed, new requests
// are answered 503 with Retry-After (RFC 3261 §21.5.4) while everything belonging to transactions
// and dialogs already under way (ACK, CANCEL, responses) still flows. Signalling loop only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "p2psip/sip/parser.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transaction/transaction_user.h"

namespace p2psip::app {

class TransactionUserGate final : public transaction::TransactionUser {
 public:
  void attach(transaction::TransactionLayer& layer, transaction::TransactionUser& user) {
    layer_ = &layer;
    user_ = &user;
  }
  void close(std::chrono::seconds retryAfter) {
    draining_ = true;
    retryAfter_ = retryAfter;
  }
  bool draining() const { return draining_; }
  std::uint64_t refusedWhileDraining() const { return refused_; }

  void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& flow) override {
    // In-dialog requests (To tag present) still pass, so calls in progress can end with BYE.
    if (draining_ && !request.to().tag()) {
      ++refused_;
      sip::Message response = sip::makeResponse(request, 503, "Shutting Down", "drain");
      response.addHeader("Retry-After", std::to_string(retryAfter_.count()));
      (void)layer_->respond(id, std::move(response));
      return;
    }
    user_->onRequest(id, std::move(request), flow);
  }
  void onCancel(transaction::ServerTransactionId id,
                std::optional<transaction::ServerTransactionId> invite, sip::Message&& cancel,
                const transport::Flow& flow) override {
    user_->onCancel(id, invite, std::move(cancel), flow);
  }
  void onAck(sip::Message&& ack, const transport::Flow& flow) override {
    user_->onAck(std::move(ack), flow);
  }
  void onStrayResponse(sip::Message&& response, const transport::Flow& flow) override {
    user_->onStrayResponse(std::move(response), flow);
  }
  void onServerTransactionFailed(transaction::ServerTransactionId id,
                                 transaction::ServerTransactionFailure reason,
                                 const Error& error) override {
    user_->onServerTransactionFailed(id, reason, error);
  }

 private:
  transaction::TransactionLayer* layer_ = nullptr;  // not owned; attached before the first message
  transaction::TransactionUser* user_ = nullptr;
  bool draining_ = false;
  std::chrono::seconds retryAfter_{5};
  std::uint64_t refused_ = 0;
};

}  // namespace p2psip::app
