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

}  // namespace
}  // namespace p2psip::transport
