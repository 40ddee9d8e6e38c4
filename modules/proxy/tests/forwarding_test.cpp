// SPDX-License-Identifier: Apache-2.0
// §16.6 request forwarding to registered contacts and §16.7 relaying of their responses.
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

class Forwarding : public ::testing::Test {
 protected:
  void SetUp() override {
    h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  }
  ProxyHarness h;
};

TEST_F(Forwarding, ForwardsToTheSingleBindingWithViaPushedMaxForwardsDecrementedAndRecordRoute) {
  h.fromCaller(request(spec("INVITE")));

  ASSERT_EQ(h.location.lookedUp, std::vector<std::string>{"sip:bob@p2p.test"});
  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  const auto& out = invites[0]->message;
  EXPECT_EQ(out.requestUri().text, "sip:bob@198.51.100.7:5062");
  EXPECT_EQ(invites[0]->target.endpoint, endpoint("198.51.100.7", 5062));
  EXPECT_EQ(invites[0]->target.protocol, transport::Protocol::Udp);
  const auto v = vias(out);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].rfind("SIP/2.0/UDP 203.0.113.1:5060;rport;branch=z9hG4bK-lh", 0), 0u) << v[0];
  EXPECT_EQ(v[1], "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-caller-1");
  EXPECT_EQ(out.maxForwards(), 69u);
  EXPECT_EQ(values(out, sip::HeaderId::RecordRoute),
            std::vector<std::string>{"<sip:203.0.113.1:5060;transport=udp;lr>"});
  EXPECT_EQ(h.proxy.activeRequests(), 1u);
  EXPECT_EQ(h.metric("p2psip_proxy_branches_total"), 1);
}

TEST_F(Forwarding, RelaysRingingAndOkUpstreamWithOurViaRemovedButNotTrying) {
  h.fromCaller(request(spec("INVITE")));
  const auto& out = *h.sender.requests(sip::Method::Invite)[0];
  const std::size_t trying = h.sender.upstream(100).size();  // our own server transaction's 100

  h.answer(out, 100);
  h.answer(out, 180, "bob-tag");
  h.answer(out, 200, "bob-tag");

  EXPECT_EQ(h.sender.upstream(100).size(), trying) << "§16.7: 100 Trying is hop by hop";
  auto ringing = h.sender.upstream(180);
  ASSERT_EQ(ringing.size(), 1u);
  EXPECT_EQ(vias(ringing[0]->message),
            std::vector<std::string>{"SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-caller-1"});
  auto ok = h.sender.upstream(200);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(vias(ok[0]->message).size(), 1u);
  EXPECT_EQ(ok[0]->message.to().tag(), "bob-tag");
  EXPECT_EQ(ok[0]->target.endpoint, endpoint(kCallerHost, 5060));
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
}

TEST_F(Forwarding, NonInviteRequestsToAnAorAreForwardedWithoutRecordRoute) {
  h.fromCaller(request(spec("MESSAGE")));

  auto messages = h.sender.requests(sip::Method::Message);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0]->message.count(sip::HeaderId::RecordRoute), 0u);
  h.answer(*messages[0], 200, "bob-tag");
  EXPECT_EQ(h.sender.upstream(200).size(), 1u);
}

TEST_F(Forwarding, PathOfTheBindingBecomesRouteAndItsFirstHopIsTheNextHop) {
  auto b = binding("sip:bob@10.0.0.5:5060");
  b.path = {"<sip:198.51.100.20:5070;lr>", "<sip:198.51.100.21;lr>"};
  h.location.users["sip:bob@p2p.test"].bindings = {b};

  h.fromCaller(request(spec("INVITE")));

  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_EQ(values(invites[0]->message, sip::HeaderId::Route),
            (std::vector<std::string>{"<sip:198.51.100.20:5070;lr>", "<sip:198.51.100.21;lr>"}));
  EXPECT_EQ(invites[0]->message.requestUri().text, "sip:bob@10.0.0.5:5060");
  EXPECT_EQ(invites[0]->target.endpoint, endpoint("198.51.100.20", 5070));
}

TEST_F(Forwarding, OutboundBindingIsReachedOverTheFlowItRegisteredOn) {
  auto b = binding("sip:bob@198.51.100.7:5062;transport=tcp");
  b.outbound = true;
  b.flow = location::Flow{location::FlowTransport::Tcp, endpoint(kProxyHost, 5060),
                          endpoint("198.51.100.7", 40123), 99};
  h.location.users["sip:bob@p2p.test"].bindings = {b};

  h.fromCaller(request(spec("INVITE")));

  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_EQ(invites[0]->target.protocol, transport::Protocol::Tcp);
  EXPECT_EQ(invites[0]->target.connection, 99u);
  EXPECT_EQ(invites[0]->target.endpoint, endpoint("198.51.100.7", 40123));
  EXPECT_EQ(vias(invites[0]->message)[0].rfind("SIP/2.0/TCP 203.0.113.1:5060", 0), 0u);
  // RFC 5658: the transport changed from UDP to TCP here, so we Record-Route twice.
  EXPECT_EQ(values(invites[0]->message, sip::HeaderId::RecordRoute),
            (std::vector<std::string>{"<sip:203.0.113.1:5060;transport=tcp;lr>",
                                      "<sip:203.0.113.1:5060;transport=udp;lr>"}));
}

TEST_F(Forwarding, BindingBehindNatIsReachedAtTheFlowSourceNotItsContact) {
  auto b = binding("sip:bob@10.0.0.5:5060");
  b.flow = location::Flow{location::FlowTransport::Udp, endpoint(kProxyHost, 5060),
                          endpoint("198.51.100.9", 61000), 0};
  h.location.users["sip:bob@p2p.test"].bindings = {b};

  h.fromCaller(request(spec("INVITE")));

  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_EQ(invites[0]->target.endpoint, endpoint("198.51.100.9", 61000));
  EXPECT_EQ(invites[0]->target.local, endpoint(kProxyHost, 5060));
  EXPECT_EQ(invites[0]->message.requestUri().text, "sip:bob@10.0.0.5:5060");
}

TEST_F(Forwarding, RequestUriWithOurAddressInsteadOfTheDomainIsTheSameUser) {
  h.fromCaller(request(spec("INVITE", "sip:bob@203.0.113.1")));
  EXPECT_EQ(h.location.lookedUp, std::vector<std::string>{"sip:bob@p2p.test"});
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 1u);
}

TEST_F(Forwarding, EveryMethodPassesThrough) {
  std::uint32_t n = 0;
  for (const char* method : {"BYE", "OPTIONS", "MESSAGE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO",
                             "UPDATE", "PRACK", "REFER", "FROBNICATE"}) {
    auto s = spec(method);
    s.branch = "z9hG4bK-m-" + std::to_string(++n);
    s.callId = "call-m-" + std::to_string(n);
    h.fromCaller(request(s));
  }
  std::size_t forwarded = 0;
  for (const auto& s : h.sender.sent) {
    if (s.message.isRequest() && s.target.endpoint == endpoint("198.51.100.7", 5062)) ++forwarded;
  }
  EXPECT_EQ(forwarded, n);
}

}  // namespace
}  // namespace p2psip::proxy::testing
