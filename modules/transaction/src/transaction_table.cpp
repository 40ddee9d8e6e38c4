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

std::optional<std::uint64_t> TransactionTable::matchClient(const TransactionKey& key) const {
  auto it = clientIndex_.find(key);
  if (it == clientIndex_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint64_t> TransactionTable::matchServer(const TransactionKey& key) const {
  auto it = serverIndex_.find(key);
  if (it == serverIndex_.end()) return std::nullopt;
  return it->second;
}

void TransactionTable::add(std::uint64_t id, TransactionKey key, ClientTransaction transaction) {
  // A key still held by a transaction that terminated during this event moves to the new one.
  clientIndex_[key] = id;
  clients_.emplace(id, ClientEntry{std::move(transaction), std::move(key)});
}

void TransactionTable::add(std::uint64_t id, TransactionKey key, ServerTransaction transaction) {
  serverIndex_[key] = id;
  servers_.emplace(id, ServerEntry{std::move(transaction), {std::move(key)}});
}

void TransactionTable::addAlias(std::uint64_t id, TransactionKey key) {
  auto* entry = server(id);
  if (entry == nullptr) return;
  for (const auto& existing : entry->keys) {
    if (existing == key) return;
  }
  serverIndex_[key] = id;
  entry->keys.push_back(std::move(key));
}

void TransactionTable::unindex(Index& index, const TransactionKey& key, std::uint64_t id) {
  auto it = index.find(key);
  if (it != index.end() && it->second == id) index.erase(it);
}

bool TransactionTable::erase(std::uint64_t id) {
  if (auto it = clients_.find(id); it != clients_.end()) {
    unindex(clientIndex_, it->second.key, id);
    clients_.erase(it);
    return true;
  }
  if (auto it = servers_.find(id); it != servers_.end()) {
    for (const auto& key : it->second.keys) unindex(serverIndex_, key, id);
    servers_.erase(it);
    return true;
  }
  return false;
}

}  // namespace p2psip::transaction
