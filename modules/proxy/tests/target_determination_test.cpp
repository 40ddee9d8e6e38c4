// SPDX-License-Identifier: Apache-2.0
// §16.5 target determination: our users, the peer itself, IP literals and foreign domains.
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

class TargetDetermination : public ::testing::Test {
 protected:
  const sip::Message& onlyFinal() {
    auto finals = h.sender.upstream();
    EXPECT_EQ(finals.size(), 1u);
    return finals.at(0)->message;
  }
  ProxyHarness h;
};

TEST_F(TargetDetermination, UnknownUserIsNotFound) {
  h.fromCaller(request(spec("INVITE")));
  const auto& m = onlyFinal();
  EXPECT_EQ(m.statusCode(), 404);
  EXPECT_TRUE(m.to().tag().has_value()) << "§8.2.6.2: our final response carries a To tag";
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
}

TEST_F(TargetDetermination, KnownUserWithoutBindingIsTemporarilyUnavailable) {
  h.location.users["sip:bob@p2p.test"].knownUser = true;
  h.fromCaller(request(spec("INVITE")));
  EXPECT_EQ(onlyFinal().statusCode(), 480);
}

TEST_F(TargetDetermination, FailedLookupIsTemporarilyUnavailable) {
  h.location.failure = true;
  h.fromCaller(request(spec("MESSAGE")));
  EXPECT_EQ(onlyFinal().statusCode(), 480);
  EXPECT_EQ(h.metric("p2psip_proxy_location_lookups_failed_total"), 1);
}

TEST_F(TargetDetermination, ForeignDomainIsNotFoundBecauseThereIsNoDns) {
  h.fromCaller(request(spec("INVITE", "sip:carol@example.org")));
  const auto& m = onlyFinal();
  EXPECT_EQ(m.statusCode(), 404);
  EXPECT_NE(m.reasonPhrase().find("DNS"), std::string_view::npos) << m.reasonPhrase();
  EXPECT_TRUE(h.location.lookedUp.empty());
}

TEST_F(TargetDetermination, IpLiteralThatIsNotUsIsForwardedAsAddressed) {
  h.fromCaller(request(spec("INVITE", "sip:carol@198.51.100.30:5080;transport=tcp")));
  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_EQ(invites[0]->target.endpoint, endpoint("198.51.100.30", 5080));
  EXPECT_EQ(invites[0]->target.protocol, transport::Protocol::Tcp);
  EXPECT_EQ(invites[0]->message.requestUri().text, "sip:carol@198.51.100.30:5080;transport=tcp");
  EXPECT_TRUE(h.location.lookedUp.empty());
}

TEST_F(TargetDetermination, UnreachableIpLiteralIsServerInternalError) {
  h.fromCaller(request(spec("INVITE", "sip:carol@198.51.100.30:5080")));
  const auto* out = h.sender.requests(sip::Method::Invite).at(0);
  h.layer.onTransportError(out->target, Error{ErrorCode::TransportError, "unreachable"});
  EXPECT_EQ(onlyFinal().statusCode(), 500);
}

TEST_F(TargetDetermination, RegisterForOurDomainGoesToTheSink) {
  h.fromCaller(request(spec("REGISTER", "sip:p2p.test")));
  ASSERT_EQ(h.sink.requests.size(), 1u);
  EXPECT_EQ(h.sink.requests[0].second.method(), sip::Method::Register);
  EXPECT_TRUE(h.sender.upstream().empty());
}

TEST_F(TargetDetermination, RegisterForOurAddressGoesToTheSink) {
  h.fromCaller(request(spec("REGISTER", "sip:203.0.113.1:5060")));
  EXPECT_EQ(h.sink.requests.size(), 1u);
}

TEST_F(TargetDetermination, OptionsToThePeerItselfIsAnsweredWithItsCapabilities) {
  h.fromCaller(request(spec("OPTIONS", "sip:203.0.113.1")));
  const auto& m = onlyFinal();
  EXPECT_EQ(m.statusCode(), 200);
  ASSERT_NE(m.find(sip::HeaderId::Allow), nullptr);
  EXPECT_NE(m.find(sip::HeaderId::Allow)->value.find("INVITE"), std::string_view::npos);
  ASSERT_NE(m.find(sip::HeaderId::Accept), nullptr);
  EXPECT_EQ(m.find(sip::HeaderId::Accept)->value, "application/sdp");
  ASSERT_NE(m.find(sip::HeaderId::Supported), nullptr);
  EXPECT_EQ(m.find(sip::HeaderId::Supported)->value, "path, outbound");
  EXPECT_EQ(h.metric("p2psip_proxy_options_answered_total"), 1);
}

TEST_F(TargetDetermination, OptionsToOurDomainWithoutUserIsAnsweredToo) {
  h.fromCaller(request(spec("OPTIONS", "sip:p2p.test")));
  EXPECT_EQ(onlyFinal().statusCode(), 200);
}

TEST_F(TargetDetermination, InviteToThePeerWithoutUserIsNotFound) {
  h.fromCaller(request(spec("INVITE", "sip:p2p.test")));
  EXPECT_EQ(onlyFinal().statusCode(), 404);
}

TEST_F(TargetDetermination, OurAddressOnAnotherPortIsSomebodyElse) {
  h.fromCaller(request(spec("INVITE", "sip:carol@203.0.113.1:5070")));
  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_EQ(invites[0]->target.endpoint, endpoint(kProxyHost, 5070));
}

}  // namespace
}  // namespace p2psip::proxy::testing
