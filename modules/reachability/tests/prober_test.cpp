// SPDX-License-Identifier: Apache-2.0
// Prober against in-process reflectors over loopback (127.0.0.1 probing 127.0.0.2 and
// 127.0.0.3, one EventLoop), and against silent endpoints with a ManualTimerService.
#include "p2psip/reachability/prober.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include "p2psip/common/timer_queue.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/reachability/reflector.h"
#include "p2psip/reachability/stun_message.h"

using namespace std::chrono_literals;

namespace p2psip::reachability {
namespace {

net::Endpoint ep(const char* text) {
  return *net::Endpoint::parse(text);
}

// A bound socket that never answers: requests to it vanish without an ICMP error.
class Silent {
 public:
  Silent(net::EventLoop& loop, const char* address) : socket_(loop.context()) {
    socket_.open(asio::ip::udp::v4());
    socket_.bind({asio::ip::make_address(address), 0});
    socket_.non_blocking(true);
  }
  net::Endpoint endpoint() const { return net::Endpoint::fromAsio(socket_.local_endpoint()); }
  // Datagrams received so far (read without blocking).
  int drain() {
    int n = 0;
    std::array<char, 2048> buffer{};
    asio::ip::udp::endpoint from;
    asio::error_code ec;
    while (socket_.receive_from(asio::buffer(buffer), from, 0, ec), !ec) ++n;
    return n;
  }
  void sendTo(const std::string& bytes, const net::Endpoint& to) {
    socket_.send_to(asio::buffer(bytes), to.toUdp());
  }

 private:
  asio::ip::udp::socket socket_;
};

class ProberTest : public ::testing::Test {
 protected:
  std::unique_ptr<Reflector> startReflector(const char* address, TimerService& clock) {
    ReflectorConfig config;
    config.primary = ep(address);
    auto r = std::make_unique<Reflector>(loop_, clock, metrics_, config);
    auto ok = r->start();
    EXPECT_TRUE(ok) << ok.error().detail;
    return r;
  }
  std::uint64_t counter(const char* name) { return metrics_.counter(name).value(); }

  net::EventLoop loop_;
  MetricsRegistry metrics_;
};

TEST_F(ProberTest, LoopbackPeerIsPublic) {
  net::AsioTimerService timers(loop_);
  auto r1 = startReflector("127.0.0.2:0", timers);
  auto r2 = startReflector("127.0.0.3:0", timers);
  ProberConfig config;
  config.local = ep("127.0.0.1:0");
  config.reflectors = {r1->primaryEndpoint(), r2->primaryEndpoint()};
  config.initialRto = 50ms;
  Prober prober(loop_, timers, metrics_, config);
  std::optional<Reachability> result;
  ASSERT_TRUE(prober.start([&](const Reachability& r) { result = r; }));
  ASSERT_NE(prober.localEndpoint().port, 0);
  ASSERT_TRUE(loop_.runUntil([&] { return result.has_value(); }, 5s));

  EXPECT_EQ(result->local, prober.localEndpoint());
  EXPECT_FALSE(result->natted);
  EXPECT_EQ(result->observed, (std::vector<net::Endpoint>{prober.localEndpoint()}));
  EXPECT_EQ(result->mapping, MappingBehavior::EndpointIndependent);
  EXPECT_EQ(result->filtering, FilteringBehavior::Open);
  EXPECT_EQ(result->natClass, NatClass::Public);
  ASSERT_EQ(result->outcomes.size(), 3u);
  const auto& cp = result->outcomes[2];
  EXPECT_TRUE(cp.changePort);
  EXPECT_EQ(cp.reflector, r1->primaryEndpoint());
  EXPECT_EQ(cp.answeredFrom, r1->alternateEndpoint());
  EXPECT_EQ(counter("p2psip_reachability_change_port_answers_total"), 1u);
  EXPECT_EQ(counter("p2psip_reachability_probes_total"), 1u);
}

TEST_F(ProberTest, OneSilentReflectorDegradesToUnknownMappingAndSaysSo) {
  net::AsioTimerService timers(loop_);
  auto r1 = startReflector("127.0.0.2:0", timers);
  Silent silent(loop_, "127.0.0.3");
  ProberConfig config;
  config.local = ep("127.0.0.1:0");
  config.reflectors = {r1->primaryEndpoint(), silent.endpoint()};
  config.initialRto = 10ms;
  config.maxTransmissions = 3;
  config.finalWaitFactor = 2;
  Prober prober(loop_, timers, metrics_, config);
  std::optional<Reachability> result;
  ASSERT_TRUE(prober.start([&](const Reachability& r) { result = r; }));
  ASSERT_TRUE(loop_.runUntil([&] { return result.has_value(); }, 5s));
  EXPECT_EQ(result->mapping, MappingBehavior::Unknown);
  // Not translated and reached through r1's other port: still Public.
  EXPECT_EQ(result->natClass, NatClass::Public);
  EXPECT_FALSE(result->outcomes[1].succeeded());
  EXPECT_EQ(result->outcomes[1].transmissions, 3u);
  ASSERT_FALSE(result->notes.empty());
  EXPECT_NE(result->notes.front().find("only 1"), std::string::npos);
  EXPECT_EQ(silent.drain(), 3);
}

TEST_F(ProberTest, NoAnswerRetransmitsOnTheRfcScheduleThenGivesUp) {
  ManualTimerService timers;
  Silent s1(loop_, "127.0.0.2");
  Silent s2(loop_, "127.0.0.3");
  ProberConfig config;  // RTO 100 ms, Rc 5, Rm 4
  config.local = ep("127.0.0.1:0");
  config.reflectors = {s1.endpoint(), s2.endpoint()};
  Prober prober(loop_, timers, metrics_, config);
  std::optional<Reachability> result;
  ASSERT_TRUE(prober.start([&](const Reachability& r) { result = r; }));
  const auto sent = [&] { return counter("p2psip_reachability_probe_requests_sent_total"); };
  EXPECT_EQ(sent(), 3u);  // r1 plain, r2 plain, r1 change-port
  // RFC 5389 §7.2.1: transmissions at 0, RTO, 3 RTO, 7 RTO, 15 RTO.
  timers.advance(99ms);
  EXPECT_EQ(sent(), 3u);
  timers.advance(1ms);
  EXPECT_EQ(sent(), 6u);
  timers.advance(200ms);
  EXPECT_EQ(sent(), 9u);
  timers.advance(400ms);
  EXPECT_EQ(sent(), 12u);
  timers.advance(800ms);
  EXPECT_EQ(sent(), 15u);
  // Then Rm x RTO = 400 ms of silence: nothing more is sent, and the probe ends at 1.9 s.
  timers.advance(399ms);
  loop_.poll();
  EXPECT_FALSE(result);
  timers.advance(1ms);
  EXPECT_FALSE(result);  // the completion is posted to the loop, not called from the timer
  loop_.poll();
  ASSERT_TRUE(result);
  EXPECT_EQ(timers.pending(), 0u);
  timers.advance(10s);
  EXPECT_EQ(sent(), 15u);
  EXPECT_EQ(counter("p2psip_reachability_probe_retransmissions_total"), 12u);
  EXPECT_EQ(counter("p2psip_reachability_probe_timeouts_total"), 3u);
  EXPECT_EQ(s1.drain(), 10);  // plain + change-port, 5 each
  EXPECT_EQ(s2.drain(), 5);

  EXPECT_EQ(result->natClass, NatClass::Unknown);
  EXPECT_EQ(result->mapping, MappingBehavior::Unknown);
  EXPECT_EQ(result->filtering, FilteringBehavior::Unknown);
  EXPECT_TRUE(result->observed.empty());
  EXPECT_FALSE(result->notes.empty());
  for (const auto& o : result->outcomes) EXPECT_EQ(o.transmissions, 5u);
}

TEST_F(ProberTest, StrayAndForgedResponsesAreIgnored) {
  ManualTimerService timers;
  Silent s1(loop_, "127.0.0.2");
  Silent s2(loop_, "127.0.0.3");
  ProberConfig config;
  config.local = ep("127.0.0.1:0");
  config.reflectors = {s1.endpoint(), s2.endpoint()};
  Prober prober(loop_, timers, metrics_, config);
  std::optional<Reachability> result;
  ASSERT_TRUE(prober.start([&](const Reachability& r) { result = r; }));
  s1.sendTo("garbage", prober.localEndpoint());
  StunMessage forged;  // well-formed, but a transaction ID we never used
  forged.messageClass = StunClass::SuccessResponse;
  forged.xorMappedAddress = ep("203.0.113.9:1");
  s1.sendTo(encodeStun(forged), prober.localEndpoint());
  StunMessage request;  // a request is not an answer
  s1.sendTo(encodeStun(request), prober.localEndpoint());
  ASSERT_TRUE(loop_.runUntil(
      [&] { return counter("p2psip_reachability_probe_responses_ignored_total") == 3; }, 2s));
  timers.advance(2s);
  loop_.poll();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->observed.empty());
}

TEST_F(ProberTest, DestroyingTheProberCancelsIt) {
  ManualTimerService timers;
  Silent s1(loop_, "127.0.0.2");
  Silent s2(loop_, "127.0.0.3");
  ProberConfig config;
  config.local = ep("127.0.0.1:0");
  config.reflectors = {s1.endpoint(), s2.endpoint()};
  bool called = false;
  {
    Prober prober(loop_, timers, metrics_, config);
    ASSERT_TRUE(prober.start([&](const Reachability&) { called = true; }));
    timers.advance(150ms);
  }
  EXPECT_EQ(timers.pending(), 0u);
  timers.advance(10s);
  loop_.poll();
  EXPECT_FALSE(called);

  // Also when the completion is already posted: destroyed before the loop runs it.
  auto prober = std::make_unique<Prober>(loop_, timers, metrics_, config);
  ASSERT_TRUE(prober->start([&](const Reachability&) { called = true; }));
  timers.advance(2s);
  prober.reset();
  loop_.poll();
  EXPECT_FALSE(called);
}

TEST_F(ProberTest, CompletionMayDestroyTheProber) {
  net::AsioTimerService timers(loop_);
  auto r1 = startReflector("127.0.0.2:0", timers);
  auto r2 = startReflector("127.0.0.3:0", timers);
  ProberConfig config;
  config.local = ep("127.0.0.1:0");
  config.reflectors = {r1->primaryEndpoint(), r2->primaryEndpoint()};
  auto prober = std::make_unique<Prober>(loop_, timers, metrics_, config);
  std::optional<NatClass> natClass;
  ASSERT_TRUE(prober->start([&](const Reachability& r) {
    natClass = r.natClass;
    prober.reset();
  }));
  ASSERT_TRUE(loop_.runUntil([&] { return natClass.has_value(); }, 5s));
  EXPECT_EQ(natClass, NatClass::Public);
  EXPECT_FALSE(prober);
}

TEST_F(ProberTest, StartRefusesBadConfigAndSecondStart) {
  ManualTimerService timers;
  ProberConfig bad;
  bad.local = ep("0.0.0.0:0");
  bad.reflectors = {ep("127.0.0.2:3478")};
  Prober unbound(loop_, timers, metrics_, bad);
  auto ok = unbound.start([](const Reachability&) {});
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::InvalidArgument);

  ProberConfig good = bad;
  good.local = ep("127.0.0.1:0");
  Prober prober(loop_, timers, metrics_, good);
  ASSERT_TRUE(prober.start([](const Reachability&) {}));
  EXPECT_FALSE(prober.start([](const Reachability&) {}));
}

TEST_F(ProberTest, AReflectorConnectsBackToSayWhetherInboundLinksReachUs) {
  net::AsioTimerService timers(loop_);
  auto r1 = startReflector("127.0.0.2:0", timers);
  auto r2 = startReflector("127.0.0.3:0", timers);
  // Our "peer-link listener": a TCP port that accepts.
  asio::ip::tcp::acceptor listener(loop_.context(),
                                   asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto listening = listener.local_endpoint().port();
  // And a port where nothing listens: connections are refused.
  std::uint16_t closed = 0;
  {
    asio::ip::tcp::acceptor probe(loop_.context(),
                                  asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    closed = probe.local_endpoint().port();
  }
  for (const auto& [port, expected] :
       {std::pair{listening, InboundLinks::Accepted}, std::pair{closed, InboundLinks::Refused}}) {
    ProberConfig config;
    config.local = ep("127.0.0.1:0");
    config.reflectors = {r1->primaryEndpoint(), r2->primaryEndpoint()};
    config.initialRto = 50ms;
    config.connectBackPort = port;
    Prober prober(loop_, timers, metrics_, config);
    std::optional<Reachability> result;
    ASSERT_TRUE(prober.start([&](const Reachability& r) { result = r; }));
    ASSERT_TRUE(loop_.runUntil([&] { return result.has_value(); }, 10s));
    EXPECT_EQ(result->inboundLinks, expected) << "port " << port;
    EXPECT_EQ(result->acceptsInboundLinks(), expected == InboundLinks::Accepted);
    // The extra Binding to the first reflector does not count as a second mapping observation.
    EXPECT_EQ(result->mapping, MappingBehavior::EndpointIndependent);
    EXPECT_EQ(result->natClass, NatClass::Public);
    ASSERT_EQ(result->outcomes.size(), 4u);
    EXPECT_TRUE(result->outcomes[3].connectBack);
  }
  EXPECT_EQ(counter("p2psip_reachability_connect_backs_accepted_total"), 1u);
  EXPECT_EQ(counter("p2psip_reachability_connect_backs_not_accepted_total"), 1u);
}

TEST_F(ProberTest, AReflectorAtItsConnectBackLimitSaysNotTriedAndTheAnswerIsUnknown) {
  net::AsioTimerService timers(loop_);
  ReflectorConfig reflectorConfig;
  reflectorConfig.primary = ep("127.0.0.2:0");
  reflectorConfig.maxConnectBacks = 0;
  Reflector reflector(loop_, timers, metrics_, reflectorConfig);
  ASSERT_TRUE(reflector.start());
  ProberConfig config;
  config.local = ep("127.0.0.1:0");
  config.reflectors = {reflector.primaryEndpoint()};
  config.initialRto = 50ms;
  config.connectBackPort = 9;
  Prober prober(loop_, timers, metrics_, config);
  std::optional<Reachability> result;
  ASSERT_TRUE(prober.start([&](const Reachability& r) { result = r; }));
  ASSERT_TRUE(loop_.runUntil([&] { return result.has_value(); }, 10s));
  EXPECT_EQ(result->inboundLinks, InboundLinks::Unknown);
  EXPECT_EQ(counter("p2psip_reachability_connect_backs_not_tried_total"), 1u);
  // Unknown falls back to what the classification implies.
  EXPECT_EQ(result->acceptsInboundLinks(), !result->natted && result->natClass == NatClass::Public);
}

}  // namespace
}  // namespace p2psip::reachability
