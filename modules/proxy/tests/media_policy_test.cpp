// SPDX-License-Identifier: Apache-2.0
// The proxy's MediaPolicy hooks: every forwarded copy of a request passes the policy before it is
// sent, possibly asynchronously; a refusal becomes the caller's answer; a CANCEL while the policy
// works ends the request; responses going upstream and BYE pass it too.
#include <gtest/gtest.h>

#include "p2psip/proxy/media_policy.h"
#include "proxy_test_support.h"

namespace p2psip::proxy::testing {
namespace {

constexpr std::string_view kRewritten = "v=0\r\no=- 1 1 IN IP4 203.0.113.1\r\ns=-\r\n";

class FakeMediaPolicy final : public MediaPolicy {
 public:
  void onRequestOut(const MessageSource& source, std::vector<OutboundRequest> requests,
                    Completion done) override {
    methods.emplace_back(requests.front().request.methodText());
    sources.push_back(source);
    for (auto& r : requests) r.request.setBody(kRewritten, "application/sdp");
    if (refuse) {
      done(tl::unexpected(MediaRefusal{503, "Service Unavailable (no relay ports left)"}));
      return;
    }
    if (defer) {
      pending.emplace_back(std::move(requests), std::move(done));
      return;
    }
    done(std::move(requests));
  }
  void onAckOut(const MessageSource&, OutboundRequest&) override { ++acks; }
  void onResponseOut(sip::Message& response, bool dialogCreating) override {
    responses.emplace_back(response.statusCode(), dialogCreating);
    if (response.statusCode() == 200 && response.cseq().method == sip::Method::Invite) {
      response.setBody(kRewritten, "application/sdp");
    }
  }
  void onRequestAbandoned(const sip::Message&) override { ++abandoned; }

  void completePending() {
    auto calls = std::move(pending);
    pending.clear();
    for (auto& [requests, done] : calls) done(std::move(requests));
  }

  bool defer = false;
  bool refuse = false;
  std::vector<std::string> methods;
  std::vector<MessageSource> sources;
  std::vector<std::pair<std::uint16_t, bool>> responses;
  std::vector<std::pair<std::vector<OutboundRequest>, Completion>> pending;
  int acks = 0;
  int abandoned = 0;
};

struct MediaHarness {
  FakeMediaPolicy media;
  ProxyHarness h{ProxyHarness::defaultConfig(), {}, &media};
  MediaHarness() {
    h.location.users["sip:bob@p2p.test"].bindings = {binding("sip:bob@198.51.100.7:5062")};
  }
};

TEST(MediaPolicyHooks, EveryCopyIsRewrittenBeforeItIsSentAndTheAnswerOnItsWayBack) {
  MediaHarness m;
  m.media.defer = true;
  m.h.fromCaller(request(spec("INVITE")));
  EXPECT_TRUE(m.h.sender.requests(sip::Method::Invite).empty()) << "held until the policy answers";
  EXPECT_EQ(m.h.proxy.snapshot().at(0).state, "AnchoringMedia");
  ASSERT_EQ(m.media.sources.size(), 1u);
  EXPECT_FALSE(m.media.sources[0].peerLink);
  EXPECT_EQ(m.media.sources[0].flow.remote, endpoint(kCallerHost, 5060));

  m.media.completePending();
  auto invites = m.h.sender.requests(sip::Method::Invite);
  ASSERT_EQ(invites.size(), 1u);
  EXPECT_EQ(invites[0]->message.body(), kRewritten);

  m.h.answer(*invites[0], 200, "bob-tag");
  auto ok = m.h.sender.upstream(200);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0]->message.body(), kRewritten);
  ASSERT_FALSE(m.media.responses.empty());
  EXPECT_EQ(m.media.responses.back(), (std::pair<std::uint16_t, bool>{200, true}));
}

TEST(MediaPolicyHooks, ARefusalIsTheCallersAnswerAndNothingGoesDownstream) {
  MediaHarness m;
  m.media.refuse = true;
  m.h.fromCaller(request(spec("INVITE")));
  EXPECT_TRUE(m.h.sender.requests(sip::Method::Invite).empty());
  auto refused = m.h.sender.upstream(503);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0]->message.reasonPhrase(), "Service Unavailable (no relay ports left)");
  EXPECT_NE(refused[0]->message.find("Retry-After"), nullptr);
  EXPECT_EQ(m.h.proxy.activeRequests(), 0u);
  // The policy hears its own refusal go upstream, so it can free what it half allocated.
  ASSERT_EQ(m.media.responses.size(), 1u);
  EXPECT_EQ(m.media.responses[0], (std::pair<std::uint16_t, bool>{503, true}));
}

TEST(MediaPolicyHooks, ACancelWhileThePolicyWorksEndsTheRequestAndItsLateAnswerIsIgnored) {
  MediaHarness m;
  m.media.defer = true;
  auto invite = request(spec("INVITE"));
  auto cancel = parse(
      "CANCEL sip:bob@p2p.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-caller-1"
      "\r\nMax-Forwards: 70\r\nFrom: Alice <sip:alice@p2p.test>;tag=alice-1\r\n"
      "To: Bob <sip:bob@p2p.test>\r\nCall-ID: call-1@192.0.2.10\r\nCSeq: 1 CANCEL\r\n"
      "Content-Length: 0\r\n\r\n");
  m.h.fromCaller(std::move(invite));
  m.h.fromCaller(std::move(cancel));
  EXPECT_EQ(m.h.sender.upstream(487).size(), 1u);
  EXPECT_EQ(m.h.proxy.activeRequests(), 0u);
  m.media.completePending();
  EXPECT_TRUE(m.h.sender.requests(sip::Method::Invite).empty()) << "nothing forked after the 487";
  ASSERT_FALSE(m.media.responses.empty());
  EXPECT_EQ(m.media.responses.back(), (std::pair<std::uint16_t, bool>{487, true}));
}

TEST(MediaPolicyHooks, InDialogRequestsPassThePolicyToo) {
  MediaHarness m;
  auto bye = spec("BYE");
  bye.toTag = "bob-tag";
  bye.requestUri = "sip:bob@198.51.100.7:5062";
  m.h.fromCaller(request(bye));
  ASSERT_EQ(m.h.sender.requests(sip::Method::Bye).size(), 1u);
  EXPECT_EQ(m.media.methods, std::vector<std::string>{"BYE"});
  auto* sent = m.h.sender.requests(sip::Method::Bye)[0];
  m.h.answer(*sent, 200);
  ASSERT_FALSE(m.media.responses.empty());
  EXPECT_EQ(m.media.responses.back(), (std::pair<std::uint16_t, bool>{200, false}));
}

}  // namespace
}  // namespace p2psip::proxy::testing
