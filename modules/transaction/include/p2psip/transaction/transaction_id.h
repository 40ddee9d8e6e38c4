// SPDX-License-Identifier: Apache-2.0
// Handles and snapshots of transactions. A handle is an id, never a pointer: a TU may hold one
// after the transaction terminated and any call with it then fails with NotFound instead of
// dangling.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

namespace p2psip::transaction {

// A client transaction (§17.1) created by TransactionLayer::sendRequest().
struct ClientTransactionId {
  std::uint64_t value = 0;
  friend auto operator<=>(const ClientTransactionId&, const ClientTransactionId&) = default;
};

// A server transaction (§17.2) announced by TransactionUser::onRequest() or onCancel().
struct ServerTransactionId {
  std::uint64_t value = 0;
  friend auto operator<=>(const ServerTransactionId&, const ServerTransactionId&) = default;
};

// The four state machines of RFC 3261 §17 (with the RFC 6026 Accepted states).
enum class TransactionKind : std::uint8_t {
  ClientInvite,
  ClientNonInvite,
  ServerInvite,
  ServerNonInvite
};

std::string_view toString(TransactionKind kind);  // "client INVITE", ...

// One row of TransactionLayer::snapshot(), for status pages and a control tool.
struct TransactionInfo {
  std::uint64_t id = 0;  // the value of the Client- or ServerTransactionId
  TransactionKind kind = TransactionKind::ClientInvite;
  std::string method;  // of the request that created it, e.g. "INVITE", "CANCEL"
  std::string state;   // RFC name of the current state: "Calling", "Proceeding", "Accepted", ...
  std::string branch;  // top Via branch (empty for an RFC 2543 request without one)
  std::string callId;
};

}  // namespace p2psip::transaction
