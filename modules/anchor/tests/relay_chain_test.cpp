// SPDX-License-Identifier: Apache-2.0
// The media path between peers: the answering peer chooses it from both NAT classes, and when it
// is "relayed" asks a third peer's relay (a real RelayService and RelayEngine here, reached through
// a loopback stand-in for the peer link) for streams, so that RTP goes far relay -> third relay ->
// our relay -> phone and back.
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "anchor_test_support.h"
#include "p2psip/anchor/media_anchor.h"
#include "p2psip/common/timer_queue.h"
#include "p2psip/media/relay_service.h"

namespace p2psip::anchor {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(MediaPathChoice, OpenSidesGoDirectConesPunchAndSymmetricNeedsARelay) {
  using N = NatClass;
  EXPECT_EQ(choosePath(N::Public, N::Symmetric), MediaPath::Direct);
  EXPECT_EQ(choosePath(N::Symmetric, N::Public), MediaPath::Direct);
  EXPECT_EQ(choosePath(N::FullCone, N::Symmetric), MediaPath::Direct);
  EXPECT_EQ(choosePath(N::Unknown, N::Symmetric), MediaPath::Direct);
  EXPECT_EQ(choosePath(N::RestrictedCone, N::RestrictedCone), MediaPath::Punched);
  EXPECT_EQ(choosePath(N::RestrictedCone, N::Symmetric), MediaPath::Relayed);
  EXPECT_EQ(choosePath(N::Symmetric, N::RestrictedCone), MediaPath::Relayed);
  EXPECT_EQ(choosePath(N::Symmetric, N::Symmetric), MediaPath::Relayed);
  for (auto n : {N::Unknown, N::Public, N::FullCone, N::RestrictedCone, N::Symmetric}) {
    EXPECT_EQ(natClassFromString(toString(n)), n);
  }
}

// An offer from a far peer: the peer talk sits at the session level, as MediaAnchor writes it.
std::string peerOffer(const net::Endpoint& audio, std::string_view nat) {
  std::string body = offer(audio);
  body.replace(body.find("t=0 0\r\n"), 7, "t=0 0\r\na=x-p2psip-nat:" + std::string(nat) + "\r\n");
  return body;
}

constexpr const char* kRelayNode = "aa11";
constexpr const char* kOurNode = "bb22";

// The third peer: its engine and service, reached by a "link" that hands frames over in-process
// and answers through the client, as app/ does with the transport.
struct ThirdPeer : RelayPicker {
  explicit ThirdPeer(MetricsRegistry& metrics)
      : engine(
            config(), [](std::function<void()> task) { task(); }, metrics, Logger{}),
        service(
            engine, serviceConfig(), [](std::string_view) { return true; }, metrics, Logger{}) {
    EXPECT_TRUE(engine.start());
  }
  static media::RelayConfig config() {
    media::RelayConfig c;
    c.portMin = 24600;
    c.portMax = 24631;
    c.addresses = {ip("127.0.0.3")};
    return c;
  }
  static media::RelayServiceConfig serviceConfig() {
    media::RelayServiceConfig c;
    c.addresses = {ip("127.0.0.3")};
    return c;
  }
  void pick(std::function<void(Result<RelayPeer>)> done) override {
    ++picks;
    if (!available) {
      done(makeError(ErrorCode::NotFound, "no relay record"));
      return;
    }
    done(RelayPeer{kRelayNode, net::Endpoint{ip("127.0.0.3"), 5071}, ip("127.0.0.3")});
  }
  media::RelayEngine engine;
  media::RelayService service;
  RelayControlClient* client = nullptr;
  bool available = true;
  int picks = 0;
};

class RelayChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    relayConfig.portMin = 24500;
    relayConfig.portMax = 24531;
    relayConfig.addresses = {ip("127.0.0.1"), ip("127.0.0.2")};
    relay = std::make_unique<media::RelayEngine>(
        relayConfig, [](std::function<void()> task) { task(); }, metrics, Logger{});
    ASSERT_TRUE(relay->start());
    third = std::make_unique<ThirdPeer>(metrics);
    client = std::make_unique<RelayControlClient>(
        [this](std::string frame, const transport::Target& to) -> Result<void> {
          EXPECT_EQ(to.peerIdentity, kRelayNode);
          auto answer = third->service.handle(kOurNode, frame);
          if (!answer.empty()) {
            auto decoded = media::control::decodeFrame(answer);
            EXPECT_TRUE(decoded);
            transport::Flow from;
            from.peerIdentity = kRelayNode;
            replies.emplace_back(from, std::get<media::control::Frame>(decoded->outcome));
          }
          return {};
        },
        timers, 2s, metrics, Logger{});
    AnchorConfig config;
    config.phoneAddress = ip("127.0.0.1");
    config.overlayAddress = ip("127.0.0.2");
    config.relayAddresses = relayConfig.addresses;
    anchor =
        std::make_unique<MediaAnchor>(*relay, config, metrics, Logger{}, client.get(), third.get());
  }
  // The peer link's answers arrive later, on the loop.
  void deliverReplies() {
    while (!replies.empty()) {
      auto [flow, frame] = std::move(replies.front());
      replies.erase(replies.begin());
      client->onResponse(flow, frame);
    }
  }

  // An offer from the far peer (over a peer link) to our phone.
  std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>>
  offerFromPeer(const std::string& body) {
    proxy::MessageSource source;
    source.peerLink = true;
    source.flow.remote = net::Endpoint{ip("127.0.0.2"), 40000};
    source.flow.peerIdentity = "cc33";
    std::vector<proxy::OutboundRequest> out;
    transport::Target phone;
    phone.endpoint = net::Endpoint{ip("127.0.0.1"), 5062};
    out.push_back({parse(request("INVITE", "chain-1", "a1", "", 1, body)), phone, false});
    std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> result;
    anchor->onRequestOut(source, std::move(out), [&](auto r) { result = std::move(r); });
    deliverReplies();
    return result;
  }

  MetricsRegistry metrics;
  ManualTimerService timers;
  media::RelayConfig relayConfig;
  std::unique_ptr<media::RelayEngine> relay;
  std::unique_ptr<ThirdPeer> third;
  std::unique_ptr<RelayControlClient> client;
  std::unique_ptr<MediaAnchor> anchor;
  std::vector<std::pair<transport::Flow, media::control::Frame>> replies;
};

TEST_F(RelayChainTest, SymmetricOnBothSidesGoesThroughTheThirdRelayBothWays) {
  anchor->setReachability(NatClass::Symmetric, std::nullopt);
  Phone farRelay("127.0.0.2");  // the far peer's relay leg, as its offer names it
  Phone phone("127.0.0.1");     // our phone
  auto offered = offerFromPeer(peerOffer(farRelay.endpoint(), "symmetric"));
  ASSERT_TRUE(offered.has_value()) << "the offer waits for the third relay";
  ASSERT_TRUE(*offered);
  const auto& toPhone = (**offered).front().request;
  EXPECT_EQ(toPhone.body().find("x-p2psip"), std::string_view::npos) << "phones see no peer talk";
  const auto phoneSends = endpointsIn(toPhone.body());
  ASSERT_EQ(phoneSends.size(), 1u);
  EXPECT_EQ(phoneSends[0].address, ip("127.0.0.1"));
  EXPECT_EQ(third->service.streamsOf(kOurNode), 1u);

  auto ok = parse(response(200, "INVITE", "chain-1", "a1", 1, offer(phone.endpoint())));
  anchor->onResponseOut(ok, true);
  const auto farSends = endpointsIn(ok.body());
  ASSERT_EQ(farSends.size(), 1u);
  EXPECT_EQ(farSends[0].address, ip("127.0.0.3")) << "the far peer is sent to the third relay";
  EXPECT_NE(ok.body().find("a=x-p2psip-path:relayed"), std::string_view::npos) << ok.body();
  EXPECT_NE(ok.body().find("a=x-p2psip-nat:symmetric"), std::string_view::npos);
  const auto sessions = anchor->snapshot();
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].path, MediaPath::Relayed);
  EXPECT_EQ(sessions[0].relayNode, kRelayNode);

  // Far relay -> third relay -> our relay -> phone, and back.
  for (std::uint16_t seq = 1; seq <= 5; ++seq) farRelay.sendRtp(farSends[0], seq);
  EXPECT_EQ(phone.receiveCount(5), 5);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) phone.sendRtp(phoneSends[0], seq);
  EXPECT_EQ(farRelay.receiveCount(5), 5);

  auto bye = parse(request("BYE", "chain-1", "a1", "bobtag", 2, ""));
  std::vector<proxy::OutboundRequest> out;
  out.push_back({std::move(bye), {}, false});
  anchor->onRequestOut(proxy::MessageSource{{}, true}, std::move(out), [](auto) {});
  deliverReplies();
  EXPECT_EQ(third->service.streamsOf(kOurNode), 0u) << "the third relay gave its ports back";
  EXPECT_EQ(relay->active(), 0u);
}

TEST_F(RelayChainTest, AnOpenSideGoesDirectAndConesPunch) {
  anchor->setReachability(NatClass::RestrictedCone, ip("198.18.0.102"));
  Phone farRelay("127.0.0.2");
  auto offered = offerFromPeer(peerOffer(farRelay.endpoint(), "public"));
  ASSERT_TRUE(offered && *offered);
  EXPECT_EQ(third->picks, 0);
  auto ok = parse(
      response(200, "INVITE", "chain-1", "a1", 1, offer(net::Endpoint{ip("127.0.0.1"), 4000})));
  anchor->onResponseOut(ok, true);
  EXPECT_NE(ok.body().find("a=x-p2psip-path:direct"), std::string_view::npos);
  // Behind a NAT we name our public address to the far peer, with our leg's port.
  EXPECT_EQ(endpointsIn(ok.body())[0].address, ip("198.18.0.102"));

  auto second = offerFromPeer(peerOffer(farRelay.endpoint(), "restricted-cone"));
  (void)second;  // same Call-ID: the path stays the one chosen
  EXPECT_EQ(anchor->snapshot().at(0).path, MediaPath::Direct);
}

TEST_F(RelayChainTest, WithoutARelayTheCallStillGoesRelayToRelay) {
  anchor->setReachability(NatClass::Symmetric, std::nullopt);
  third->available = false;
  Phone farRelay("127.0.0.2");
  auto offered = offerFromPeer(peerOffer(farRelay.endpoint(), "symmetric"));
  ASSERT_TRUE(offered && *offered);
  EXPECT_EQ(anchor->snapshot().at(0).path, MediaPath::Direct);
  EXPECT_EQ(metrics.counter("p2psip_anchor_relay_unavailable_total").value(), 1u);
}

TEST_F(RelayChainTest, ARelayThatDoesNotAnswerIsGivenUpOnAfterTheTimeout) {
  anchor->setReachability(NatClass::Symmetric, std::nullopt);
  Phone farRelay("127.0.0.2");
  proxy::MessageSource source;
  source.peerLink = true;
  std::vector<proxy::OutboundRequest> out;
  out.push_back({parse(request("INVITE", "chain-2", "a1", "", 1,
                               peerOffer(farRelay.endpoint(), "symmetric"))),
                 {},
                 false});
  std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> result;
  anchor->onRequestOut(source, std::move(out), [&](auto r) { result = std::move(r); });
  replies.clear();  // the relay's answer is lost
  EXPECT_FALSE(result.has_value());
  timers.advance(3s);
  ASSERT_TRUE(result.has_value()) << "the call goes on without the third relay";
  EXPECT_TRUE(*result);
  EXPECT_EQ(metrics.counter("p2psip_anchor_relay_timeouts_total").value(), 1u);
}

TEST_F(RelayChainTest, ConesPunchWithAThirdRelayReadyAndFallBackWhenThePunchFails) {
  // Our reflexive address is our overlay address here, so that loopback carries the media.
  anchor->setReachability(NatClass::RestrictedCone, ip("127.0.0.2"));
  Phone farRelay("127.0.0.2");  // behind a NAT that, it turns out, lets nothing of ours in
  Phone phone("127.0.0.1");
  auto offered = offerFromPeer(peerOffer(farRelay.endpoint(), "restricted-cone"));
  ASSERT_TRUE(offered.has_value() && *offered);
  EXPECT_EQ(third->picks, 1) << "a hole-punched path gets a fallback relay";
  EXPECT_EQ(third->service.streamsOf(kOurNode), 1u);
  const auto& toPhone = (**offered).front().request;
  EXPECT_EQ(toPhone.body().find("x-p2psip"), std::string_view::npos) << "phones see no peer talk";
  const auto phoneSends = endpointsIn(toPhone.body());

  auto ok = parse(response(200, "INVITE", "chain-1", "a1", 1, offer(phone.endpoint())));
  anchor->onResponseOut(ok, true);
  EXPECT_NE(ok.body().find("a=x-p2psip-path:hole-punched"), std::string_view::npos) << ok.body();
  const auto farSends = endpointsIn(ok.body());
  ASSERT_EQ(farSends.size(), 1u);
  EXPECT_EQ(farSends[0].address, ip("127.0.0.2")) << "the far relay tries us directly first";
  const auto fallbackAt = ok.body().find("a=x-p2psip-fallback:127.0.0.3 ");
  ASSERT_NE(fallbackAt, std::string_view::npos) << ok.body();
  const auto portText = ok.body().substr(fallbackAt + 30, 5);
  const auto sideA =
      net::Endpoint{ip("127.0.0.3"), static_cast<std::uint16_t>(std::stoi(std::string(portText)))};
  EXPECT_EQ(metrics.counter("p2psip_anchor_punch_fallbacks_ready_total").value(), 1u);

  // The far relay stays silent: after the punch check our leg goes to the third relay.
  EXPECT_TRUE(eventually([&] { return anchor->snapshot().at(0).punchFailed; }))
      << "the silent direct path was never given up";
  EXPECT_EQ(anchor->snapshot().at(0).path, MediaPath::Relayed);
  // Far relay -> third relay -> our relay -> phone, and back.
  for (std::uint16_t seq = 1; seq <= 5; ++seq) farRelay.sendRtp(sideA, seq);
  EXPECT_EQ(phone.receiveMediaCount(5), 5);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) phone.sendRtp(phoneSends[0], seq);
  EXPECT_EQ(farRelay.receiveMediaCount(5), 5);
}

TEST_F(RelayChainTest, TheOfferersLegTakesTheFallbackTheAnswerNames) {
  anchor->setReachability(NatClass::RestrictedCone, ip("127.0.0.2"));
  Phone phone("127.0.0.1");
  Phone farRelay("127.0.0.2");
  Phone fallback("127.0.0.3");
  proxy::MessageSource source;
  source.flow.remote = phone.endpoint();
  std::vector<proxy::OutboundRequest> out;
  transport::Target peer;
  peer.endpoint = net::Endpoint{ip("127.0.0.2"), 5071};
  out.push_back(
      {parse(request("INVITE", "chain-3", "a1", "", 1, offer(phone.endpoint()))), peer, true});
  std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> sent;
  anchor->onRequestOut(source, std::move(out), [&](auto r) { sent = std::move(r); });
  ASSERT_TRUE(sent && *sent);
  EXPECT_NE((**sent).front().request.body().find("a=x-p2psip-nat:restricted-cone"),
            std::string_view::npos);

  std::string answer = offer(farRelay.endpoint());
  answer.replace(answer.find("t=0 0\r\n"), 7, "t=0 0\r\na=x-p2psip-path:hole-punched\r\n");
  answer += "a=x-p2psip-fallback:127.0.0.3 " + std::to_string(fallback.endpoint().port) + "\r\n";
  auto ok = parse(response(200, "INVITE", "chain-3", "a1", 1, answer));
  anchor->onResponseOut(ok, true);
  EXPECT_EQ(ok.body().find("x-p2psip"), std::string_view::npos) << "phones see no peer talk";
  const auto phoneSends = endpointsIn(ok.body());
  EXPECT_TRUE(eventually([&] { return anchor->snapshot().at(0).punchFailed; }));
  for (std::uint16_t seq = 1; seq <= 3; ++seq) phone.sendRtp(phoneSends[0], seq);
  EXPECT_EQ(fallback.receiveMediaCount(3), 3) << "the phone's media goes to the fallback relay";
}

TEST_F(RelayChainTest, AnUnreadableFallbackIsIgnoredAndCounted) {
  anchor->setReachability(NatClass::RestrictedCone, ip("127.0.0.2"));
  Phone phone("127.0.0.1");
  Phone farRelay("127.0.0.2");
  proxy::MessageSource source;
  source.flow.remote = phone.endpoint();
  std::vector<proxy::OutboundRequest> out;
  const transport::Target peerLink;  // named: GCC 12 at -O3 warns on an empty {} here
  out.push_back(
      {parse(request("INVITE", "chain-4", "a1", "", 1, offer(phone.endpoint()))), peerLink, true});
  anchor->onRequestOut(source, std::move(out), [](auto) {});
  for (const char* bad : {"127.0.0.3", "127.0.0.3 0", "host.example 4000", "::1 4000",
                          "127.0.0.3 99999", "127.0.0.3 40x0"}) {
    std::string answer = offer(farRelay.endpoint());
    answer.replace(answer.find("t=0 0\r\n"), 7, "t=0 0\r\na=x-p2psip-path:hole-punched\r\n");
    answer += "a=x-p2psip-fallback:" + std::string(bad) + "\r\n";
    auto ok = parse(response(200, "INVITE", "chain-4", "a1", 1, answer));
    anchor->onResponseOut(ok, true);
    EXPECT_EQ(ok.body().find("x-p2psip"), std::string_view::npos);
  }
  EXPECT_EQ(metrics.counter("p2psip_anchor_peer_attributes_ignored_total").value(), 6u);
}

// Our phone calls a user on a far peer whose record says it is behind a symmetric NAT, as we are:
// the calling peer chooses, and the offer already names the third relay.
TEST_F(RelayChainTest, TheCallingPeerChoosesFromTheFarPeersRecordAndReadiesTheRelay) {
  anchor->setReachability(NatClass::Symmetric, ip("127.0.0.2"));
  Phone phone("127.0.0.1");
  Phone farRelay("127.0.0.2");
  proxy::MessageSource source;
  source.flow.remote = phone.endpoint();
  std::vector<proxy::OutboundRequest> out;
  transport::Target peer;
  peer.endpoint = net::Endpoint{ip("127.0.0.2"), 5071};
  peer.peerIdentity = "cc33";
  out.push_back({parse(request("INVITE", "chain-5", "a1", "", 1, offer(phone.endpoint()))), peer,
                 true, proxy::FarPeer{"symmetric", ip("127.0.0.2")}});
  std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> sent;
  anchor->onRequestOut(source, std::move(out), [&](auto r) { sent = std::move(r); });
  deliverReplies();
  ASSERT_TRUE(sent.has_value()) << "the offer waits for the third relay";
  ASSERT_TRUE(*sent);
  EXPECT_EQ(third->picks, 1);
  EXPECT_EQ(third->service.streamsOf(kOurNode), 1u);
  const auto& toPeer = (**sent).front().request;
  EXPECT_NE(toPeer.body().find("a=x-p2psip-path:relayed"), std::string_view::npos) << toPeer.body();
  const auto farSends = endpointsIn(toPeer.body());
  ASSERT_EQ(farSends.size(), 1u);
  EXPECT_EQ(farSends[0].address, ip("127.0.0.3")) << "the far peer is sent to the third relay";
  EXPECT_EQ(metrics.counter("p2psip_anchor_paths_relayed_total").value(), 1u);

  // The far peer follows the path it was told and answers with its relay's address.
  std::string answer = offer(farRelay.endpoint());
  answer.replace(answer.find("t=0 0\r\n"), 7, "t=0 0\r\na=x-p2psip-path:relayed\r\n");
  auto ok = parse(response(200, "INVITE", "chain-5", "a1", 1, answer));
  anchor->onResponseOut(ok, true);
  deliverReplies();
  EXPECT_EQ(ok.body().find("x-p2psip"), std::string_view::npos) << "phones see no peer talk";
  const auto phoneSends = endpointsIn(ok.body());
  EXPECT_EQ(anchor->snapshot().at(0).path, MediaPath::Relayed);
  // Phone -> our relay -> third relay -> far relay, and back.
  for (std::uint16_t seq = 1; seq <= 5; ++seq) phone.sendRtp(phoneSends[0], seq);
  EXPECT_EQ(farRelay.receiveMediaCount(5), 5);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) farRelay.sendRtp(farSends[0], seq);
  EXPECT_EQ(phone.receiveMediaCount(5), 5);
}

// A far peer whose record says nothing of its NAT: the answering peer chooses, as before.
TEST_F(RelayChainTest, WithoutTheFarPeersClassTheCallerLeavesTheChoiceToTheAnswerer) {
  anchor->setReachability(NatClass::Symmetric, ip("127.0.0.2"));
  Phone phone("127.0.0.1");
  proxy::MessageSource source;
  source.flow.remote = phone.endpoint();
  std::vector<proxy::OutboundRequest> out;
  const transport::Target peerLink;  // named: GCC 12 at -O3 warns on an empty {} here
  out.push_back({parse(request("INVITE", "chain-6", "a1", "", 1, offer(phone.endpoint()))),
                 peerLink, true, proxy::FarPeer{"unknown", std::nullopt}});
  std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> sent;
  anchor->onRequestOut(source, std::move(out), [&](auto r) { sent = std::move(r); });
  ASSERT_TRUE(sent && *sent);
  EXPECT_EQ(third->picks, 0);
  const auto& toPeer = (**sent).front().request;
  EXPECT_EQ(toPeer.body().find("x-p2psip-path"), std::string_view::npos);
  EXPECT_NE(toPeer.body().find("a=x-p2psip-nat:symmetric"), std::string_view::npos);
}

// A late offer (INVITE without SDP) to a far peer behind a symmetric NAT: the caller readies the
// third relay's streams before the INVITE leaves, the offer in the 2xx takes one, the other goes
// back, and the answer in the ACK sends the far peer to the third relay.
TEST_F(RelayChainTest, ALateOfferIsRelayedThroughTheStreamsReadiedWithTheInvite) {
  anchor->setReachability(NatClass::Symmetric, ip("127.0.0.2"));
  Phone phone("127.0.0.1");
  Phone farRelay("127.0.0.2");
  proxy::MessageSource source;
  source.flow.remote = phone.endpoint();
  std::vector<proxy::OutboundRequest> out;
  transport::Target peer;
  peer.peerIdentity = "cc33";
  out.push_back({parse(request("INVITE", "chain-7", "a1", "", 1, "")), peer, true,
                 proxy::FarPeer{"symmetric", ip("127.0.0.2")}});
  std::optional<tl::expected<std::vector<proxy::OutboundRequest>, proxy::MediaRefusal>> sent;
  anchor->onRequestOut(source, std::move(out), [&](auto r) { sent = std::move(r); });
  deliverReplies();
  ASSERT_TRUE(sent.has_value() && *sent);
  EXPECT_TRUE((**sent).front().request.body().empty()) << "the INVITE leaves as it came";
  EXPECT_EQ(third->service.streamsOf(kOurNode), 2u) << "audio and video readied";

  // The far peer's phone offers audio only in its 2xx.
  auto ok = parse(response(200, "INVITE", "chain-7", "a1", 1, offer(farRelay.endpoint())));
  anchor->onResponseOut(ok, true);
  deliverReplies();
  EXPECT_EQ(ok.body().find("x-p2psip"), std::string_view::npos);
  const auto phoneSends = endpointsIn(ok.body());
  ASSERT_EQ(phoneSends.size(), 1u);
  EXPECT_EQ(phoneSends[0].address, ip("127.0.0.1"));
  EXPECT_EQ(third->service.streamsOf(kOurNode), 1u) << "the unused stream went back";

  // Our phone answers in the ACK; the far peer is sent to the third relay.
  proxy::OutboundRequest ack{
      parse(request("ACK", "chain-7", "a1", "bobtag", 1, offer(phone.endpoint()))), peer, true};
  anchor->onAckOut(source, ack);
  EXPECT_NE(ack.request.body().find("a=x-p2psip-path:relayed"), std::string_view::npos);
  const auto farSends = endpointsIn(ack.request.body());
  ASSERT_EQ(farSends.size(), 1u);
  EXPECT_EQ(farSends[0].address, ip("127.0.0.3"));
  for (std::uint16_t seq = 1; seq <= 5; ++seq) phone.sendRtp(phoneSends[0], seq);
  EXPECT_EQ(farRelay.receiveMediaCount(5), 5);
  for (std::uint16_t seq = 1; seq <= 5; ++seq) farRelay.sendRtp(farSends[0], seq);
  EXPECT_EQ(phone.receiveMediaCount(5), 5);

  auto bye = parse(request("BYE", "chain-7", "a1", "bobtag", 2, ""));
  std::vector<proxy::OutboundRequest> byes;
  byes.push_back({std::move(bye), {}, false});
  anchor->onRequestOut(proxy::MessageSource{}, std::move(byes), [](auto) {});
  deliverReplies();
  EXPECT_EQ(third->service.streamsOf(kOurNode), 0u);
}

}  // namespace
}  // namespace p2psip::anchor
