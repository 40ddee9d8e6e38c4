// SPDX-License-Identifier: Apache-2.0
// OptionsResponder: the SIP core's demo user agent server. It answers OPTIONS with 200 and the
// capabilities of RFC 3261 §11.2 (Allow, Accept, Supported), and every other request with the
// response a UAS that implements only OPTIONS owes it: 405 with Allow for known methods, 501 for
// unknown ones (§8.2.1), 416 for a Request-URI scheme it does not serve (§8.2.2.1), 481 for a
// CANCEL that matches nothing (§9.2). Runs on the signalling loop.
#pragma once

#include <optional>

#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transaction/transaction_user.h"

namespace p2psip::tools {

class OptionsResponder final : public transaction::TransactionUser {
 public:
  void attach(transaction::TransactionLayer& layer) { layer_ = &layer; }

  void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& flow) override;
  void onCancel(transaction::ServerTransactionId id,
                std::optional<transaction::ServerTransactionId> invite, sip::Message&& cancel,
                const transport::Flow& flow) override;
  void onAck(sip::Message&&, const transport::Flow&) override {}
  void onStrayResponse(sip::Message&&, const transport::Flow&) override {}
  void onServerTransactionFailed(transaction::ServerTransactionId,
                                 transaction::ServerTransactionFailure, const Error&) override {}

  std::uint64_t optionsAnswered() const { return optionsAnswered_; }

 private:
  void answer(transaction::ServerTransactionId id, const sip::Message& request,
              std::uint16_t status);

  transaction::TransactionLayer* layer_ = nullptr;  // not owned; set before the first request
  std::uint64_t optionsAnswered_ = 0;
  std::uint64_t tagCounter_ = 0;
};

}  // namespace p2psip::tools
