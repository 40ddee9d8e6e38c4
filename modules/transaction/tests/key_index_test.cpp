// SPDX-License-Identifier: Apache-2.0
// KeyIndex against a std::unordered_map model: the transaction table's matching (RFC 3261
// §17.1.3, §17.2.3) depends on it finding exactly what was assigned and nothing that was erased.
#include "key_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_map>

namespace p2psip::transaction {
namespace {

// Keys are small integers; their "hashes" collide on purpose (many keys per hash, and hashes
// that differ only in high bits), so probe runs, wrap-around and backward shifts all happen.
struct Model {
  std::unordered_map<std::uint64_t, std::uint64_t> keyToId;  // the truth
  std::unordered_map<std::uint64_t, std::uint64_t> idToKey;  // what each "transaction" holds
  static std::size_t hashOf(std::uint64_t key) { return (key % 13) << (key % 2 == 0 ? 0 : 60); }
};

TEST(KeyIndex, AgreesWithAMapThroughInsertsReassignmentsErasuresAndGrowth) {
  KeyIndex index;
  Model model;
  std::mt19937_64 random(20261121);
  std::uint64_t nextId = 1;
  auto holds = [&](std::uint64_t key) {
    return [&model, key](std::uint64_t id) {
      auto it = model.idToKey.find(id);
      return it != model.idToKey.end() && it->second == key;
    };
  };
  for (int step = 0; step < 60000; ++step) {
    const std::uint64_t key = random() % 3000;
    const int op = static_cast<int>(random() % 10);
    if (op < 5) {
      // A new transaction for this key (a key may move from an old one that still exists).
      const std::uint64_t id = nextId++;
      index.assign(Model::hashOf(key), id, holds(key));
      model.idToKey[id] = key;
      model.keyToId[key] = id;
    } else if (op < 8) {
      // A transaction ends: its key goes only if it still names this transaction.
      auto it = model.keyToId.find(key);
      if (it == model.keyToId.end()) continue;
      const std::uint64_t id = it->second;
      EXPECT_TRUE(index.erase(Model::hashOf(key), id));
      model.keyToId.erase(it);
      model.idToKey.erase(id);
    } else {
      auto found = index.find(Model::hashOf(key), holds(key));
      auto it = model.keyToId.find(key);
      if (it == model.keyToId.end()) {
        EXPECT_FALSE(found.has_value()) << "key " << key;
      } else {
        ASSERT_TRUE(found.has_value()) << "key " << key;
        EXPECT_EQ(*found, it->second);
      }
    }
  }
  EXPECT_EQ(index.size(), model.keyToId.size());
  for (const auto& [key, id] : model.keyToId) {
    auto found = index.find(Model::hashOf(key), holds(key));
    ASSERT_TRUE(found.has_value()) << "key " << key;
    EXPECT_EQ(*found, id);
  }
  EXPECT_GE(index.capacity(), 2 * index.size());
}

TEST(KeyIndex, AnIdNoLongerHoldingItsKeyIsNotErasedInItsSuccessorsPlace) {
  KeyIndex index;
  auto none = [](std::uint64_t) { return false; };
  auto any = [](std::uint64_t) { return true; };
  index.assign(42, 1, none);
  index.assign(42, 2, any);  // the same key moves from transaction 1 to transaction 2
  EXPECT_EQ(index.size(), 1u);
  EXPECT_FALSE(index.erase(42, 1));  // 1 ending must not drop 2's key
  EXPECT_EQ(index.find(42, any), std::optional<std::uint64_t>(2));
  EXPECT_TRUE(index.erase(42, 2));
  EXPECT_FALSE(index.find(42, any).has_value());
  EXPECT_EQ(index.size(), 0u);
}

}  // namespace
}  // namespace p2psip::transaction
