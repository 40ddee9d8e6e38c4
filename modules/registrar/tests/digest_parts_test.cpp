// SPDX-License-Identifier: Apache-2.0
// The private parts of digest authentication: credentials files, nonces, nonce-count replay
// table, and configuration checks.
#include <gtest/gtest.h>

#include <stdexcept>

#include "digest_hash.h"
#include "nonce_count_table.h"
#include "nonce_signer.h"
#include "realm_credentials.h"
#include "registrar_test_support.h"

namespace p2psip::registrar::testing {
namespace {

const std::string kMd5(32, 'a');
const std::string kSha(64, 'B');

TEST(RealmCredentials, ReadsMd5AndSha256LinesOfTheRealm) {
  auto c = RealmCredentials::parse("p2p.test", "# comment\n\nbob:p2p.test:" + kMd5 +
                                                   "\nbob:p2p.test:" + kSha +
                                                   "\r\nann:other:" + kMd5 + "\n");
  ASSERT_TRUE(c.has_value()) << c.error().detail;
  EXPECT_EQ(c->userCount(), 1u);
  EXPECT_EQ(c->ha1("bob", DigestAlgorithm::Md5), kMd5);
  EXPECT_EQ(c->ha1("bob", DigestAlgorithm::Sha256), std::string(64, 'b'));  // lower-cased
  EXPECT_FALSE(c->hasUser("ann"));
}

TEST(RealmCredentials, RefusesMalformedLinesNamingTheLine) {
  auto missing = RealmCredentials::parse("r", "bob:r:" + kMd5 + "\nbob-only\n");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().detail, "credentials line 2: expected user:realm:HA1");
  EXPECT_FALSE(RealmCredentials::parse("r", "bob:r:abc\n").has_value());
  EXPECT_FALSE(RealmCredentials::parse("r", "bob:r:" + std::string(32, 'g') + "\n").has_value());
  EXPECT_FALSE(RealmCredentials::parse("r", ":r:" + kMd5 + "\n").has_value());
  EXPECT_FALSE(RealmCredentials::parse("r", "bob:r:" + kMd5 + "\nbob:r:" + kMd5).has_value());
}

TEST(NonceSigner, OpensOnlyItsOwnNoncesForTheirRealm) {
  NonceSigner signer;
  const TimePoint now = TimePoint{} + 5h;
  auto nonce = signer.issue(now, "p2p.test");
  auto opened = signer.open(nonce, "p2p.test");
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(opened->issued, now);
  EXPECT_FALSE(signer.open(nonce, "other.test").has_value());
  NonceSigner another;  // another process: another key
  EXPECT_FALSE(another.open(nonce, "p2p.test").has_value());
  EXPECT_FALSE(signer.open("", "p2p.test").has_value());
  EXPECT_FALSE(signer.open(nonce.substr(1), "p2p.test").has_value());
  EXPECT_NE(signer.issue(now, "p2p.test"), nonce);  // serials differ at the same instant
}

TEST(NonceCountTable, RefusesNonIncreasingCountsAndForgetsSafely) {
  using V = NonceCountTable::Verdict;
  const TimePoint t0 = TimePoint{} + 1h;
  NonceCountTable table(2, 300s);
  EXPECT_EQ(table.accept(1, t0, 1, t0), V::Accepted);
  EXPECT_EQ(table.accept(1, t0, 1, t0), V::Replayed);
  EXPECT_EQ(table.accept(1, t0, 3, t0), V::Accepted);
  EXPECT_EQ(table.accept(1, t0, 2, t0), V::Replayed);
  EXPECT_EQ(table.accept(2, t0, 1, t0), V::Accepted);
  EXPECT_EQ(table.accept(3, t0, 1, t0), V::Accepted);  // evicts serial 1
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(table.accept(1, t0, 9, t0), V::Forgotten);  // may have been seen: never accepted
  // Entries of expired nonces are dropped.
  EXPECT_EQ(table.accept(4, t0 + 400s, 1, t0 + 400s), V::Accepted);
  EXPECT_EQ(table.size(), 1u);
}

TEST(DigestHash, MatchesKnownVectors) {
  EXPECT_EQ(digestHex(DigestAlgorithm::Md5, "abc"), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(digestHex(DigestAlgorithm::Sha256, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 2617 §3.5's example response (MD5, qop=auth).
  const std::string ha1 =
      digestHex(DigestAlgorithm::Md5, "Mufasa:testrealm@host.com:Circle Of Life");
  const std::string ha2 = digestHex(DigestAlgorithm::Md5, "GET:/dir/index.html");
  EXPECT_EQ(digestHex(DigestAlgorithm::Md5,
                      ha1 + ":dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:" + ha2),
            "6629fae49393a05397450978507c4ef1");
}

TEST(RegistrarConfig, DefaultsAreValidAndInconsistentValuesAreNot) {
  EXPECT_TRUE(RegistrarConfig{}.validate().has_value());
  auto broken = [](auto edit) {
    RegistrarConfig c;
    edit(c);
    return !c.validate().has_value();
  };
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.minExpires = 0s; }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.defaultExpires = 30s; }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.maxExpires = 100s; }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.maxExpires = std::chrono::seconds(1LL << 33); }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.nonceLifetime = 0s; }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.maxTrackedNonces = 0; }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) { c.authentication = {{"p2p.test", ""}}; }));
  EXPECT_TRUE(broken([](RegistrarConfig& c) {
    c.authentication = {{"p2p.test", "/a"}, {"p2p.test", "/b"}};
  }));
}

TEST(RegistrarConstruction, RefusesUnreadableOrMalformedCredentialsAndForeignDomains) {
  RegistrarConfig missing;
  missing.authentication = {{"p2p.test", "/nonexistent/p2psip.htdigest"}};
  EXPECT_THROW(Harness{missing}, std::invalid_argument);
  TempFile bad("bob:p2p.test:xyz\n");
  RegistrarConfig malformed;
  malformed.authentication = {{"p2p.test", bad.path()}};
  EXPECT_THROW(Harness{malformed}, std::invalid_argument);
  TempFile good("bob:p2p.test:" + kMd5 + "\n");
  RegistrarConfig foreign;
  foreign.authentication = {{"elsewhere.example", good.path()}};
  EXPECT_THROW(Harness{foreign}, std::invalid_argument);
}

}  // namespace
}  // namespace p2psip::registrar::testing
