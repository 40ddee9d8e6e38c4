// SPDX-License-Identifier: Apache-2.0
#include "transaction_context.h"

#include <utility>

namespace p2psip::transaction {

TransactionMetrics::TransactionMetrics(MetricsRegistry& registry)
    : clientInviteCreated(registry.counter("p2psip_transaction_client_invite_created_total")),
      clientNonInviteCreated(
          registry.counter("p2psip_transaction_client_non_invite_created_total")),
      serverInviteCreated(registry.counter("p2psip_transaction_server_invite_created_total")),
      serverNonInviteCreated(
          registry.counter("p2psip_transaction_server_non_invite_created_total")),
      retransmissionsSent(registry.counter("p2psip_transaction_retransmissions_sent_total")),
      retransmissionsAbsorbed(
          registry.counter("p2psip_transaction_retransmissions_absorbed_total")),
      timeouts(registry.counter("p2psip_transaction_timeouts_total")),
      transportErrors(registry.counter("p2psip_transaction_transport_errors_total")),
      strayResponses(registry.counter("p2psip_transaction_stray_responses_total")),
      strayAcks(registry.counter("p2psip_transaction_stray_acks_total")),
      refused(registry.counter("p2psip_transaction_refused_total")),
      terminated(registry.counter("p2psip_transaction_terminated_total")),
      active(registry.gauge("p2psip_transaction_active")) {}

TransactionIdentity TransactionIdentity::of(std::uint64_t id, TransactionKind kind,
                                            const sip::Message& request) {
  TransactionIdentity who;
  who.id = id;
  who.kind = kind;
  const std::string_view method = request.methodText();
  const std::string_view callId = request.callId();
  const std::string_view branch = request.branch().value_or("");
  who.text_.reserve(method.size() + callId.size() + branch.size());
  who.text_.append(method).append(callId).append(branch);
  who.methodSize_ = method.size();
  who.callIdSize_ = callId.size();
  return who;
}

TransactionInfo TransactionIdentity::info(std::string_view state) const {
  return TransactionInfo{id,
                         kind,
                         std::string(method()),
                         std::string(state),
                         std::string(branch()),
                         std::string(callId())};
}

TransactionContext::TransactionContext(transport::MessageSender& sender_, TimerService& timers_,
                                       TransactionUser& user_, const TransactionConfig& config,
                                       MetricsRegistry& registry, Logger logger_)
    : sender(sender_),
      timers(timers_),
      user(user_),
      values(config),
      metrics(registry),
      logger(std::move(logger_)) {}

Result<void> TransactionContext::send(const TransactionIdentity& who, const sip::Message& message,
                                      const transport::Target& target) {
  auto sent = sender.send(message, target);
  if (!sent) {
    metrics.transportErrors.inc();
    logger.warn("{} transaction {} could not send {}: {} call_id={} branch={}", toString(who.kind),
                who.id,
                message.isRequest() ? std::string(message.methodText())
                                    : std::to_string(message.statusCode()),
                sent.error().detail, who.callId(), who.branch());
  }
  return sent;
}

Result<void> TransactionContext::sendSerialized(const TransactionIdentity& who,
                                                std::string_view bytes, std::string_view what,
                                                const transport::Target& target) {
  auto sent = sender.sendSerialized(bytes, target);
  if (!sent) {
    metrics.transportErrors.inc();
    logger.warn("{} transaction {} could not send {}: {} call_id={} branch={}", toString(who.kind),
                who.id, what, sent.error().detail, who.callId(), who.branch());
  }
  return sent;
}

void TransactionContext::logTransition(const TransactionIdentity& who, std::string_view from,
                                       std::string_view to, std::string_view cause) {
  logger.debug("{} transaction {} ({}) {} -> {} on {} call_id={} branch={}", toString(who.kind),
               who.id, who.method(), from, to, cause, who.callId(), who.branch());
}

void TransactionContext::markTerminated(const TransactionIdentity& who) {
  terminated.push_back(who.id);
}

void TimerSlot::start(Duration delay) {
  stop();
  interval_ = delay;
  // Two words of capture fit std::function's inline storage: no allocation per timer.
  static_assert(sizeof(TransactionTimer) == 1);
  const std::uint64_t packed = (owner_ << 8) | static_cast<std::uint8_t>(name_);
  id_ = context_.timers.schedule(delay, [context = &context_, packed] {
    context->timerFired(packed >> 8, static_cast<TransactionTimer>(packed & 0xff));
  });
}

void TimerSlot::stop() {
  if (id_ != kNoTimer) context_.timers.cancel(id_);
  id_ = kNoTimer;
}

}  // namespace p2psip::transaction
