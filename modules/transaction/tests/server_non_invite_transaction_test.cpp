// SPDX-License-Identifier: Apache-2.0
// RFC 3261 §17.2.2 non-INVITE server transaction: Trying, Proceeding, Completed, Timer J.
#include "transaction_test_support.h"

namespace p2psip::transaction::testing {
namespace {

ServerTransactionId receive(Harness& h, const RequestSpec& s,
                            const transport::Flow& flow = Harness::udpFlow()) {
  h.deliver(request(s), flow);
  EXPECT_FALSE(h.tu.requests.empty());
  return h.tu.requests.empty() ? ServerTransactionId{} : h.tu.requests.back().id;
}

sip::Message reply(const Harness& h, std::uint16_t status) {
  return responseTo(h.tu.requests.back().message, status, "uas-tag");
}

TEST(ServerNonInviteTransaction, NewRequestGoesToTheTuInTryingWithoutAnyResponse) {
  Harness h;
  auto id = receive(h, spec("OPTIONS"));
  EXPECT_EQ(h.state(id), "Trying");
  EXPECT_TRUE(h.sender.sent.empty());  // no automatic 100 for non-INVITE (§17.2.2)
  EXPECT_EQ(h.tu.requests[0].message.method(), sip::Method::Options);
}

TEST(ServerNonInviteTransaction, RetransmissionInTryingIsAbsorbed) {
  Harness h;
  receive(h, spec("REGISTER"));
  h.deliver(request(spec("REGISTER")));
  EXPECT_EQ(h.tu.requests.size(), 1u);
  EXPECT_TRUE(h.sender.sent.empty());
}

TEST(ServerNonInviteTransaction, RetransmissionInProceedingGetsTheLastProvisional) {
  Harness h;
  auto id = receive(h, spec("SUBSCRIBE"));
  ASSERT_TRUE(h.layer.respond(id, reply(h, 100)).has_value());
  EXPECT_EQ(h.state(id), "Proceeding");
  h.deliver(request(spec("SUBSCRIBE")));
  EXPECT_EQ(h.sender.responses(100), 2u);
  EXPECT_EQ(h.tu.requests.size(), 1u);
}

TEST(ServerNonInviteTransaction, RetransmissionInCompletedGetsTheFinal) {
  Harness h;
  auto id = receive(h, spec("BYE"));
  ASSERT_TRUE(h.layer.respond(id, reply(h, 200)).has_value());
  EXPECT_EQ(h.state(id), "Completed");
  h.deliver(request(spec("BYE")));
  h.deliver(request(spec("BYE")));
  EXPECT_EQ(h.sender.responses(200), 3u);
  EXPECT_EQ(h.tu.requests.size(), 1u);
}

TEST(ServerNonInviteTransaction, TimerJEndsCompletedAfter64T1OverUdp) {
  Harness h;
  auto id = receive(h, spec("OPTIONS"));
  ASSERT_TRUE(h.layer.respond(id, reply(h, 200)).has_value());
  h.timers.advance(31999ms);
  EXPECT_EQ(h.state(id), "Completed");
  h.timers.advance(1ms);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ServerNonInviteTransaction, TimerJIsZeroOverTcp) {
  Harness h;
  auto s = spec("OPTIONS");
  s.transport = "TCP";
  auto id = receive(h, s, Harness::tcpFlow());
  ASSERT_TRUE(h.layer.respond(id, reply(h, 200)).has_value());
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.sender.sent.back().target.connection, Harness::tcpFlow().connection);
}

TEST(ServerNonInviteTransaction, SecondFinalResponseIsRefused) {
  Harness h;
  auto id = receive(h, spec("MESSAGE"));
  ASSERT_TRUE(h.layer.respond(id, reply(h, 200)).has_value());
  auto again = h.layer.respond(id, reply(h, 500));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(h.sender.responses(500), 0u);
}

TEST(ServerNonInviteTransaction, TransportErrorIsReportedToTheTu) {
  Harness h;
  auto id = receive(h, spec("OPTIONS"));
  ASSERT_TRUE(h.layer.respond(id, reply(h, 200)).has_value());
  h.layer.onTransportError(
      transport::Target{transport::Protocol::Udp, endpoint("192.0.2.10", 5060)},
      Error{ErrorCode::TransportError, "unreachable"});
  ASSERT_EQ(h.tu.failures.size(), 1u);
  EXPECT_EQ(h.tu.failures[0].id, id);
  EXPECT_EQ(h.tu.failures[0].reason, ServerTransactionFailure::TransportError);
  EXPECT_EQ(h.state(id), "gone");
}

}  // namespace
}  // namespace p2psip::transaction::testing
