// SPDX-License-Identifier: Apache-2.0
#include "transaction_table.h"

#include <utility>

namespace p2psip::transaction {

TransactionTable::ClientEntry* TransactionTable::client(std::uint64_t id) {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

const TransactionTable::ClientEntry* TransactionTable::client(std::uint64_t id) const {
  auto it = clients_.find(id);
  return it == clients_.end() ? nullptr : &it->second;
}

TransactionTable::ServerEntry* TransactionTable::server(std::uint64_t id) {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second;
}

const TransactionTable::ServerEntry* TransactionTable::server(std::uint64_t id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second;
}

bool TransactionTable::clientHolds(std::uint64_t id, const TransactionKey& key) const {
  const auto* entry = client(id);
  return entry != nullptr && entry->key == key;
}

bool TransactionTable::serverHolds(std::uint64_t id, const TransactionKey& key) const {
  const auto* entry = server(id);
  if (entry == nullptr) return false;
  for (const auto& held : entry->keys) {
    if (held == key) return true;
  }
  return false;
}

std::optional<std::uint64_t> TransactionTable::matchClient(const TransactionKey& key) const {
  return clientIndex_.find(TransactionKeyHash{}(key),
                           [&](std::uint64_t id) { return clientHolds(id, key); });
}

std::optional<std::uint64_t> TransactionTable::matchServer(const TransactionKey& key) const {
  return serverIndex_.find(TransactionKeyHash{}(key),
                           [&](std::uint64_t id) { return serverHolds(id, key); });
}

void TransactionTable::add(std::uint64_t id, TransactionKey key, ClientTransaction transaction) {
  // A key still held by a transaction that terminated during this event moves to the new one.
  clientIndex_.assign(TransactionKeyHash{}(key), id,
                      [&](std::uint64_t other) { return clientHolds(other, key); });
  clients_.emplace(id, ClientEntry{std::move(transaction), std::move(key)});
}

void TransactionTable::add(std::uint64_t id, TransactionKey key, ServerTransaction transaction) {
  serverIndex_.assign(TransactionKeyHash{}(key), id,
                      [&](std::uint64_t other) { return serverHolds(other, key); });
  servers_.emplace(id, ServerEntry{std::move(transaction), {std::move(key)}});
}

void TransactionTable::addAlias(std::uint64_t id, TransactionKey key) {
  auto* entry = server(id);
  if (entry == nullptr) return;
  for (const auto& existing : entry->keys) {
    if (existing == key) return;
  }
  serverIndex_.assign(TransactionKeyHash{}(key), id,
                      [&](std::uint64_t other) { return serverHolds(other, key); });
  entry->keys.push_back(std::move(key));
}

bool TransactionTable::erase(std::uint64_t id) {
  if (auto it = clients_.find(id); it != clients_.end()) {
    // Only if the key still names this transaction (it may have moved to a newer one).
    clientIndex_.erase(TransactionKeyHash{}(it->second.key), id);
    clients_.erase(it);
    return true;
  }
  if (auto it = servers_.find(id); it != servers_.end()) {
    for (const auto& key : it->second.keys) serverIndex_.erase(TransactionKeyHash{}(key), id);
    servers_.erase(it);
    return true;
  }
  return false;
}

}  // namespace p2psip::transaction
