// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transaction/transaction_layer.h"

#include <stdexcept>
#include <utility>

#include "transaction_layer_impl.h"

namespace p2psip::transaction {

// ---- TransactionLayer: the public face

namespace {
const TransactionConfig& validated(const TransactionConfig& config) {
  if (auto valid = config.validate(); !valid) throw std::invalid_argument(valid.error().detail);
  return config;
}
}  // namespace

TransactionLayer::TransactionLayer(transport::MessageSender& sender, TimerService& timers,
                                   TransactionUser& user, const TransactionConfig& config,
                                   MetricsRegistry& metrics, Logger logger)
    : impl_(std::make_unique<TransactionLayerImpl>(sender, timers, user, validated(config), metrics,
                                                   std::move(logger))) {}

TransactionLayer::~TransactionLayer() = default;

void TransactionLayer::onMessage(transport::InboundMessage&& inbound) {
  impl_->onMessage(std::move(inbound));
}

void TransactionLayer::onTransportError(const transport::Target& target, const Error& error) {
  impl_->onTransportError(target, error);
}

Result<ClientTransactionId> TransactionLayer::sendRequest(sip::Message&& request,
                                                          const transport::Target& target,
                                                          ClientTransactionUser& user) {
  return impl_->sendRequest(std::move(request), target, user);
}

Result<void> TransactionLayer::cancel(ClientTransactionId invite) {
  return impl_->cancel(invite);
}

void TransactionLayer::detach(ClientTransactionId id) {
  impl_->detach(id);
}

std::string TransactionLayer::newBranch() {
  return impl_->newBranch();
}

Result<void> TransactionLayer::respond(ServerTransactionId id, sip::Message&& response) {
  return impl_->respond(id, std::move(response));
}

Result<void> TransactionLayer::sendStateless(const sip::Message& message,
                                             const transport::Target& target) {
  return impl_->sendStateless(message, target);
}

std::optional<TransactionInfo> TransactionLayer::find(ClientTransactionId id) const {
  return impl_->find(id);
}

std::optional<TransactionInfo> TransactionLayer::find(ServerTransactionId id) const {
  return impl_->find(id);
}

std::vector<TransactionInfo> TransactionLayer::snapshot() const {
  return impl_->snapshot();
}

std::size_t TransactionLayer::count(TransactionKind kind) const {
  return impl_->count(kind);
}

std::size_t TransactionLayer::size() const {
  return impl_->size();
}

}  // namespace p2psip::transaction
