// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transaction/transaction_key.h"

#include <cctype>
#include <functional>
#include <string>

#include "p2psip/sip/message.h"

namespace p2psip::transaction {
namespace {

std::string lowerCase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// sent-by compares host case-insensitively; an absent port is the transport's default (§18.2.2),
// so "host" and "host:5060" name the same sender.
std::string sentByOf(const sip::Via& via) {
  const std::uint16_t port = via.port ? *via.port : via.portOrDefault();
  return lowerCase(via.host) + ":" + std::to_string(port);
}

// ACK belongs to the INVITE transaction it acknowledges (§17.2.3).
std::string serverMethodOf(const sip::Message& request) {
  if (request.method() == sip::Method::Ack) return "INVITE";
  return std::string(request.methodText());
}

void combine(std::size_t& seed, std::size_t value) {
  seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

}  // namespace

std::optional<TransactionKey> TransactionKey::forClient(const sip::Message& message) {
  auto branch = message.branch();
  if (!branch || branch->empty()) return std::nullopt;
  TransactionKey key;
  key.rfc3261 = message.topVia().isRfc3261Branch();
  key.branch = std::string(*branch);
  // §17.1.3: the CSeq method separates an INVITE from the CANCEL that shares its branch.
  key.method = std::string(message.cseq().methodText);
  return key;
}

TransactionKey TransactionKey::forServer(const sip::Message& request) {
  const auto& via = request.topVia();
  TransactionKey key;
  key.rfc3261 = via.isRfc3261Branch();
  key.branch = std::string(via.branch().value_or(""));
  key.sentBy = sentByOf(via);
  key.method = serverMethodOf(request);
  if (key.rfc3261) return key;
  // RFC 2543 fallback (§17.2.3): the branch is not unique, so the request itself identifies the
  // transaction. The To tag is the request's; an ACK's tag then matches the INVITE transaction
  // only through the alias registered for its final response (withToTag).
  auto legacy = std::make_shared<Rfc2543Part>();
  legacy->transport = lowerCase(via.transport);
  legacy->requestUri = std::string(request.requestUri().text);
  legacy->toTag = std::string(request.to().tag().value_or(""));
  legacy->fromTag = std::string(request.from().tag().value_or(""));
  legacy->callId = std::string(request.callId());
  legacy->cseqNumber = request.cseq().number;
  key.rfc2543 = std::move(legacy);
  return key;
}

TransactionKey TransactionKey::withMethod(std::string_view otherMethod) const {
  TransactionKey key = *this;
  key.method = std::string(otherMethod);
  return key;
}

TransactionKey TransactionKey::withToTag(std::string_view tag) const {
  TransactionKey key = *this;
  auto legacy = std::make_shared<Rfc2543Part>(rfc2543 ? *rfc2543 : Rfc2543Part{});
  legacy->toTag = std::string(tag);
  key.rfc2543 = std::move(legacy);
  return key;
}

std::size_t TransactionKeyHash::operator()(const TransactionKey& key) const noexcept {
  std::hash<std::string> h;
  std::size_t seed = key.rfc3261 ? 1 : 2;
  combine(seed, h(key.branch));
  combine(seed, h(key.sentBy));
  combine(seed, h(key.method));
  if (key.rfc2543) {
    const auto& legacy = *key.rfc2543;
    combine(seed, h(legacy.transport));
    combine(seed, h(legacy.requestUri));
    combine(seed, h(legacy.toTag));
    combine(seed, h(legacy.fromTag));
    combine(seed, h(legacy.callId));
    combine(seed, std::hash<std::uint32_t>{}(legacy.cseqNumber));
  }
  return seed;
}

}  // namespace p2psip::transaction
