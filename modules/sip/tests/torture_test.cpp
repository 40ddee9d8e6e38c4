// SPDX-License-Identifier: Apache-2.0
// RFC 4475 and RFC 5118 torture messages, parsed as datagrams. Each valid message is checked for
// the fields its RFC section says a parser must get right; each invalid one must be rejected with
// an error naming the problem and, for requests, carrying what a 400 (or 505/501) needs.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "p2psip/sip/parser.h"

namespace p2psip::sip {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string corpus(const std::string& set, const std::string& file) {
  std::string bytes = readFile(std::string(P2PSIP_MODULE_TEST_DATA) + "/" + set + "/" + file);
  EXPECT_FALSE(bytes.empty()) << file;
  return bytes;
}

struct Index {
  std::map<std::string, std::string> expected;  // file -> valid / valid-but-unusual / invalid
};

Index readIndex(const std::string& set) {
  Index idx;
  std::istringstream in(readFile(std::string(P2PSIP_MODULE_TEST_DATA) + "/" + set + "/INDEX.tsv"));
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream row(line);
    std::string file, section, title, expected;
    std::getline(row, file, '\t');
    std::getline(row, section, '\t');
    std::getline(row, title, '\t');
    std::getline(row, expected, '\t');
    idx.expected[file] = expected;
  }
  return idx;
}

Message mustParse(const std::string& set, const std::string& file) {
  auto r = parseDatagram(corpus(set, file));
  if (!r) ADD_FAILURE() << file << ": " << r.error().detail;
  return r ? std::move(*r)
           : std::move(*parseOwnText(
                 "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\n"
                 "To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"));
}

// ---- every message in both indexes gets the verdict its RFC gives (deviations listed below)

// Messages where we knowingly differ from the INDEX verdict; see docs/torture-deviations.md.
const std::map<std::string, ParseErrorCode> kKnownDeviations = {
    // Content-Length 268 exceeds the 251-octet body: RFC 3261 §18.3 says answer 400 over UDP.
    {"ipv6-in-sdp", ParseErrorCode::Truncated},
};

void checkVerdicts(const std::string& set) {
  Index idx = readIndex(set);
  ASSERT_GE(idx.expected.size(), 12u);
  for (const auto& [file, expected] : idx.expected) {
    auto r = parseDatagram(corpus(set, file));
    if (auto dev = kKnownDeviations.find(file); dev != kKnownDeviations.end()) {
      ASSERT_FALSE(r) << file;
      EXPECT_EQ(r.error().code, dev->second) << file;
      continue;
    }
    if (expected == "invalid") {
      EXPECT_FALSE(r) << file << " was accepted";
      if (!r) {
        EXPECT_FALSE(r.error().detail.empty()) << file;
      }
    } else {
      EXPECT_TRUE(r) << file << ": " << (r ? "" : r.error().detail);
    }
  }
}

TEST(Rfc4475Torture, EveryMessageGetsTheVerdictOfItsRfcSection) {
  checkVerdicts("rfc4475");
}
TEST(Rfc5118Torture, EveryMessageGetsTheVerdictOfItsRfcSection) {
  checkVerdicts("rfc5118");
}

TEST(Rfc4475Torture, CorpusHas50Files) {
  EXPECT_EQ(readIndex("rfc4475").expected.size(), 50u);
}

// ---- valid messages: the fields each section names

TEST(Rfc4475Torture, WsinvUnfoldsCompactAndOddlyCasedHeaders) {  // §3.1.1.1
  Message m = mustParse("rfc4475", "wsinv.dat");
  EXPECT_EQ(m.method(), Method::Invite);
  EXPECT_EQ(m.requestUri().host, "chair-dnrc.example.com");
  EXPECT_TRUE(m.requestUri().params.has("unknownparam"));
  EXPECT_EQ(m.to().tag(), "1918181833n");
  EXPECT_EQ(m.from().tag(), "98asjd8");
  EXPECT_EQ(m.from().displayNameText(), "J Rosenberg \\\"");
  EXPECT_EQ(m.maxForwards(), 68u);
  EXPECT_EQ(m.cseq().number, 9u);
  EXPECT_EQ(m.cseq().method, Method::Invite);
  EXPECT_EQ(m.callId(), "wsinv.ndaksdj@192.0.2.1");
  EXPECT_EQ(m.values(HeaderId::Via).size(), 3u);
  EXPECT_EQ(m.topVia().host, "192.0.2.2");
  EXPECT_EQ(m.topVia().branch(), "390skdjuw");
  EXPECT_EQ(m.topVia().transport, "UDP");
  auto vias = m.values(HeaderId::Via);
  auto second = parseVia(vias[1]);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->transport, "TCP");
  EXPECT_EQ(second->host, "spindle.example.com");
  EXPECT_EQ(second->branch(), "z9hG4bK9ikj8");
  auto contact = parseContact(m.values(HeaderId::Contact).at(0));
  ASSERT_TRUE(contact);
  EXPECT_EQ(contact->q(), 330);
  EXPECT_EQ(contact->address.params.find("newparam"), "newvalue");
  ASSERT_NE(m.find("NewFangledHeader"), nullptr);
  EXPECT_NE(m.find("newfangledheader")->value.find("continued newfangled value"),
            std::string_view::npos);
  EXPECT_EQ(m.find("UnknownHeaderWithUnusualValue")->value, ";;,,;;,;");
  ASSERT_NE(m.find(HeaderId::Subject), nullptr);  // "s :" compact with an empty value
  EXPECT_EQ(m.find(HeaderId::Subject)->value, "");
  EXPECT_EQ(m.body().size(), 150u);
}

TEST(Rfc4475Torture, IntmethKeepsTheWholeUnusualMethodToken) {  // §3.1.1.2
  Message m = mustParse("rfc4475", "intmeth.dat");
  EXPECT_EQ(m.method(), Method::Extension);
  EXPECT_EQ(m.methodText(), "!interesting-Method0123456789_*+`.%indeed'~");
  EXPECT_EQ(m.cseq().methodText, m.methodText());
  EXPECT_EQ(m.requestUri().host, "example.com");
  EXPECT_EQ(m.requestUri().user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  EXPECT_EQ(m.requestUri().password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  EXPECT_TRUE(m.topVia().branch()->starts_with("z9hG4bK-.!%66*_+`'~"));
  // The To display name holds quoted BEL, NUL and DEL: it must not be cut at the NUL.
  EXPECT_NE(m.to().displayName.find('\0'), std::string_view::npos);
  EXPECT_EQ(m.to().uri.user, m.requestUri().user);
  EXPECT_EQ(m.from().displayName, "token1~` token2'+_ token3*%!.-");
}

TEST(Rfc4475Torture, Esc01ComparesUrisAfterUnescaping) {  // §3.1.1.3
  Message m = mustParse("rfc4475", "esc01.dat");
  EXPECT_EQ(m.requestUri().user, "sips%3Auser%40example.com");
  EXPECT_EQ(unescape(m.requestUri().user), "sips:user@example.com");
  EXPECT_EQ(m.requestUri().host, "example.net");  // escaping must not make a different URI
  EXPECT_EQ(unescape(m.to().uri.user), "user");
  auto plain = parseUri("sip:user@example.com");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(equivalent(m.to().uri, *plain));
  EXPECT_EQ(unescape(m.from().uri.user), "I have spaces");
}

TEST(Rfc4475Torture, EscnullKeepsEscapedNulsInsideTheAor) {  // §3.1.1.4
  Message m = mustParse("rfc4475", "escnull.dat");
  EXPECT_EQ(m.method(), Method::Register);
  std::string user = unescape(m.to().uri.user);
  EXPECT_EQ(user, std::string("null-\0-null", 11));
  EXPECT_EQ(m.body().size(), 0u);
}

TEST(Rfc4475Torture, Esc02TreatsPercentMethodAndHeaderAsUnknown) {  // §3.1.1.5
  Message m = mustParse("rfc4475", "esc02.dat");
  EXPECT_EQ(m.method(), Method::Extension);
  EXPECT_EQ(m.methodText(), "RE%47IST%45R");
  auto contacts = m.values(HeaderId::Contact);
  ASSERT_EQ(contacts.size(), 2u);  // "C%6Fntact" is not Contact
  EXPECT_EQ(contacts[1], "<sip:alias3@host3.example.com>");
  ASSERT_NE(m.find("C%6Fntact"), nullptr);
  EXPECT_EQ(m.find("C%6Fntact")->value, "<sip:alias2@host2.example.com>");
  EXPECT_EQ(m.to().displayName, "\"%Z%45\"");
}

TEST(Rfc4475Torture, LwsdispAcceptsDisplayNameRightBeforeAngleBracket) {  // §3.1.1.6
  Message m = mustParse("rfc4475", "lwsdisp.dat");
  EXPECT_EQ(m.from().displayName, "caller");
  EXPECT_EQ(m.from().uri.user, "caller");
}

TEST(Rfc4475Torture, LongreqParsesEveryLongValueAndAllVias) {  // §3.1.1.7
  Message m = mustParse("rfc4475", "longreq.dat");
  EXPECT_EQ(m.values(HeaderId::Via).size(), 34u);
  EXPECT_GT(m.from().tag()->size(), 100u);
  EXPECT_GT(m.callId().size(), 100u);
}

TEST(Rfc4475Torture, DblreqProcessesOnlyTheFirstMessageOfTheDatagram) {  // §3.1.1.8
  Message m = mustParse("rfc4475", "dblreq.dat");
  EXPECT_EQ(m.method(), Method::Register);
  EXPECT_TRUE(m.callId().starts_with("dblreq.0ha0isndaksdj99"));
  EXPECT_TRUE(m.body().empty());
  EXPECT_EQ(m.serialize().find("INVITE"), std::string::npos);
}

TEST(Rfc4475Torture, SemiuriKeepsSemicolonParamsInTheUserPart) {  // §3.1.1.9
  Message m = mustParse("rfc4475", "semiuri.dat");
  EXPECT_EQ(m.requestUri().user, "user;par=u%40example.net");
  EXPECT_EQ(m.requestUri().host, "example.com");
  EXPECT_TRUE(m.requestUri().params.empty());
}

TEST(Rfc4475Torture, TransportsAcceptsUnknownTransportTokens) {  // §3.1.1.10
  Message m = mustParse("rfc4475", "transports.dat");
  std::vector<std::string> transports;
  for (auto v : m.values(HeaderId::Via)) transports.emplace_back(parseVia(v)->transport);
  EXPECT_EQ(transports, (std::vector<std::string>{"UDP", "SCTP", "TLS", "UNKNOWN", "TCP"}));
  EXPECT_EQ(m.topVia().transport, "UDP");
}

TEST(Rfc4475Torture, Mpart01FramesBinaryBodyByContentLength) {  // §3.1.1.11
  Message m = mustParse("rfc4475", "mpart01.dat");
  EXPECT_EQ(m.body().size(), 553u);
  EXPECT_NE(m.body().find('\0'), std::string_view::npos);
}

TEST(Rfc4475Torture, UnreasonAndNoreasonKeepOpaqueReasonPhrases) {  // §3.1.1.12, §3.1.1.13
  Message u = mustParse("rfc4475", "unreason.dat");
  EXPECT_EQ(u.statusCode(), 200);
  EXPECT_TRUE(u.reasonPhrase().starts_with("= 2**3 * 5**2"));
  Message n = mustParse("rfc4475", "noreason.dat");
  EXPECT_EQ(n.statusCode(), 100);
  EXPECT_EQ(n.reasonPhrase(), "");
}

TEST(Rfc4475Torture, BadbranchIsNotAnRfc3261TransactionId) {  // §3.2.1
  Message m = mustParse("rfc4475", "badbranch.dat");
  EXPECT_EQ(m.branch(), "z9hG4bK");
  EXPECT_FALSE(m.topVia().isRfc3261Branch());
}

TEST(Rfc4475Torture, UnknownAndAtypicalSchemesParseAsOpaqueUris) {  // §3.3.2, §3.3.3, §3.3.4
  Message a = mustParse("rfc4475", "unkscm.dat");
  EXPECT_EQ(a.requestUri().scheme, UriScheme::Other);
  EXPECT_EQ(a.requestUri().opaque, "totallyopaquecontent");
  Message b = mustParse("rfc4475", "novelsc.dat");
  EXPECT_EQ(b.requestUri().schemeText, "soap.beep");
  Message c = mustParse("rfc4475", "unksm2.dat");
  EXPECT_EQ(c.to().uri.schemeText, "isbn");
  EXPECT_EQ(c.from().uri.schemeText, "http");
  EXPECT_EQ(parseContact(c.values(HeaderId::Contact).at(0))->address.uri.schemeText, "name");
}

TEST(Rfc4475Torture, Bext01ListsProxyRequireOptionTags) {  // §3.3.5
  Message m = mustParse("rfc4475", "bext01.dat");
  auto tags = m.values(HeaderId::ProxyRequire);
  ASSERT_FALSE(tags.empty());
  EXPECT_EQ(tags[0], "noProxiesSupportThis");
  EXPECT_EQ(m.values(HeaderId::Require).at(0), "nothingSupportsThis");
}

TEST(Rfc4475Torture, InvutAndSdp01ExposeContentTypeAndAccept) {  // §3.3.6, §3.3.15
  Message m = mustParse("rfc4475", "invut.dat");
  auto ct = parseMediaType(m.find(HeaderId::ContentType)->value);
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->subtype, "unknownformat");
  Message s = mustParse("rfc4475", "sdp01.dat");
  EXPECT_EQ(parseMediaType(s.values(HeaderId::Accept).at(0))->subtype, "nobodyKnowsThis");
}

TEST(Rfc4475Torture, Regaut01ParsesAnUnknownAuthorizationScheme) {  // §3.3.7
  Message m = mustParse("rfc4475", "regaut01.dat");
  auto auth = parseAuthParams(m.find(HeaderId::Authorization)->value);
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->scheme, "NoOneKnowsThisScheme");
  EXPECT_EQ(auth->find("opaque-data"), "here");
}

TEST(Rfc4475Torture, BcastExposesTheBroadcastViaOfAResponse) {  // §3.3.10
  Message m = mustParse("rfc4475", "bcast.dat");
  EXPECT_TRUE(m.isResponse());
  EXPECT_EQ(parseVia(m.values(HeaderId::Via).at(1))->host, "255.255.255.255");
}

TEST(Rfc4475Torture, ZeromfHasMaxForwardsZero) {  // §3.3.11
  EXPECT_EQ(mustParse("rfc4475", "zeromf.dat").maxForwards(), 0u);
}

TEST(Rfc4475Torture, ContactParametersBelongToTheHeaderOutsideBrackets) {  // §3.3.12-3.3.14
  // The parsed values are views: each message must outlive what is read from it.
  Message m1 = mustParse("rfc4475", "cparam01.dat");
  auto c1 = parseContact(m1.values(HeaderId::Contact).at(0));
  ASSERT_TRUE(c1);
  EXPECT_TRUE(c1->address.uri.params.empty());
  EXPECT_TRUE(c1->address.params.has("unknownparam"));
  Message m2 = mustParse("rfc4475", "cparam02.dat");
  auto c2 = parseContact(m2.values(HeaderId::Contact).at(0));
  ASSERT_TRUE(c2);
  EXPECT_TRUE(c2->address.uri.params.has("unknownparam"));
  EXPECT_FALSE(c2->address.params.has("unknownparam"));
  Message r = mustParse("rfc4475", "regescrt.dat");
  auto c3 = parseContact(r.values(HeaderId::Contact).at(0));
  ASSERT_TRUE(c3);
  EXPECT_EQ(c3->address.uri.headers, "Route=%3Csip:sip.example.com%3E");
}

TEST(Rfc4475Torture, Inv2543AcceptsRfc2543Syntax) {  // §3.4.1
  Message m = mustParse("rfc4475", "inv2543.dat");
  EXPECT_FALSE(m.branch().has_value());
  EXPECT_FALSE(m.from().tag().has_value());
  EXPECT_FALSE(m.maxForwards().has_value());
  EXPECT_FALSE(m.body().empty());  // no Content-Length: the body is the rest of the datagram
  EXPECT_NE(m.find(HeaderId::ContentLength), nullptr);  // recorded so it can go out on TCP
}

// ---- invalid messages: the error names the problem and says how to answer

struct Rejection {
  const char* file;
  ParseErrorCode code;
  std::uint16_t status;
  const char* detailMentions;
};

// Names the file in ctest output instead of dumping the struct's bytes.
void PrintTo(const Rejection& r, std::ostream* os) {
  *os << r.file;
}

class Rfc4475Rejection : public testing::TestWithParam<Rejection> {};

TEST_P(Rfc4475Rejection, IsRejectedWithAnAnswerableNamedError) {
  const Rejection& want = GetParam();
  auto r = parseDatagram(corpus("rfc4475", want.file));
  ASSERT_FALSE(r) << want.file;
  EXPECT_EQ(r.error().code, want.code) << want.file << ": " << r.error().detail;
  EXPECT_EQ(r.error().status, want.status) << want.file;
  EXPECT_NE(r.error().detail.find(want.detailMentions), std::string::npos)
      << want.file << ": " << r.error().detail;
  if (want.status != 0) {
    ASSERT_TRUE(r.error().canRespond()) << want.file;
    Message resp = makeResponse(*r.error().partial, r.error().status, r.error().detail);
    EXPECT_EQ(resp.statusCode(), want.status);
    EXPECT_EQ(resp.topVia().text, r.error().partial->topVia().text);
    EXPECT_EQ(resp.reasonPhrase().find('\r'), std::string_view::npos);
  } else {
    EXPECT_FALSE(r.error().canRespond());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Invalid, Rfc4475Rejection,
    testing::Values(Rejection{"badinv01.dat", ParseErrorCode::BadHeader, 400, "Via"},
                    Rejection{"clerr.dat", ParseErrorCode::Truncated, 400, "Content-Length"},
                    Rejection{"ncl.dat", ParseErrorCode::BadContentLength, 400, "Content-Length"},
                    Rejection{"scalar02.dat", ParseErrorCode::BadHeader, 400, "CSeq"},
                    Rejection{"scalarlg.dat", ParseErrorCode::BadHeader, 0, "CSeq"},
                    Rejection{"quotbal.dat", ParseErrorCode::BadHeader, 400, "To"},
                    Rejection{"ltgtruri.dat", ParseErrorCode::BadRequestUri, 400, "Request-URI"},
                    Rejection{"lwsruri.dat", ParseErrorCode::BadStartLine, 400, "request line"},
                    Rejection{"lwsstart.dat", ParseErrorCode::BadStartLine, 400, "single spaces"},
                    Rejection{"trws.dat", ParseErrorCode::BadStartLine, 400, "request line"},
                    Rejection{"escruri.dat", ParseErrorCode::BadRequestUri, 400, "headers"},
                    Rejection{"baddate.dat", ParseErrorCode::BadHeader, 400, "Date"},
                    Rejection{"regbadct.dat", ParseErrorCode::BadHeader, 400, "Contact"},
                    Rejection{"badaspec.dat", ParseErrorCode::BadHeader, 400, "To"},
                    Rejection{"baddn.dat", ParseErrorCode::BadHeader, 400, "From"},
                    Rejection{"badvers.dat", ParseErrorCode::BadVersion, 505, "version"},
                    Rejection{"mismatch01.dat", ParseErrorCode::MethodMismatch, 400, "CSeq"},
                    Rejection{"mismatch02.dat", ParseErrorCode::MethodMismatch, 501, "CSeq"},
                    Rejection{"bigcode.dat", ParseErrorCode::BadStatusCode, 0, "status code"},
                    Rejection{"insuf.dat", ParseErrorCode::MissingHeader, 400, "missing"},
                    Rejection{"multi01.dat", ParseErrorCode::DuplicateHeader, 400, "more than one"},
                    Rejection{"mcl01.dat", ParseErrorCode::BadContentLength, 400,
                              "Content-Length"}),
    [](const testing::TestParamInfo<Rejection>& info) {
      std::string n = info.param.file;
      return n.substr(0, n.find('.'));
    });

TEST(Rfc4475Torture, TestDatIsGarbageThatCannotBeAnswered) {  // archive-only file
  auto r = parseDatagram(corpus("rfc4475", "test.dat"));
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().canRespond());
}

// ---- RFC 5118

TEST(Rfc5118Torture, Ipv6ReferencesParseWithAndWithoutPorts) {  // §4.1, §4.3, §4.4
  Message good = mustParse("rfc5118", "ipv6-good");
  EXPECT_EQ(good.requestUri().host, "2001:db8::10");
  EXPECT_EQ(good.requestUri().hostKind, HostKind::Ipv6);
  Message amb = mustParse("rfc5118", "port-ambiguous");
  EXPECT_EQ(amb.requestUri().host, "2001:db8::10:5070");
  EXPECT_FALSE(amb.requestUri().port.has_value());
  Message unamb = mustParse("rfc5118", "port-unambiguous");
  EXPECT_EQ(unamb.requestUri().host, "2001:db8::10");
  EXPECT_EQ(unamb.requestUri().port, 5070);
}

TEST(Rfc5118Torture, UnbracketedAndThreeColonIpv6AreRejected) {  // §4.2, §4.10
  for (const char* f : {"ipv6-bad", "ipv6-bug-abnf-3-colons"}) {
    auto r = parseDatagram(corpus("rfc5118", f));
    ASSERT_FALSE(r) << f;
    EXPECT_EQ(r.error().code, ParseErrorCode::BadRequestUri) << f;
    EXPECT_TRUE(r.error().canRespond()) << f;
  }
  EXPECT_EQ(mustParse("rfc5118", "ipv6-correct-abnf-2-colons").requestUri().host,
            "2001:db8::192.0.2.1");
}

TEST(Rfc5118Torture, ViaReceivedAcceptsBracketedAndBareIpv6) {  // §4.5
  EXPECT_EQ(mustParse("rfc5118", "via-received-param-with-delim").topVia().received(),
            "[2001:db8::9:255]");
  EXPECT_EQ(mustParse("rfc5118", "via-received-param-no-delim").topVia().received(),
            "2001:db8::9:255");
}

TEST(Rfc5118Torture, MixedViaStackRoutesToTheIpv6TopVia) {  // §4.7
  Message m = mustParse("rfc5118", "mult-ip-in-header");
  EXPECT_EQ(m.values(HeaderId::Via).size(), 3u);
  EXPECT_EQ(m.topVia().host, "2001:db8::9:1");
  EXPECT_EQ(m.topVia().port, 6050);
}

TEST(Rfc5118Torture, ContentLengthBoundsTheSdpBody) {  // §4.8, §4.9
  EXPECT_EQ(mustParse("rfc5118", "mult-ip-in-sdp").body().size(), 181u);
  EXPECT_EQ(mustParse("rfc5118", "ipv4-mapped-ipv6").body().size(), 236u);
}

TEST(Rfc5118Torture,
     Ipv6InSdpParsesOnceItsContentLengthIsCorrected) {  // §4.6, documented deviation
  std::string bytes = corpus("rfc5118", "ipv6-in-sdp");
  std::size_t bodyStart = bytes.find("\r\n\r\n") + 4;
  std::string fixed = bytes;
  std::size_t cl = fixed.find("Content-Length: 268");
  ASSERT_NE(cl, std::string::npos);
  fixed.replace(cl, 19, "Content-Length: " + std::to_string(bytes.size() - bodyStart));
  auto r = parseDatagram(fixed);
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_NE(r->body().find("IN IP6 2001:db8::20"), std::string_view::npos);
}

}  // namespace
}  // namespace p2psip::sip
