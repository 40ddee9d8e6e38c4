// SPDX-License-Identifier: Apache-2.0
// §16.4 Route processing, in-dialog requests by Route, and the stateless ACK for 2xx (§16.11).
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

constexpr const char* kOurRoute = "<sip:203.0.113.1:5060;transport=udp;lr>";

RequestSpec inDialog(std::string method, std::vector<std::string> routes) {
  auto s = spec(std::move(method), "sip:bob@198.51.100.7:5062");
  s.toTag = "bob-tag";
  s.cseq = 2;
  s.branch = "z9hG4bK-caller-2";
  s.routes = std::move(routes);
  return s;
}

TEST(RouteProcessing, InDialogByeRoutedThroughUsGoesToTheRemoteTargetWithoutRecordRoute) {
  ProxyHarness h;
  h.fromCaller(request(inDialog("BYE", {kOurRoute})));

  auto byes = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(byes.size(), 1u);
  const auto& out = byes[0]->message;
  EXPECT_EQ(byes[0]->target.endpoint, endpoint("198.51.100.7", 5062));
  EXPECT_EQ(out.count(sip::HeaderId::Route), 0u) << "our own Route value is removed";
  EXPECT_EQ(out.count(sip::HeaderId::RecordRoute), 0u);
  EXPECT_EQ(out.maxForwards(), 69u);
  EXPECT_EQ(vias(out).size(), 2u);
  EXPECT_TRUE(h.location.lookedUp.empty());

  h.answer(*byes[0], 200);
  auto oks = h.sender.upstream(200);
  ASSERT_EQ(oks.size(), 1u);
  EXPECT_EQ(oks[0]->message.cseq().method, sip::Method::Bye);
}

TEST(RouteProcessing, RemainingRouteIsTheNextHopAndTheRequestUriIsKept) {
  ProxyHarness h;
  h.fromCaller(request(inDialog("BYE", {kOurRoute, "<sip:198.51.100.60:5070;lr>"})));

  auto byes = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->target.endpoint, endpoint("198.51.100.60", 5070));
  EXPECT_EQ(byes[0]->message.requestUri().text, "sip:bob@198.51.100.7:5062");
  EXPECT_EQ(values(byes[0]->message, sip::HeaderId::Route),
            std::vector<std::string>{"<sip:198.51.100.60:5070;lr>"});
}

TEST(RouteProcessing, BothOfOurDoubleRecordRouteValuesAreRemoved) {
  ProxyHarness h;
  h.fromCaller(request(inDialog("BYE", {"<sip:203.0.113.1:5060;transport=tcp;lr>", kOurRoute})));
  auto byes = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->message.count(sip::HeaderId::Route), 0u);
}

TEST(RouteProcessing, StrictRouterSendingOurRecordRouteUriAsRequestUriIsUndone) {
  ProxyHarness h;
  // An RFC 2543 strict router put our Record-Route URI in the Request-URI and moved the remote
  // target to the end of the Route set.
  auto s = inDialog("BYE", {"<sip:bob@198.51.100.7:5062>"});
  s.requestUri = "sip:203.0.113.1:5060;transport=udp;lr";
  h.fromCaller(request(s));

  auto byes = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->message.requestUri().text, "sip:bob@198.51.100.7:5062");
  EXPECT_EQ(byes[0]->message.count(sip::HeaderId::Route), 0u);
  EXPECT_EQ(byes[0]->target.endpoint, endpoint("198.51.100.7", 5062));
}

TEST(RouteProcessing, StrictRouterAsNextHopGetsItsUriAsRequestUri) {
  ProxyHarness h;
  h.fromCaller(request(inDialog("BYE", {kOurRoute, "<sip:198.51.100.60:5070>"})));

  auto byes = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(byes.size(), 1u);
  EXPECT_EQ(byes[0]->message.requestUri().text, "sip:198.51.100.60:5070");
  EXPECT_EQ(values(byes[0]->message, sip::HeaderId::Route),
            std::vector<std::string>{"<sip:bob@198.51.100.7:5062>"});
  EXPECT_EQ(byes[0]->target.endpoint, endpoint("198.51.100.60", 5070));
}

TEST(RouteProcessing, AckForTwoHundredIsForwardedStatelesslyWithAStableBranch) {
  ProxyHarness h;
  h.fromCaller(request(inDialog("ACK", {kOurRoute})));
  h.fromCaller(request(inDialog("ACK", {kOurRoute})));  // a retransmission

  auto acks = h.sender.requests(sip::Method::Ack);
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0]->target.endpoint, endpoint("198.51.100.7", 5062));
  EXPECT_EQ(acks[0]->message.count(sip::HeaderId::Route), 0u);
  EXPECT_EQ(vias(acks[0]->message).size(), 2u);
  EXPECT_EQ(acks[0]->message.branch(), acks[1]->message.branch()) << "§16.11";
  EXPECT_EQ(h.layer.size(), 0u) << "no transaction for an ACK of a 2xx";
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
  EXPECT_EQ(h.metric("p2psip_proxy_stateless_forwarded_total"), 2);
}

TEST(RouteProcessing, AckForAnAorCannotBeForkedAndIsDropped) {
  ProxyHarness h;
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  auto s = spec("ACK");
  s.toTag = "bob-tag";
  h.fromCaller(request(s));
  EXPECT_TRUE(h.sender.sent.empty());
}

TEST(RouteProcessing, RouteToAHostNameIsNotFoundWithoutDns) {
  ProxyHarness h;
  h.fromCaller(request(inDialog("BYE", {kOurRoute, "<sip:proxy.example.org;lr>"})));
  auto finals = h.sender.upstream();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]->message.statusCode(), 404);
}

}  // namespace
}  // namespace p2psip::proxy::testing
