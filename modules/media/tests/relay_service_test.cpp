// SPDX-License-Identifier: Apache-2.0
// RelayService against a real RelayEngine on 127.0.0.1: requests go in as frames, as the peer
// link will deliver them, and RTP goes through the allocated legs. The test thread plays the
// signalling thread and the composition root (it forwards the engine's timeouts to the service).
#include "p2psip/media/relay_service.h"

#include <gtest/gtest.h>

#include "relay_test_support.h"

namespace p2psip::media {
namespace {

using namespace std::chrono_literals;
using namespace control;
using testing::eventually;
using testing::ip;
using testing::Phone;
using testing::rtpPacket;
using testing::SignallingQueue;

constexpr std::string_view kAlice =
    "a1ce0000000000000000000000000000000000000000000000000000000000a1";
constexpr std::string_view kBob =
    "b0b0000000000000000000000000000000000000000000000000000000000b0b";
constexpr std::string_view kMallory =
    "bad0000000000000000000000000000000000000000000000000000000000bad";

class RelayServiceTest : public ::testing::Test {
 protected:
  // Each test has its own port range so that test processes run in parallel do not collide.
  void start(std::uint16_t portMin, std::size_t pairs = 8) {
    relayConfig.portMin = portMin;
    relayConfig.portMax = static_cast<std::uint16_t>(portMin + 2 * pairs - 1);
    relayConfig.addresses = {ip("127.0.0.1")};
    engine = std::make_unique<RelayEngine>(relayConfig, signalling.poster(), metrics, Logger{});
    // The composition root's single timeout handler, forwarding to the service.
    engine->onTimeout([this](StreamId id) {
      if (service->onStreamTimedOut(id)) timedOut.push_back(id);
    });
    ASSERT_TRUE(engine->start());
    serviceConfig.addresses = {ip("127.0.0.1")};
    ASSERT_TRUE(validate(serviceConfig));
    service = std::make_unique<RelayService>(
        *engine, serviceConfig, [](std::string_view peer) { return peer != kMallory; }, metrics,
        Logger{});
  }

  // One request through the wire format, as the peer link will carry it.
  Message call(std::string_view peer, Message request) {
    const std::uint32_t id = ++nextRequestId;
    const std::string response = service->handle(peer, encode(Frame{id, std::move(request)}));
    auto decoded = decodeFrame(response);
    if (!decoded) {
      ADD_FAILURE() << "undecodable response: " << decoded.error().detail;
      return Ok{};
    }
    const auto* frame = std::get_if<Frame>(&decoded->outcome);
    if (frame == nullptr) {
      ADD_FAILURE() << "response is not a valid frame";
      return Ok{};
    }
    EXPECT_EQ(frame->requestId, id);
    return frame->message;
  }

  Allocated allocate(std::string_view peer, Allocate request = Allocate{{StreamRequest{}}}) {
    auto reply = call(peer, std::move(request));
    if (const auto* e = std::get_if<ErrorReply>(&reply)) {
      ADD_FAILURE() << "Allocate refused: " << toString(e->code) << ": " << e->reason;
      return {};
    }
    return std::get<Allocated>(reply);
  }

  static ErrorReply errorOf(const Message& reply) {
    if (const auto* e = std::get_if<ErrorReply>(&reply)) return *e;
    ADD_FAILURE() << "expected an Error, got " << messageName(reply);
    return {};
  }

  std::uint64_t counter(const char* name) { return metrics.counter(name).value(); }

  RelayConfig relayConfig;
  RelayServiceConfig serviceConfig;
  SignallingQueue signalling;
  MetricsRegistry metrics;
  std::unique_ptr<RelayEngine> engine;
  std::unique_ptr<RelayService> service;
  std::vector<StreamId> timedOut;
  std::uint32_t nextRequestId = 0;
};

TEST_F(RelayServiceTest, AllocateConnectAndRelayRtpThroughBothLegs) {
  start(28000);
  // The caller's relay (side A) and the callee's relay (side B) both on loopback.
  Phone callerRelay("127.0.0.1");
  Phone calleeRelay("127.0.0.1");
  const auto allocated =
      allocate(kAlice, Allocate{{StreamRequest{.expectedSourceA = ip("127.0.0.1"),
                                               .expectedSourceB = ip("127.0.0.1")}}});
  ASSERT_EQ(allocated.streams.size(), 1U);
  const auto s = allocated.streams.front();
  EXPECT_EQ(s.sideA.address, ip("127.0.0.1"));
  EXPECT_EQ(s.sideB.address, ip("127.0.0.1"));
  EXPECT_NE(s.sideA.port, s.sideB.port);
  EXPECT_EQ(s.sideA.port % 2, 0);
  EXPECT_EQ(service->streamsOf(kAlice), 1U);

  EXPECT_EQ(call(kAlice, Connect{s.stream, Side::A, callerRelay.endpoint()}), Message(Ok{}));
  EXPECT_EQ(call(kAlice, Connect{s.stream, Side::B, calleeRelay.endpoint()}), Message(Ok{}));

  const auto forward = rtpPacket(1, 160, 0xaaaa0001);
  callerRelay.send(s.sideA, forward);
  auto got = calleeRelay.receive();
  ASSERT_TRUE(got) << "nothing relayed from side A to side B";
  EXPECT_EQ(got->bytes, forward);
  EXPECT_EQ(got->source, s.sideB);

  const auto back = rtpPacket(1, 160, 0xbbbb0002);
  calleeRelay.send(s.sideB, back);
  got = callerRelay.receive();
  ASSERT_TRUE(got) << "nothing relayed from side B to side A";
  EXPECT_EQ(got->bytes, back);
  EXPECT_EQ(got->source, s.sideA);

  StatsReport report;
  ASSERT_TRUE(eventually([&] {
    signalling.drain();  // the latch reports
    auto reply = call(kAlice, Stats{{s.stream}});
    if (!std::holds_alternative<StatsReport>(reply)) return false;
    report = std::get<StatsReport>(reply);
    return report.streams.at(0).aToB.packets == 1 && report.streams.at(0).bToA.packets == 1;
  }));
  EXPECT_EQ(report.streams[0].stream, s.stream);
  EXPECT_EQ(report.streams[0].aToB.bytes, forward.size());
  EXPECT_TRUE(report.streams[0].aToB.latched);
  EXPECT_TRUE(report.streams[0].bToA.latched);

  EXPECT_EQ(call(kAlice, Release{{s.stream}}), Message(Ok{}));
  EXPECT_EQ(service->totalStreams(), 0U);
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_EQ(counter("p2psip_media_relay_control_allocate_requests_total"), 1U);
  EXPECT_EQ(counter("p2psip_media_relay_control_connect_requests_total"), 2U);
  EXPECT_EQ(counter("p2psip_media_relay_control_release_requests_total"), 1U);
  EXPECT_GE(counter("p2psip_media_relay_control_stats_requests_total"), 1U);
}

TEST_F(RelayServiceTest, BothLegsLatchOntoPeersThatSendFirst) {
  start(28020);
  // No Connect: both relays are behind NATs, so the relay learns them from their packets.
  Phone callerRelay("127.0.0.1");
  Phone calleeRelay("127.0.0.1");
  const auto s = allocate(kAlice).streams.at(0);
  callerRelay.send(s.sideA, rtpPacket(1, 160, 0xaaaa0001));  // latches A; B has nowhere to go
  EXPECT_TRUE(calleeRelay.drain(100ms).empty());
  const auto back = rtpPacket(1, 160, 0xbbbb0002);
  calleeRelay.send(s.sideB, back);  // latches B, goes to A's latched source
  auto got = callerRelay.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, back);
  const auto forward = rtpPacket(2, 320, 0xaaaa0001);
  callerRelay.send(s.sideA, forward);
  got = calleeRelay.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, forward);
}

TEST_F(RelayServiceTest, AnExpectedSourceKeepsOthersFromLatching) {
  start(28040);
  Phone stranger("127.0.0.1");
  Phone calleeRelay("127.0.0.1");
  const auto s =
      allocate(kAlice, Allocate{{StreamRequest{.expectedSourceA = ip("127.0.0.9")}}}).streams.at(0);
  ASSERT_EQ(call(kAlice, Connect{s.stream, Side::B, calleeRelay.endpoint()}), Message(Ok{}));
  stranger.send(s.sideA, rtpPacket(1, 160, 0x66666666));
  EXPECT_TRUE(calleeRelay.drain(100ms).empty());
}

TEST_F(RelayServiceTest, QuotaExceededForOnePeerWhileAnotherStillGetsStreams) {
  serviceConfig.perPeerStreamQuota = 2;
  start(28060);
  EXPECT_EQ(allocate(kAlice, Allocate{{StreamRequest{}, StreamRequest{}}}).streams.size(), 2U);
  const auto refused = errorOf(call(kAlice, Allocate{{StreamRequest{}}}));
  EXPECT_EQ(refused.code, ErrorCode::QuotaExceeded);
  EXPECT_EQ(allocate(kBob).streams.size(), 1U);
  // A single request over the quota is refused whole.
  EXPECT_EQ(errorOf(call(kBob, Allocate{{StreamRequest{}, StreamRequest{}}})).code,
            ErrorCode::QuotaExceeded);
  EXPECT_EQ(service->streamsOf(kAlice), 2U);
  EXPECT_EQ(service->streamsOf(kBob), 1U);
  EXPECT_EQ(service->peers(), 2U);
  EXPECT_EQ(engine->active(), 3U);
  EXPECT_EQ(counter("p2psip_media_relay_control_errors_quota_exceeded_total"), 2U);
  EXPECT_EQ(metrics.gauge("p2psip_media_relay_control_streams").value(), 3);
}

TEST_F(RelayServiceTest, AnUnauthorisedPeerIsRefused) {
  start(28080);
  EXPECT_EQ(errorOf(call(kMallory, Allocate{{StreamRequest{}}})).code, ErrorCode::NotAuthorised);
  const auto s = allocate(kAlice).streams.at(0);
  EXPECT_EQ(errorOf(call(kMallory, Stats{{s.stream}})).code, ErrorCode::NotAuthorised);
  EXPECT_EQ(errorOf(call(kMallory, Connect{s.stream, Side::A, {ip("127.0.0.1"), 4000}})).code,
            ErrorCode::NotAuthorised);
  EXPECT_EQ(service->streamsOf(kMallory), 0U);
  EXPECT_EQ(engine->active(), 1U);
  EXPECT_EQ(counter("p2psip_media_relay_control_errors_not_authorised_total"), 3U);
}

TEST_F(RelayServiceTest, APeerCannotTouchAnotherPeersStreams) {
  start(28100);
  const auto s = allocate(kAlice).streams.at(0);
  // One of the engine's streams that is no peer's (this relay's own call).
  const auto own = engine->allocate({.local = ip("127.0.0.1")}, {.local = ip("127.0.0.1")});
  ASSERT_TRUE(own);

  for (std::uint64_t stream : {s.stream, own->id.value}) {
    auto released = errorOf(call(kBob, Release{{stream}}));
    EXPECT_EQ(released.code, ErrorCode::UnknownStream);
    EXPECT_EQ(released.streams, std::vector<std::uint64_t>{stream});
    EXPECT_EQ(errorOf(call(kBob, Connect{stream, Side::A, {ip("127.0.0.1"), 4000}})).code,
              ErrorCode::UnknownStream);
    EXPECT_EQ(errorOf(call(kBob, Stats{{stream}})).code, ErrorCode::UnknownStream);
  }
  EXPECT_EQ(errorOf(call(kAlice, Release{{own->id.value}})).code, ErrorCode::UnknownStream);
  EXPECT_EQ(service->streamsOf(kAlice), 1U);
  EXPECT_EQ(engine->active(), 2U);
  EXPECT_TRUE(std::holds_alternative<StatsReport>(call(kAlice, Stats{{s.stream}})));

  // Releasing a mix: the peer's own go, the others are named in the error.
  auto mixed = errorOf(call(kAlice, Release{{s.stream, own->id.value}}));
  EXPECT_EQ(mixed.code, ErrorCode::UnknownStream);
  EXPECT_EQ(mixed.streams, std::vector<std::uint64_t>{own->id.value});
  EXPECT_EQ(service->streamsOf(kAlice), 0U);
  EXPECT_EQ(engine->active(), 1U);
}

TEST_F(RelayServiceTest, ReleaseAllFreesThePortsOfAPeerWhoseLinkClosed) {
  start(28120);
  const std::size_t allFree = engine->freePortPairs();
  ASSERT_EQ(allFree, 8U);
  allocate(kAlice, Allocate{{StreamRequest{}, StreamRequest{}}});
  allocate(kBob);
  EXPECT_EQ(engine->freePortPairs(), allFree - 6);  // two pairs per stream

  EXPECT_EQ(service->releaseAll(kAlice), 2U);
  EXPECT_EQ(service->streamsOf(kAlice), 0U);
  EXPECT_EQ(service->streamsOf(kBob), 1U);
  EXPECT_TRUE(eventually([&] { return engine->freePortPairs() == allFree - 2; }));
  EXPECT_EQ(service->releaseAll(kAlice), 0U);
  EXPECT_EQ(service->releaseAll(kBob), 1U);
  EXPECT_TRUE(eventually([&] { return engine->freePortPairs() == allFree; }));
  EXPECT_EQ(service->totalStreams(), 0U);
  EXPECT_EQ(service->peers(), 0U);
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_EQ(counter("p2psip_media_relay_control_streams_released_on_close_total"), 3U);
  EXPECT_EQ(metrics.gauge("p2psip_media_relay_control_peers").value(), 0);
}

TEST_F(RelayServiceTest, ATimedOutStreamIsForgotten) {
  relayConfig.inactivityTimeout = 100ms;
  start(28140);
  const auto s = allocate(kAlice).streams.at(0);
  ASSERT_TRUE(signalling.drainUntil([&] { return !timedOut.empty(); }));
  EXPECT_EQ(timedOut.front().value, s.stream);
  EXPECT_EQ(service->streamsOf(kAlice), 0U);
  EXPECT_EQ(service->totalStreams(), 0U);
  EXPECT_EQ(errorOf(call(kAlice, Stats{{s.stream}})).code, ErrorCode::UnknownStream);
  EXPECT_EQ(errorOf(call(kAlice, Release{{s.stream}})).code, ErrorCode::UnknownStream);
  EXPECT_EQ(counter("p2psip_media_relay_control_streams_timed_out_total"), 1U);
  EXPECT_FALSE(service->onStreamTimedOut(StreamId{s.stream}));  // reported once only
}

TEST_F(RelayServiceTest, AStreamTheEngineNoLongerHasIsUnknown) {
  start(28160);
  const auto s = allocate(kAlice).streams.at(0);
  // Gone from the engine without the service being told (a composition root that forwards the
  // timeout later, or another component releasing it): the service must not answer as if the
  // stream still existed.
  ASSERT_TRUE(engine->release(StreamId{s.stream}));
  EXPECT_EQ(errorOf(call(kAlice, Stats{{s.stream}})).code, ErrorCode::UnknownStream);
  EXPECT_EQ(errorOf(call(kAlice, Connect{s.stream, Side::A, {ip("127.0.0.1"), 4000}})).code,
            ErrorCode::UnknownStream);
  EXPECT_EQ(service->totalStreams(), 0U);  // Connect learnt it was gone
}

TEST_F(RelayServiceTest, CapacityExhaustionGivesTheCapacityError) {
  start(28180, 3);  // three pairs: one stream, and half of the next
  const std::size_t allFree = engine->freePortPairs();
  // The second stream of this request cannot be bound: nothing of the request stays.
  EXPECT_EQ(errorOf(call(kAlice, Allocate{{StreamRequest{}, StreamRequest{}}})).code,
            ErrorCode::Capacity);
  EXPECT_EQ(service->totalStreams(), 0U);
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_TRUE(eventually([&] { return engine->freePortPairs() == allFree; }));

  allocate(kAlice);
  EXPECT_EQ(errorOf(call(kBob, Allocate{{StreamRequest{}}})).code, ErrorCode::Capacity);
  // No IPv6 address on this relay: another relay must serve that stream.
  EXPECT_EQ(errorOf(call(kBob, Allocate{{StreamRequest{.family = AddressFamily::V6}}})).code,
            ErrorCode::Capacity);
  EXPECT_EQ(counter("p2psip_media_relay_control_errors_capacity_total"), 3U);
}

TEST_F(RelayServiceTest, TheServiceCapOnRelayedStreamsHolds) {
  serviceConfig.maxStreams = 1;
  start(28200);
  allocate(kAlice);
  EXPECT_EQ(errorOf(call(kBob, Allocate{{StreamRequest{}}})).code, ErrorCode::Capacity);
  // The engine itself still has room for this relay's own calls.
  EXPECT_TRUE(engine->allocate({.local = ip("127.0.0.1")}, {.local = ip("127.0.0.1")}));
}

TEST_F(RelayServiceTest, ConnectRefusesRemotesThatAreNotAPeersMedia) {
  start(28220);
  const auto s = allocate(kAlice).streams.at(0);
  for (const net::Endpoint& remote :
       {net::Endpoint{ip("127.0.0.1"), 0}, net::Endpoint{ip("224.0.0.1"), 4000},
        net::Endpoint{ip("0.0.0.0"), 4000}, net::Endpoint{ip("255.255.255.255"), 4000},
        net::Endpoint{ip("::1"), 4000}}) {
    SCOPED_TRACE(remote.toString());
    EXPECT_EQ(errorOf(call(kAlice, Connect{s.stream, Side::A, remote})).code,
              ErrorCode::BadRequest);
  }
}

TEST_F(RelayServiceTest, UnusableFramesAreAnsweredAndResponsesAreNot) {
  start(28240);
  const auto errorFrame = [&](std::string_view bytes) {
    auto decoded = decodeFrame(service->handle(kAlice, bytes));
    EXPECT_TRUE(decoded);
    const auto* f = decoded ? std::get_if<Frame>(&decoded->outcome) : nullptr;
    if (f == nullptr) {
      ADD_FAILURE() << "no Error frame";
      return Frame{};
    }
    EXPECT_TRUE(std::holds_alternative<ErrorReply>(f->message));
    return *f;
  };

  auto sip = errorFrame("INVITE sip:bob@example.com SIP/2.0\r\n");
  EXPECT_EQ(sip.requestId, 0U);
  EXPECT_EQ(std::get<ErrorReply>(sip.message).code, ErrorCode::BadRequest);

  std::string v2 = encode(Frame{77, Stats{{1}}});
  v2[2] = 2;
  auto version = errorFrame(v2);
  EXPECT_EQ(version.requestId, 77U);
  EXPECT_EQ(std::get<ErrorReply>(version.message).code, ErrorCode::UnsupportedVersion);
  EXPECT_EQ(std::get<ErrorReply>(version.message).supported, (std::vector<Version>{{1, 0}}));

  const std::string whole = encode(Frame{78, Release{{1}}});
  auto cut = errorFrame(std::string_view(whole).substr(0, whole.size() - 1));
  EXPECT_EQ(cut.requestId, 78U);
  EXPECT_EQ(std::get<ErrorReply>(cut.message).code, ErrorCode::BadRequest);
  auto trailing = errorFrame(whole + "x");
  EXPECT_EQ(trailing.requestId, 78U);
  EXPECT_EQ(std::get<ErrorReply>(trailing.message).code, ErrorCode::BadRequest);

  std::string badBody = encode(Frame{79, Release{{1}}});
  badBody[kHeaderSize + 2] = 9;  // the TLV now runs past the body
  EXPECT_EQ(std::get<ErrorReply>(errorFrame(badBody).message).code, ErrorCode::BadRequest);

  // Responses and broken responses get no answer, so two relays cannot bounce errors.
  EXPECT_EQ(service->handle(kAlice, encode(Frame{80, Ok{}})), "");
  EXPECT_EQ(service->handle(kAlice, encode(Frame{81, ErrorReply{}})), "");
  std::string badResponse = encode(Frame{82, Allocated{}});  // no stream: malformed
  EXPECT_EQ(service->handle(kAlice, badResponse), "");

  EXPECT_EQ(counter("p2psip_media_relay_control_malformed_frames_total"), 6U);
  EXPECT_EQ(counter("p2psip_media_relay_control_responses_ignored_total"), 2U);
  EXPECT_EQ(counter("p2psip_media_relay_control_errors_unsupported_version_total"), 1U);
  EXPECT_EQ(engine->active(), 0U);
}

TEST_F(RelayServiceTest, DestroyingTheServiceReleasesItsStreams) {
  start(28260);
  allocate(kAlice, Allocate{{StreamRequest{}, StreamRequest{}}});
  ASSERT_EQ(engine->active(), 2U);
  service.reset();
  EXPECT_EQ(engine->active(), 0U);
  EXPECT_TRUE(eventually([&] { return engine->freePortPairs() == 8U; }));
  EXPECT_EQ(metrics.gauge("p2psip_media_relay_control_streams").value(), 0);
}

TEST(RelayServiceConfigTest, ValidateNamesTheBadField) {
  RelayServiceConfig config;
  EXPECT_FALSE(validate(config));  // no address
  config.addresses = {ip("192.0.2.1"), ip("2001:db8::1")};
  EXPECT_TRUE(validate(config));
  config.addresses.push_back(ip("192.0.2.2"));
  EXPECT_NE(validate(config).error().detail.find("two addresses"), std::string::npos);
  config.addresses = {ip("0.0.0.0")};
  EXPECT_FALSE(validate(config));
  config.addresses = {ip("192.0.2.1")};
  config.perPeerStreamQuota = 0;
  EXPECT_NE(validate(config).error().detail.find("perPeerStreamQuota"), std::string::npos);
  config.perPeerStreamQuota = 1;
  config.maxStreams = 0;
  EXPECT_FALSE(validate(config));
}

}  // namespace
}  // namespace p2psip::media
