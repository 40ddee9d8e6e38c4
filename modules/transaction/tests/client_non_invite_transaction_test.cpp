// SPDX-License-Identifier: Apache-2.0
// RFC 3261 §17.1.2 non-INVITE client transaction: Timers E, F and K.
#include "transaction_test_support.h"

namespace p2psip::transaction::testing {
namespace {

TEST(ClientNonInviteTransaction, SendsRequestAndEntersTrying) {
  Harness h;
  auto id = h.send(request(spec("OPTIONS")));
  EXPECT_EQ(h.sender.requests(sip::Method::Options), 1u);
  EXPECT_EQ(h.state(id), "Trying");
}

TEST(ClientNonInviteTransaction, RetransmitsOnTimerEDoublingUpToT2OverUdp) {
  // §17.1.2.2: intervals 0.5, 1, 2, 4, 4, ... s: sends at 0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5.
  Harness h;
  h.send(request(spec("OPTIONS")));
  const std::pair<std::chrono::milliseconds, std::size_t> expected[] = {
      {500ms, 2}, {1500ms, 3}, {3500ms, 4}, {7500ms, 5}, {11500ms, 6}, {15500ms, 7}};
  auto now = 0ms;
  for (const auto& [at, sends] : expected) {
    h.timers.advance(at - now - 1ms);
    EXPECT_EQ(h.sender.requests(sip::Method::Options), sends - 1)
        << "just before " << at.count() << " ms";
    h.timers.advance(1ms);
    EXPECT_EQ(h.sender.requests(sip::Method::Options), sends) << "at " << at.count() << " ms";
    now = at;
  }
}

TEST(ClientNonInviteTransaction, RetransmitsEveryT2InProceeding) {
  Harness h;
  auto id = h.send(request(spec("REGISTER")));
  h.deliver(h.answer(sip::Method::Register, 100));
  EXPECT_EQ(h.state(id), "Proceeding");
  h.timers.advance(500ms);  // the pending Timer E fires, then restarts at T2
  EXPECT_EQ(h.sender.requests(sip::Method::Register), 2u);
  h.timers.advance(4s);
  EXPECT_EQ(h.sender.requests(sip::Method::Register), 3u);
  h.timers.advance(4s);
  EXPECT_EQ(h.sender.requests(sip::Method::Register), 4u);
}

TEST(ClientNonInviteTransaction, DoesNotRetransmitOverTcp) {
  Harness h;
  h.send(request(spec("OPTIONS")), Harness::tcpTarget());
  h.timers.advance(31s);
  EXPECT_EQ(h.sender.requests(sip::Method::Options), 1u);
}

TEST(ClientNonInviteTransaction, TimerFFiresAt64T1AndReportsTimeout) {
  Harness h;
  auto id = h.send(request(spec("OPTIONS")));
  h.timers.advance(31999ms);
  EXPECT_TRUE(h.client.timeouts.empty());
  h.timers.advance(1ms);
  ASSERT_EQ(h.client.timeouts.size(), 1u);
  EXPECT_EQ(h.client.timeouts[0].first, id);
  EXPECT_EQ(h.client.timeouts[0].second, ClientTimeout::TimerF);
  EXPECT_EQ(h.layer.size(), 0u);
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientNonInviteTransaction, PassesProvisionalAndFinalResponsesUp) {
  Harness h;
  h.send(request(spec("BYE")));
  h.deliver(h.answer(sip::Method::Bye, 100));
  h.deliver(h.answer(sip::Method::Bye, 200));
  ASSERT_EQ(h.client.responses.size(), 2u);
  EXPECT_EQ(h.client.responses[0].second.statusCode(), 100);
  EXPECT_EQ(h.client.responses[1].second.statusCode(), 200);
}

TEST(ClientNonInviteTransaction, CompletedAbsorbsRetransmittedFinalsUntilTimerK) {
  Harness h;
  auto id = h.send(request(spec("OPTIONS")));
  h.deliver(h.answer(sip::Method::Options, 200));
  EXPECT_EQ(h.state(id), "Completed");
  h.deliver(h.answer(sip::Method::Options, 200));
  EXPECT_EQ(h.client.responses.size(), 1u);
  h.timers.advance(10s);
  EXPECT_EQ(h.sender.requests(sip::Method::Options), 1u);  // Timer E stopped with the final
  EXPECT_EQ(h.state(id), "gone");                          // Timer K (T4 = 5 s) has fired
}

TEST(ClientNonInviteTransaction, TimerKIsT4OverUdp) {
  Harness h;
  auto id = h.send(request(spec("OPTIONS")));
  h.deliver(h.answer(sip::Method::Options, 404));
  h.timers.advance(4999ms);
  EXPECT_EQ(h.state(id), "Completed");
  h.timers.advance(1ms);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientNonInviteTransaction, TimerKIsZeroOverTcp) {
  Harness h;
  auto id = h.send(request(spec("OPTIONS")), Harness::tcpTarget());
  h.deliver(h.answer(sip::Method::Options, 200), Harness::tcpFlow());
  EXPECT_EQ(h.client.responses.size(), 1u);
  EXPECT_EQ(h.state(id), "gone");
  EXPECT_EQ(h.timers.pending(), 0u);
}

TEST(ClientNonInviteTransaction, TransportErrorIsReportedToTheTu) {
  Harness h;
  auto id = h.send(request(spec("MESSAGE")), Harness::tcpTarget());
  // The transport names the connection that failed.
  transport::Target failed{transport::Protocol::Tcp, endpoint("198.51.100.7", 5060), 42};
  h.layer.onTransportError(failed, Error{ErrorCode::TransportError, "connection reset"});
  ASSERT_EQ(h.client.errors.size(), 1u);
  EXPECT_EQ(h.client.errors[0].first, id);
  EXPECT_EQ(h.client.errors[0].second.detail, "connection reset");
  EXPECT_EQ(h.layer.size(), 0u);
}

}  // namespace
}  // namespace p2psip::transaction::testing
