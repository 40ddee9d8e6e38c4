// SPDX-License-Identifier: Apache-2.0
// §16.8 Timer C and §17.1 Timer B/F on forked branches, on ManualTimerService time.
#include <set>

#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

// The final statuses the caller received; over UDP a final INVITE response is retransmitted
// (Timer G) while the test advances time, hence a set.
std::set<std::uint16_t> finalStatuses(const ProxyHarness& h) {
  std::set<std::uint16_t> out;
  for (const auto* s : h.sender.upstream()) out.insert(s->message.statusCode());
  return out;
}

class BranchTimers : public ::testing::Test {
 protected:
  void SetUp() override {
    h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  }
  ProxyHarness h;
};

TEST_F(BranchTimers, TimerCCancelsARingingBranchAndTheCallerGetsRequestTimeout) {
  h.fromCaller(request(spec("INVITE")));
  const auto* out = h.sender.requests(sip::Method::Invite).at(0);
  h.answer(*out, 180, "bob-tag");

  h.timers.advance(180s);
  EXPECT_TRUE(h.sender.requests(sip::Method::Cancel).empty());
  h.timers.advance(2s);  // Timer C is 181 s by default (> 3 minutes, §16.6 step 11)

  auto cancels = h.sender.requests(sip::Method::Cancel);
  ASSERT_FALSE(cancels.empty());
  EXPECT_EQ(cancels[0]->message.branch(), out->message.branch());
  EXPECT_EQ(finalStatuses(h), std::set<std::uint16_t>{408});
  EXPECT_EQ(h.metric("p2psip_proxy_timer_c_total"), 1);

  h.answer(*out, 487, "bob-tag");  // the cancelled branch ends; the caller hears nothing more
  EXPECT_EQ(finalStatuses(h), std::set<std::uint16_t>{408});
}

TEST_F(BranchTimers, ProvisionalResponsesRestartTimerC) {
  h.fromCaller(request(spec("INVITE")));
  const auto* out = h.sender.requests(sip::Method::Invite).at(0);
  h.answer(*out, 180, "bob-tag");
  h.timers.advance(170s);
  h.answer(*out, 183, "bob-tag");
  h.timers.advance(170s);
  EXPECT_TRUE(h.sender.requests(sip::Method::Cancel).empty());
  EXPECT_TRUE(h.sender.upstream().empty());
}

TEST_F(BranchTimers, TimerBOnAnUnansweredInviteIsRequestTimeout) {
  h.fromCaller(request(spec("INVITE")));
  h.timers.advance(33s);  // 64*T1

  EXPECT_EQ(finalStatuses(h), std::set<std::uint16_t>{408});
  EXPECT_EQ(h.proxy.activeRequests(), 0u);
}

TEST_F(BranchTimers, TimerFOnAnUnansweredMessageIsRequestTimeout) {
  h.fromCaller(request(spec("MESSAGE")));
  h.timers.advance(33s);

  EXPECT_EQ(finalStatuses(h), std::set<std::uint16_t>{408});
}

TEST_F(BranchTimers, TimedOutBranchLosesToARealResponse) {
  h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062"),
                                                   binding("sip:bob@198.51.100.8:5064")};
  h.fromCaller(request(spec("INVITE")));
  const auto* second = h.sender.requests(sip::Method::Invite).at(1);
  h.answer(*second, 404, "tag-2");
  h.timers.advance(33s);

  EXPECT_EQ(finalStatuses(h), std::set<std::uint16_t>{404});
}

}  // namespace
}  // namespace p2psip::proxy::testing
