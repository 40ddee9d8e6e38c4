// SPDX-License-Identifier: Apache-2.0
// §16.3 request validation, through the whole proxy.
#include "loop_hash.h"
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

class RequestValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  }
  const sip::Message& onlyFinal() {
    auto finals = h.sender.upstream();
    EXPECT_EQ(finals.size(), 1u);
    return finals.at(0)->message;
  }
  ProxyHarness h;
};

TEST_F(RequestValidation, MaxForwardsZeroIsTooManyHops) {
  auto s = spec("INVITE");
  s.maxForwards = 0;
  h.fromCaller(request(s));
  EXPECT_EQ(onlyFinal().statusCode(), 483);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 0u);
}

TEST_F(RequestValidation, OptionsForUsWithMaxForwardsZeroIsAnswered) {
  auto s = spec("OPTIONS", "sip:203.0.113.1");
  s.maxForwards = 0;
  h.fromCaller(request(s));
  EXPECT_EQ(onlyFinal().statusCode(), 200);
}

TEST_F(RequestValidation, OptionsForAUserWithMaxForwardsZeroIsTooManyHops) {
  auto s = spec("OPTIONS");
  s.maxForwards = 0;
  h.fromCaller(request(s));
  EXPECT_EQ(onlyFinal().statusCode(), 483);
}

TEST_F(RequestValidation, UnknownProxyRequireIsBadExtensionListingTheUnsupportedTags) {
  auto s = spec("INVITE");
  s.extraHeaders = "Proxy-Require: path, foo\r\nProxy-Require: bar\r\n";
  h.fromCaller(request(s));
  const auto& m = onlyFinal();
  EXPECT_EQ(m.statusCode(), 420);
  EXPECT_EQ(values(m, sip::HeaderId::Unsupported), (std::vector<std::string>{"foo", "bar"}));
}

TEST_F(RequestValidation, SupportedProxyRequireIsForwarded) {
  auto s = spec("INVITE");
  s.extraHeaders = "Proxy-Require: path\r\n";
  h.fromCaller(request(s));
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 1u);
}

TEST_F(RequestValidation, TelUriIsUnsupportedUriScheme) {
  h.fromCaller(request(spec("INVITE", "tel:+15551234567")));
  EXPECT_EQ(onlyFinal().statusCode(), 416);
}

TEST_F(RequestValidation, OurOwnViaWithTheSameHashIsLoopDetected) {
  auto s = spec("INVITE");
  const auto hash = LoopHash::of(request(s));
  s.extraVias = {"SIP/2.0/UDP 203.0.113.1:5060;branch=" +
                 LoopHash::branch(hash, "z9hG4bKearlierpass")};
  h.fromCaller(request(s));
  EXPECT_EQ(onlyFinal().statusCode(), 482);
  EXPECT_EQ(h.metric("p2psip_proxy_loops_detected_total"), 1);
}

TEST_F(RequestValidation, OurOwnViaWithAnotherHashIsASpiralAndIsForwarded) {
  auto s = spec("INVITE");
  s.extraVias = {"SIP/2.0/UDP 203.0.113.1:5060;branch=" +
                 LoopHash::branch(12345, "z9hG4bKearlierpass")};
  h.fromCaller(request(s));
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 1u);
}

TEST_F(RequestValidation, ContactPointingBackAtUsSpiralsOnceThenIsLoopDetected) {
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@203.0.113.1")};
  h.fromCaller(request(spec("INVITE")));
  // Pass 1 (Request-URI the AOR) went to our own address: it arrives again, as a spiral.
  auto pass1 = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(pass1.size(), 1u);
  h.fromCaller(pass1[0]->message.clone(), ProxyHarness::flowFrom(pass1[0]->target));
  // Pass 2 (Request-URI the contact) comes round unchanged: a loop.
  auto pass2 = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(pass2.size(), 2u);
  h.fromCaller(pass2[1]->message.clone(), ProxyHarness::flowFrom(pass2[1]->target));

  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 2u);
  EXPECT_EQ(h.sender.responses(482).size(), 1u);
}

TEST_F(RequestValidation, AckWithMaxForwardsZeroIsDropped) {
  auto s = spec("ACK", "sip:bob@198.51.100.7:5062");
  s.toTag = "bob-tag";
  s.maxForwards = 0;
  h.fromCaller(request(s));
  EXPECT_TRUE(h.sender.sent.empty());
}

}  // namespace
}  // namespace p2psip::proxy::testing
