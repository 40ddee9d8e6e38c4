// SPDX-License-Identifier: Apache-2.0
// Digest authentication of REGISTER (RFC 3261 §22.4, RFC 2617 qop=auth, RFC 8760), driven through
// the registrar; the client side is computed independently in registrar_test_support.h.
#include "p2psip/registrar/registrar.h"

#include "registrar_test_support.h"

namespace p2psip::registrar::testing {
namespace {

// bob's password is "secret" in both algorithms; carol has only MD5.
std::string credentialsText() {
  return "# htdigest file\n"
         "bob:p2p.test:" +
         clientHash("MD5", "bob:p2p.test:secret") + "\n" +
         "bob:p2p.test:" + clientHash("SHA-256", "bob:p2p.test:secret") + "\n" +
         "carol:p2p.test:" + clientHash("MD5", "carol:p2p.test:hunter2") + "\n" +
         "dave:elsewhere:" + clientHash("MD5", "dave:elsewhere:x") + "\n";
}

struct AuthHarness {
  AuthHarness() : file(credentialsText()), h(configFor(file)) {}
  static RegistrarConfig configFor(const TempFile& f) {
    RegistrarConfig config;
    config.authentication = {{"p2p.test", f.path()}};
    return config;
  }
  // The nonce of the first (SHA-256) challenge of a 401.
  static std::string nonceOf(const sip::Message& r) {
    auto challenges = lines(r, sip::HeaderId::WwwAuthenticate);
    return challenges.empty() ? std::string() : challengeParam(challenges[0], "nonce");
  }
  std::string freshNonce() {
    RegisterSpec spec;
    spec.contacts = {"<sip:bob@192.0.2.10>"};
    auto r = h.send(spec);
    EXPECT_EQ(r.statusCode(), 401);
    return nonceOf(r);
  }
  sip::Message registerWith(const DigestAnswer& answer, std::uint32_t cseq = 2,
                            std::string to = "sip:bob@p2p.test") {
    RegisterSpec spec;
    spec.to = std::move(to);
    spec.cseq = cseq;
    spec.contacts = {"<sip:bob@192.0.2.10>"};
    spec.extraHeaders = "Authorization: " + authorization(answer) + "\r\n";
    return h.send(spec);
  }
  TempFile file;
  Harness h;
};

TEST(RegistrarDigest, ChallengeOffersSha256ThenMd5WithQopAuth) {
  AuthHarness a;
  RegisterSpec spec;
  spec.contacts = {"<sip:bob@192.0.2.10>"};
  auto r = a.h.send(spec);
  EXPECT_EQ(r.statusCode(), 401);
  auto challenges = lines(r, sip::HeaderId::WwwAuthenticate);
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challenges[0].rfind("Digest ", 0), 0u);
  EXPECT_EQ(challengeParam(challenges[0], "algorithm"), "SHA-256");
  EXPECT_EQ(challengeParam(challenges[1], "algorithm"), "MD5");
  for (const auto& c : challenges) {
    EXPECT_EQ(challengeParam(c, "realm"), "p2p.test");
    EXPECT_EQ(challengeParam(c, "qop"), "auth");
    EXPECT_FALSE(challengeParam(c, "nonce").empty());
    EXPECT_EQ(c.find("stale"), std::string::npos);
  }
  EXPECT_FALSE(a.h.store.hasBindings("sip:bob@p2p.test"));
  EXPECT_EQ(a.h.metric("p2psip_registrar_challenges_total"), 1);
}

TEST(RegistrarDigest, Md5CredentialsAreAccepted) {
  AuthHarness a;
  DigestAnswer answer;
  answer.nonce = a.freshNonce();
  EXPECT_EQ(a.registerWith(answer).statusCode(), 200);
  EXPECT_TRUE(a.h.store.hasBindings("sip:bob@p2p.test"));
}

TEST(RegistrarDigest, Sha256CredentialsAreAccepted) {
  AuthHarness a;
  DigestAnswer answer;
  answer.algorithm = "SHA-256";
  answer.nonce = a.freshNonce();
  EXPECT_EQ(a.registerWith(answer).statusCode(), 200);
}

TEST(RegistrarDigest, UserWithOnlyAnMd5EntryAuthenticatesWithMd5) {
  AuthHarness a;
  DigestAnswer answer;
  answer.username = "carol";
  answer.password = "hunter2";
  answer.nonce = a.freshNonce();
  EXPECT_EQ(a.registerWith(answer, 2, "sip:carol@p2p.test").statusCode(), 200);
  answer.algorithm = "SHA-256";
  answer.nc = 2;
  EXPECT_EQ(a.registerWith(answer, 3, "sip:carol@p2p.test").statusCode(), 401);
}

TEST(RegistrarDigest, WrongPasswordIsChallengedAgain) {
  AuthHarness a;
  DigestAnswer answer;
  answer.password = "guess";
  answer.nonce = a.freshNonce();
  auto r = a.registerWith(answer);
  EXPECT_EQ(r.statusCode(), 401);
  EXPECT_EQ(lines(r, sip::HeaderId::WwwAuthenticate)[0].find("stale"), std::string::npos);
  answer.username = "mallory";
  EXPECT_EQ(a.registerWith(answer, 3, "sip:mallory@p2p.test").statusCode(), 401);
  EXPECT_FALSE(a.h.store.hasBindings("sip:bob@p2p.test"));
}

TEST(RegistrarDigest, ExpiredNonceIsChallengedWithStaleTrue) {
  AuthHarness a;
  DigestAnswer answer;
  answer.nonce = a.freshNonce();
  a.h.timers.advance(301s);
  auto r = a.registerWith(answer);
  EXPECT_EQ(r.statusCode(), 401);
  auto challenges = lines(r, sip::HeaderId::WwwAuthenticate);
  ASSERT_EQ(challenges.size(), 2u);
  EXPECT_EQ(challengeParam(challenges[0], "stale"), "true");
  EXPECT_EQ(challengeParam(challenges[1], "stale"), "true");
  // The fresh nonce works.
  answer.nonce = AuthHarness::nonceOf(r);
  EXPECT_EQ(a.registerWith(answer, 3).statusCode(), 200);
  // A wrong password on an expired nonce is not stale: it is simply wrong.
  a.h.timers.advance(301s);
  answer.password = "guess";
  answer.nc = 2;
  r = a.registerWith(answer, 4);
  EXPECT_EQ(r.statusCode(), 401);
  EXPECT_EQ(lines(r, sip::HeaderId::WwwAuthenticate)[0].find("stale"), std::string::npos);
}

TEST(RegistrarDigest, ReplayedNonceCountIsRefused) {
  AuthHarness a;
  DigestAnswer answer;
  answer.nonce = a.freshNonce();
  ASSERT_EQ(a.registerWith(answer, 2).statusCode(), 200);
  // The very same credentials again (a captured request replayed in a new transaction).
  EXPECT_EQ(a.registerWith(answer, 3).statusCode(), 401);
  answer.nc = 2;
  EXPECT_EQ(a.registerWith(answer, 4).statusCode(), 200);
  answer.nc = 1;
  EXPECT_EQ(a.registerWith(answer, 5).statusCode(), 401);
}

TEST(RegistrarDigest, TamperedNonceIsChallenged) {
  AuthHarness a;
  DigestAnswer answer;
  answer.nonce = a.freshNonce();
  answer.nonce[0] = answer.nonce[0] == '0' ? '1' : '0';  // a different issue time
  EXPECT_EQ(a.registerWith(answer).statusCode(), 401);
}

TEST(RegistrarDigest, AuthenticatedUserMayNotRegisterAnotherAor) {
  AuthHarness a;
  DigestAnswer answer;
  answer.nonce = a.freshNonce();
  auto r = a.registerWith(answer, 2, "sip:carol@p2p.test");
  EXPECT_EQ(r.statusCode(), 403);
  EXPECT_FALSE(a.h.store.hasBindings("sip:carol@p2p.test"));
}

TEST(RegistrarDigest, DigestUriMustMatchTheRequestUri) {
  AuthHarness a;
  DigestAnswer answer;
  answer.nonce = a.freshNonce();
  answer.uri = "sip:other.test";
  auto r = a.registerWith(answer);
  EXPECT_EQ(r.statusCode(), 400);
  EXPECT_EQ(r.reasonPhrase(), "Authorization uri does not match the Request-URI");
}

TEST(RegistrarDigest, OnlyConfiguredDomainsAreAuthenticated) {
  AuthHarness a;
  RegisterSpec spec;
  spec.requestUri = "sip:other.test";
  spec.to = "sip:bob@other.test";
  spec.contacts = {"<sip:bob@192.0.2.10>"};
  EXPECT_EQ(a.h.send(spec).statusCode(), 200);
}

TEST(RegistrarDigest, KnownUsersAreThoseOfTheDomainsCredentials) {
  AuthHarness a;
  EXPECT_TRUE(a.h.registrar.isKnownUser("sip:bob@p2p.test"));
  EXPECT_TRUE(a.h.registrar.isKnownUser("sip:carol@p2p.test"));
  EXPECT_FALSE(a.h.registrar.isKnownUser("sip:dave@p2p.test"));  // listed for another realm
  EXPECT_FALSE(a.h.registrar.isKnownUser("sip:bob@other.test"));
}

}  // namespace
}  // namespace p2psip::registrar::testing
