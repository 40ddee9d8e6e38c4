// SPDX-License-Identifier: Apache-2.0
// §16.10: CANCEL from the caller, including while the location lookup is still outstanding.
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

sip::Message cancelFor(const sip::Message& invite) {
  auto s = spec("CANCEL");
  s.branch = std::string(*invite.branch());
  s.callId = std::string(invite.callId());
  return request(s);
}

TEST(CancelFromCaller, AnswersTheCancelCancelsTheBranchAndTheInviteGetsRequestTerminated) {
  ProxyHarness h;
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  auto invite = request(spec("INVITE"));
  auto cancel = cancelFor(invite);
  h.fromCaller(std::move(invite));
  const auto* out = h.sender.requests(sip::Method::Invite).at(0);
  h.answer(*out, 180, "bob-tag");

  h.fromCaller(std::move(cancel));

  auto okToCancel = h.sender.upstream(200);
  ASSERT_EQ(okToCancel.size(), 1u);
  EXPECT_EQ(okToCancel[0]->message.cseq().method, sip::Method::Cancel);
  auto downstreamCancels = h.sender.requests(sip::Method::Cancel);
  ASSERT_EQ(downstreamCancels.size(), 1u);
  EXPECT_EQ(downstreamCancels[0]->target.endpoint, out->target.endpoint);
  EXPECT_EQ(downstreamCancels[0]->message.branch(), out->message.branch());

  h.answer(*out, 487, "bob-tag");
  auto terminated = h.sender.upstream(487);
  ASSERT_EQ(terminated.size(), 1u);
  EXPECT_EQ(terminated[0]->message.cseq().method, sip::Method::Invite);
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
  EXPECT_EQ(h.metric("p2psip_proxy_cancels_total"), 1);
}

TEST(CancelFromCaller, LookupThatCompletesAfterTheCancelForksNothing) {
  ProxyHarness h;
  h.location.deferred = true;
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  auto invite = request(spec("INVITE"));
  auto cancel = cancelFor(invite);
  h.fromCaller(std::move(invite));
  ASSERT_EQ(h.location.pending.size(), 1u);
  EXPECT_EQ(h.proxy.snapshot().at(0).state, "AwaitingTargets");

  h.fromCaller(std::move(cancel));
  EXPECT_EQ(h.sender.upstream(487).size(), 1u);
  EXPECT_EQ(h.proxy.activeRequests(), 0u);

  h.location.completePending();
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 0u);
  EXPECT_EQ(h.sender.upstream().size(), 2u) << "200 to CANCEL and 487 to INVITE, nothing more";
}

TEST(CancelFromCaller, AsynchronousLookupForksWhenItCompletes) {
  ProxyHarness h;
  h.location.deferred = true;
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  h.fromCaller(request(spec("INVITE")));
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 0u);

  h.location.completePending();
  EXPECT_EQ(h.sender.requests(sip::Method::Invite).size(), 1u);
}

TEST(CancelFromCaller, LookupAnsweredAfterTheProxyIsGoneIsIgnored) {
  FakeLocationService location;
  location.deferred = true;
  {
    ProxyHarness h;
    h.location.deferred = true;
    // Hand the harness's pending lookup over to an outliving service.
    h.fromCaller(request(spec("INVITE")));
    location.pending = std::move(h.location.pending);
  }
  location.completePending();  // must not touch the destroyed ProxyCore
  SUCCEED();
}

TEST(CancelFromCaller, CancelMatchingNoTransactionGetsCallDoesNotExist) {
  ProxyHarness h;
  auto s = spec("CANCEL");
  s.branch = "z9hG4bK-unknown";
  h.fromCaller(request(s));

  auto answers = h.sender.upstream(481);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(h.sender.requests(sip::Method::Cancel).size(), 0u);
}

}  // namespace
}  // namespace p2psip::proxy::testing

namespace p2psip::proxy::testing {
namespace {

TEST(UpstreamFailure, ServerTransactionFailingCancelsTheBranchesAndEndsTheRequest) {
  ProxyHarness h;
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  h.fromCaller(request(spec("INVITE")));
  const auto* out = h.sender.requests(sip::Method::Invite).at(0);
  h.answer(*out, 180, "bob-tag");

  // The caller's responses can no longer be delivered (§17.2.4).
  h.layer.onTransportError(transport::Target{transport::Protocol::Udp, endpoint(kCallerHost, 5060)},
                           Error{ErrorCode::TransportError, "caller unreachable"});

  auto cancels = h.sender.requests(sip::Method::Cancel);
  ASSERT_EQ(cancels.size(), 1u);
  EXPECT_EQ(cancels[0]->target.endpoint, out->target.endpoint);
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
}

}  // namespace
}  // namespace p2psip::proxy::testing
