// SPDX-License-Identifier: Apache-2.0
// MediaAnchor against a real RelayEngine on loopback: phones are UDP sockets, SIP messages are
// parsed from text, and the test thread plays the signalling loop. The checks are what a user
// would see: the SDP each phone receives names the relay, and RTP sent there reaches the other
// phone; ports come back after BYE, a failed call and a rejected stream.
#include "p2psip/anchor/media_anchor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "anchor_test_support.h"

namespace p2psip::anchor {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class MediaAnchorTest : public ::testing::Test {
 protected:
  void start(std::uint16_t portMin, std::size_t pairs = 16) {
    relayConfig.portMin = portMin;
    relayConfig.portMax = static_cast<std::uint16_t>(portMin + 2 * pairs - 1);
    relayConfig.addresses = {ip("127.0.0.1"), ip("127.0.0.2")};
    relay = std::make_unique<media::RelayEngine>(
        relayConfig,
        [this](std::function<void()> task) {
          std::lock_guard lock(mutex);
          posted.push_back(std::move(task));
        },
        metrics, Logger{});
    ASSERT_TRUE(relay->start());
    AnchorConfig config;
    config.phoneAddress = ip("127.0.0.1");
    config.overlayAddress = ip("127.0.0.2");
    config.relayAddresses = relayConfig.addresses;
    config.maxSessions = 4;
    anchor = std::make_unique<MediaAnchor>(*relay, config, metrics, Logger{});
    relay->onTimeout([this](media::StreamId id) { anchor->onStreamTimedOut(id); });
  }

  void drain() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex);
      tasks.swap(posted);
    }
    for (auto& t : tasks) t();
  }

  // Runs an outbound request through the anchor, like ProxyCore does for one branch.
  tl::expected<sip::Message, proxy::MediaRefusal> forward(const std::string& text,
                                                          bool toPeer = true) {
    proxy::MessageSource source;
    source.flow.local = net::Endpoint{ip("127.0.0.1"), 5060};
    source.flow.remote = net::Endpoint{ip("127.0.0.1"), 5070};
    std::vector<proxy::OutboundRequest> out;
    transport::Target destination;
    destination.endpoint = net::Endpoint{ip("127.0.0.2"), 5071};
    out.push_back({parse(text), destination, toPeer});
    std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> result;
    anchor->onRequestOut(source, std::move(out), [&](auto r) { result = std::move(r); });
    EXPECT_TRUE(result.has_value()) << "the anchor never completed";
    if (!*result) return tl::unexpected(result->error());
    return std::move((**result).front().request);
  }

  sip::Message answer(const std::string& text, bool dialogCreating = true) {
    auto message = parse(text);
    anchor->onResponseOut(message, dialogCreating);
    return message;
  }

  // Waits (bounded) for the released ports to be back in the pools.
  bool allPortsFree() {
    const auto total = 2 * media::portPairCount(relayConfig);
    for (int i = 0; i < 200; ++i) {
      if (relay->freePortPairs() == total) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  media::RelayConfig relayConfig;
  MetricsRegistry metrics;
  std::mutex mutex;
  std::vector<std::function<void()>> posted;
  std::unique_ptr<media::RelayEngine> relay;
  std::unique_ptr<MediaAnchor> anchor;
};

TEST_F(MediaAnchorTest, OfferAndAnswerPointAtTheRelayAndMediaFlowsBothWays) {
  start(23000);
  Phone alice("127.0.0.1");
  Phone bob("127.0.0.2");
  auto invite = forward(request("INVITE", "call-1", "a1", "", 1, offer(alice.endpoint())));
  ASSERT_TRUE(invite);
  const auto bobSends = endpointsIn(invite->body());
  ASSERT_EQ(bobSends.size(), 1u);
  EXPECT_EQ(bobSends[0].address, ip("127.0.0.2")) << "the peer side gets the overlay address";
  EXPECT_NE(bobSends[0], alice.endpoint());
  EXPECT_EQ(invite->find(sip::HeaderId::ContentLength)->value,
            std::to_string(invite->body().size()));

  auto ok = answer(response(200, "INVITE", "call-1", "a1", 1, offer(bob.endpoint())));
  const auto aliceSends = endpointsIn(ok.body());
  ASSERT_EQ(aliceSends.size(), 1u);
  EXPECT_EQ(aliceSends[0].address, ip("127.0.0.1"));
  EXPECT_NE(aliceSends[0], bob.endpoint());

  for (std::uint16_t seq = 1; seq <= 5; ++seq) alice.sendRtp(aliceSends[0], seq);
  EXPECT_EQ(bob.receiveCount(5), 5);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) bob.sendRtp(bobSends[0], seq);
  EXPECT_EQ(alice.receiveCount(5), 5);
  EXPECT_EQ(relay->active(), 1u);

  auto bye = forward(request("BYE", "call-1", "a1", "bobtag", 2, ""));
  ASSERT_TRUE(bye);
  EXPECT_EQ(relay->active(), 0u);
  EXPECT_EQ(anchor->sessions(), 0u);
  EXPECT_TRUE(allPortsFree());
}

TEST_F(MediaAnchorTest, AudioAndVideoGetTheirOwnStreams) {
  start(23100);
  Phone audio("127.0.0.1");
  Phone video("127.0.0.1");
  auto invite =
      forward(request("INVITE", "call-av", "a1", "", 1, offer(audio.endpoint(), video.endpoint())));
  ASSERT_TRUE(invite);
  const auto sends = endpointsIn(invite->body());
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_NE(sends[0].port, sends[1].port);
  EXPECT_EQ(relay->active(), 2u);
  const auto info = anchor->snapshot();
  ASSERT_EQ(info.size(), 1u);
  ASSERT_EQ(info[0].streams.size(), 2u);
  EXPECT_EQ(info[0].streams[1].media, "video");
}

TEST_F(MediaAnchorTest, ARejectedStreamGivesItsPortsBackAndStaysRejected) {
  start(23200);
  Phone alice("127.0.0.1");
  Phone bob("127.0.0.2");
  ASSERT_TRUE(forward(
      request("INVITE", "call-rej", "a1", "", 1, offer(alice.endpoint(), alice.endpoint()))));
  EXPECT_EQ(relay->active(), 2u);
  // Bob takes audio and rejects video (RFC 3264 §6: port 0).
  net::Endpoint rejected{ip("127.0.0.2"), 0};
  auto ok = answer(response(200, "INVITE", "call-rej", "a1", 1, offer(bob.endpoint(), rejected)));
  const auto sends = endpointsIn(ok.body());
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(sends[1].port, 0) << "a rejected stream stays rejected for the caller";
  EXPECT_EQ(relay->active(), 1u);
}

TEST_F(MediaAnchorTest, HoldKeepsTheUnspecifiedAddress) {
  start(23300);
  Phone alice("127.0.0.1");
  ASSERT_TRUE(forward(request("INVITE", "call-hold", "a1", "", 1, offer(alice.endpoint()))));
  answer(
      response(200, "INVITE", "call-hold", "a1", 1, offer(net::Endpoint{ip("127.0.0.2"), 4000})));
  // RFC 3264 §8.4: the old way to hold, c=0.0.0.0, must reach the other phone as it is.
  auto reinvite =
      forward(request("INVITE", "call-hold", "a1", "bobtag", 2,
                      offer(net::Endpoint{ip("0.0.0.0"), 4002}, std::nullopt, "a=sendonly\r\n")));
  ASSERT_TRUE(reinvite);
  EXPECT_NE(reinvite->body().find("c=IN IP4 0.0.0.0"), std::string_view::npos) << reinvite->body();
  EXPECT_NE(reinvite->body().find("a=sendonly"), std::string_view::npos);
  EXPECT_EQ(relay->active(), 1u) << "held media keeps its stream for the resume";
}

TEST_F(MediaAnchorTest, AFailedCallAndACancelledCallFreeTheirPorts) {
  start(23400);
  Phone alice("127.0.0.1");
  ASSERT_TRUE(forward(request("INVITE", "call-busy", "a1", "", 1, offer(alice.endpoint()))));
  ASSERT_TRUE(forward(request("INVITE", "call-cancel", "a2", "", 1, offer(alice.endpoint()))));
  EXPECT_EQ(relay->active(), 2u);
  answer(response(486, "INVITE", "call-busy", "a1", 1, ""));
  answer(response(487, "INVITE", "call-cancel", "a2", 1, ""));
  EXPECT_EQ(relay->active(), 0u);
  EXPECT_EQ(anchor->sessions(), 0u);
  EXPECT_TRUE(allPortsFree());
}

TEST_F(MediaAnchorTest, AFailedReInviteKeepsTheCallsMedia) {
  start(23500);
  Phone alice("127.0.0.1");
  ASSERT_TRUE(forward(request("INVITE", "call-491", "a1", "", 1, offer(alice.endpoint()))));
  answer(response(200, "INVITE", "call-491", "a1", 1, offer(net::Endpoint{ip("127.0.0.2"), 4000})));
  ASSERT_TRUE(forward(request("INVITE", "call-491", "a1", "bobtag", 2, offer(alice.endpoint()))));
  answer(response(491, "INVITE", "call-491", "a1", 2, ""), false);
  EXPECT_EQ(relay->active(), 1u);
  EXPECT_EQ(anchor->sessions(), 1u);
}

TEST_F(MediaAnchorTest, LateOfferIsAnsweredInTheAck) {
  start(23600);
  Phone alice("127.0.0.1");
  Phone bob("127.0.0.2");
  ASSERT_TRUE(forward(request("INVITE", "call-late", "a1", "", 1, "")));
  EXPECT_EQ(relay->active(), 0u);
  auto ok = answer(response(200, "INVITE", "call-late", "a1", 1, offer(bob.endpoint())));
  const auto aliceSends = endpointsIn(ok.body());
  EXPECT_EQ(aliceSends[0].address, ip("127.0.0.1"));
  proxy::OutboundRequest ack{
      parse(request("ACK", "call-late", "a1", "bobtag", 1, offer(alice.endpoint()))), {}, true};
  anchor->onAckOut(proxy::MessageSource{}, ack);
  const auto bobSends = endpointsIn(ack.request.body());
  EXPECT_EQ(bobSends[0].address, ip("127.0.0.2"));
  alice.sendRtp(aliceSends[0], 1);
  EXPECT_EQ(bob.receiveCount(1), 1);
  bob.sendRtp(bobSends[0], 1);
  EXPECT_EQ(alice.receiveCount(1), 1);
}

TEST_F(MediaAnchorTest, IceCandidatesAreRemovedSoPhonesCannotGoAroundTheRelay) {
  start(23700);
  Phone alice("127.0.0.1");
  auto invite = forward(
      request("INVITE", "call-ice", "a1", "", 1,
              offer(alice.endpoint(), std::nullopt,
                    "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n"
                    "a=candidate:1 1 UDP 2130706431 127.0.0.1 4000 typ host\r\na=rtcp:4001\r\n")));
  ASSERT_TRUE(invite);
  const auto body = invite->body();
  EXPECT_EQ(body.find("candidate"), std::string_view::npos) << body;
  EXPECT_EQ(body.find("ice-"), std::string_view::npos) << body;
  const auto sends = endpointsIn(body);
  EXPECT_NE(body.find("a=rtcp:" + std::to_string(sends[0].port + 1)), std::string_view::npos)
      << body;
}

TEST_F(MediaAnchorTest, BadSdpIsRefusedWith488AndPortExhaustionWith503) {
  start(23800, 2);  // two pairs per address: two streams
  Phone alice("127.0.0.1");
  auto named = forward(request("INVITE", "call-name", "a1", "", 1,
                               "v=0\r\no=- 1 1 IN IP4 phone.example\r\ns=-\r\n"
                               "c=IN IP4 phone.example\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"));
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().status, 488);
  auto garbage = forward(request("INVITE", "call-garbage", "a1", "", 1, "this is not SDP\r\n"));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().status, 488);

  ASSERT_TRUE(forward(request("INVITE", "call-x", "a1", "", 1, offer(alice.endpoint()))));
  ASSERT_TRUE(forward(request("INVITE", "call-y", "a1", "", 1, offer(alice.endpoint()))));
  auto third = forward(request("INVITE", "call-z", "a1", "", 1, offer(alice.endpoint())));
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().status, 503);
  // The refusal goes upstream as a 503, which ends the half-made session too.
  answer(response(503, "INVITE", "call-z", "a1", 1, ""));
  EXPECT_EQ(relay->active(), 2u) << "other calls keep their media";
}

TEST_F(MediaAnchorTest, AnIdleStreamIsForgottenWithItsCall) {
  relayConfig.inactivityTimeout = 50ms;
  start(23900);
  Phone alice("127.0.0.1");
  ASSERT_TRUE(forward(request("INVITE", "call-idle", "a1", "", 1, offer(alice.endpoint()))));
  EXPECT_EQ(anchor->sessions(), 1u);
  for (int i = 0; i < 200 && anchor->sessions() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
    drain();
  }
  EXPECT_EQ(anchor->sessions(), 0u);
  EXPECT_EQ(relay->active(), 0u);
}

}  // namespace
}  // namespace p2psip::anchor
