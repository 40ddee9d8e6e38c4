// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/sip/parser.h"

namespace p2psip::sip {
namespace {

const std::string kInvite =
    "INVITE sip:bob@p2p.test SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    "Max-Forwards: 70\r\n"
    "Route: <sip:peer-a.p2p.test;lr>, <sip:peer-b.p2p.test;lr>\r\n"
    "To: Bob <sip:bob@p2p.test>\r\n"
    "From: \"Alice, A.\" <sip:alice@p2p.test>;tag=1928301774\r\n"
    "Call-ID: a84b4c76e66710@pc33.p2p.test\r\n"
    "CSeq: 314159 INVITE\r\n"
    "Contact: <sip:alice@192.0.2.10>\r\n"
    "X-Custom:   kept   exactly  \r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 4\r\n"
    "\r\n"
    "v=0\n";

Message parse(const std::string& text) {
  auto r = parseDatagram(text);
  EXPECT_TRUE(r) << (r ? "" : r.error().detail);
  return std::move(*r);
}

TEST(Message, HeadersAreFoundCaseInsensitivelyAndByCompactForm) {
  Message m = parse(
      "OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: "
      "<sip:a@b>\r\n"
      "i: x@y\r\nCSEQ: 1 OPTIONS\r\nl: 0\r\nK: path, outbound\r\n\r\n");
  EXPECT_EQ(m.callId(), "x@y");
  EXPECT_NE(m.find("call-id"), nullptr);
  EXPECT_NE(m.find("Content-Length"), nullptr);
  EXPECT_EQ(m.find("content-length")->value, "0");
  EXPECT_EQ(m.values(HeaderId::Supported), (std::vector<std::string_view>{"path", "outbound"}));
}

TEST(Message, ListValuesSplitOnCommasOutsideQuotesAndBrackets) {
  Message m = parse(
      "REGISTER sip:p2p.test SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: "
      "<sip:a@p2p.test>;tag=1\r\n"
      "To: <sip:a@p2p.test>\r\nCall-ID: x\r\nCSeq: 1 REGISTER\r\n"
      "Contact: \"Doe, John\" <sip:a@192.0.2.1;x=a>;expires=60, <sip:a@192.0.2.2>;q=0.5\r\n"
      "Contact: sip:a@192.0.2.3\r\nContent-Length: 0\r\n\r\n");
  auto contacts = m.values(HeaderId::Contact);
  ASSERT_EQ(contacts.size(), 3u);
  auto first = parseContact(contacts[0]);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->address.displayNameText(), "Doe, John");
  EXPECT_EQ(first->expires(), 60u);
  EXPECT_EQ(parseContact(contacts[1])->q(), 500);
  EXPECT_EQ(parseContact(contacts[2])->address.uri.host, "192.0.2.3");
}

TEST(Message, UntouchedMessageSerializesByteExact) {
  Message m = parse(kInvite);
  EXPECT_EQ(m.serialize(), kInvite);
  EXPECT_EQ(m.serializedSize(), kInvite.size());
}

TEST(Message, ProxyEditsTouchOnlyTheEditedLines) {
  Message m = parse(kInvite);
  ASSERT_TRUE(m.popRoute());
  ASSERT_TRUE(m.decrementMaxForwards());
  ASSERT_TRUE(m.pushRecordRoute("<sip:peer-a.p2p.test;lr>"));
  ASSERT_TRUE(m.pushVia("SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKproxy1"));
  std::string out = m.serialize();
  EXPECT_TRUE(out.starts_with(
      "INVITE sip:bob@p2p.test SIP/2.0\r\nVia: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKproxy1\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"))
      << out;
  EXPECT_NE(out.find("Max-Forwards: 69\r\n"), std::string::npos);
  EXPECT_NE(out.find("Route: <sip:peer-b.p2p.test;lr>\r\n"), std::string::npos);
  EXPECT_EQ(out.find("peer-a.p2p.test;lr>,"), std::string::npos);
  EXPECT_NE(out.find("Record-Route: <sip:peer-a.p2p.test;lr>\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Custom:   kept   exactly  \r\n"),
            std::string::npos);  // untouched, byte-exact
  auto again = parseDatagram(out);
  ASSERT_TRUE(again) << again.error().detail;
  EXPECT_EQ(again->topVia().branch(), "z9hG4bKproxy1");
  EXPECT_EQ(again->maxForwards(), 69u);
  EXPECT_EQ(again->body(), "v=0\n");
}

TEST(Message, PopViaRemovesOnlyTheFirstValueOfACommaList) {
  Message m = parse(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP proxy;branch=z9hG4bKp, SIP/2.0/UDP ua;branch=z9hG4bKu\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 "
      "INVITE\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(m.topVia().host, "proxy");
  ASSERT_TRUE(m.popVia());
  EXPECT_EQ(m.topVia().host, "ua");
  EXPECT_EQ(m.method(), Method::Invite);
  ASSERT_TRUE(m.popVia());
  EXPECT_FALSE(m.popVia());
}

// popVia leaves the next Via to be parsed when asked for (message.h): every way of asking, a clone
// taken in between included, sees it; and one that does not parse reads as no Via at all.
TEST(Message, TheViaUnderAPoppedOneIsWhatEveryReaderSees) {
  const std::string response =
      "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bKproxy\r\n"
      "Via: SIP/2.0/TCP 198.18.0.9:5070;branch=z9hG4bKua;received=198.18.0.8;rport=4000\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n";
  Message m = parse(response);
  ASSERT_TRUE(m.popVia());
  EXPECT_EQ(m.branch(), "z9hG4bKua");
  EXPECT_EQ(m.topVia().transport, "TCP");
  EXPECT_EQ(m.topVia().rport(), 4000);

  auto popped = std::make_unique<Message>(parse(response));
  ASSERT_TRUE(popped->popVia());
  Message c = popped->clone();
  popped.reset();
  EXPECT_EQ(c.topVia().host, "198.18.0.9");
  EXPECT_EQ(c.topVia().received(), "198.18.0.8");

  // Responses are checked down to their top Via only (parser.cpp), so a broken second one shows
  // up here, after the pop, as a message without a usable Via.
  Message broken = parse(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKproxy\r\n"
      "Via: SIP/2.0/UDP ;;;\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\n"
      "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  ASSERT_TRUE(broken.popVia());
  EXPECT_TRUE(broken.topVia().text.empty());
  EXPECT_FALSE(broken.branch());
  EXPECT_EQ(broken.count(HeaderId::Via), 1u);
}

// A proxy's own Via is prepared once and pushed without parsing (via.h): each field must read
// exactly as a parse of the same text gives it, whatever the head carries.
TEST(Message, APreparedViaReadsExactlyAsTheSameTextParsed) {
  for (const char* head :
       {"SIP/2.0/UDP 198.18.0.1:5060;rport", "SIP/2.0/TLS [2001:db8::1]:5061;rport",
        "SIP/2.0/TCP peer.p2p.test;maddr=198.18.0.7;received=198.18.0.8;ttl=1",
        "SIP/2.0/UDP 198.18.0.1"}) {
    SCOPED_TRACE(head);
    auto prepared = PreparedVia::make(head);
    ASSERT_TRUE(prepared) << prepared.error().detail;
    Message fast = parse(kInvite);
    Message slow = parse(kInvite);
    ASSERT_TRUE(fast.pushVia(*prepared, "z9hG4bK-p1-7"));
    ASSERT_TRUE(slow.pushVia(prepared->with("z9hG4bK-p1-7")));
    EXPECT_EQ(fast.serialize(), slow.serialize());
    for (const Message* m : {&fast, &slow}) {
      const Via& v = m->topVia();
      const Via& w = slow.topVia();
      EXPECT_EQ(v.text, w.text);
      EXPECT_EQ(v.protocolName, w.protocolName);
      EXPECT_EQ(v.protocolVersion, w.protocolVersion);
      EXPECT_EQ(v.transport, w.transport);
      EXPECT_EQ(v.host, w.host);
      EXPECT_EQ(v.hostKind, w.hostKind);
      EXPECT_EQ(v.port, w.port);
      EXPECT_EQ(v.params.raw(), w.params.raw());
      EXPECT_EQ(v.branch(), w.branch());
      EXPECT_EQ(v.received(), w.received());
      EXPECT_EQ(v.rport(), w.rport());
      EXPECT_EQ(v.hasRport(), w.hasRport());
      EXPECT_EQ(v.maddr(), w.maddr());
      EXPECT_EQ(v.ttl(), w.ttl());
    }
    EXPECT_EQ(fast.topVia().branch(), "z9hG4bK-p1-7");
    Message copy = fast.clone();
    EXPECT_EQ(copy.topVia().text, slow.topVia().text);
  }
}

TEST(Message, APreparedViaRefusesABranchOfItsOwnAndBranchesThatAreNotTokens) {
  EXPECT_FALSE(PreparedVia::make("SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKmine"));
  EXPECT_FALSE(PreparedVia::make("SIP/2.0 198.18.0.1"));
  EXPECT_FALSE(PreparedVia::make("SIP/2.0/UDP 198.18.0.1;;rport"));
  auto prepared = PreparedVia::make("SIP/2.0/UDP 198.18.0.1;rport");
  ASSERT_TRUE(prepared);
  Message m = parse(kInvite);
  EXPECT_FALSE(m.pushVia(*prepared, ""));
  EXPECT_FALSE(m.pushVia(*prepared, "z9hG4bK a"));
  EXPECT_FALSE(m.pushVia(*prepared, "z9hG4bK;received=198.18.0.66"));
  EXPECT_EQ(m.serialize(), kInvite);
}

TEST(Message, ACheckedRecordRouteIsWrittenAsGiven) {
  EXPECT_FALSE(CheckedNameAddr::make("<sip:198.18.0.1;lr"));
  auto rr = CheckedNameAddr::make("<sip:198.18.0.1:5060;transport=udp;lr>");
  ASSERT_TRUE(rr);
  Message m = parse(kInvite);
  m.pushRecordRoute(*rr);
  auto again = parseDatagram(m.serialize());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->values(HeaderId::RecordRoute),
            std::vector<std::string_view>{"<sip:198.18.0.1:5060;transport=udp;lr>"});
}

TEST(Message, MaxForwardsZeroCannotBeDecremented) {
  std::string text = kInvite;
  text.replace(text.find("Max-Forwards: 70"), 16, "Max-Forwards: 0");
  Message m = parse(text);
  EXPECT_FALSE(m.decrementMaxForwards());
}

TEST(Message, SetBodyFixesContentLengthAndType) {
  Message m = parse(kInvite);
  m.setBody("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\n", "application/sdp");
  auto again = parseDatagram(m.serialize());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body().size(), 32u);
  EXPECT_EQ(again->find(HeaderId::ContentLength)->value, "32");
  m.setBody("");
  auto empty = parseDatagram(m.serialize());
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->find(HeaderId::ContentType), nullptr);
  EXPECT_EQ(empty->find(HeaderId::ContentLength)->value, "0");
}

TEST(Message, StampReceivedAddsReceivedAndFillsRport) {  // RFC 3261 §18.2.1, RFC 3581 §4
  Message m = parse(kInvite);
  m.stampReceived("198.18.5.5", 40000);
  EXPECT_EQ(m.topVia().received(), "198.18.5.5");
  EXPECT_EQ(m.topVia().rport(), 40000);
  EXPECT_EQ(m.topVia().branch(), "z9hG4bK776asdhds");
  auto again = parseDatagram(m.serialize());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->topVia().rport(), 40000);
}

// The parser keeps branch, received, rport and maddr as it checks them; what it keeps must be what
// a scan of the parameter text finds (the first of each name, any case, LWS around ';' and '=').
TEST(Via, KeptParametersAreTheFirstOfEachNameAsAScanFindsThem) {
  const char* values[] = {
      "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1",
      "SIP/2.0/UDP 192.0.2.1 ; BRANCH = z9hG4bKa ; Received=198.18.0.9 ;RPORT",
      "SIP/2.0/UDP h.test:5070;rport=5071;maddr=198.18.0.7;branch=z9hG4bKb;branch=z9hG4bKc",
      "SIP/2.0/TCP [2001:db8::1];received=2001:db8::2;rport;x=1;branch=old",
      "SIP/2.0/UDP 192.0.2.1;ttl=1;received=198.18.0.1;received=198.18.0.2",
      "SIP/2.0/UDP 192.0.2.1",
  };
  for (const char* value : values) {
    auto via = parseVia(value);
    ASSERT_TRUE(via) << value;
    EXPECT_EQ(via->branch(), via->params.find("branch")) << value;
    EXPECT_EQ(via->received(), via->params.find("received")) << value;
    EXPECT_EQ(via->maddr(), via->params.find("maddr")) << value;
    EXPECT_EQ(via->hasRport(), via->params.has("rport")) << value;
  }
  auto mixed = parseVia("SIP/2.0/UDP 192.0.2.1 ; BRANCH = z9hG4bKa ; rport=5080;rport");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->branch(), "z9hG4bKa");
  EXPECT_EQ(mixed->rport(), 5080);
  EXPECT_TRUE(mixed->isRfc3261Branch());
  EXPECT_FALSE(parseVia("SIP/2.0/UDP 192.0.2.1")->branch().has_value());
}

TEST(Message, StampReceivedLeavesAMatchingViaWithoutRportAlone) {
  Message m = parse(
      "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: "
      "<sip:a@b>;tag=1\r\n"
      "To: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n");
  std::string before = m.serialize();
  m.stampReceived("192.0.2.1", 5060);
  EXPECT_EQ(m.serialize(), before);
}

TEST(Message, SetRequestUriRewritesOnlyTheStartLine) {
  Message m = parse(kInvite);
  ASSERT_TRUE(m.setRequestUri("sip:bob@192.0.2.99:5062"));
  EXPECT_FALSE(m.setRequestUri("not a uri"));
  std::string out = m.serialize();
  EXPECT_TRUE(out.starts_with("INVITE sip:bob@192.0.2.99:5062 SIP/2.0\r\n"));
  EXPECT_EQ(out.substr(out.find("\r\n")), kInvite.substr(kInvite.find("\r\n")));
}

TEST(Message, CloneIsIndependent) {
  Message m = parse(kInvite);
  Message c = m.clone();
  c.pushVia("SIP/2.0/TCP 198.18.0.2;branch=z9hG4bKc");
  EXPECT_EQ(m.serialize(), kInvite);
  EXPECT_EQ(c.topVia().host, "198.18.0.2");
}

// What a proxy does to each branch's copy (§16.6): the copy must answer every accessor the way a
// parse of the same bytes does, after its original is gone (ASan in CI sees any view left behind),
// edited in every way, with arena overflow chunks and a rewritten start line.
void expectCloneLikeAParse(std::unique_ptr<Message> original) {
  Message c = original->clone();
  const std::string bytes = original->serialize();
  original.reset();
  Message full = parse(bytes);
  EXPECT_EQ(c.serialize(), full.serialize());
  EXPECT_EQ(c.method(), full.method());
  EXPECT_EQ(c.requestUri().text, full.requestUri().text);
  EXPECT_EQ(c.topVia().text, full.topVia().text);
  EXPECT_EQ(c.topVia().branch(), full.topVia().branch());
  EXPECT_EQ(c.callId(), full.callId());
  EXPECT_EQ(c.cseq().number, full.cseq().number);
  EXPECT_EQ(c.from().tag(), full.from().tag());
  EXPECT_EQ(c.to().text, full.to().text);
  EXPECT_EQ(c.maxForwards(), full.maxForwards());
  EXPECT_EQ(c.values(HeaderId::Via), full.values(HeaderId::Via));
  EXPECT_EQ(c.values(HeaderId::Route), full.values(HeaderId::Route));
  EXPECT_EQ(c.body(), full.body());
  EXPECT_EQ(c.requestUri().host, full.requestUri().host);
  EXPECT_EQ(c.requestUri().port, full.requestUri().port);
  EXPECT_EQ(c.topVia().host, full.topVia().host);
  EXPECT_EQ(c.topVia().received(), full.topVia().received());
  EXPECT_EQ(c.topVia().rport(), full.topVia().rport());
  EXPECT_EQ(c.cseq().methodText, full.cseq().methodText);
  EXPECT_EQ(c.from().displayName, full.from().displayName);
  EXPECT_EQ(c.from().uri.user, full.from().uri.user);
  EXPECT_EQ(c.to().tag(), full.to().tag());
  // The copy is a message of its own: it takes edits, and they serialize.
  ASSERT_TRUE(c.pushVia("SIP/2.0/UDP 198.18.0.3;branch=z9hG4bKafter"));
  c.setToTag("t2");
  auto again = parseDatagram(c.serialize(), ParseLimits{.maxHeaders = 1000});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->topVia().branch(), "z9hG4bKafter");
  EXPECT_EQ(again->to().tag(), "t2");
}

TEST(Message, ACloneHasEveryTypedFieldAParseGivesAfterItsOriginalIsGone) {
  auto received = std::make_unique<Message>(parse(kInvite));
  expectCloneLikeAParse(std::move(received));

  auto edited = std::make_unique<Message>(parse(kInvite));
  ASSERT_TRUE(edited->pushVia("SIP/2.0/UDP 198.18.0.1:5070;branch=z9hG4bKproxy"));
  ASSERT_TRUE(edited->popRoute());
  ASSERT_TRUE(edited->pushRecordRoute("<sip:198.18.0.1;lr>"));
  ASSERT_TRUE(edited->decrementMaxForwards());
  ASSERT_TRUE(edited->setRequestUri("sip:bob@198.18.0.2:5062;transport=udp"));
  edited->stampReceived("198.18.7.7", 40000);
  expectCloneLikeAParse(std::move(edited));

  auto overflowing = std::make_unique<Message>(parse(kInvite));
  for (int i = 0; i < 60; ++i) {  // far past the arena's first chunk
    ASSERT_TRUE(overflowing->pushVia("SIP/2.0/UDP 198.18.0.1;branch=z9hG4bK" + std::to_string(i)));
  }
  overflowing->setBody("v=0\r\no=- 1 1 IN IP4 198.18.0.1\r\n", "application/sdp");
  expectCloneLikeAParse(std::move(overflowing));
}

TEST(Message, ManyEditsOverflowTheArenaWithoutInvalidatingViews) {
  Message m = parse(kInvite);
  std::string_view callId = m.callId();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(m.pushVia("SIP/2.0/UDP 198.18.0.1;branch=z9hG4bK" + std::to_string(i)));
  }
  EXPECT_EQ(callId, "a84b4c76e66710@pc33.p2p.test");
  auto again = parseDatagram(m.serialize(), ParseLimits{.maxHeaders = 1000});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->values(HeaderId::Via).size(), 201u);
  EXPECT_EQ(again->topVia().branch(), "z9hG4bK199");
}

TEST(Message, MakeResponseCopiesTheDialogHeadersAndAddsAToTag) {  // RFC 3261 §8.2.6.2
  Message req = parse(kInvite);
  Message resp = makeResponse(req, 486, {}, "abc123");
  EXPECT_EQ(resp.statusCode(), 486);
  EXPECT_EQ(resp.reasonPhrase(), "Busy Here");
  EXPECT_EQ(resp.topVia().branch(), "z9hG4bK776asdhds");
  EXPECT_EQ(resp.callId(), req.callId());
  EXPECT_EQ(resp.cseq().number, 314159u);
  EXPECT_EQ(resp.method(), Method::Invite);
  EXPECT_EQ(resp.to().tag(), "abc123");
  EXPECT_EQ(resp.from().tag(), "1928301774");
  EXPECT_EQ(resp.find(HeaderId::Contact), nullptr);
}

// ---- limits

TEST(ParseLimits, OversizeMessageIsRejectedBeforeAnyWork) {
  std::string big = kInvite + std::string(70000, 'x');
  auto r = parseDatagram(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ParseErrorCode::TooLarge);
}

TEST(ParseLimits, TooManyHeadersIsRejected) {
  std::string text = kInvite;
  std::string extra;
  for (int i = 0; i < 300; ++i) extra += "X-H" + std::to_string(i) + ": v\r\n";
  text.insert(text.find("Content-Type"), extra);
  auto r = parseDatagram(text);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ParseErrorCode::TooManyHeaders);
}

TEST(ParseLimits, OverlongHeaderIsRejectedAndAnswerable) {
  std::string text = kInvite;
  text.insert(text.find("Content-Type"), "X-Long: " + std::string(9000, 'a') + "\r\n");
  auto r = parseDatagram(text);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ParseErrorCode::HeaderTooLong);
  auto small = parseDatagram(text, ParseLimits{.maxHeaderLength = 100000});
  EXPECT_TRUE(small);
}

TEST(Parser, CrlfOnlyDatagramIsKeepAliveNoise) {
  auto r = parseDatagram("\r\n\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ParseErrorCode::Empty);
  EXPECT_EQ(r.error().status, 0);
}

TEST(Parser, BareLfLineEndingsAreAccepted) {
  std::string text = kInvite;
  std::string lf;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') lf += text[i];
  }
  auto r = parseDatagram(lf);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->callId(), "a84b4c76e66710@pc33.p2p.test");
  EXPECT_EQ(r->body(), "v=0\n");
}

TEST(Parser, ResponsesWithBadHeadersAreNeverAnswerable) {
  auto r = parseDatagram("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: x\r\n\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().status, 0);
  EXPECT_FALSE(r.error().canRespond());
}

// What a proxy relays upstream it does not judge (§16.7): the UAs' Vias under ours, Contact and
// Record-Route in a response arrive upstream byte for byte. The same Contact in a request, which
// this peer does act on, is still refused with 400.
TEST(Parser, AResponseIsCheckedDownToItsTopViaAndRelayedAsItIs) {
  const std::string response =
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.1;branch=z9hG4bKproxy\r\n"
      "Via: SIP/2.0/UDP ua.example;branch=z9hG4bKua;received=not-an-address\r\n"
      "Record-Route: <sip:198.18.0.1;lr>, sip:weird host\r\n"
      "Contact: <sip:bob@[::1>\r\n"
      "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
      "Content-Length: 0\r\n\r\n";
  auto r = parseDatagram(response);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->serialize(), response);
  EXPECT_EQ(r->branch(), "z9hG4bKproxy");

  auto badTop = parseDatagram(
      "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 198.18.0.1;branch=\"q\"\r\nFrom: <sip:a@b>;tag=1\r\n"
      "To: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
  ASSERT_FALSE(badTop);
  EXPECT_NE(badTop.error().detail.find("Via"), std::string::npos) << badTop.error().detail;

  std::string request = kInvite;
  request.replace(request.find("Contact: <sip:alice@192.0.2.10>"),
                  std::string("Contact: <sip:alice@192.0.2.10>").size(), "Contact: <sip:bob@[::1>");
  auto refused = parseDatagram(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().status, 400);
  EXPECT_NE(refused.error().detail.find("Contact"), std::string::npos) << refused.error().detail;
}

// ---- stream framing

TEST(StreamFramer, DeliversMessagesSplitAcrossReadsAndBackToBack) {
  StreamFramer framer;
  std::string two = kInvite + kInvite;
  int messages = 0;
  for (char c : two) {
    ASSERT_TRUE(framer.append(std::string_view(&c, 1)));
    while (true) {
      StreamEvent e = framer.next();
      if (std::holds_alternative<NeedMoreData>(e)) break;
      ASSERT_TRUE(std::holds_alternative<Message>(e));
      EXPECT_EQ(std::get<Message>(e).body(), "v=0\n");
      ++messages;
    }
  }
  EXPECT_EQ(messages, 2);
  EXPECT_EQ(framer.buffered(), 0u);
}

TEST(StreamFramer, RecognisesKeepAlivePingAndPong) {  // RFC 5626 §3.5.1
  StreamFramer framer;
  framer.append("\r\n\r\n");
  EXPECT_TRUE(std::holds_alternative<KeepAlivePing>(framer.next()));
  framer.append("\r\n");
  EXPECT_TRUE(std::holds_alternative<KeepAlivePong>(framer.next()));
  EXPECT_TRUE(std::holds_alternative<NeedMoreData>(framer.next()));
}

TEST(StreamFramer, MissingContentLengthLosesFramingButIsAnswered) {  // RFC 3261 §18.3
  StreamFramer framer;
  std::string text = kInvite;
  text.erase(text.find("Content-Length: 4\r\n"), 19);
  framer.append(text);
  StreamEvent e = framer.next();
  ASSERT_TRUE(std::holds_alternative<ParseError>(e));
  EXPECT_EQ(std::get<ParseError>(e).code, ParseErrorCode::BadContentLength);
  EXPECT_TRUE(std::get<ParseError>(e).canRespond());
  EXPECT_TRUE(framer.fatal());
}

TEST(StreamFramer, RefusesToBufferBeyondTheLimit) {
  StreamFramer framer(
      ParseLimits{.maxMessageSize = 1024, .maxHeaders = 64, .maxHeaderLength = 256});
  EXPECT_TRUE(framer.append(std::string(1000, 'a')));
  EXPECT_FALSE(framer.append(std::string(1000, 'a')));
}

TEST(StreamFramer, OversizeHeaderBlockIsFatal) {
  StreamFramer framer(
      ParseLimits{.maxMessageSize = 1024, .maxHeaders = 64, .maxHeaderLength = 256});
  framer.append("INVITE sip:a@b SIP/2.0\r\n" + std::string(1100, 'a'));
  StreamEvent e = framer.next();
  ASSERT_TRUE(std::holds_alternative<ParseError>(e));
  EXPECT_TRUE(framer.fatal());
}

}  // namespace
}  // namespace p2psip::sip
