// SPDX-License-Identifier: Apache-2.0
// Matching: §17.1.3 (responses), §17.2.3 (requests, ACK), RFC 2543 fallback, §9.2 (CANCEL).
#include "p2psip/transaction/transaction_key.h"
#include "transaction_test_support.h"

namespace p2psip::transaction::testing {
namespace {

sip::Message finalFor(const Harness& h, std::uint16_t status, std::string_view toTag = "uas-tag") {
  return responseTo(h.tu.requests.back().message, status, toTag);
}

RequestSpec rfc2543(std::string method) {
  auto s = spec(std::move(method), "");
  s.cseq = 5;
  return s;
}

TEST(TransactionKey, ServerKeyOfAckIsTheKeyOfItsInvite) {
  auto ack = spec("ACK");
  ack.toTag = "x";
  EXPECT_EQ(TransactionKey::forServer(request(ack)),
            TransactionKey::forServer(request(spec("INVITE"))));
  EXPECT_NE(TransactionKey::forServer(request(spec("CANCEL"))),
            TransactionKey::forServer(request(spec("INVITE"))));
  EXPECT_EQ(TransactionKey::forServer(request(spec("CANCEL"))).withMethod("INVITE"),
            TransactionKey::forServer(request(spec("INVITE"))));
}

TEST(TransactionKey, SentByHostIsCaseInsensitiveAndDefaultPortIsExplicit) {
  auto a = spec("OPTIONS");
  a.sentBy = "Client.Example.COM";
  auto b = spec("OPTIONS");
  b.sentBy = "client.example.com:5060";
  EXPECT_EQ(TransactionKey::forServer(request(a)), TransactionKey::forServer(request(b)));
  EXPECT_EQ(TransactionKeyHash{}(TransactionKey::forServer(request(a))),
            TransactionKeyHash{}(TransactionKey::forServer(request(b))));
}

TEST(TransactionKey, Rfc2543KeyUsesTheRequestIdentity) {
  auto key = TransactionKey::forServer(request(rfc2543("INVITE")));
  EXPECT_FALSE(key.rfc3261);
  ASSERT_NE(key.rfc2543, nullptr);
  EXPECT_EQ(key.rfc2543->callId, "call-1@192.0.2.10");
  EXPECT_EQ(key.rfc2543->fromTag, "alice-1");
  EXPECT_EQ(key.rfc2543->cseqNumber, 5u);
  EXPECT_EQ(key.rfc2543->requestUri, "sip:bob@example.com");
  auto other = rfc2543("INVITE");
  other.cseq = 6;
  EXPECT_NE(key, TransactionKey::forServer(request(other)));
}

TEST(TransactionMatching, ResponseMatchesByBranchAndCSeqMethod) {
  // §17.1.3: the CANCEL's response shares the INVITE's branch but not its CSeq method.
  Harness h;
  h.send(request(spec("INVITE")));
  auto cancelResponse = responseTo(request(spec("CANCEL")), 200);
  h.deliver(std::move(cancelResponse));
  EXPECT_TRUE(h.client.responses.empty());
  EXPECT_EQ(h.tu.strayResponses.size(), 1u);
  h.deliver(h.answer(sip::Method::Invite, 180));
  EXPECT_EQ(h.client.responses.size(), 1u);
}

TEST(TransactionMatching, ResponseWithUnknownBranchIsPassedUpAsStray) {
  Harness h;
  h.send(request(spec("INVITE")));
  h.deliver(responseTo(request(spec("INVITE", "z9hG4bK-someone-else")), 200, "t"));
  EXPECT_TRUE(h.client.responses.empty());
  ASSERT_EQ(h.tu.strayResponses.size(), 1u);
  EXPECT_EQ(h.metric("p2psip_transaction_stray_responses_total"), 1);
}

TEST(TransactionMatching, SameBranchFromAnotherSentByIsANewTransaction) {
  Harness h;
  h.deliver(request(spec("OPTIONS")));
  auto other = spec("OPTIONS");
  other.sentBy = "192.0.2.99:5060";
  h.deliver(request(other));
  EXPECT_EQ(h.tu.requests.size(), 2u);
  EXPECT_EQ(h.layer.size(), 2u);
}

TEST(TransactionMatching, SameBranchWithAnotherMethodIsANewTransaction) {
  Harness h;
  h.deliver(request(spec("INVITE")));
  h.deliver(request(spec("OPTIONS")));
  EXPECT_EQ(h.tu.requests.size(), 2u);
}

TEST(TransactionMatching, AckForNon2xxMatchesTheInviteTransaction) {
  Harness h;
  h.deliver(request(spec("INVITE")));
  auto id = h.tu.requests.back().id;
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 404)).has_value());
  auto ack = spec("ACK");
  ack.toTag = "uas-tag";
  h.deliver(request(ack));
  EXPECT_EQ(h.state(id), "Confirmed");
  EXPECT_TRUE(h.tu.acks.empty());
}

TEST(TransactionMatching, Rfc2543RetransmissionWithoutBranchIsAbsorbed) {
  Harness h;
  h.deliver(request(rfc2543("INVITE")));
  h.deliver(request(rfc2543("INVITE")));
  EXPECT_EQ(h.tu.requests.size(), 1u);
  EXPECT_EQ(h.sender.responses(100), 2u);
}

TEST(TransactionMatching, Rfc2543RequestWithNewCSeqIsANewTransaction) {
  Harness h;
  h.deliver(request(rfc2543("OPTIONS")));
  auto next = rfc2543("OPTIONS");
  next.cseq = 6;
  h.deliver(request(next));
  EXPECT_EQ(h.tu.requests.size(), 2u);
}

TEST(TransactionMatching, Rfc2543AckMatchesTheInviteWhoseResponseCarriedItsToTag) {
  Harness h;
  h.deliver(request(rfc2543("INVITE")));
  auto id = h.tu.requests.back().id;
  ASSERT_TRUE(h.layer.respond(id, finalFor(h, 486, "uas-2543")).has_value());
  auto wrongTag = rfc2543("ACK");
  wrongTag.toTag = "somebody-else";
  h.deliver(request(wrongTag));
  EXPECT_EQ(h.state(id), "Completed");
  EXPECT_EQ(h.tu.acks.size(), 1u);  // matched nothing: the TU's
  auto ack = rfc2543("ACK");
  ack.toTag = "uas-2543";
  h.deliver(request(ack));
  EXPECT_EQ(h.state(id), "Confirmed");
  EXPECT_EQ(h.tu.acks.size(), 1u);
}

TEST(TransactionMatching, CancelGetsItsOwnTransactionAndNamesTheInviteItMatches) {
  // §9.2: same branch and sent-by, other method.
  Harness h;
  h.deliver(request(spec("INVITE")));
  auto invite = h.tu.requests.back().id;
  h.deliver(request(spec("CANCEL")));
  ASSERT_EQ(h.tu.cancels.size(), 1u);
  ASSERT_TRUE(h.tu.cancels[0].invite.has_value());
  EXPECT_EQ(*h.tu.cancels[0].invite, invite);
  auto cancelId = h.tu.cancels[0].id;
  EXPECT_NE(cancelId, invite);
  EXPECT_EQ(h.tu.requests.size(), 1u);  // the CANCEL is not an ordinary request
  ASSERT_TRUE(
      h.layer.respond(cancelId, responseTo(h.tu.cancels[0].message, 200, "uas-tag")).has_value());
  ASSERT_TRUE(h.layer.respond(invite, finalFor(h, 487)).has_value());
  EXPECT_EQ(h.sender.responses(200), 1u);
  EXPECT_EQ(h.sender.responses(487), 1u);
  h.deliver(request(spec("CANCEL")));  // retransmitted CANCEL: answered by its own transaction
  EXPECT_EQ(h.tu.cancels.size(), 1u);
  EXPECT_EQ(h.sender.responses(200), 2u);
}

TEST(TransactionMatching, CancelWithoutInviteTellsTheTuThereIsNone) {
  Harness h;
  h.deliver(request(spec("CANCEL", "z9hG4bK-unknown")));
  ASSERT_EQ(h.tu.cancels.size(), 1u);
  EXPECT_FALSE(h.tu.cancels[0].invite.has_value());
}

TEST(TransactionMatching, Rfc2543CancelMatchesTheInvite) {
  Harness h;
  h.deliver(request(rfc2543("INVITE")));
  auto invite = h.tu.requests.back().id;
  h.deliver(request(rfc2543("CANCEL")));
  ASSERT_EQ(h.tu.cancels.size(), 1u);
  ASSERT_TRUE(h.tu.cancels[0].invite.has_value());
  EXPECT_EQ(*h.tu.cancels[0].invite, invite);
}

TEST(TransactionMatching, StrayAckIsPassedToTheTu) {
  Harness h;
  auto ack = spec("ACK", "z9hG4bK-in-dialog");
  ack.toTag = "uas-tag";
  h.deliver(request(ack));
  ASSERT_EQ(h.tu.acks.size(), 1u);
  EXPECT_EQ(h.layer.size(), 0u);  // an ACK never creates a transaction
}

}  // namespace
}  // namespace p2psip::transaction::testing
