// SPDX-License-Identifier: Apache-2.0
// LoopHash::of (RFC 3261 §16.6 step 8): the fields that make a request "the same request" for loop
// detection change the hash; the Via stack, which grows at every hop, does not.
#include "loop_hash.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "p2psip/sip/parser.h"

namespace p2psip::proxy {
namespace {

struct Fields {
  std::string requestUri = "sip:bob@p2p.test";
  std::string toTag;
  std::string fromTag = "f1";
  std::string callId = "call-1@198.18.0.1";
  std::string cseq = "7";
  std::string route;
  std::string proxyRequire;
  std::string extraVia;
};

std::uint64_t hashOf(const Fields& f) {
  std::string text = "INVITE " + f.requestUri + " SIP/2.0\r\n";
  if (!f.extraVia.empty()) text += "Via: " + f.extraVia + "\r\n";
  text += "Via: SIP/2.0/UDP 198.18.0.1:5060;branch=z9hG4bK-1\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: <sip:alice@p2p.test>;tag=" + f.fromTag + "\r\n";
  text += "To: <sip:bob@p2p.test>" + (f.toTag.empty() ? "" : ";tag=" + f.toTag) + "\r\n";
  text += "Call-ID: " + f.callId + "\r\nCSeq: " + f.cseq + " INVITE\r\n";
  if (!f.route.empty()) text += "Route: " + f.route + "\r\n";
  if (!f.proxyRequire.empty()) text += "Proxy-Require: " + f.proxyRequire + "\r\n";
  text += "Content-Length: 0\r\n\r\n";
  auto m = sip::parseOwnText(std::move(text));
  EXPECT_TRUE(m) << (m ? "" : m.error().detail);
  return LoopHash::of(*m);
}

TEST(LoopHashOf, EachIdentifyingFieldChangesItAndTheViaStackDoesNot) {
  const Fields base;
  const auto h = hashOf(base);
  EXPECT_EQ(hashOf(base), h);
  Fields f = base;
  f.extraVia = "SIP/2.0/UDP 198.18.0.9;branch=z9hG4bK-other";
  EXPECT_EQ(hashOf(f), h) << "a hop's Via must not change the hash";

  const std::pair<std::string Fields::*, const char*> changes[] = {
      {&Fields::requestUri, "sip:bob@198.18.0.2"},
      {&Fields::toTag, "t1"},
      {&Fields::fromTag, "f2"},
      {&Fields::callId, "call-2@198.18.0.1"},
      {&Fields::cseq, "8"},
      {&Fields::route, "<sip:198.18.0.3;lr>"},
      {&Fields::proxyRequire, "foo"}};
  for (const auto& [field, value] : changes) {
    f = base;
    f.*field = value;
    EXPECT_NE(hashOf(f), h) << value;
  }
}

TEST(LoopHashOf, TextMovedAcrossAFieldBoundaryChangesIt) {
  // "f1" + "call-1..." against "f1c" + "all-1...": the same bytes, split differently.
  Fields a;
  Fields b;
  b.fromTag = "f1c";
  b.callId = "all-1@198.18.0.1";
  EXPECT_NE(hashOf(a), hashOf(b));
  // Fields of 8 bytes and more (the hash takes words) and of every tail length.
  for (std::size_t n = 1; n <= 17; ++n) {
    Fields x;
    Fields y;
    x.fromTag = std::string(n, 'a');
    y.fromTag = std::string(n, 'a') + "a";
    EXPECT_NE(hashOf(x), hashOf(y)) << n;
  }
}

TEST(LoopHashOf, IsTheSameOnEveryBuildAndHost) {
  // Written into branches that other peers see, and recomputed when a request comes back: it must
  // not depend on std::hash, the byte order or the build. This pins the function.
  // The value is computed independently of this code (a few lines of Python over the same fields).
  EXPECT_EQ(hashOf(Fields{}), 0xf5205536fc4d5b58ULL);
}

}  // namespace
}  // namespace p2psip::proxy
