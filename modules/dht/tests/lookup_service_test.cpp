// SPDX-License-Identifier: Apache-2.0
#include "p2psip/dht/lookup_service.h"

#include <gtest/gtest.h>

namespace p2psip::dht {
namespace {

TEST(LookupKey, PrefixesTheNameWithItsNamespace) {
  EXPECT_EQ((LookupKey{Namespace::User, "sip:bob@p2p.test"}).toString(), "user:sip:bob@p2p.test");
  EXPECT_EQ((LookupKey{Namespace::Peer, "ab12"}).toString(), "peer:ab12");
  EXPECT_EQ((LookupKey{Namespace::Relay, "x"}).toString(), "relay:x");
  EXPECT_EQ((LookupKey{Namespace::Gateway, "x"}).toString(), "gateway:x");
}

TEST(LookupKey, TheSameNameInTwoNamespacesIsTwoKeys) {
  const LookupKey user{Namespace::User, "n"};
  const LookupKey peer{Namespace::Peer, "n"};
  EXPECT_NE(user, peer);
  EXPECT_NE(user.toString(), peer.toString());
}

}  // namespace
}  // namespace p2psip::dht
