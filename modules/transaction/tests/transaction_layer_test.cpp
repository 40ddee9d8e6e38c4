// SPDX-License-Identifier: Apache-2.0
// The layer around the four machines: configuration, introspection, metrics, limits, lifetime.
#include "transaction_test_support.h"

#include <set>
#include <stdexcept>

namespace p2psip::transaction::testing {
namespace {

TEST(TransactionConfig, DefaultsAreValid) {
  EXPECT_TRUE(TransactionConfig{}.validate().has_value());
}

TEST(TransactionConfig, RejectsValuesTheRfcForbids) {
  auto broken = [](auto edit) {
    TransactionConfig config;
    edit(config);
    return !config.validate().has_value();
  };
  EXPECT_TRUE(broken([](TransactionConfig& c) { c.t1 = 0ms; }));
  EXPECT_TRUE(broken([](TransactionConfig& c) { c.t2 = 100ms; }));  // below T1
  EXPECT_TRUE(broken([](TransactionConfig& c) { c.t4 = 0ms; }));
  EXPECT_TRUE(broken([](TransactionConfig& c) { c.timerD = 31s; }));
  EXPECT_TRUE(broken([](TransactionConfig& c) { c.timerC = 180s; }));
  EXPECT_TRUE(broken([](TransactionConfig& c) { c.maxTransactions = 0; }));
  EXPECT_FALSE(broken([](TransactionConfig& c) { c.timerC.reset(); }));
}

TEST(TransactionLayer, RefusesAnInvalidConfigAtConstruction) {
  TransactionConfig config;
  config.t1 = 0ms;
  EXPECT_THROW(Harness{config}, std::invalid_argument);
}

TEST(TransactionLayer, SnapshotListsKindMethodStateBranchAndCallId) {
  Harness h;
  h.send(request(spec("INVITE", "z9hG4bK-out")));
  h.deliver(request(spec("OPTIONS", "z9hG4bK-in")));
  auto rows = h.layer.snapshot();
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::string> seen;
  for (const auto& row : rows) {
    seen.insert(std::string(toString(row.kind)) + " " + row.method + " " + row.state + " " +
                row.branch + " " + row.callId);
  }
  EXPECT_TRUE(seen.count("client INVITE INVITE Calling z9hG4bK-out call-1@192.0.2.10"));
  EXPECT_TRUE(seen.count("server non-INVITE OPTIONS Trying z9hG4bK-in call-1@192.0.2.10"));
  EXPECT_EQ(h.layer.count(TransactionKind::ClientInvite), 1u);
  EXPECT_EQ(h.layer.count(TransactionKind::ServerNonInvite), 1u);
  EXPECT_EQ(h.layer.count(TransactionKind::ServerInvite), 0u);
}

TEST(TransactionLayer, MetricsCountCreationRetransmissionsAndActiveTransactions) {
  Harness h;
  h.send(request(spec("INVITE")));
  h.deliver(request(spec("INVITE", "z9hG4bK-in")));
  h.deliver(request(spec("BYE", "z9hG4bK-bye")));
  EXPECT_EQ(h.metric("p2psip_transaction_client_invite_created_total"), 1);
  EXPECT_EQ(h.metric("p2psip_transaction_server_invite_created_total"), 1);
  EXPECT_EQ(h.metric("p2psip_transaction_server_non_invite_created_total"), 1);
  EXPECT_EQ(h.metric("p2psip_transaction_active"), 3);
  h.timers.advance(500ms);
  EXPECT_EQ(h.metric("p2psip_transaction_retransmissions_sent_total"), 1);
  h.timers.advance(40s);
  EXPECT_EQ(h.metric("p2psip_transaction_timeouts_total"), 1);  // Timer B
  EXPECT_EQ(h.metric("p2psip_transaction_active"), 2);          // the server ones wait for the TU
}

TEST(TransactionLayer, TableEmptiesAfterTerminalTimersAndLeavesNoTimers) {
  Harness h;
  auto invite = h.send(request(spec("INVITE", "z9hG4bK-a")));
  auto options = h.send(request(spec("OPTIONS", "z9hG4bK-b")));
  h.deliver(request(spec("INVITE", "z9hG4bK-c")));
  auto serverInvite = h.tu.requests.back().id;
  h.deliver(request(spec("INVITE", "z9hG4bK-d")));
  auto serverInvite2 = h.tu.requests.back().id;
  h.deliver(request(spec("MESSAGE", "z9hG4bK-e")));
  auto serverMessage = h.tu.requests.back().id;

  h.deliver(h.answer(sip::Method::Invite, 486, "t"));
  h.deliver(h.answer(sip::Method::Options, 200));
  ASSERT_TRUE(
      h.layer.respond(serverInvite, responseTo(h.tu.requests[0].message, 200, "t")).has_value());
  ASSERT_TRUE(
      h.layer.respond(serverInvite2, responseTo(h.tu.requests[1].message, 500, "t")).has_value());
  ASSERT_TRUE(
      h.layer.respond(serverMessage, responseTo(h.tu.requests[2].message, 202, "t")).has_value());
  EXPECT_EQ(h.layer.size(), 5u);

  h.timers.advance(33s);  // D, K, L, H, J have all fired
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.timers.pending(), 0u);
  EXPECT_EQ(h.metric("p2psip_transaction_active"), 0);
  EXPECT_EQ(h.metric("p2psip_transaction_terminated_total"), 5);
  EXPECT_FALSE(h.layer.find(invite).has_value());
  EXPECT_FALSE(h.layer.find(options).has_value());
}

TEST(TransactionLayer, RefusesNewRequestsWith503WhenFull) {
  TransactionConfig config;
  config.maxTransactions = 1;
  Harness h(config);
  h.deliver(request(spec("OPTIONS", "z9hG4bK-1")));
  h.deliver(request(spec("OPTIONS", "z9hG4bK-2")));
  EXPECT_EQ(h.tu.requests.size(), 1u);
  EXPECT_EQ(h.sender.responses(503), 1u);
  auto refused =
      h.layer.sendRequest(request(spec("OPTIONS", "z9hG4bK-3")), Harness::udpTarget(), h.client);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::LimitExceeded);
  EXPECT_EQ(h.metric("p2psip_transaction_refused_total"), 2);
}

TEST(TransactionLayer, NewBranchesCarryTheMagicCookieAndDiffer) {
  Harness h;
  std::set<std::string> branches;
  for (int i = 0; i < 100; ++i) {
    auto branch = h.layer.newBranch();
    EXPECT_EQ(branch.rfind("z9hG4bK", 0), 0u);
    branches.insert(branch);
  }
  EXPECT_EQ(branches.size(), 100u);
}

TEST(TransactionLayer, TuMayRespondFromInsideOnRequest) {
  // Over TCP Timer J is zero, so the transaction ends inside the TU's callback; it must not be
  // destroyed under the layer's feet, and must be gone afterwards.
  Harness h;
  h.tu.onRequestHook = [&](RecordingTransactionUser::Request& r) {
    EXPECT_TRUE(h.layer.respond(r.id, responseTo(r.message, 200, "t")).has_value());
  };
  auto s = spec("OPTIONS");
  s.transport = "TCP";
  h.deliver(request(s), Harness::tcpFlow());
  EXPECT_EQ(h.sender.responses(200), 1u);
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST(TransactionLayer, TransportErrorReachesOnlyTransactionsToThatTarget) {
  Harness h;
  auto a = h.send(request(spec("OPTIONS", "z9hG4bK-a")));
  transport::Target elsewhere{transport::Protocol::Udp, endpoint("198.51.100.99", 5060)};
  auto b = h.send(request(spec("OPTIONS", "z9hG4bK-b")), elsewhere);
  h.layer.onTransportError(elsewhere, Error{ErrorCode::TransportError, "unreachable"});
  ASSERT_EQ(h.client.errors.size(), 1u);
  EXPECT_EQ(h.client.errors[0].first, b);
  EXPECT_EQ(h.state(a), "Trying");
}

TEST(TransactionLayer, SendStatelessBypassesTransactions) {
  Harness h;
  auto ack = spec("ACK", "z9hG4bK-2xx-ack");
  ack.toTag = "t";
  ASSERT_TRUE(h.layer.sendStateless(request(ack), Harness::udpTarget()).has_value());
  EXPECT_EQ(h.sender.requests(sip::Method::Ack), 1u);
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST(TransactionLayer, DestroyingTheLayerCancelsEveryTimer) {
  ManualTimerService timers;
  FakeSender sender;
  RecordingTransactionUser tu;
  RecordingClientUser client;
  MetricsRegistry metrics;
  {
    TransactionLayer layer(sender, timers, tu, TransactionConfig{}, metrics, Logger{});
    ASSERT_TRUE(
        layer.sendRequest(request(spec("INVITE")), Harness::udpTarget(), client).has_value());
    EXPECT_GT(timers.pending(), 0u);
  }
  EXPECT_EQ(timers.pending(), 0u);
  timers.advance(60s);  // nothing fires into the destroyed layer
  EXPECT_TRUE(client.timeouts.empty());
}

}  // namespace
}  // namespace p2psip::transaction::testing
