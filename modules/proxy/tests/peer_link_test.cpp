// SPDX-License-Identifier: Apache-2.0
// The proxy between overlay peers: forwarding to a user served by another peer over a pinned TLS
// peer link with double Record-Route, and refusing to be a relay for requests that arrive over a
// peer link.
#include <gtest/gtest.h>

#include "proxy_test_support.h"

namespace p2psip::proxy {
namespace {

using namespace testing;

const std::string kOurNode(64, 'a');
const std::string kBobsPeer(64, 'b');

ProxyConfig peerConfig() {
  ProxyConfig config = ProxyHarness::defaultConfig();
  config.addresses.push_back(
      ProxyAddress{transport::Protocol::Tls, "198.18.0.1", 5071, true, kOurNode});
  return config;
}

// A request that came from bob's peer over its peer link to our peer-link listener.
transport::Flow peerFlow() {
  transport::Flow flow{transport::Protocol::Tls, endpoint("198.18.0.1", 5071),
                       endpoint("198.18.0.2", 40000), 9};
  flow.peerIdentity = kBobsPeer;
  return flow;
}

location::ContactBinding servedByPeer() {
  location::ContactBinding b;
  b.aor = "sip:bob@p2p.test";
  b.contactUri = "sip:bob@p2p.test";
  b.flow.transport = location::FlowTransport::Tls;
  b.flow.remote = endpoint("198.18.0.2", 5071);
  b.peerNode = kBobsPeer;
  return b;
}

class PeerLink : public ::testing::Test {
 protected:
  PeerLink() : h(peerConfig()) {}
  ProxyHarness h;
};

TEST_F(PeerLink, AUserOnAnotherPeerIsReachedOverAPinnedLinkWithDoubleRecordRoute) {
  h.location.users["sip:bob@p2p.test"].bindings = {servedByPeer()};
  h.fromCaller(request(spec("INVITE")));

  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  const auto& out = *invites[0];
  EXPECT_EQ(out.target.protocol, transport::Protocol::Tls);
  EXPECT_EQ(out.target.endpoint, endpoint("198.18.0.2", 5071));
  EXPECT_EQ(out.target.peerIdentity, kBobsPeer);
  EXPECT_EQ(out.message.requestUri().text, "sip:bob@p2p.test");
  // RFC 5658: the peer side on top (with our NodeId, so the other peer pins us), the phone side
  // below.
  EXPECT_EQ(
      values(out.message, sip::HeaderId::RecordRoute),
      (std::vector<std::string>{"<sip:198.18.0.1:5071;transport=tls;node=" + kOurNode + ";lr>",
                                "<sip:203.0.113.1:5060;transport=udp;lr>"}));
  EXPECT_EQ(vias(out.message)[0].rfind("SIP/2.0/TLS 198.18.0.1:5071;", 0), 0u);
}

TEST_F(PeerLink, AnInDialogRequestRoutedToAPeerIsPinnedToTheNodeInItsRoute) {
  auto bye = spec("BYE", "sip:bob@192.0.2.77:5062");
  bye.toTag = "bob-1";
  bye.routes = {"<sip:203.0.113.1:5060;transport=udp;lr>",
                "<sip:198.18.0.1:5071;transport=tls;node=" + kOurNode + ";lr>",
                "<sip:198.18.0.2:5071;transport=tls;node=" + kBobsPeer + ";lr>",
                "<sip:127.0.0.1:5020;transport=udp;lr>"};
  h.fromCaller(request(bye));
  auto sent = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]->target.endpoint, endpoint("198.18.0.2", 5071));
  EXPECT_EQ(sent[0]->target.peerIdentity, kBobsPeer);
  // Both of our entries were removed; the other peer's lead.
  EXPECT_EQ(values(sent[0]->message, sip::HeaderId::Route).front(),
            "<sip:198.18.0.2:5071;transport=tls;node=" + kBobsPeer + ";lr>");
}

TEST_F(PeerLink, ARequestFromAPeerIsLookedUpOnThisPeerOnly) {
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  h.fromCaller(request(spec("INVITE")), peerFlow());
  ASSERT_EQ(h.location.scopes.size(), 1u);
  EXPECT_EQ(h.location.scopes[0], location::LookupScope::ThisPeer);
  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  // Record-Route again on both sides: the peer side (where it came from) below, the phone on top.
  EXPECT_EQ(
      values(invites[0]->message, sip::HeaderId::RecordRoute),
      (std::vector<std::string>{"<sip:203.0.113.1:5060;transport=udp;lr>",
                                "<sip:198.18.0.1:5071;transport=tls;node=" + kOurNode + ";lr>"}));
}

TEST_F(PeerLink, APeerCannotUseUsAsARelayToAnAddress) {
  h.fromCaller(request(spec("INVITE", "sip:victim@192.0.2.99:5060")), peerFlow());
  EXPECT_TRUE(h.sender.requests(sip::Method::Invite).empty());
  EXPECT_EQ(h.sender.responses(403).size(), 1u);
  EXPECT_EQ(h.metric("p2psip_proxy_peer_requests_refused_total"), 1);
}

TEST_F(PeerLink, APeerCannotRegisterUsersHere) {
  h.fromCaller(request(spec("REGISTER", "sip:p2p.test")), peerFlow());
  EXPECT_TRUE(h.sink.requests.empty());
  EXPECT_EQ(h.sender.responses(403).size(), 1u);
}

TEST_F(PeerLink, AnInDialogRequestFromAPeerThroughOurRecordRouteIsForwarded) {
  auto bye = spec("BYE", "sip:alice@192.0.2.10:5060");
  bye.toTag = "bob-1";
  bye.routes = {"<sip:198.18.0.1:5071;transport=tls;node=" + kOurNode + ";lr>",
                "<sip:203.0.113.1:5060;transport=udp;lr>"};
  h.fromCaller(request(bye), peerFlow());
  auto sent = h.sender.requests(sip::Method::Bye);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0]->target.endpoint, endpoint("192.0.2.10", 5060));
}

TEST_F(PeerLink, AllPeersUnreachableGives480) {
  h.location.users["sip:bob@p2p.test"].bindings = {servedByPeer()};
  h.fromCaller(request(spec("INVITE")));
  auto invites = h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  h.layer.onTransportError(invites[0]->target,
                           Error{ErrorCode::TransportError, "connection refused"});
  auto finals = h.sender.upstream(0);
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]->message.statusCode(), 480);
}

}  // namespace
}  // namespace p2psip::proxy
