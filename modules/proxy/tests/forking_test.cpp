// SPDX-License-Identifier: Apache-2.0
// §16.7 forking and response aggregation over two registered contacts.
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

class Forking : public ::testing::Test {
 protected:
  void SetUp() override {
    h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062"),
                                                     binding("sip:bob@198.51.100.8:5064", 500)};
    h.fromCaller(request(spec("INVITE")));
    auto invites = h.sender.requests(sip::Method::Invite);
    EXPECT_EQ(invites.size(), 2u) << "bindings of every q are forked in parallel";
    first = invites.at(0);
    second = invites.at(1);
  }
  std::size_t cancelsTo(const SentMessage* branch) const {
    std::size_t n = 0;
    for (const auto* c : h.sender.requests(sip::Method::Cancel)) {
      n += c->target.endpoint == branch->target.endpoint ? 1 : 0;
    }
    return n;
  }

  ProxyHarness h;
  const SentMessage* first = nullptr;
  const SentMessage* second = nullptr;
};

TEST_F(Forking, EachBranchHasItsOwnViaBranch) {
  EXPECT_NE(first->message.branch(), second->message.branch());
  EXPECT_EQ(first->target.endpoint, endpoint("198.51.100.7", 5062));
  EXPECT_EQ(second->target.endpoint, endpoint("198.51.100.8", 5064));
}

TEST_F(Forking, OkOnOneBranchIsRelayedAndTheOtherBranchIsCancelled) {
  h.answer(*first, 180, "tag-1");
  h.answer(*second, 180, "tag-2");
  h.answer(*first, 200, "tag-1");

  EXPECT_EQ(h.sender.upstream(200).size(), 1u);
  EXPECT_EQ(cancelsTo(second), 1u);
  EXPECT_EQ(cancelsTo(first), 0u);
  EXPECT_EQ(h.proxy.activeRequests(), 0u);

  // The cancelled branch's 487 is ACKed by its transaction and never reaches the caller.
  h.answer(*second, 487, "tag-2");
  EXPECT_EQ(h.sender.upstream(487).size(), 0u);
  EXPECT_EQ(h.sender.upstream().size(), 1u);
}

TEST_F(Forking, OkFromTheCancelledBranchIsRelayedStatelesslyAsWell) {
  h.answer(*first, 180, "tag-1");
  h.answer(*second, 180, "tag-2");
  h.answer(*first, 200, "tag-1");
  // RFC 3261 §16.7 step 10 / RFC 6026: the 2xx that crossed our CANCEL still reaches the caller.
  h.answer(*second, 200, "tag-2");

  auto oks = h.sender.upstream(200);
  ASSERT_EQ(oks.size(), 2u);
  EXPECT_EQ(oks[1]->message.to().tag(), "tag-2");
  EXPECT_EQ(vias(oks[1]->message).size(), 1u);
  EXPECT_EQ(h.metric("p2psip_proxy_stateless_forwarded_total"), 1);
}

TEST_F(Forking, BusyIsTheBestResponseOverServiceUnavailable) {
  h.answer(*first, 486, "tag-1");
  EXPECT_EQ(h.sender.upstream().size(), 0u) << "waits for every branch";
  h.answer(*second, 503, "tag-2");

  auto finals = h.sender.upstream();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]->message.statusCode(), 486);
  EXPECT_EQ(finals[0]->message.to().tag(), "tag-1");
}

TEST_F(Forking, GlobalFailureCancelsTheOtherBranchAndWins) {
  h.answer(*second, 180, "tag-2");
  h.answer(*first, 603, "tag-1");
  EXPECT_EQ(cancelsTo(second), 1u);
  h.answer(*second, 487, "tag-2");

  auto finals = h.sender.upstream();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]->message.statusCode(), 603);
}

TEST_F(Forking, ServiceUnavailableOnEveryBranchBecomesServerInternalError) {
  h.answer(*first, 503, "tag-1");
  h.answer(*second, 503, "tag-2");

  auto finals = h.sender.upstream();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]->message.statusCode(), 500);
}

TEST_F(Forking, ChallengesOfEveryBranchAreMergedIntoOne) {
  h.answer(*first, 401, "tag-1", "WWW-Authenticate: Digest realm=\"a\", nonce=\"1\"\r\n");
  h.answer(*second, 407, "tag-2", "Proxy-Authenticate: Digest realm=\"b\", nonce=\"2\"\r\n");

  auto finals = h.sender.upstream();
  ASSERT_EQ(finals.size(), 1u);
  const auto& m = finals[0]->message;
  EXPECT_EQ(m.statusCode(), 401);
  EXPECT_EQ(m.count(sip::HeaderId::WwwAuthenticate), 1u);
  EXPECT_EQ(m.count(sip::HeaderId::ProxyAuthenticate), 1u);
}

TEST_F(Forking, EveryBranchFailingWithTransportErrorsGivesTemporarilyUnavailable) {
  h.layer.onTransportError(first->target, Error{ErrorCode::TransportError, "refused"});
  h.layer.onTransportError(second->target, Error{ErrorCode::TransportError, "refused"});

  auto finals = h.sender.upstream();
  ASSERT_EQ(finals.size(), 1u);
  EXPECT_EQ(finals[0]->message.statusCode(), 480);
  EXPECT_EQ(h.metric("p2psip_proxy_branch_failures_total"), 2);
}

TEST_F(Forking, SnapshotListsTheRequestWithItsPendingBranches) {
  auto rows = h.proxy.snapshot();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].method, "INVITE");
  EXPECT_EQ(rows[0].state, "Forking");
  EXPECT_EQ(rows[0].branches, 2u);
  EXPECT_EQ(rows[0].pendingBranches, 2u);
  h.answer(*first, 486, "tag-1");
  EXPECT_EQ(h.proxy.snapshot()[0].pendingBranches, 1u);
}

}  // namespace
}  // namespace p2psip::proxy::testing
