// SPDX-License-Identifier: Apache-2.0
// Identities shared by the tests of one binary, made once per (key type, index). Ed25519 and
// P-256 keys are generated; RSA keys take up to seconds each to generate, so the RSA ones are
// loaded from tests/data/<key type>-<index>/ (made once by NodeIdentity::loadOrCreate; test
// keys only). Key generation itself is tested through loadOrCreate in node_identity_test.cpp
// and tls_handshake_test.cpp.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <utility>

#include "p2psip/identity/node_identity.h"
#include "temp_directory.h"

namespace p2psip::identity {

inline constexpr KeyType kAllKeyTypes[] = {KeyType::Ed25519, KeyType::EcdsaP256, KeyType::Rsa2048,
                                           KeyType::Rsa4096};

// Lets GoogleTest print "rsa-2048" instead of a byte dump.
inline void PrintTo(KeyType type, std::ostream* os) {
  *os << toString(type);
}

// A checked-in RSA identity. Git keeps node.key at 0644, which loadOrCreate rightly refuses, so
// it is copied into a private directory first.
inline Result<NodeIdentity> loadFixture(KeyType type, int index) {
  namespace fs = std::filesystem;
  const fs::path source = fs::path(P2PSIP_MODULE_TEST_DATA) /
                          (std::string(toString(type)) + "-" + std::to_string(index));
  TempDirectory copy;
  for (const char* name : {"node.key", "node.crt"})
    fs::copy_file(source / name, copy.path() / name);
  fs::permissions(copy.path() / "node.key", fs::perms::owner_read | fs::perms::owner_write);
  IdentityConfig config;
  config.directory = copy.path().string();
  return NodeIdentity::loadOrCreate(config);
}

inline const NodeIdentity& sharedIdentity(KeyType type, int index = 0) {
  static std::map<std::pair<KeyType, int>, NodeIdentity> cache;
  auto it = cache.find({type, index});
  if (it == cache.end()) {
    const bool rsa = type == KeyType::Rsa2048 || type == KeyType::Rsa4096;
    auto made = rsa ? loadFixture(type, index) : NodeIdentity::generate(type);
    if (!made) ADD_FAILURE() << made.error().detail;
    it = cache.emplace(std::pair{type, index}, std::move(*made)).first;
  }
  return it->second;
}

// Test names for TEST_P over key types: "ed25519", "ecdsap256", ...
inline std::string keyTypeTestName(const ::testing::TestParamInfo<KeyType>& info) {
  std::string name(toString(info.param));
  std::erase(name, '-');
  return name;
}

}  // namespace p2psip::identity
