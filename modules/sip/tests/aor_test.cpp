// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/aor.h"

#include <gtest/gtest.h>

namespace p2psip::sip {
namespace {

std::optional<std::string> aorOf(const LocalDomains& d, std::string_view text) {
  auto uri = parseUri(text);
  EXPECT_TRUE(uri) << text;
  return uri ? d.canonicalAor(*uri) : std::nullopt;
}

TEST(LocalDomains, OwnAddressesMeanTheDefaultDomain) {
  LocalDomains d({"p2p.test", "other.test"}, {"127.0.0.1", "::1"});
  EXPECT_EQ(aorOf(d, "sip:bob@127.0.0.1"), "sip:bob@p2p.test");
  EXPECT_EQ(aorOf(d, "sip:bob@127.0.0.1:5060;transport=tcp"), "sip:bob@p2p.test");
  EXPECT_EQ(aorOf(d, "sip:bob@[::1]"), "sip:bob@p2p.test");
  EXPECT_EQ(aorOf(d, "sip:bob@P2P.Test"), "sip:bob@p2p.test");
  EXPECT_EQ(aorOf(d, "sips:bob@other.test"), "sip:bob@other.test");
}

TEST(LocalDomains, CanonicalFormUnescapesTheUserAndDropsParameters) {  // RFC 3261 §10.3 step 5
  LocalDomains d({"p2p.test"}, {});
  EXPECT_EQ(aorOf(d, "sip:%62ob@p2p.test;user=phone?subject=x"), "sip:bob@p2p.test");
  EXPECT_NE(aorOf(d, "sip:Bob@p2p.test"),
            aorOf(d, "sip:bob@p2p.test"));  // users are case-sensitive
}

TEST(LocalDomains, ForeignDomainsAndUserlessUrisHaveNoLocalAor) {
  LocalDomains d({"p2p.test"}, {"127.0.0.1"});
  EXPECT_FALSE(aorOf(d, "sip:bob@example.com"));
  EXPECT_FALSE(aorOf(d, "sip:p2p.test"));
  EXPECT_FALSE(aorOf(d, "tel:+15551234"));
  EXPECT_TRUE(d.isLocal("127.0.0.1"));
  EXPECT_FALSE(d.isLocal("127.0.0.2"));
  EXPECT_EQ(d.defaultDomain(), "p2p.test");
}

}  // namespace
}  // namespace p2psip::sip
