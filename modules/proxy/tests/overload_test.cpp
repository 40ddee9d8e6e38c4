// SPDX-License-Identifier: Apache-2.0
// Overload protection: requests in flight are bounded, and the excess gets 503 with Retry-After.
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

TEST(Overload, RequestsBeyondTheLimitGetServiceUnavailableWithRetryAfter) {
  auto config = ProxyHarness::defaultConfig();
  config.maxConcurrentRequests = 1;
  config.overloadRetryAfterSeconds = 7;
  ProxyHarness h(config);
  h.location.deferred = true;
  h.fromCaller(request(spec("INVITE")));  // waits for its lookup

  auto second = spec("INVITE");
  second.branch = "z9hG4bK-caller-2";
  second.callId = "call-2@192.0.2.10";
  h.fromCaller(request(second));

  auto busy = h.sender.upstream(503);
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_EQ(busy[0]->message.callId(), "call-2@192.0.2.10");
  ASSERT_NE(busy[0]->message.find(sip::HeaderId::RetryAfter), nullptr);
  EXPECT_EQ(busy[0]->message.find(sip::HeaderId::RetryAfter)->value, "7");
  EXPECT_EQ(h.proxy.activeRequests(), 1u);
  EXPECT_EQ(h.location.lookedUp.size(), 1u);
  EXPECT_EQ(h.metric("p2psip_proxy_overload_rejections_total"), 1);
}

TEST(Overload, TransactionLayerRefusingTheBranchGivesServiceUnavailableWithRetryAfter) {
  transaction::TransactionConfig tx;
  tx.maxTransactions = 1;  // the server transaction takes the only slot
  ProxyHarness h(ProxyHarness::defaultConfig(), tx);
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  h.fromCaller(request(spec("INVITE")));

  auto busy = h.sender.upstream(503);
  ASSERT_EQ(busy.size(), 1u);
  EXPECT_NE(busy[0]->message.find(sip::HeaderId::RetryAfter), nullptr);
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
}

TEST(Overload, FinishedRequestsFreeTheirSlot) {
  auto config = ProxyHarness::defaultConfig();
  config.maxConcurrentRequests = 1;
  ProxyHarness h(config);
  for (int i = 0; i < 3; ++i) {
    auto s = spec("INVITE");
    s.branch = "z9hG4bK-caller-" + std::to_string(i);
    s.callId = "call-" + std::to_string(i);
    h.fromCaller(request(s));  // unknown user: 404 at once
  }
  EXPECT_EQ(h.sender.upstream(404).size(), 3u);
  EXPECT_EQ(h.sender.upstream(503).size(), 0u);
}

}  // namespace
}  // namespace p2psip::proxy::testing
