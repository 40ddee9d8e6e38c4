// SPDX-License-Identifier: Apache-2.0
// RFC 3261 §17.2.1 INVITE server transaction, RFC 6026 §7.1 Accepted: Timers G, H, I, L.
#include "transaction_test_support.h"

namespace p2psip::transaction::testing {
namespace {

// Delivers an INVITE from the remote UAC and returns the server transaction the TU was given.
ServerTransactionId receiveInvite(Harness& h, const RequestSpec& s = spec("INVITE"),
                                  const transport::Flow& flow = Harness::udpFlow()) {
  const auto before = h.tu.requests.size();
  h.deliver(request(s), flow);
  EXPECT_EQ(h.tu.requests.size(), before + 1);
  return h.tu.requests.empty() ? ServerTransactionId{} : h.tu.requests.back().id;
}

sip::Message finalFor(const Harness& h, std::uint16_t status) {
  return responseTo(h.tu.requests.back().message, status, "uas-tag");
}

TEST(ServerInviteTransaction, Sends100TryingAtOnce) {
  Harness h;
  auto s = spec("INVITE");
  s.extraHeaders = "Timestamp: 54\r\n";
  auto id = receiveInvite(h, s);
  ASSERT_EQ(h.sender.sent.size(), 1u);
  const auto& trying = h.sender.sent[0];
  EXPECT_EQ(trying.message.statusCode(), 100);
  EXPECT_EQ(trying.message.branch().value_or(""), "z9hG4bK-client-1");
  EXPECT_FALSE(trying.message.to().tag().has_value());
  EXPECT_NE(trying.message.find(sip::HeaderId::Timestamp), nullptr);  // §8.2.6.1
  EXPECT_EQ(trying.target.endpoint, endpoint("192.0.2.10", 5060));    // §18.2.2
  EXPECT_EQ(h.state(id), "Proceeding");
}

TEST(ServerInviteTransaction, RetransmittedInviteGetsLastProvisionalAndIsAbsorbed) {
  Harness h;
  auto id = receiveInvite(h);
  h.deliver(request(spec("INVITE")));
  EXPECT_EQ(h.tu.requests.size(), 1u);
  EXPECT_EQ(h.sender.responses(100), 2u);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 180)).has_value());
  h.deliver(request(spec("INVITE")));
  EXPECT_EQ(h.sender.responses(180), 2u);
  EXPECT_EQ(h.tu.requests.size(), 1u);
  EXPECT_EQ(h.metric("p2psip_transaction_retransmissions_absorbed_total"), 2);
}

TEST(ServerInviteTransaction, NonSuccessFinalIsRetransmittedOnTimerGUpToT2OverUdp) {
  // §17.2.1: G = T1, then doubling up to T2: resends at 0.5, 1.5, 3.5, 7.5, 11.5 s.
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 486)).has_value());
  EXPECT_EQ(h.state(id), "Completed");
  EXPECT_EQ(h.sender.responses(486), 1u);
  h.timers.advance(500ms);
  EXPECT_EQ(h.sender.responses(486), 2u);
  h.timers.advance(1s);
  EXPECT_EQ(h.sender.responses(486), 3u);
  h.timers.advance(2s);
  EXPECT_EQ(h.sender.responses(486), 4u);
  h.timers.advance(4s);
  EXPECT_EQ(h.sender.responses(486), 5u);
  h.timers.advance(3999ms);
  EXPECT_EQ(h.sender.responses(486), 5u);
  h.timers.advance(1ms);  // capped at T2 = 4 s
  EXPECT_EQ(h.sender.responses(486), 6u);
}

TEST(ServerInviteTransaction, TimerHReportsMissingAckAfter64T1) {
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 603)).has_value());
  h.timers.advance(31999ms);
  EXPECT_TRUE(h.tu.failures.empty());
  h.timers.advance(1ms);
  ASSERT_EQ(h.tu.failures.size(), 1u);
  EXPECT_EQ(h.tu.failures[0].id, id);
  EXPECT_EQ(h.tu.failures[0].reason, ServerTransactionFailure::AckTimeout);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ServerInviteTransaction, AckConfirmsAndTimerITerminatesAfterT4) {
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 486)).has_value());
  auto ack = spec("ACK");
  ack.toTag = "uas-tag";
  h.deliver(request(ack));
  EXPECT_EQ(h.state(id), "Confirmed");
  EXPECT_TRUE(h.tu.acks.empty());  // §17.2.1: the ACK of a non-2xx stays in the transaction
  const auto sent = h.sender.sent.size();
  h.deliver(request(ack));  // absorbed
  h.timers.advance(4999ms);
  EXPECT_EQ(h.sender.sent.size(), sent);  // Timer G stopped
  EXPECT_EQ(h.state(id), "Confirmed");
  h.timers.advance(1ms);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_TRUE(h.tu.acks.empty());
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ServerInviteTransaction, OverTcpNoTimerGAndTimerIIsZero) {
  Harness h;
  auto s = spec("INVITE");
  s.transport = "TCP";
  auto id = receiveInvite(h, s, Harness::tcpFlow());
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 486)).has_value());
  h.timers.advance(10s);
  EXPECT_EQ(h.sender.responses(486), 1u);
  auto ack = spec("ACK");
  ack.transport = "TCP";
  ack.toTag = "uas-tag";
  h.deliver(request(ack), Harness::tcpFlow());
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.sender.sent.back().target.connection, Harness::tcpFlow().connection);
}

TEST(ServerInviteTransaction, RetransmittedInviteInCompletedGetsTheFinalAgain) {
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 480)).has_value());
  h.deliver(request(spec("INVITE")));
  EXPECT_EQ(h.sender.responses(480), 2u);
  EXPECT_EQ(h.tu.requests.size(), 1u);
}

TEST(ServerInviteTransaction, SuccessEntersAcceptedWhereTu2xxPassAndInvitesAreAbsorbed) {
  // RFC 6026 §7.1.
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 200)).has_value());
  EXPECT_EQ(h.state(id), "Accepted");
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 200)).has_value());  // the TU's retransmission
  EXPECT_EQ(h.sender.responses(200), 2u);
  const auto sent = h.sender.sent.size();
  h.deliver(request(spec("INVITE")));
  EXPECT_EQ(h.sender.sent.size(), sent);
  EXPECT_EQ(h.tu.requests.size(), 1u);
  EXPECT_FALSE(h.layer.respond(id, finalFor(h, 486)).has_value());
  h.timers.advance(10s);
  EXPECT_EQ(h.sender.sent.size(), sent);  // no 2xx retransmission of our own
}

TEST(ServerInviteTransaction, TimerLEndsAcceptedAfter64T1) {
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 200)).has_value());
  h.timers.advance(31999ms);
  EXPECT_EQ(h.state(id), "Accepted");
  h.timers.advance(1ms);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.layer.respond(id, finalFor(h, 200)).error().code, ErrorCode::NotFound);
}

TEST(ServerInviteTransaction, AckMatchingAnAcceptedTransactionGoesToTheTu) {
  // RFC 6026 §7.1: "any ACKs received from the network while in Accepted MUST be passed to the TU".
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 200)).has_value());
  auto ack = spec("ACK");
  ack.toTag = "uas-tag";
  h.deliver(request(ack));
  ASSERT_EQ(h.tu.acks.size(), 1u);
  EXPECT_EQ(h.state(id), "Accepted");
}

TEST(ServerInviteTransaction, AckFor2xxWithItsOwnBranchGoesToTheTu) {
  // §17.2.3: the ACK for a 2xx is a new transaction id; it matches nothing and belongs to the TU.
  Harness h;
  auto id = receiveInvite(h);
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 200)).has_value());
  auto ack = spec("ACK", "z9hG4bK-ack-for-2xx");
  ack.toTag = "uas-tag";
  h.deliver(request(ack));
  ASSERT_EQ(h.tu.acks.size(), 1u);
  EXPECT_EQ(h.tu.acks[0].branch().value_or(""), "z9hG4bK-ack-for-2xx");
  EXPECT_EQ(h.metric("p2psip_transaction_stray_acks_total"), 1);
}

TEST(ServerInviteTransaction, TransportErrorIsReportedToTheTu) {
  Harness h;
  auto id = receiveInvite(h);
  h.layer.onTransportError(
      transport::Target{transport::Protocol::Udp, endpoint("192.0.2.10", 5060)},
      Error{ErrorCode::TransportError, "unreachable"});
  ASSERT_EQ(h.tu.failures.size(), 1u);
  EXPECT_EQ(h.tu.failures[0].reason, ServerTransactionFailure::TransportError);
  EXPECT_EQ(h.state(id), "gone");
}

TEST(ServerInviteTransaction, ResponseThatCannotBeSentTerminatesAndIsReturned) {
  Harness h;
  auto id = receiveInvite(h);
  h.sender.failSends = true;
  auto sent = h.layer.respond(id, finalFor(h, 486));
  ASSERT_FALSE(sent.has_value());
  EXPECT_EQ(sent.error().code, ErrorCode::TransportError);
  EXPECT_EQ(h.state(id), "gone");
}

}  // namespace
}  // namespace p2psip::transaction::testing
