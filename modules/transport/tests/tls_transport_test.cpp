// SPDX-License-Identifier: Apache-2.0
// SIP over TLS between peers with self-signed certificates (mutual TLS, identity checked by the
// application from the peer certificate).
#include "p2psip/transport/transport_layer.h"

#include <gtest/gtest.h>

#include "loopback_fixture.h"

namespace p2psip::transport {
namespace {

using namespace testing;

class TlsTransport : public ::testing::Test {
 protected:
  net::EventLoop loop;
  net::AsioTimerService timers{loop};
  TempIdentity aliceId{"alice"};
  TempIdentity bobId{"bob"};
};

std::string tlsVia(const net::Endpoint& sentBy) {
  return "SIP/2.0/TLS " + sentBy.toString() + ";branch=z9hG4bK-tls1;rport";
}

TEST_F(TlsTransport, MutualTlsBetweenSelfSignedPeersExposesEachPeersCertificate) {
  Node alice(loop, timers, {}, aliceId.context(net::PeerVerification::AnyCertificate));
  Node bob(loop, timers, {}, bobId.context(net::PeerVerification::AnyCertificate));
  auto aliceBound = alice.transport.addListener(Protocol::Tls, loopback4());
  auto bobBound = bob.transport.addListener(Protocol::Tls, loopback4());
  ASSERT_TRUE(aliceBound && bobBound);

  std::optional<std::string> certSeenByBob;
  bob.handler.onEach = [&](InboundMessage& in) {
    certSeenByBob = bob.transport.peerCertificateDer(in.flow.connection);
    auto response = sip::makeResponse(in.message, 200);
    EXPECT_TRUE(bob.transport.send(response, responseTarget(in.message.topVia(), in.flow)));
  };
  ASSERT_TRUE(alice.transport.send(parse(requestText(tlsVia(*aliceBound))),
                                   Target{.protocol = Protocol::Tls, .endpoint = *bobBound}));

  ASSERT_TRUE(loop.runUntil([&] { return alice.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(alice.handler.messages[0].message.statusCode(), 200);
  EXPECT_EQ(alice.handler.messages[0].flow.protocol, Protocol::Tls);
  ASSERT_TRUE(certSeenByBob);
  EXPECT_EQ(*certSeenByBob, aliceId.certificateDer());
  const auto aliceConnection = alice.handler.messages[0].flow.connection;
  EXPECT_EQ(alice.transport.peerCertificateDer(aliceConnection),
            std::optional<std::string>(bobId.certificateDer()));
  // The identity an application derives: the public key, which differs per peer.
  EXPECT_NE(*net::subjectPublicKeyInfoDer(*certSeenByBob),
            *net::subjectPublicKeyInfoDer(bobId.certificateDer()));
  EXPECT_EQ(bob.transport.stats().connections, 1u);
}

TEST_F(TlsTransport, ClientWithoutCertificateIsRefusedByAMutualTlsServer) {
  // A plain asio TLS client that presents no certificate.
  Node bob(loop, timers, {}, bobId.context(net::PeerVerification::AnyCertificate));
  auto bobBound = bob.transport.addListener(Protocol::Tls, loopback4());
  ASSERT_TRUE(bobBound);
  asio::ssl::context bare(asio::ssl::context::tls_client);
  bare.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> client(loop.context(), bare);
  client.next_layer().connect(bobBound->toTcp());
  std::optional<asio::error_code> handshake;
  client.async_handshake(asio::ssl::stream_base::client,
                         [&](const asio::error_code& ec) { handshake = ec; });
  ASSERT_TRUE(loop.runUntil([&] { return handshake.has_value(); }, kEventually));
  // With TLS 1.3 the client may finish first; the server's refusal then shows on the next read.
  std::optional<asio::error_code> readResult;
  std::array<char, 64> buf{};
  if (!*handshake) {
    client.async_read_some(asio::buffer(buf),
                           [&](const asio::error_code& ec, std::size_t) { readResult = ec; });
    ASSERT_TRUE(loop.runUntil([&] { return readResult.has_value(); }, kEventually));
    EXPECT_TRUE(*readResult);
  }
  EXPECT_TRUE(loop.runUntil([&] { return bob.transport.stats().connections == 0; }, kEventually));
  EXPECT_TRUE(bob.handler.messages.empty());
}

TEST_F(TlsTransport, TlsListenerWithoutContextIsRefused) {
  Node plain(loop, timers);
  auto bound = plain.transport.addListener(Protocol::Tls, loopback4());
  ASSERT_FALSE(bound);
  EXPECT_EQ(bound.error().code, ErrorCode::Unavailable);
}

// Overlay peer links: the sender names the key it looked up (the peer's NodeId) and the transport
// refuses to deliver to anyone else at that address.
class PeerLinks : public TlsTransport {
 protected:
  std::string fingerprintOf(const TempIdentity& id) {
    auto fp = net::publicKeyFingerprint(id.certificateDer());
    EXPECT_TRUE(fp);
    return fp ? *fp : std::string();
  }
};

TEST_F(PeerLinks, PinnedSendReachesThePeerAndBothSidesSeeEachOthersKey) {
  TransportConfig aliceConfig;
  aliceConfig.sentBy = {"127.0.0.1:5999"};  // the Via our requests carry
  Node alice(loop, timers, aliceConfig);
  Node bob(loop, timers);
  alice.transport.setPeerLinkTls(aliceId.context(net::PeerVerification::AnyCertificate));
  bob.transport.setPeerLinkTls(bobId.context(net::PeerVerification::AnyCertificate));
  auto bobBound = bob.transport.addListener(Protocol::Tls, loopback4(), ListenerRole::PeerLinks);
  ASSERT_TRUE(bobBound) << bobBound.error().detail;
  bob.answerRequestsWith(200);
  const std::string bobKey = fingerprintOf(bobId);
  ASSERT_TRUE(alice.transport.send(
      parse(requestText(tlsVia(net::Endpoint{bobBound->address, 5999}))),
      Target{.protocol = Protocol::Tls, .endpoint = *bobBound, .peerIdentity = bobKey}));
  ASSERT_TRUE(loop.runUntil([&] { return alice.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(alice.handler.messages[0].flow.peerIdentity, bobKey);
  ASSERT_EQ(bob.handler.messages.size(), 1u);
  EXPECT_EQ(bob.handler.messages[0].flow.peerIdentity, fingerprintOf(aliceId));
  // The link is reused for the next request to the same node.
  ASSERT_TRUE(alice.transport.send(
      parse(requestText(tlsVia(net::Endpoint{bobBound->address, 5999}))),
      Target{.protocol = Protocol::Tls, .endpoint = *bobBound, .peerIdentity = bobKey}));
  ASSERT_TRUE(loop.runUntil([&] { return alice.handler.messages.size() == 2; }, kEventually));
  EXPECT_EQ(alice.transport.stats().connections, 1u);
}

TEST_F(PeerLinks, LinksWeOpenLeaveFromThePeerLinkSourceAddress) {
  TransportConfig aliceConfig;
  aliceConfig.sentBy = {"127.0.0.1:5999"};
  aliceConfig.peerLinkSource = asio::ip::make_address("127.0.0.3");
  Node alice(loop, timers, aliceConfig);
  Node bob(loop, timers);
  alice.transport.setPeerLinkTls(aliceId.context(net::PeerVerification::AnyCertificate));
  bob.transport.setPeerLinkTls(bobId.context(net::PeerVerification::AnyCertificate));
  auto bobBound = bob.transport.addListener(Protocol::Tls, loopback4(), ListenerRole::PeerLinks);
  ASSERT_TRUE(bobBound) << bobBound.error().detail;
  bob.answerRequestsWith(200);
  ASSERT_TRUE(alice.transport.send(
      parse(requestText(tlsVia(net::Endpoint{bobBound->address, 5999}))),
      Target{
          .protocol = Protocol::Tls, .endpoint = *bobBound, .peerIdentity = fingerprintOf(bobId)}));
  ASSERT_TRUE(loop.runUntil([&] { return bob.handler.messages.size() == 1; }, kEventually));
  // The far peer sees the address our peer record names, as our relay's media will come from it.
  EXPECT_EQ(bob.handler.messages[0].flow.remote.address, asio::ip::make_address("127.0.0.3"));
}

TEST_F(PeerLinks, AnotherKeyAtThePinnedAddressGetsNothingAndTheSenderHearsWhy) {
  TempIdentity malloryId{"mallory"};
  Node alice(loop, timers);
  Node mallory(loop, timers);
  alice.transport.setPeerLinkTls(aliceId.context(net::PeerVerification::AnyCertificate));
  mallory.transport.setPeerLinkTls(malloryId.context(net::PeerVerification::AnyCertificate));
  auto bound = mallory.transport.addListener(Protocol::Tls, loopback4(), ListenerRole::PeerLinks);
  ASSERT_TRUE(bound);
  ASSERT_TRUE(alice.transport.send(
      parse(requestText(tlsVia(net::Endpoint{bound->address, 5999}))),
      Target{.protocol = Protocol::Tls, .endpoint = *bound, .peerIdentity = fingerprintOf(bobId)}));
  ASSERT_TRUE(loop.runUntil([&] { return !alice.handler.errors.empty(); }, kEventually));
  EXPECT_NE(alice.handler.errors[0].second.detail.find("is not node"), std::string::npos);
  EXPECT_EQ(alice.counter("p2psip_transport_peer_identity_mismatches_total"), 1u);
  loop.runFor(std::chrono::milliseconds(50));
  EXPECT_TRUE(mallory.handler.messages.empty());
}

TEST_F(PeerLinks, APeerThatDoesNotAnswerFailsWithinTheConnectTimeout) {
  // A listening socket whose backlog we never accept from still completes TCP handshakes, so use
  // a bound but non-listening TCP port instead: the connect is refused at once; then a silent TLS
  // server (accepts TCP, never speaks TLS) for the timeout.
  asio::ip::tcp::acceptor silent(loop.context(), loopback4().toTcp());
  const net::Endpoint silentAt = net::Endpoint::fromAsio(silent.local_endpoint());
  TransportConfig config;
  config.connectTimeout = std::chrono::milliseconds(200);
  Node alice(loop, timers, config);
  alice.transport.setPeerLinkTls(aliceId.context(net::PeerVerification::AnyCertificate));
  ASSERT_TRUE(alice.transport.send(
      parse(requestText(tlsVia(net::Endpoint{silentAt.address, 5999}))),
      Target{
          .protocol = Protocol::Tls, .endpoint = silentAt, .peerIdentity = fingerprintOf(bobId)}));
  ASSERT_TRUE(loop.runUntil([&] { return !alice.handler.errors.empty(); }, kEventually));
  EXPECT_EQ(alice.handler.errors[0].second.code, ErrorCode::Timeout);
  EXPECT_EQ(alice.counter("p2psip_transport_connect_timeouts_total"), 1u);
  EXPECT_EQ(alice.transport.stats().connections, 0u);
}

TEST_F(PeerLinks, ABurstOfMessagesIsCoalescedYetArrivesWholeAndInOrder) {
  // Messages sent in one handler leave in one write (one TLS record, one syscall); the framer on
  // the other side must still see each one, in order.
  TransportConfig aliceConfig;
  aliceConfig.sentBy = {"127.0.0.1:5999"};
  Node alice(loop, timers, aliceConfig);
  Node bob(loop, timers);
  alice.transport.setPeerLinkTls(aliceId.context(net::PeerVerification::AnyCertificate));
  bob.transport.setPeerLinkTls(bobId.context(net::PeerVerification::AnyCertificate));
  auto bobBound = bob.transport.addListener(Protocol::Tls, loopback4(), ListenerRole::PeerLinks);
  ASSERT_TRUE(bobBound);
  const Target target{
      .protocol = Protocol::Tls, .endpoint = *bobBound, .peerIdentity = fingerprintOf(bobId)};
  constexpr int kBurst = 300;
  for (int round = 0; round < 2; ++round) {  // the second round rides the established link
    for (int i = 0; i < kBurst; ++i) {
      std::string text = requestText("SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-burst-" +
                                     std::to_string(round) + "-" + std::to_string(i));
      ASSERT_TRUE(alice.transport.send(parse(std::move(text)), target));
    }
    const std::size_t want = static_cast<std::size_t>(kBurst * (round + 1));
    ASSERT_TRUE(loop.runUntil([&] { return bob.handler.messages.size() >= want; }, kEventually));
  }
  ASSERT_EQ(bob.handler.messages.size(), static_cast<std::size_t>(2 * kBurst));
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < kBurst; ++i) {
      const auto& m = bob.handler.messages[static_cast<std::size_t>(round * kBurst + i)].message;
      EXPECT_EQ(m.branch().value_or(""),
                "z9hG4bK-burst-" + std::to_string(round) + "-" + std::to_string(i));
    }
  }
  EXPECT_EQ(alice.transport.stats().connections, 1u);
}

TEST_F(PeerLinks, PeerLinkListenerNeedsANodeIdentity) {
  Node plain(loop, timers);
  auto bound = plain.transport.addListener(Protocol::Tls, loopback4(), ListenerRole::PeerLinks);
  ASSERT_FALSE(bound);
  EXPECT_NE(bound.error().detail.find("node identity"), std::string::npos);
}

}  // namespace
}  // namespace p2psip::transport
