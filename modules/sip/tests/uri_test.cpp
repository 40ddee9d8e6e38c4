// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "p2psip/sip/header_id.h"
#include "p2psip/sip/headers.h"
#include "p2psip/sip/uri.h"

namespace p2psip::sip {
namespace {

bool eq(std::string_view a, std::string_view b) {
  auto ua = parseUri(a);
  auto ub = parseUri(b);
  EXPECT_TRUE(ua) << a;
  EXPECT_TRUE(ub) << b;
  return ua && ub && equivalent(*ua, *ub);
}

// RFC 3261 §19.1.4: the equivalent and non-equivalent examples of the RFC.
TEST(UriEquivalence, Rfc3261EquivalentExamples) {
  EXPECT_TRUE(eq("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp"));
  EXPECT_TRUE(eq("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;newparam=5"));
  EXPECT_TRUE(eq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                 "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
  EXPECT_TRUE(eq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                 "sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
}

TEST(UriEquivalence, Rfc3261NonEquivalentExamples) {
  EXPECT_FALSE(eq("SIP:ALICE@AtLanTa.CoM;Transport=udp", "sip:alice@AtLanTa.CoM;Transport=UDP"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
  EXPECT_FALSE(eq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
  EXPECT_FALSE(eq("sip:carol@chicago.com", "sip:carol@chicago.com?Subject=next%20meeting"));
  EXPECT_FALSE(eq("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"));
  EXPECT_FALSE(eq("sip:carol@chicago.com;security=on", "sip:carol@chicago.com;security=off"));
  EXPECT_FALSE(eq("sip:alice@atlanta.com", "sips:alice@atlanta.com"));
}

TEST(Uri, ParsesSipsTelAndOpaqueForms) {
  auto sips = parseUri("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?subject=hi");
  ASSERT_TRUE(sips);
  EXPECT_EQ(sips->scheme, UriScheme::Sips);
  EXPECT_EQ(sips->user, "alice");
  EXPECT_EQ(sips->password, "secret");
  EXPECT_EQ(sips->host, "2001:db8::1");
  EXPECT_EQ(sips->port, 5061);
  EXPECT_EQ(sips->param("transport"), "tcp");
  EXPECT_TRUE(sips->params.has("lr"));
  EXPECT_EQ(sips->headers, "subject=hi");
  EXPECT_EQ(sips->hostPort(), "[2001:db8::1]:5061");
  auto tel = parseUri("tel:+1-201-555-0123;phone-context=example.com");
  ASSERT_TRUE(tel);
  EXPECT_EQ(tel->scheme, UriScheme::Tel);
  EXPECT_EQ(tel->user, "+1-201-555-0123");
  EXPECT_TRUE(eq("tel:+1-201-555-0123", "tel:+12015550123"));
  auto urn = parseUri("urn:service:sos");
  ASSERT_TRUE(urn);
  EXPECT_EQ(urn->scheme, UriScheme::Other);
}

TEST(Uri, RejectsMalformedSipUris) {
  for (const char* bad : {"sip:", "sip:@host", "sip:user@", "sip:user@host:99999", "sip:user@ho st",
                          "sip:user@[::1", "sip:user@1.2.3.256", "sip:user@host;;lr",
                          "sip:user@host?", "<sip:user@host>", "sip:user@-host.com", "1sip:foo"}) {
    EXPECT_FALSE(parseUri(bad)) << bad;
  }
}

TEST(Uri, UnescapeKeepsInvalidEscapesLiterally) {
  EXPECT_EQ(unescape("a%20b%zz%4"), "a b%zz%4");
}

TEST(HeaderId, KnowsCompactFormsAndIgnoresCase) {
  EXPECT_EQ(headerIdFromName("v"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("VIA"), HeaderId::Via);
  EXPECT_EQ(headerIdFromName("i"), HeaderId::CallId);
  EXPECT_EQ(headerIdFromName("m"), HeaderId::Contact);
  EXPECT_EQ(headerIdFromName("l"), HeaderId::ContentLength);
  EXPECT_EQ(headerIdFromName("k"), HeaderId::Supported);
  EXPECT_EQ(headerIdFromName("o"), HeaderId::Event);
  EXPECT_EQ(headerIdFromName("www-authenticate"), HeaderId::WwwAuthenticate);
  EXPECT_EQ(headerIdFromName("X-Unknown"), HeaderId::Unknown);
  EXPECT_EQ(canonicalName(HeaderId::CallId), "Call-ID");
}

TEST(TypedHeaders, ParseTheValuesAProxyAndRegistrarRead) {
  auto auth = parseAuthParams(
      "Digest username=\"bob\", realm=\"p2p.test\", nonce=\"dcd98b, 7102\", uri=\"sip:p2p.test\", "
      "response=\"6629fae49393a05397450978507c4ef1\", algorithm=SHA-256, qop=auth, nc=00000001, "
      "cnonce=\"0a4f113b\"");
  ASSERT_TRUE(auth);
  EXPECT_EQ(auth->scheme, "Digest");
  EXPECT_EQ(auth->find("nonce"), "dcd98b, 7102");
  EXPECT_EQ(auth->find("algorithm"), "SHA-256");
  EXPECT_EQ(auth->find("nc"), "00000001");
  EXPECT_FALSE(parseAuthParams("Digest realm=\"unterminated"));
  auto info = parseAuthenticationInfo(
      "nextnonce=\"47364c23432d2e131a5fb210812c\", qop=auth, rspauth=\"6629fae4\"");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->find("nextnonce"), "47364c23432d2e131a5fb210812c");
  EXPECT_EQ(info->find("rspauth"), "6629fae4");
  EXPECT_FALSE(parseAuthenticationInfo(""));

  auto event = parseEvent("presence;id=17");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->type, "presence");
  EXPECT_EQ(event->params.find("id"), "17");

  auto state = parseSubscriptionState("active;expires=600");
  ASSERT_TRUE(state);
  EXPECT_EQ(state->state, "active");
  EXPECT_EQ(state->expires(), 600u);

  auto retry = parseRetryAfter("120 (I'm in a meeting);duration=60");
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->seconds, 120u);
  EXPECT_EQ(retry->comment, "(I'm in a meeting)");
  EXPECT_EQ(retry->params.find("duration"), "60");

  auto warning = parseWarning("301 isi.edu \"Incompatible network address type 'E.164'\"");
  ASSERT_TRUE(warning);
  EXPECT_EQ(warning->code, 301);
  EXPECT_EQ(warning->agent, "isi.edu");
  EXPECT_FALSE(parseWarning("1812 overflow \"x\""));  // RFC 4475 §3.1.2.5

  EXPECT_FALSE(parseCSeq("36893488147419103232 INVITE"));
  EXPECT_EQ(parseCSeq("0009\r\n  INVITE")->number, 9u);
  EXPECT_TRUE(parseContact("*")->star);
  EXPECT_FALSE(parseContact("<sip:a@b>;q=1.5"));
  EXPECT_TRUE(isValidSipDate("Sat, 13 Nov 2010 23:29:00 GMT"));
  EXPECT_FALSE(isValidSipDate("Fri, 01 Jan 2010 16:00:00 EST"));
  EXPECT_EQ(parseMediaType("application/sdp;charset=utf-8")->params.find("charset"), "utf-8");
}

}  // namespace
}  // namespace p2psip::sip
