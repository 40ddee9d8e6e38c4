// SPDX-License-Identifier: Apache-2.0
// RFC 3261 §17.1.1 INVITE client transaction, RFC 6026 §7.2 Accepted, §9.1 CANCEL.
#include "transaction_test_support.h"

namespace p2psip::transaction::testing {
namespace {

TEST(ClientInviteTransaction, SendsInviteAndEntersCalling) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  ASSERT_EQ(h.sender.sent.size(), 1u);
  EXPECT_EQ(h.sender.sent[0].target.endpoint, Harness::udpTarget().endpoint);
  EXPECT_EQ(h.state(id), "Calling");
  EXPECT_EQ(h.layer.size(), 1u);
}

TEST(ClientInviteTransaction, RetransmitsInviteOnTimerAOverUdp) {
  Harness h;
  h.send(request(spec("INVITE")));
  h.timers.advance(499ms);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 1u);
  h.timers.advance(1ms);  // Timer A = T1
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 2u);
  h.timers.advance(1s);  // then 2*T1
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 3u);
  h.timers.advance(2s);  // then 4*T1
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 4u);
}

TEST(ClientInviteTransaction, TimerAKeepsDoublingPastT2AsRfc3261Specifies) {
  // §17.1.1.2 caps neither Timer A nor the INVITE retransmissions at T2 (unlike Timer E):
  // sends at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s, i.e. seven before Timer B.
  Harness h;
  h.send(request(spec("INVITE")));
  h.timers.advance(15499ms);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 5u);
  h.timers.advance(1ms);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 6u);
  h.timers.advance(15999ms);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 6u);
  h.timers.advance(1ms);  // 31.5 s: the interval reached 16 s, four times T2
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 7u);
}

TEST(ClientInviteTransaction, DoesNotRetransmitOverTcp) {
  Harness h;
  h.send(request(spec("INVITE")), Harness::tcpTarget());
  h.timers.advance(31s);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 1u);
}

TEST(ClientInviteTransaction, TimerBFiresAt64T1AndReportsTimeout) {
  Harness h;
  auto start = std::chrono::steady_clock::now();
  auto id = h.send(request(spec("INVITE")));
  h.timers.advance(31999ms);
  EXPECT_TRUE(h.client.timeouts.empty());
  h.timers.advance(1ms);
  ASSERT_EQ(h.client.timeouts.size(), 1u);
  EXPECT_EQ(h.client.timeouts[0].first, id);
  EXPECT_EQ(h.client.timeouts[0].second, ClientTimeout::TimerB);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.timers.pending(), 0u);
  // 32 s of protocol time in well under a second of real time.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST(ClientInviteTransaction, TimerBFollowsConfiguredT1) {
  TransactionConfig config;
  config.t1 = 100ms;
  Harness h(config);
  h.send(request(spec("INVITE")));
  h.timers.advance(6399ms);
  EXPECT_TRUE(h.client.timeouts.empty());
  h.timers.advance(1ms);
  EXPECT_EQ(h.client.timeouts.size(), 1u);
}

TEST(ClientInviteTransaction, ProvisionalStopsRetransmissionsAndTimerB) {
  Harness h(userAgentConfig());
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 180, "bob-1"));
  EXPECT_EQ(h.state(id), "Proceeding");
  ASSERT_EQ(h.client.responses.size(), 1u);
  EXPECT_EQ(h.client.responses[0].second.statusCode(), 180);
  h.timers.advance(120s);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 1u);
  EXPECT_TRUE(h.client.timeouts.empty());
  EXPECT_EQ(h.state(id), "Proceeding");
}

TEST(ClientInviteTransaction, NonSuccessFinalGeneratesAckHopByHop) {
  Harness h;
  auto invite = spec("INVITE");
  invite.routes = {"<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"};
  invite.cseq = 7;
  // As a proxy forwards it: our Via on top of the UA's, which the ACK must not carry.
  invite.extraHeaders =
      "Via: SIP/2.0/UDP 192.0.2.200;branch=z9hG4bK-ua, SIP/2.0/TCP "
      "192.0.2.201;branch=z9hG4bK-x\r\n";
  auto id = h.send(request(invite));
  h.deliver(h.answer(sip::Method::Invite, 486, "bob-tag"));

  EXPECT_EQ(h.state(id), "Completed");
  ASSERT_EQ(h.client.responses.size(), 1u);
  EXPECT_EQ(h.client.responses[0].second.statusCode(), 486);
  const auto* ack = h.sender.lastRequest(sip::Method::Ack);
  ASSERT_NE(ack, nullptr);
  // §17.1.1.3: same Request-URI, branch, From, Call-ID, CSeq number; To from the response; Routes.
  EXPECT_EQ(ack->target.endpoint, Harness::udpTarget().endpoint);
  EXPECT_EQ(ack->message.requestUri().text, "sip:bob@example.com");
  EXPECT_EQ(ack->message.count(sip::HeaderId::Via), 1u);
  EXPECT_EQ(ack->message.branch().value_or(""), "z9hG4bK-client-1");
  EXPECT_EQ(ack->message.to().tag().value_or(""), "bob-tag");
  EXPECT_EQ(ack->message.from().tag().value_or(""), "alice-1");
  EXPECT_EQ(ack->message.callId(), "call-1@192.0.2.10");
  EXPECT_EQ(ack->message.cseq().number, 7u);
  EXPECT_EQ(ack->message.cseq().method, sip::Method::Ack);
  auto routes = ack->message.values(sip::HeaderId::Route);
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0], "<sip:p1.example.com;lr>");
  EXPECT_EQ(routes[1], "<sip:p2.example.com;lr>");
}

TEST(ClientInviteTransaction, RetransmittedFinalIsAbsorbedAndAckedAgain) {
  Harness h;
  h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 486, "bob-tag"));
  h.deliver(h.answer(sip::Method::Invite, 486, "bob-tag"));
  EXPECT_EQ(h.client.responses.size(), 1u);
  EXPECT_EQ(h.sender.requests(sip::Method::Ack), 2u);
}

TEST(ClientInviteTransaction, TimerDTerminatesAfter32SecondsOverUdp) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 503, "bob-tag"));
  h.timers.advance(31999ms);
  EXPECT_EQ(h.state(id), "Completed");
  h.timers.advance(1ms);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientInviteTransaction, TimerDIsZeroOverTcp) {
  Harness h;
  auto id = h.send(request(spec("INVITE")), Harness::tcpTarget());
  h.deliver(h.answer(sip::Method::Invite, 404, "bob-tag"), Harness::tcpFlow());
  EXPECT_EQ(h.sender.requests(sip::Method::Ack), 1u);
  EXPECT_EQ(h.client.responses.size(), 1u);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientInviteTransaction, SuccessEntersAcceptedAndPassesEvery2xxToTheTu) {
  // RFC 6026 §7.2: no ACK from the transaction; retransmitted 2xx go up for the TU to ACK.
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 200, "bob-tag"));
  EXPECT_EQ(h.state(id), "Accepted");
  h.deliver(h.answer(sip::Method::Invite, 200, "bob-tag"));
  h.deliver(h.answer(sip::Method::Invite, 200, "other-fork"));
  EXPECT_EQ(h.client.responses.size(), 3u);
  EXPECT_EQ(h.sender.requests(sip::Method::Ack), 0u);
  h.timers.advance(10s);
  EXPECT_EQ(h.sender.requests(sip::Method::Invite), 1u);  // no Timer A once a 2xx came
}

TEST(ClientInviteTransaction, TimerMEndsAcceptedAfter64T1ThenLate2xxIsStray) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 200, "bob-tag"));
  h.timers.advance(31999ms);
  EXPECT_EQ(h.state(id), "Accepted");
  h.timers.advance(1ms);
  EXPECT_EQ(h.state(id), "gone");
  h.deliver(h.answer(sip::Method::Invite, 200, "bob-tag"));
  EXPECT_EQ(h.client.responses.size(), 1u);
  EXPECT_EQ(h.tu.strayResponses.size(), 1u);
}

TEST(ClientInviteTransaction, TransportErrorInCallingIsReportedToTheTu) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.layer.onTransportError(Harness::udpTarget(),
                           Error{ErrorCode::TransportError, "ICMP unreachable"});
  ASSERT_EQ(h.client.errors.size(), 1u);
  EXPECT_EQ(h.client.errors[0].first, id);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientInviteTransaction, ImmediateSendFailureIsReturnedAndCreatesNothing) {
  Harness h;
  h.sender.failSends = true;
  auto id = h.layer.sendRequest(request(spec("INVITE")), Harness::udpTarget(), h.client);
  ASSERT_FALSE(id.has_value());
  EXPECT_EQ(id.error().code, ErrorCode::TransportError);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientInviteTransaction, FailedRetransmissionIsReportedAsTransportError) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.sender.failSends = true;
  h.timers.advance(500ms);
  ASSERT_EQ(h.client.errors.size(), 1u);
  EXPECT_EQ(h.client.errors[0].first, id);
  EXPECT_EQ(h.layer.size(), 0u);
}

TEST(ClientInviteTransaction, CancelBeforeAnyProvisionalWaitsForOne) {
  Harness h;
  auto invite = spec("INVITE");
  invite.routes = {"<sip:p1.example.com;lr>"};
  invite.cseq = 3;
  auto id = h.send(request(invite));
  ASSERT_TRUE(h.layer.cancel(id).has_value());
  EXPECT_EQ(h.sender.requests(sip::Method::Cancel), 0u);  // §9.1: not before a provisional
  h.deliver(h.answer(sip::Method::Invite, 180, "bob-tag"));
  const auto* cancel = h.sender.lastRequest(sip::Method::Cancel);
  ASSERT_NE(cancel, nullptr);
  // §9.1: Request-URI, Call-ID, From, To (as in the INVITE: no tag), CSeq number, top Via, Routes.
  EXPECT_EQ(cancel->message.requestUri().text, "sip:bob@example.com");
  EXPECT_EQ(cancel->message.branch().value_or(""), "z9hG4bK-client-1");
  EXPECT_FALSE(cancel->message.to().tag().has_value());
  EXPECT_EQ(cancel->message.cseq().number, 3u);
  EXPECT_EQ(cancel->message.cseq().method, sip::Method::Cancel);
  EXPECT_EQ(cancel->message.values(sip::HeaderId::Route).size(), 1u);
  EXPECT_EQ(cancel->target.endpoint, Harness::udpTarget().endpoint);
  EXPECT_EQ(h.layer.count(TransactionKind::ClientNonInvite), 1u);
}

TEST(ClientInviteTransaction, CancelInProceedingIsSentAtOnceAndItsResponseAbsorbed) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 183, "bob-tag"));
  ASSERT_TRUE(h.layer.cancel(id).has_value());
  ASSERT_TRUE(h.layer.cancel(id).has_value());  // idempotent
  EXPECT_EQ(h.sender.requests(sip::Method::Cancel), 1u);
  h.deliver(h.answer(sip::Method::Cancel, 200));
  h.deliver(h.answer(sip::Method::Invite, 487, "bob-tag"));
  ASSERT_EQ(h.client.responses.size(), 2u);  // 183 and 487; the CANCEL's 200 is not the INVITE's
  EXPECT_EQ(h.client.responses[1].second.statusCode(), 487);
  EXPECT_EQ(h.sender.requests(sip::Method::Ack), 1u);
}

TEST(ClientInviteTransaction, CancelAfterFinalResponseIsRefused) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 200, "bob-tag"));
  auto cancelled = h.layer.cancel(id);
  ASSERT_FALSE(cancelled.has_value());
  EXPECT_EQ(h.sender.requests(sip::Method::Cancel), 0u);
  EXPECT_EQ(h.layer.cancel(ClientTransactionId{999}).error().code, ErrorCode::NotFound);
}

TEST(ClientInviteTransaction, UnansweredCancelEndsTheInviteAfter64T1) {
  Harness h(userAgentConfig());
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 180, "bob-tag"));
  ASSERT_TRUE(h.layer.cancel(id).has_value());
  h.deliver(h.answer(sip::Method::Cancel, 200));
  h.timers.advance(31999ms);
  EXPECT_EQ(h.state(id), "Proceeding");
  h.timers.advance(1ms);
  ASSERT_EQ(h.client.timeouts.size(), 1u);
  EXPECT_EQ(h.client.timeouts[0].second, ClientTimeout::CancelUnanswered);
  EXPECT_EQ(h.state(id), "gone");
}

TEST(ClientInviteTransaction, TimerCTellsTheTuAndIsRestartedByProvisionals) {
  Harness h;  // proxy defaults: Timer C = 181 s
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 180, "bob-tag"));
  h.timers.advance(100s);
  h.deliver(h.answer(sip::Method::Invite, 183, "bob-tag"));  // §16.7 step 2: restarts Timer C
  h.timers.advance(180s);
  EXPECT_TRUE(h.client.timeouts.empty());
  h.timers.advance(1s);
  ASSERT_EQ(h.client.timeouts.size(), 1u);
  EXPECT_EQ(h.client.timeouts[0].second, ClientTimeout::TimerC);
  EXPECT_EQ(h.state(id), "Proceeding");  // the TU decides: here it cancels
  ASSERT_TRUE(h.layer.cancel(id).has_value());
  EXPECT_EQ(h.sender.requests(sip::Method::Cancel), 1u);
}

TEST(ClientInviteTransaction, DetachedUserTurns2xxIntoStrayResponse) {
  Harness h;
  auto id = h.send(request(spec("INVITE")));
  h.deliver(h.answer(sip::Method::Invite, 180, "bob-tag"));
  h.layer.detach(id);
  h.deliver(h.answer(sip::Method::Invite, 200, "bob-tag"));
  EXPECT_EQ(h.client.responses.size(), 1u);
  ASSERT_EQ(h.tu.strayResponses.size(), 1u);
  EXPECT_EQ(h.tu.strayResponses[0].statusCode(), 200);
}

TEST(ClientInviteTransaction, RefusesRequestsWithoutRfc3261BranchAndAck) {
  Harness h;
  auto noCookie =
      h.layer.sendRequest(request(spec("INVITE", "old-branch")), Harness::udpTarget(), h.client);
  EXPECT_FALSE(noCookie.has_value());
  auto ack = h.layer.sendRequest(request(spec("ACK")), Harness::udpTarget(), h.client);
  EXPECT_FALSE(ack.has_value());
  h.send(request(spec("INVITE")));
  auto duplicate = h.layer.sendRequest(request(spec("INVITE")), Harness::udpTarget(), h.client);
  EXPECT_FALSE(duplicate.has_value());
  EXPECT_EQ(h.layer.size(), 1u);
}

}  // namespace
}  // namespace p2psip::transaction::testing
