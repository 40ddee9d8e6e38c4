// SPDX-License-Identifier: Apache-2.0
// The relay end to end on loopback: phone A on 127.0.0.1 talks to leg A (bound on 127.0.0.1),
// phone B (the overlay side) on 127.0.0.2 talks to leg B (bound on 127.0.0.2). The test thread
// plays the signalling thread. No timing assertions: waits are bounded, checks are on counts.
// Every case runs with both media thread backends (RelayConfig::ioBackend); the io_uring ones
// are skipped where the kernel refuses io_uring.
#include "p2psip/media/relay_engine.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <spdlog/sinks/ostream_sink.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <cstddef>
#include <cstdlib>
#include <sstream>
#include <thread>

#include "relay_test_support.h"

namespace p2psip::media {

// For gtest's messages ("where GetParam() = io_uring").
static void PrintTo(IoBackend backend, std::ostream* out) {
  *out << toString(backend);
}

namespace {

using namespace std::chrono_literals;
using testing::Datagram;
using testing::eventually;
using testing::ip;
using testing::Phone;
using testing::PhoneWithRtcp;
using testing::rtcpReceiverReport;
using testing::rtpPacket;
using testing::SignallingQueue;

constexpr std::uint32_t kSsrcA = 0xaaaa0001;
constexpr std::uint32_t kSsrcB = 0xbbbb0002;

net::Endpoint rtcpOf(net::Endpoint rtp) {
  rtp.port = static_cast<std::uint16_t>(rtp.port + 1);
  return rtp;
}

// Whether this kernel lets a media thread use io_uring (probed once, with an engine that binds
// nothing).
bool ioUringUsable() {
  static const bool usable = [] {
    RelayConfig probe;
    probe.addresses = {ip("127.0.0.1")};
    MetricsRegistry metrics;
    RelayEngine engine(
        probe, [](std::function<void()>) {}, metrics, Logger{});
    return engine.start() && engine.ioBackend() == IoBackend::IoUring;
  }();
  return usable;
}

class RelayEngineTest : public ::testing::TestWithParam<IoBackend> {
 protected:
  void SetUp() override {
    if (GetParam() == IoBackend::IoUring && !ioUringUsable()) {
      GTEST_SKIP() << "io_uring is not available here";
    }
    config.ioBackend = GetParam();
  }

  // Each test picks its own port range (below the ephemeral ports) so that test processes run
  // in parallel do not compete for ports; the io_uring case of a test 3000 ports higher.
  static std::uint16_t ports(std::uint16_t portMin) {
    return static_cast<std::uint16_t>(portMin + (GetParam() == IoBackend::IoUring ? 3000 : 0));
  }

  void startEngine(std::uint16_t portMin, std::size_t pairs = 8) {
    config.portMin = ports(portMin);
    config.portMax = static_cast<std::uint16_t>(config.portMin + 2 * pairs - 1);
    if (config.addresses.empty()) config.addresses = {ip("127.0.0.1"), ip("127.0.0.2")};
    engine = std::make_unique<RelayEngine>(config, signalling.poster(), metrics, Logger{});
    engine->onTimeout([this](StreamId id) {
      timedOut.push_back(id);
      timeoutThreads.push_back(std::this_thread::get_id());
    });
    engine->onLatch([this](StreamId, Side side, const net::Endpoint& source) {
      latches.emplace_back(side, source);
    });
    auto started = engine->start();
    ASSERT_TRUE(started) << started.error().detail;
    EXPECT_EQ(engine->ioBackend(), GetParam());
  }

  static LegConfig legA(std::optional<net::Endpoint> remote = std::nullopt) {
    return LegConfig{.local = ip("127.0.0.1"), .remote = remote};
  }
  static LegConfig legB(std::optional<net::Endpoint> remote = std::nullopt) {
    return LegConfig{.local = ip("127.0.0.2"), .remote = remote};
  }

  AllocatedStream allocate(const LegConfig& a, const LegConfig& b) {
    auto stream = engine->allocate(a, b);
    if (!stream) ADD_FAILURE() << stream.error().detail;
    return *stream;
  }

  // Sends one RTP packet from `from` to `to` and expects it, byte for byte, at `at` from `via`.
  void expectRelayed(const Phone& from, const net::Endpoint& to, const Phone& at,
                     const net::Endpoint& via, std::uint16_t seq, std::uint32_t ssrc) {
    const auto packet = rtpPacket(seq, seq * 160U, ssrc);
    from.send(to, packet);
    const auto got = at.receive();
    ASSERT_TRUE(got) << "nothing relayed to " << at.endpoint().toString();
    EXPECT_EQ(got->bytes, packet);
    EXPECT_EQ(got->source, via);
  }

  // Counters are published after each batch is sent, so a test that has just received a packet
  // waits (bounded) for them to catch up.
  StreamStats statsOnce(StreamId id, const std::function<bool(const StreamStats&)>& ready) {
    EXPECT_TRUE(eventually([&] { return ready(statsOf(id)); })) << "counters never caught up";
    return statsOf(id);
  }

  StreamStats statsOf(StreamId id) {
    auto s = engine->stats(id);
    if (!s) ADD_FAILURE() << "no stats for stream " << id.value;
    return s.value_or(StreamStats{});
  }

  RelayConfig config;
  SignallingQueue signalling;
  MetricsRegistry metrics;
  std::unique_ptr<RelayEngine> engine;
  std::vector<StreamId> timedOut;
  std::vector<std::thread::id> timeoutThreads;
  std::vector<std::pair<Side, net::Endpoint>> latches;
};

TEST_P(RelayEngineTest, RelaysRtpFromPhoneAToPhoneBAndBack) {
  startEngine(22000);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  EXPECT_EQ(s.legA.address, ip("127.0.0.1"));
  EXPECT_EQ(s.legB.address, ip("127.0.0.2"));
  EXPECT_EQ(s.legA.port % 2, 0);

  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);
  expectRelayed(phoneB, s.legB, phoneA, s.legA, 1, kSsrcB);
  expectRelayed(phoneA, s.legA, phoneB, s.legB, 2, kSsrcA);

  const auto st =
      statsOnce(s.id, [](const auto& x) { return x.aToB.packets == 2 && x.bToA.packets == 1; });
  EXPECT_EQ(st.aToB.bytes, 2U * 172);
  EXPECT_TRUE(st.aToB.lastActivity.has_value());
  EXPECT_TRUE(eventually([&] { return engine->totals().packetsForwarded == 3; }));
  EXPECT_EQ(engine->active(), 1U);
}

TEST_P(RelayEngineTest, RelaysRtcpBetweenThePortsAboveRtp) {
  startEngine(22020);
  // RFC 3550 §11: each phone's RTCP is on its RTP port + 1, which is where the relay sends it.
  auto phoneA = PhoneWithRtcp::bind("127.0.0.1", 24000);
  auto phoneB = PhoneWithRtcp::bind("127.0.0.2", 24000);
  const auto s = allocate(legA(phoneA.rtp.endpoint()), legB(phoneB.rtp.endpoint()));

  const auto report = rtcpReceiverReport(kSsrcA);
  phoneA.rtcp.send(rtcpOf(s.legA), report);
  auto got = phoneB.rtcp.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, report);
  EXPECT_EQ(got->source, rtcpOf(s.legB));

  const auto back = rtcpReceiverReport(kSsrcB);
  phoneB.rtcp.send(rtcpOf(s.legB), back);
  got = phoneA.rtcp.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, back);
  EXPECT_EQ(got->source, rtcpOf(s.legA));

  EXPECT_TRUE(phoneB.rtp.drain(50ms).empty());  // RTCP stays on the RTCP ports
  const auto st = statsOnce(
      s.id, [](const auto& x) { return x.aToB.rtcpPackets == 1 && x.bToA.rtcpPackets == 1; });
  EXPECT_EQ(st.aToB.packets, 0U);
}

TEST_P(RelayEngineTest, RtpRtcpMultiplexedOnOnePortIsRelayedOnIt) {
  startEngine(22040);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  const auto report = rtcpReceiverReport(kSsrcA);  // RFC 5761: RTCP on the RTP port
  phoneA.send(s.legA, report);
  const auto got = phoneB.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, report);
  EXPECT_EQ(got->source, s.legB);
}

TEST_P(RelayEngineTest, LatchesToThePortThePhoneReallySendsFrom) {
  startEngine(22060);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  // The SDP names the right IP but a port nothing listens on (a NAT mapped another one).
  const net::Endpoint sdpA{ip("127.0.0.1"), 9};
  const auto s = allocate(legA(sdpA), legB(phoneB.endpoint()));
  EXPECT_FALSE(statsOf(s.id).a.latched);

  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);  // latches leg A
  expectRelayed(phoneB, s.legB, phoneA, s.legA, 1, kSsrcB);  // so this reaches the phone

  ASSERT_TRUE(signalling.drainUntil([&] { return !latches.empty(); }));
  EXPECT_EQ(latches.front().first, Side::A);
  EXPECT_EQ(latches.front().second, phoneA.endpoint());
  const auto st = statsOf(s.id);
  EXPECT_TRUE(st.a.latched);
  EXPECT_EQ(st.a.remote, phoneA.endpoint());
  EXPECT_GE(engine->totals().latches, 1U);
}

TEST_P(RelayEngineTest, APhoneBehindNatLatchesFromAnotherAddressWhenAllowed) {
  startEngine(22080);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  LegConfig a = legA(net::Endpoint{ip("127.0.0.10"), 4000});  // private address in its SDP
  a.latch = LatchPolicy::AnyAddress;
  const auto s = allocate(a, legB(phoneB.endpoint()));
  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);
  expectRelayed(phoneB, s.legB, phoneA, s.legA, 1, kSsrcB);
}

TEST_P(RelayEngineTest, ASourceOutsideTheSdpAddressCannotLatch) {
  startEngine(22100);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  Phone stranger("127.0.0.66");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));

  stranger.send(s.legA, rtpPacket(1, 160, 0x66666666));
  EXPECT_TRUE(phoneB.drain(100ms).empty());
  ASSERT_TRUE(eventually([&] { return statsOf(s.id).aToB.refused == 1; }));

  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);
  EXPECT_EQ(statsOf(s.id).a.remote, phoneA.endpoint());
}

TEST_P(RelayEngineTest, AStrangerCannotHijackALatchedStream) {
  config.relatchSilence = 10s;  // longer than the test: the phone never counts as silent
  startEngine(22120);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  Phone sameHost("127.0.0.1");  // behind the same NAT as the phone, say
  Phone elsewhere("127.0.0.66");
  const auto s = allocate(legA(), legB(phoneB.endpoint()));  // A's address not known yet

  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);  // first valid source latches

  // Attempts to take the stream over: another SSRC, the right SSRC (sniffed) from the same IP,
  // the right SSRC from elsewhere, and RTCP from elsewhere.
  sameHost.send(s.legA, rtpPacket(2, 320, 0x66666666));
  sameHost.send(s.legA, rtpPacket(2, 320, kSsrcA));
  elsewhere.send(s.legA, rtpPacket(2, 320, kSsrcA));
  elsewhere.send(rtcpOf(s.legA), rtcpReceiverReport(kSsrcA));
  ASSERT_TRUE(eventually([&] { return statsOf(s.id).aToB.refused == 4; }));
  EXPECT_TRUE(phoneB.drain(50ms).empty());

  // Media from B still goes to the real phone, and its own packets still flow.
  expectRelayed(phoneB, s.legB, phoneA, s.legA, 1, kSsrcB);
  EXPECT_TRUE(sameHost.drain(50ms).empty());
  EXPECT_TRUE(elsewhere.drain(10ms).empty());
  expectRelayed(phoneA, s.legA, phoneB, s.legB, 3, kSsrcA);

  signalling.drain();  // the latch report
  const auto st = statsOnce(s.id, [](const auto& x) { return x.aToB.packets == 2; });
  EXPECT_TRUE(st.a.latched);
  EXPECT_EQ(st.a.remote, phoneA.endpoint());
  EXPECT_EQ(st.aToB.dropped, 4U);
  EXPECT_TRUE(eventually([&] { return engine->totals().packetsRefused == 4; }));
  EXPECT_EQ(metrics.counter("p2psip_media_packets_refused_total").value(), 4U);
}

TEST_P(RelayEngineTest, AFixedLegAcceptsOnlyItsRemote) {
  startEngine(22140);
  Phone phoneA("127.0.0.1");
  Phone farRelay("127.0.0.2");
  Phone impostor("127.0.0.2");
  LegConfig b = legB(farRelay.endpoint());
  b.latch = LatchPolicy::Fixed;
  const auto s = allocate(legA(phoneA.endpoint()), b);
  impostor.send(s.legB, rtpPacket(1, 160, kSsrcB));
  EXPECT_TRUE(phoneA.drain(100ms).empty());
  expectRelayed(farRelay, s.legB, phoneA, s.legA, 1, kSsrcB);
  const auto st = statsOnce(s.id, [](const auto& x) { return x.bToA.packets == 1; });
  EXPECT_EQ(st.bToA.refused, 1U);
  EXPECT_FALSE(st.b.latched);
}

TEST_P(RelayEngineTest, ANatRebindingRelatchesAfterSilenceWithTheSameSsrc) {
  config.relatchSilence = 50ms;
  startEngine(22160);
  Phone phoneB("127.0.0.2");
  Phone oldMapping("127.0.0.1");
  Phone newMapping("127.0.0.1");
  const auto s = allocate(legA(oldMapping.endpoint()), legB(phoneB.endpoint()));
  expectRelayed(oldMapping, s.legA, phoneB, s.legB, 1, kSsrcA);
  std::this_thread::sleep_for(150ms);  // the old mapping has gone quiet for > relatchSilence

  expectRelayed(newMapping, s.legA, phoneB, s.legB, 2, kSsrcA);
  expectRelayed(phoneB, s.legB, newMapping, s.legA, 1, kSsrcB);
  EXPECT_TRUE(oldMapping.drain(50ms).empty());
  const auto latchesOfA = [&] {
    std::vector<net::Endpoint> out;
    for (const auto& [side, source] : latches) {
      if (side == Side::A) out.push_back(source);
    }
    return out;
  };
  ASSERT_TRUE(signalling.drainUntil([&] { return latchesOfA().size() == 2; }));
  EXPECT_EQ(latchesOfA().front(), oldMapping.endpoint());
  EXPECT_EQ(latchesOfA().back(), newMapping.endpoint());
  EXPECT_EQ(statsOf(s.id).a.remote, newMapping.endpoint());
}

TEST_P(RelayEngineTest, GarbageIsDroppedAndCountedAndTheRelayCarriesOn) {
  config.maxDatagramSize = 512;
  startEngine(22180);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));

  auto versionOne = rtpPacket(1, 160, kSsrcA);
  versionOne[0] = 0x40;
  auto badCsrc = rtpPacket(1, 160, kSsrcA, 4);
  badCsrc[0] = 0x8f;  // 15 CSRCs announced
  const std::vector<std::vector<std::uint8_t>> garbage = {
      {},                                             // empty datagram
      {0x80},                                         // one byte
      {'h', 'e', 'l', 'l', 'o', ' ', 's', 'i', 'p'},  // not RTP at all (version 1)
      versionOne,
      badCsrc,
      std::vector<std::uint8_t>(11, 0x80),               // under the fixed header
      rtpPacket(1, 160, kSsrcA, 1000),                   // larger than maxDatagramSize
      {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42},  // a STUN header (version 0)
  };
  for (const auto& g : garbage) phoneA.send(s.legA, g);
  phoneA.send(rtcpOf(s.legA), rtpPacket(1, 160, kSsrcA));  // RTP on the RTCP port
  ASSERT_TRUE(eventually([&] { return engine->totals().packetsMalformed == garbage.size() + 1; }));
  EXPECT_TRUE(phoneB.drain(50ms).empty());

  expectRelayed(phoneA, s.legA, phoneB, s.legB, 2, kSsrcA);
  const auto st = statsOnce(s.id, [](const auto& x) { return x.aToB.packets == 1; });
  EXPECT_EQ(st.aToB.malformed, garbage.size() + 1);
  EXPECT_FALSE(st.a.latched);  // garbage latches nothing; the phone was at its SDP address
  EXPECT_EQ(metrics.counter("p2psip_media_packets_malformed_total").value(), garbage.size() + 1);
}

TEST_P(RelayEngineTest, CountsLossFromSequenceNumbers) {
  startEngine(22200);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  int sent = 0;
  for (int seq = 100; seq <= 109; ++seq) {
    if (seq == 105 || seq == 106) continue;  // lost on the way to the relay
    phoneA.send(s.legA, rtpPacket(static_cast<std::uint16_t>(seq), seq * 160U, kSsrcA));
    ++sent;
    ASSERT_TRUE(phoneB.receive());
  }
  ASSERT_TRUE(eventually([&] { return statsOf(s.id).aToB.packets == 8; }));
  const auto st = statsOf(s.id);
  EXPECT_EQ(st.aToB.lost, 2);
  EXPECT_GE(st.aToB.jitterMs, 0.0);
  EXPECT_EQ(st.bToA.lost, 0);
  EXPECT_EQ(sent, 8);
}

TEST_P(RelayEngineTest, MediaWaitsForTheOtherSidesAddressThenFlows) {
  startEngine(22220);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  LegConfig b = legB();
  b.latch = LatchPolicy::Fixed;  // the far relay's address comes with the SDP answer
  const auto s = allocate(legA(phoneA.endpoint()), b);
  phoneA.send(s.legA, rtpPacket(1, 160, kSsrcA));  // early: nowhere to send it yet
  ASSERT_TRUE(eventually([&] { return statsOf(s.id).aToB.dropped == 1; }));

  ASSERT_TRUE(engine->setRemote(s.id, Side::B, phoneB.endpoint()));
  EXPECT_EQ(statsOf(s.id).b.remote, phoneB.endpoint());
  expectRelayed(phoneA, s.legA, phoneB, s.legB, 2, kSsrcA);
  expectRelayed(phoneB, s.legB, phoneA, s.legA, 1, kSsrcB);
  statsOnce(s.id, [](const auto& x) { return x.aToB.packets == 1 && x.bToA.packets == 1; });
}

TEST_P(RelayEngineTest, SetRemoteMovesTheMediaOfALatchedLeg) {
  startEngine(22240);
  Phone before("127.0.0.1");
  Phone after("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(before.endpoint()), legB(phoneB.endpoint()));
  expectRelayed(before, s.legA, phoneB, s.legB, 1, kSsrcA);
  ASSERT_TRUE(engine->setRemote(s.id, Side::A, after.endpoint()));  // re-INVITE
  expectRelayed(phoneB, s.legB, after, s.legA, 1, kSsrcB);
  EXPECT_EQ(engine->setRemote(StreamId{999}, Side::A, after.endpoint()).error().code,
            ErrorCode::NotFound);
  EXPECT_EQ(engine->setRemote(s.id, Side::A, net::Endpoint{ip("::1"), 4000}).error().code,
            ErrorCode::InvalidArgument);
}

TEST_P(RelayEngineTest, AnIdleStreamTimesOutAndIsReportedOnTheSignallingThread) {
  config.inactivityTimeout = 100ms;
  startEngine(22260, 4);
  const std::size_t allFree = engine->freePortPairs();
  EXPECT_EQ(allFree, 8U);  // 4 pairs on each of 2 addresses
  const auto s = allocate(legA(), legB());
  EXPECT_EQ(engine->freePortPairs(), allFree - 2);

  ASSERT_TRUE(signalling.drainUntil([&] { return !timedOut.empty(); }));
  ASSERT_EQ(timedOut.size(), 1U);
  EXPECT_EQ(timedOut.front(), s.id);
  EXPECT_EQ(timeoutThreads.front(), std::this_thread::get_id());
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_FALSE(engine->stats(s.id));
  EXPECT_EQ(engine->freePortPairs(), allFree);  // ports were back before the report
  EXPECT_EQ(engine->release(s.id).error().code, ErrorCode::NotFound);
  EXPECT_EQ(engine->totals().streamsTimedOut, 1U);
  EXPECT_EQ(metrics.gauge("p2psip_media_streams_active").value(), 0);
}

TEST_P(RelayEngineTest, MediaKeepsAStreamAlive) {
  config.inactivityTimeout = 1s;
  startEngine(22280);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  for (int i = 0; i < 75; ++i) {  // 1.5 s of media, every 20 ms
    phoneA.send(s.legA, rtpPacket(static_cast<std::uint16_t>(i), i * 160U, kSsrcA));
    std::this_thread::sleep_for(20ms);
    signalling.drain();
  }
  EXPECT_TRUE(timedOut.empty());
  EXPECT_TRUE(engine->stats(s.id));
  // And once it stops, it goes.
  ASSERT_TRUE(signalling.drainUntil([&] { return !timedOut.empty(); }));
}

TEST_P(RelayEngineTest, ReleaseReturnsPortsAndExhaustionIsLimitExceeded) {
  startEngine(22300, 4);
  std::vector<AllocatedStream> streams;
  while (true) {
    auto s = engine->allocate(legA(), legB());
    if (!s) {
      EXPECT_EQ(s.error().code, ErrorCode::LimitExceeded) << s.error().detail;
      break;
    }
    streams.push_back(*s);
    ASSERT_LE(streams.size(), 4U);
  }
  ASSERT_FALSE(streams.empty());
  EXPECT_EQ(engine->active(), streams.size());

  ASSERT_TRUE(engine->release(streams.front().id));
  EXPECT_EQ(engine->release(streams.front().id).error().code, ErrorCode::NotFound);
  EXPECT_EQ(engine->active(), streams.size() - 1);
  // The media thread closes the sockets, then the pairs are free again.
  ASSERT_TRUE(eventually([&] { return engine->freePortPairs(ip("127.0.0.1")) >= 1; }));
  ASSERT_TRUE(eventually([&] { return engine->freePortPairs(ip("127.0.0.2")) >= 1; }));
  auto again = engine->allocate(legA(), legB());
  ASSERT_TRUE(again) << again.error().detail;

  for (std::size_t i = 1; i < streams.size(); ++i) ASSERT_TRUE(engine->release(streams[i].id));
  ASSERT_TRUE(engine->release(again->id));
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_TRUE(eventually([&] { return engine->freePortPairs() == 8; }));
}

TEST_P(RelayEngineTest, MaxStreamsIsEnforced) {
  config.maxStreams = 2;
  startEngine(22320);
  ASSERT_TRUE(engine->allocate(legA(), legB()));
  ASSERT_TRUE(engine->allocate(legA(), legB()));
  auto third = engine->allocate(legA(), legB());
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::LimitExceeded);
}

TEST_P(RelayEngineTest, AReleasedStreamRelaysNothingMore) {
  startEngine(22340);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);
  ASSERT_TRUE(engine->release(s.id));
  ASSERT_TRUE(eventually([&] { return engine->freePortPairs() == 16; }));
  phoneA.send(s.legA, rtpPacket(2, 320, kSsrcA));
  EXPECT_TRUE(phoneB.drain(100ms).empty());
  EXPECT_FALSE(engine->stats(s.id));
}

TEST_P(RelayEngineTest, TheSocketsOfAReleasedStreamAreClosedForGood) {
  startEngine(22660, 1);  // one pair per address: a new stream gets the released one
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  expectRelayed(phoneA, s.legA, phoneB, s.legB, 1, kSsrcA);
  ASSERT_TRUE(engine->release(s.id));
  ASSERT_TRUE(eventually([&] { return engine->freePortPairs() == 2; }));
  // Nothing in the kernel holds them any more (no receive left armed on them): they bind again.
  EXPECT_TRUE(Phone::at(ip("127.0.0.1"), s.legA.port).has_value());
  EXPECT_TRUE(Phone::at(ip("127.0.0.2"), static_cast<std::uint16_t>(s.legB.port + 1)).has_value());
  const auto again = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  EXPECT_EQ(again.legA, s.legA);
  expectRelayed(phoneA, again.legA, phoneB, again.legB, 2, kSsrcA);
  expectRelayed(phoneB, again.legB, phoneA, again.legA, 1, kSsrcB);
  engine->stop();
  EXPECT_TRUE(Phone::at(ip("127.0.0.1"), again.legA.port).has_value()) << "stop() left it open";
  EXPECT_TRUE(Phone::at(ip("127.0.0.2"), again.legB.port).has_value()) << "stop() left it open";
}

TEST_P(RelayEngineTest, ABurstOfTenThousandPacketsIsRelayedInFull) {
  startEngine(22360);
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = allocate(legA(phoneA.endpoint()), legB(phoneB.endpoint()));
  constexpr int kPackets = 10'000;
  constexpr int kWindow = 64;  // in flight at most: the kernel's buffers never overflow
  int sent = 0;
  int received = 0;
  std::uint16_t expected = 0;
  bool inOrder = true;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (received < kPackets && std::chrono::steady_clock::now() < deadline) {
    while (sent < kPackets && sent - received < kWindow) {
      phoneA.send(s.legA, rtpPacket(static_cast<std::uint16_t>(sent), sent * 160U, kSsrcA));
      ++sent;
    }
    const auto got = phoneB.receive(1000ms);
    if (!got) continue;
    const std::uint16_t seq = static_cast<std::uint16_t>((got->bytes[2] << 8) | got->bytes[3]);
    inOrder = inOrder && seq == expected;
    ++expected;
    ++received;
  }
  EXPECT_EQ(received, kPackets);
  EXPECT_TRUE(inOrder);
  ASSERT_TRUE(eventually([&] { return statsOf(s.id).aToB.packets == kPackets; }));
  const auto st = statsOf(s.id);
  EXPECT_EQ(st.aToB.bytes, std::uint64_t{kPackets} * 172);
  EXPECT_EQ(st.aToB.lost, 0);
  EXPECT_EQ(st.aToB.dropped, 0U);
}

TEST_P(RelayEngineTest, SeveralMediaThreadsEachRelayTheirStreams) {
  config.workerThreads = 3;
  startEngine(22380);
  std::vector<Phone> as;
  std::vector<Phone> bs;
  std::vector<AllocatedStream> streams;
  for (int i = 0; i < 6; ++i) {
    as.emplace_back("127.0.0.1");
    bs.emplace_back("127.0.0.2");
    streams.push_back(allocate(legA(as.back().endpoint()), legB(bs.back().endpoint())));
  }
  for (int i = 0; i < 6; ++i) {
    expectRelayed(as[i], streams[i].legA, bs[i], streams[i].legB, 1, kSsrcA + i);
    expectRelayed(bs[i], streams[i].legB, as[i], streams[i].legA, 1, kSsrcB + i);
  }
  EXPECT_EQ(engine->snapshot().size(), 6U);
}

TEST_P(RelayEngineTest, BridgesIpv4PhonesToAnIpv6Side) {
  if (!Phone::at(ip("::1"), 0)) GTEST_SKIP() << "no IPv6 loopback";
  config.addresses = {ip("127.0.0.1"), ip("::1")};
  startEngine(22400);
  Phone phoneA("127.0.0.1");
  Phone farSide("::1");
  const auto s = allocate(legA(phoneA.endpoint()),
                          LegConfig{.local = ip("::1"), .remote = farSide.endpoint()});
  EXPECT_EQ(s.legB.address, ip("::1"));
  expectRelayed(phoneA, s.legA, farSide, s.legB, 1, kSsrcA);
  expectRelayed(farSide, s.legB, phoneA, s.legA, 1, kSsrcB);
}

TEST_P(RelayEngineTest, RefusesLegsItCannotServe) {
  startEngine(22420);
  auto unknown = engine->allocate(LegConfig{.local = ip("127.0.0.9")}, legB());
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::InvalidArgument);
  auto wrongFamily = engine->allocate(legA(net::Endpoint{ip("::1"), 4000}), legB());
  ASSERT_FALSE(wrongFamily);
  EXPECT_EQ(wrongFamily.error().code, ErrorCode::InvalidArgument);
  EXPECT_EQ(engine->freePortPairs(), 16U);  // nothing leaked by the failures
}

TEST_P(RelayEngineTest, NothingIsAllocatedBeforeStartOrAfterStop) {
  config.addresses = {ip("127.0.0.1"), ip("127.0.0.2")};
  config.portMin = ports(22440);
  config.portMax = static_cast<std::uint16_t>(config.portMin + 7);
  RelayEngine idle(config, signalling.poster(), metrics, Logger{});
  EXPECT_EQ(idle.allocate(legA(), legB()).error().code, ErrorCode::Unavailable);

  startEngine(22440, 4);
  Phone phoneA("127.0.0.1");
  const auto s = allocate(legA(), legB());
  phoneA.send(s.legA, rtpPacket(1, 160, kSsrcA));  // latches: a report is posted
  ASSERT_TRUE(eventually([&] { return engine->totals().latches >= 1; }));
  engine->stop();
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_EQ(engine->freePortPairs(), 8U);  // every socket closed
  signalling.drain();                      // what was posted before stop() does nothing now
  EXPECT_TRUE(latches.empty());
  EXPECT_EQ(engine->allocate(legA(), legB()).error().code, ErrorCode::Unavailable);
}

TEST_P(RelayEngineTest, AnInvalidConfigurationDoesNotStart) {
  config.addresses = {ip("127.0.0.1")};
  config.portMin = 22461;
  RelayEngine engine(config, signalling.poster(), metrics, Logger{});
  const auto started = engine.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::InvalidArgument);
}

TEST_P(RelayEngineTest, PostedReportsOutliveTheEngineHarmlessly) {
  config.inactivityTimeout = 20ms;
  startEngine(22480);
  allocate(legA(), legB());
  ASSERT_TRUE(eventually([&] { return engine->totals().streamsTimedOut == 1; }));
  engine.reset();      // the report is still queued
  signalling.drain();  // and runs after the engine is gone: nothing happens (ASan would tell)
  EXPECT_TRUE(timedOut.empty());
}

TEST_P(RelayEngineTest, AKeepAliveLegOpensTheWayToAFarRelayUntilItHearsIt) {
  config.inactivityTimeout = 3s;  // sweeps (and keepalives) every 750 ms
  startEngine(22500);
  Phone phoneA("127.0.0.1");
  Phone farRelay("127.0.0.2");
  LegConfig towardsFar = legB(farRelay.endpoint());
  towardsFar.keepAlive = true;
  const auto s = allocate(legA(phoneA.endpoint()), towardsFar);
  // RFC 6263 §4.6: payload-less RTP at the far relay, before any phone has spoken.
  auto first = farRelay.receive(1000ms);
  ASSERT_TRUE(first) << "no keepalive arrived";
  EXPECT_EQ(first->bytes.size(), 12u);
  EXPECT_EQ(first->bytes[0], 0x80);
  EXPECT_EQ(first->source, s.legB);
  EXPECT_TRUE(farRelay.receive(1000ms)) << "keepalives repeat while the far side is silent";

  // The far relay's own keepalive latches our leg but reaches no phone.
  farRelay.send(s.legB, std::vector<std::uint8_t>(first->bytes));
  EXPECT_TRUE(
      signalling.drainUntil([&] { return engine->stats(s.id) && engine->stats(s.id)->b.latched; }));
  EXPECT_FALSE(phoneA.receive(200ms)) << "a keepalive is never forwarded";
  EXPECT_EQ(metrics.counter("p2psip_media_keepalives_received_total").value(), 1u);
  // Heard: the keepalives stop, and real media flows both ways.
  farRelay.drain(300ms);
  EXPECT_FALSE(farRelay.receive(900ms)) << "keepalives go on after the far relay was heard";
  expectRelayed(phoneA, s.legA, farRelay, s.legB, 1, kSsrcA);
  expectRelayed(farRelay, s.legB, phoneA, s.legA, 1, kSsrcB);
}

TEST_P(RelayEngineTest, KeepalivesAloneDoNotKeepAStreamAlive) {
  config.inactivityTimeout = 200ms;
  startEngine(22520);
  Phone farRelay("127.0.0.2");
  LegConfig towardsFar = legB(farRelay.endpoint());
  towardsFar.keepAlive = true;
  const auto s = allocate(legA(), towardsFar);
  const std::vector<std::uint8_t> keepalive{0x80, 0x7f, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9};
  for (int i = 0; i < 10 && timedOut.empty(); ++i) {
    farRelay.send(s.legB, keepalive);
    std::this_thread::sleep_for(60ms);
    signalling.drain();
  }
  EXPECT_TRUE(signalling.drainUntil([&] { return !timedOut.empty(); }));
  EXPECT_EQ(timedOut.front(), s.id);
}

// Hole punching with a way out (LegConfig::fallback). Phone A is ours; the far relay is at
// 127.0.0.2 and a third peer's relay, the fallback, at 127.0.0.3.
class RelayFallbackTest : public RelayEngineTest {
 protected:
  void SetUp() override {
    RelayEngineTest::SetUp();
    config.inactivityTimeout = 2s;  // sweeps every 500 ms
  }
  LegConfig towardsFar(const Phone& far, const Phone& fallback, Duration after = 300ms) {
    LegConfig leg = legB(far.endpoint());
    leg.keepAlive = true;
    leg.fallback = fallback.endpoint();
    leg.fallbackAfter = after;
    return leg;
  }
  // Waits (bounded) for a payload-less keepalive from `from`, skipping nothing else.
  static bool keepaliveArrives(const Phone& at, const net::Endpoint& from) {
    for (int i = 0; i < 5; ++i) {
      auto got = at.receive(1000ms);
      if (!got) return false;
      if (got->bytes.size() == 12 && got->source == from) return true;
    }
    return false;
  }
};

TEST_P(RelayFallbackTest, AWorkingPunchKeepsTheDirectPathWhileTheFallbackIsProbed) {
  startEngine(22540);
  Phone phoneA("127.0.0.1");
  Phone farRelay("127.0.0.2");
  Phone fallback("127.0.0.3");
  // A trial long enough that a busy machine cannot end it before the far relay's keepalive.
  const auto s = allocate(legA(phoneA.endpoint()), towardsFar(farRelay, fallback, 1s));
  ASSERT_TRUE(keepaliveArrives(farRelay, s.legB)) << "no keepalive to the far relay";
  ASSERT_TRUE(keepaliveArrives(fallback, s.legB))
      << "the fallback relay is not probed, so our NAT would keep it out";
  // The far relay's keepalive is the connectivity check: the direct path works inbound.
  const std::vector<std::uint8_t> keepalive{0x80, 0x7f, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7};
  farRelay.send(s.legB, keepalive);
  EXPECT_TRUE(
      signalling.drainUntil([&] { return engine->stats(s.id) && engine->stats(s.id)->b.latched; }));
  std::this_thread::sleep_for(1600ms);  // past the 1 s trial, and a sweep or two
  signalling.drain();
  EXPECT_FALSE(statsOf(s.id).b.fellBack);
  EXPECT_EQ(metrics.counter("p2psip_media_fallbacks_total").value(), 0u);
  farRelay.drain(100ms);
  expectRelayed(phoneA, s.legA, farRelay, s.legB, 1, kSsrcA);
  expectRelayed(farRelay, s.legB, phoneA, s.legA, 1, kSsrcB);
}

TEST_P(RelayFallbackTest, ASilentDirectPathFallsBackToTheRelay) {
  startEngine(22560);
  Phone phoneA("127.0.0.1");
  Phone farRelay("127.0.0.2");  // behind a NAT that never lets our packets in: silent
  Phone fallback("127.0.0.3");
  const auto s = allocate(legA(phoneA.endpoint()), towardsFar(farRelay, fallback));
  EXPECT_TRUE(signalling.drainUntil([&] { return statsOf(s.id).b.fellBack; }))
      << "the leg never gave up the silent direct path";
  EXPECT_EQ(metrics.counter("p2psip_media_fallbacks_total").value(), 1u);
  EXPECT_EQ(statsOf(s.id).b.remote, fallback.endpoint());
  // It says so through the fallback, in case the far relay still hears us directly.
  bool announced = false;
  for (int i = 0; i < 5 && !announced; ++i) {
    auto got = fallback.receive(1000ms);
    announced = got && got->bytes.size() == 16 && got->bytes[1] == 0x7f &&
                std::string(got->bytes.begin() + 12, got->bytes.end()) == "p2pF";
  }
  EXPECT_TRUE(announced) << "no fallback announcement reached the fallback relay";
  // Media goes through the fallback relay both ways now.
  fallback.drain(200ms);
  farRelay.drain(10ms);
  expectRelayed(phoneA, s.legA, fallback, s.legB, 1, kSsrcA);
  expectRelayed(fallback, s.legB, phoneA, s.legA, 1, kSsrcB);
  // ... and the far relay, if it wakes up late, is a stranger now.
  const auto refused = metrics.counter("p2psip_media_packets_refused_total").value();
  farRelay.send(s.legB, rtpPacket(2, 320, kSsrcB));
  EXPECT_FALSE(phoneA.receive(300ms));
  EXPECT_TRUE(eventually([&] {
    return metrics.counter("p2psip_media_packets_refused_total").value() == refused + 1;
  }));
}

TEST_P(RelayFallbackTest, AnAnnouncementThroughTheFallbackMovesALegThatHeardTheFarRelay) {
  startEngine(22580);
  Phone phoneA("127.0.0.1");
  Phone farRelay("127.0.0.2");
  Phone fallback("127.0.0.3");
  Phone stranger("127.0.0.4");
  const auto s = allocate(legA(phoneA.endpoint()), towardsFar(farRelay, fallback, 1s));
  // We hear the far relay (our side of the punch works) ...
  expectRelayed(farRelay, s.legB, phoneA, s.legA, 1, kSsrcB);
  // ... but it never heard us, gave up, and announces it through the fallback relay: the leg
  // moves, and the announcement goes no further.
  const std::vector<std::uint8_t> announcement{0x80, 0x7f, 0, 1, 0,   0,   0,   0,
                                               0,    0,    0, 9, 'p', '2', 'p', 'F'};
  fallback.send(s.legB, announcement);
  EXPECT_TRUE(signalling.drainUntil([&] { return statsOf(s.id).b.fellBack; }));
  EXPECT_FALSE(phoneA.receive(200ms)) << "an announcement is not media";
  expectRelayed(fallback, s.legB, phoneA, s.legA, 2, kSsrcB);
  fallback.drain(200ms);
  expectRelayed(phoneA, s.legA, fallback, s.legB, 1, kSsrcA);
  // Only the fallback's own IP moves a leg: a stranger's media is refused.
  stranger.send(s.legB, rtpPacket(3, 480, kSsrcB));
  EXPECT_FALSE(phoneA.receive(300ms));
}

TEST_P(RelayFallbackTest, AFallbackThatDoesNotFitTheLegIsRefused) {
  startEngine(22600);
  Phone farRelay("127.0.0.2");
  LegConfig leg = legB(farRelay.endpoint());
  leg.fallback = net::Endpoint{ip("::1"), 4000};
  EXPECT_FALSE(engine->allocate(legA(), leg));
  leg.fallback = net::Endpoint{ip("127.0.0.3"), 0};
  EXPECT_FALSE(engine->allocate(legA(), leg));
  const auto s = allocate(legA(), legB(farRelay.endpoint()));
  EXPECT_FALSE(engine->setFallback(s.id, Side::B, net::Endpoint{ip("127.0.0.3"), 4000}, 0ms));
  EXPECT_TRUE(engine->setFallback(s.id, Side::B, net::Endpoint{ip("127.0.0.3"), 4000}, 300ms));
  EXPECT_FALSE(
      engine->setFallback(StreamId{999}, Side::B, net::Endpoint{ip("127.0.0.3"), 4000}, 300ms));
}

TEST_P(RelayFallbackTest, AFallbackLearntLaterFromTheAnswerStartsTheTrial) {
  startEngine(22620);
  Phone phoneA("127.0.0.1");
  Phone farRelay("127.0.0.2");
  Phone fallback("127.0.0.3");
  LegConfig leg = legB(farRelay.endpoint());
  leg.keepAlive = true;
  const auto s = allocate(legA(phoneA.endpoint()), leg);
  ASSERT_TRUE(engine->setFallback(s.id, Side::B, fallback.endpoint(), 300ms));
  EXPECT_TRUE(signalling.drainUntil([&] { return statsOf(s.id).b.fellBack; }));
  fallback.drain(200ms);
  expectRelayed(phoneA, s.legA, fallback, s.legB, 1, kSsrcA);
}

TEST_P(RelayEngineTest, AKeepAliveLegAlsoOpensTheWayForRtcpAndHidesTheFarRelaysOnes) {
  config.inactivityTimeout = 3s;
  startEngine(22640);
  auto phoneA = PhoneWithRtcp::bind("127.0.0.1", 26640);
  auto farRelay = PhoneWithRtcp::bind("127.0.0.2", 26740);
  LegConfig towardsFar = legB(farRelay.rtp.endpoint());
  towardsFar.keepAlive = true;
  const auto s = allocate(legA(phoneA.rtp.endpoint()), towardsFar);
  // An empty receiver report from our RTCP port (RTP port + 1) to the far relay's.
  std::optional<Datagram> report;
  for (int i = 0; i < 5 && !report; ++i) {
    auto got = farRelay.rtcp.receive(1000ms);
    if (got && got->bytes.size() == 8 && got->bytes[1] == 201) report = got;
  }
  ASSERT_TRUE(report) << "no RTCP keepalive reached the far relay";
  EXPECT_EQ(report->source, rtcpOf(s.legB));
  // The far relay's own RTCP keepalive latches our RTCP socket and goes no further.
  farRelay.rtcp.send(rtcpOf(s.legB), report->bytes);
  EXPECT_FALSE(phoneA.rtcp.receive(300ms)) << "a keepalive is not a report for the phone";
  // A phone's real report still goes through, both ways.
  const auto rr = rtcpReceiverReport(kSsrcB);
  farRelay.rtcp.send(rtcpOf(s.legB), rr);
  auto relayed = phoneA.rtcp.receive();
  ASSERT_TRUE(relayed);
  EXPECT_EQ(relayed->bytes, rr);
}

// As kernel.io_uring_disabled would: io_uring_setup fails with EPERM, for good, in this process.
void refuseIoUring() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program);
}

// Where the kernel refuses io_uring, start() says so and the media thread relays with epoll.
// Exits 0 if so; run in a child process, since the refusal cannot be lifted.
[[noreturn]] void relayWithoutIoUring() {
  refuseIoUring();
  std::ostringstream log;
  Logger logger(std::make_shared<spdlog::logger>(
      "media", std::make_shared<spdlog::sinks::ostream_sink_mt>(log)));
  RelayConfig config;  // ioBackend: IoUring
  config.addresses = {ip("127.0.0.1"), ip("127.0.0.2")};
  config.portMin = 22680;
  config.portMax = 22683;
  MetricsRegistry metrics;
  SignallingQueue signalling;
  RelayEngine engine(config, signalling.poster(), metrics, logger);
  const bool started = static_cast<bool>(engine.start());
  Phone phoneA("127.0.0.1");
  Phone phoneB("127.0.0.2");
  const auto s = engine.allocate(LegConfig{.local = ip("127.0.0.1"), .remote = phoneA.endpoint()},
                                 LegConfig{.local = ip("127.0.0.2"), .remote = phoneB.endpoint()});
  if (s) phoneA.send(s->legA, rtpPacket(1, 160, kSsrcA));
  const bool relayed = s && phoneB.receive().has_value();
  const bool said = log.str().find("io_uring unavailable") != std::string::npos;
  std::exit(started && engine.ioBackend() == IoBackend::Epoll && relayed && said ? 0 : 1);
}

TEST(RelayEngineBackendTest, WithoutIoUringItFallsBackToEpollAndSaysSo) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(relayWithoutIoUring(), ::testing::ExitedWithCode(0), "");
}

std::string backendName(const ::testing::TestParamInfo<IoBackend>& info) {
  return info.param == IoBackend::IoUring ? "IoUring" : "Epoll";
}

INSTANTIATE_TEST_SUITE_P(Backends, RelayEngineTest,
                         ::testing::Values(IoBackend::Epoll, IoBackend::IoUring), backendName);
INSTANTIATE_TEST_SUITE_P(Backends, RelayFallbackTest,
                         ::testing::Values(IoBackend::Epoll, IoBackend::IoUring), backendName);

}  // namespace
}  // namespace p2psip::media
