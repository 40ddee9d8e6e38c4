// SPDX-License-Identifier: Apache-2.0
// TransactionKey: what RFC 3261 matches a message to a transaction with.
//   Client side (§17.1.3): top Via branch + CSeq method.
//   Server side (§17.2.3): top Via branch + sent-by + method, with ACK matched as INVITE; for
//   requests whose branch lacks the magic cookie, the RFC 2543 fallback: Request-URI, To tag, From
//   tag, Call-ID, CSeq number and top Via as well.
// A pure value type with equality and hashing, used by the transaction table's indexes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace p2psip::sip {
class Message;
}

namespace p2psip::transaction {

struct TransactionKey {
  // What only the RFC 2543 fallback compares. Kept apart, and shared between a key and its
  // variants, so that the common RFC 3261 key stays small: a busy proxy indexes hundreds of
  // thousands of them (completed transactions linger 32 s, §17.2.2 Timer J).
  struct Rfc2543Part {
    std::string transport;  // top Via transport, part of "the top Via header field"
    std::string requestUri;
    std::string toTag;
    std::string fromTag;
    std::string callId;
    std::uint32_t cseqNumber = 0;
    friend bool operator==(const Rfc2543Part&, const Rfc2543Part&) = default;
  };

  bool rfc3261 = true;  // branch carries the magic cookie "z9hG4bK" (§8.1.1.7)
  std::string branch;   // as written (RFC 2543: whatever branch there is, maybe empty)
  std::string
      sentBy;  // server side: lower-case host ":" port of the top Via; empty on the client side
  std::string method;  // ACK is recorded as INVITE; client side: the CSeq method
  std::shared_ptr<const Rfc2543Part> rfc2543;  // RFC 2543 fallback only; null otherwise

  // §17.1.3: the key of a request we send or a response we receive. nullopt without a branch.
  static std::optional<TransactionKey> forClient(const sip::Message& message);
  // §17.2.3: the key of a received request. ACK yields the key of the INVITE it acknowledges.
  static TransactionKey forServer(const sip::Message& request);

  // The same key for another method: §9.2 finds the INVITE a CANCEL matches this way.
  TransactionKey withMethod(std::string_view otherMethod) const;
  // RFC 2543: an ACK matches the INVITE whose response carried this To tag (§17.2.3).
  TransactionKey withToTag(std::string_view tag) const;

  friend bool operator==(const TransactionKey& a, const TransactionKey& b) {
    if (a.rfc3261 != b.rfc3261 || a.branch != b.branch || a.sentBy != b.sentBy ||
        a.method != b.method)
      return false;
    if (a.rfc2543 == b.rfc2543) return true;
    return a.rfc2543 != nullptr && b.rfc2543 != nullptr && *a.rfc2543 == *b.rfc2543;
  }
};

struct TransactionKeyHash {
  std::size_t operator()(const TransactionKey& key) const noexcept;
};

}  // namespace p2psip::transaction
