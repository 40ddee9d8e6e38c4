// SPDX-License-Identifier: Apache-2.0
// TransactionTable: owns every transaction (unique_ptr, conventions §3.4 item 4) and indexes them
// by id and by TransactionKey: one key per client transaction (§17.1.3); one or more per server
// transaction (§17.2.3; an RFC 2543 INVITE gains its ACK's key once its final response is sent).
// Machines are held in a std::variant and reached with std::visit, never by casting.
// Signalling loop only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>
#include <vector>

#include "client_invite_transaction.h"
#include "client_non_invite_transaction.h"
#include "key_index.h"
#include "p2psip/transaction/transaction_key.h"
#include "server_invite_transaction.h"
#include "server_non_invite_transaction.h"

namespace p2psip::transaction {

using ClientTransaction = std::variant<std::unique_ptr<ClientInviteTransaction>,
                                       std::unique_ptr<ClientNonInviteTransaction>>;
using ServerTransaction = std::variant<std::unique_ptr<ServerInviteTransaction>,
                                       std::unique_ptr<ServerNonInviteTransaction>>;

// Calls f(machine&) on whichever machine the variant holds.
template <typename Variant, typename F>
decltype(auto) visitMachine(Variant& transaction, F&& f) {
  return std::visit([&](auto& machine) -> decltype(auto) { return f(*machine); }, transaction);
}

class TransactionTable {
 public:
  struct ClientEntry {
    ClientTransaction transaction;
    TransactionKey key;
  };
  struct ServerEntry {
    ServerTransaction transaction;
    std::vector<TransactionKey> keys;  // the first is the one it was created with
  };

  ClientEntry* client(std::uint64_t id);
  const ClientEntry* client(std::uint64_t id) const;
  ServerEntry* server(std::uint64_t id);
  const ServerEntry* server(std::uint64_t id) const;

  std::optional<std::uint64_t> matchClient(const TransactionKey& key) const;
  std::optional<std::uint64_t> matchServer(const TransactionKey& key) const;

  void add(std::uint64_t id, TransactionKey key, ClientTransaction transaction);
  void add(std::uint64_t id, TransactionKey key, ServerTransaction transaction);
  // Another key that matches server transaction `id` (RFC 2543 ACK matching).
  void addAlias(std::uint64_t id, TransactionKey key);
  // Destroys the transaction (cancelling its timers) and drops its keys. False if unknown.
  bool erase(std::uint64_t id);

  std::size_t size() const { return clients_.size() + servers_.size(); }
  const std::unordered_map<std::uint64_t, ClientEntry>& clients() const { return clients_; }
  const std::unordered_map<std::uint64_t, ServerEntry>& servers() const { return servers_; }

 private:
  bool clientHolds(std::uint64_t id, const TransactionKey& key) const;
  bool serverHolds(std::uint64_t id, const TransactionKey& key) const;

  std::unordered_map<std::uint64_t, ClientEntry> clients_;
  std::unordered_map<std::uint64_t, ServerEntry> servers_;
  KeyIndex clientIndex_;
  KeyIndex serverIndex_;
};

}  // namespace p2psip::transaction
