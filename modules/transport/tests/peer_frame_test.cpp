// SPDX-License-Identifier: Apache-2.0
// Peer-link frames (transport.h): binary frames of the overlay's peer protocol share a peer link
// with SIP. They arrive whole and in order, interleaved with SIP; a phone's connection that sends
// one, or a frame over the size limit, loses its connection; a peer behind a NAT is reached on the
// link it opened, whatever address it is asked for.
#include <gtest/gtest.h>

#include "loopback_fixture.h"
#include "p2psip/transport/transport_layer.h"

namespace p2psip::transport {
namespace {

using namespace testing;

struct RecordingFrames final : PeerFrameHandler {
  void onPeerFrame(const Flow& flow, std::string_view frame) override {
    frames.emplace_back(flow, std::string(frame));
  }
  void onPeerLinkClosed(const std::string& peer) override { closed.push_back(peer); }
  std::vector<std::pair<Flow, std::string>> frames;
  std::vector<std::string> closed;
};

// A frame of the documented layout: 0x00 'R', version, type, flags, request id, body length.
std::string frame(std::uint8_t type, std::string_view body) {
  std::string out{'\0', 'R', 1, 0, static_cast<char>(type), 0, 0, 0, 0, 7};
  out += static_cast<char>(body.size() >> 8);
  out += static_cast<char>(body.size() & 0xff);
  out += body;
  return out;
}

std::string fingerprintOf(const TempIdentity& id) {
  auto fp = net::publicKeyFingerprint(id.certificateDer());
  return fp ? *fp : std::string();
}

class PeerFrames : public ::testing::Test {
 protected:
  void SetUp() override {
    alice.transport.setPeerLinkTls(aliceId.context(net::PeerVerification::AnyCertificate));
    bob.transport.setPeerLinkTls(bobId.context(net::PeerVerification::AnyCertificate));
    alice.transport.setPeerFrameHandler(aliceFrames);
    bob.transport.setPeerFrameHandler(bobFrames);
    auto bound = bob.transport.addListener(Protocol::Tls, loopback4(), ListenerRole::PeerLinks);
    ASSERT_TRUE(bound) << bound.error().detail;
    bobLink = *bound;
  }
  Target toBob() {
    return Target{
        .protocol = Protocol::Tls, .endpoint = bobLink, .peerIdentity = fingerprintOf(bobId)};
  }

  net::EventLoop loop;
  net::AsioTimerService timers{loop};
  TempIdentity aliceId{"alice"};
  TempIdentity bobId{"bob"};
  Node alice{loop, timers};
  Node bob{loop, timers};
  RecordingFrames aliceFrames;
  RecordingFrames bobFrames;
  net::Endpoint bobLink;
};

TEST_F(PeerFrames, FramesAndSipShareThePeerLinkInOrderAndAnswersComeBackOnIt) {
  bob.answerRequestsWith(200);
  ASSERT_TRUE(alice.transport.sendPeerFrame(frame(1, "first"), toBob()));
  ASSERT_TRUE(alice.transport.send(
      parse("OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-f1"
            "\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: f1\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
      toBob()));
  ASSERT_TRUE(alice.transport.sendPeerFrame(frame(2, std::string(3000, 'x')), toBob()));
  ASSERT_TRUE(loop.runUntil([&] { return bobFrames.frames.size() == 2; }, kEventually));
  EXPECT_EQ(bobFrames.frames[0].second, frame(1, "first"));
  EXPECT_EQ(bobFrames.frames[1].second, frame(2, std::string(3000, 'x')));
  EXPECT_EQ(bobFrames.frames[0].first.peerIdentity, fingerprintOf(aliceId));
  EXPECT_EQ(bob.handler.messages.size(), 1u) << "the SIP between the frames arrived too";

  // Bob answers on the link alice opened, naming only her key.
  Target toAlice{.protocol = Protocol::Tls,
                 .endpoint = bobFrames.frames[0].first.remote,
                 .connection = bobFrames.frames[0].first.connection,
                 .peerIdentity = fingerprintOf(aliceId)};
  ASSERT_TRUE(bob.transport.sendPeerFrame(frame(0x81, "answer"), toAlice));
  ASSERT_TRUE(loop.runUntil([&] { return aliceFrames.frames.size() == 1; }, kEventually));
  EXPECT_EQ(aliceFrames.frames[0].second, frame(0x81, "answer"));
  EXPECT_EQ(bob.counter("p2psip_transport_peer_frames_received_total"), 2u);
  EXPECT_EQ(alice.transport.stats().connections, 1u);
}

TEST_F(PeerFrames, APeerIsReachedOnTheLinkItOpenedWhateverAddressItIsAskedFor) {
  // Alice has no listener at all (she is behind a NAT); bob knows only her key.
  ASSERT_TRUE(alice.transport.sendPeerFrame(frame(1, "hello"), toBob()));
  ASSERT_TRUE(loop.runUntil([&] { return bobFrames.frames.size() == 1; }, kEventually));
  Target toAlice{
      .protocol = Protocol::Tls,
      .endpoint = net::Endpoint{asio::ip::make_address("127.0.0.1"), 9},  // nothing listens there
      .peerIdentity = fingerprintOf(aliceId)};
  ASSERT_TRUE(bob.transport.sendPeerFrame(frame(0x81, "back"), toAlice));
  ASSERT_TRUE(loop.runUntil([&] { return aliceFrames.frames.size() == 1; }, kEventually));
  EXPECT_EQ(bob.transport.stats().connections, 1u) << "no new connection was opened";
}

TEST_F(PeerFrames, TheFarSideHearsWhenThePeerLinkCloses) {
  ASSERT_TRUE(alice.transport.sendPeerFrame(frame(1, "hello"), toBob()));
  ASSERT_TRUE(loop.runUntil([&] { return bobFrames.frames.size() == 1; }, kEventually));
  EXPECT_TRUE(bobFrames.closed.empty());
  alice.transport.closeConnection(alice.transport.connections().at(0).id);
  ASSERT_TRUE(loop.runUntil([&] { return !bobFrames.closed.empty(); }, kEventually));
  EXPECT_EQ(bobFrames.closed, std::vector<std::string>{fingerprintOf(aliceId)});
}

TEST_F(PeerFrames, APhonesConnectionThatSendsAFrameIsClosed) {
  Node server(loop, timers, {}, bobId.context(net::PeerVerification::AnyCertificate));
  RecordingFrames frames;
  server.transport.setPeerFrameHandler(frames);
  auto phones = server.transport.addListener(Protocol::Tls, loopback4());
  ASSERT_TRUE(phones);
  Node phone(loop, timers, {}, aliceId.context(net::PeerVerification::AnyCertificate));
  // An unpinned TLS connection, as a phone opens (its first message is a frame, not SIP).
  ASSERT_TRUE(phone.transport.send(
      parse("OPTIONS sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-f2"
            "\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: f2\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"),
      Target{.protocol = Protocol::Tls, .endpoint = *phones}));
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  const auto connection = server.handler.messages[0].flow.connection;
  // The phone itself sends the frame: the server must drop the connection, not deliver it.
  auto phoneConnections = phone.transport.connections();
  ASSERT_EQ(phoneConnections.size(), 1u);
  Target back{.protocol = Protocol::Tls,
              .endpoint = *phones,
              .connection = phoneConnections[0].id,
              .peerIdentity = fingerprintOf(bobId)};
  ASSERT_TRUE(phone.transport.sendPeerFrame(frame(1, "sneaky"), back));
  ASSERT_TRUE(loop.runUntil([&] { return !server.transport.connection(connection); }, kEventually));
  EXPECT_TRUE(frames.frames.empty());
  EXPECT_EQ(server.counter("p2psip_transport_peer_frames_refused_total"), 1u);
}

TEST_F(PeerFrames, AFrameOverTheSizeLimitClosesTheLink) {
  ASSERT_TRUE(alice.transport.sendPeerFrame(frame(1, "ok"), toBob()));
  ASSERT_TRUE(loop.runUntil([&] { return bobFrames.frames.size() == 1; }, kEventually));
  // A sender refuses what is not a whole frame of at most 4 KiB.
  EXPECT_FALSE(alice.transport.sendPeerFrame(frame(1, std::string(5000, 'x')), toBob()));
  EXPECT_FALSE(alice.transport.sendPeerFrame("SIP is not a frame", toBob()));
  EXPECT_FALSE(alice.transport.sendPeerFrame(
      frame(1, "x"), Target{.protocol = Protocol::Tcp, .endpoint = bobLink}));
  // A header that claims 61,440 bytes of body: the receiver cannot trust the link any more.
  std::string liar = frame(1, "");
  liar[10] = static_cast<char>(0xf0);
  ASSERT_TRUE(alice.transport.sendPeerFrame(liar, toBob()));
  EXPECT_TRUE(loop.runUntil([&] { return bob.transport.stats().connections == 0; }, kEventually));
  EXPECT_EQ(bobFrames.frames.size(), 1u);
}

}  // namespace
}  // namespace p2psip::transport
