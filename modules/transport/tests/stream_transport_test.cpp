// SPDX-License-Identifier: Apache-2.0
// SIP over TCP on loopback: §18.2.2 responses on the same connection, connection reuse, idle
// timeout, connection cap, RFC 5626 keep-alives, the per-connection byte cap, framing errors.
#include "p2psip/transport/transport_layer.h"

#include <gtest/gtest.h>

#include "loopback_fixture.h"

namespace p2psip::transport {
namespace {

using namespace testing;

class TcpTransport : public ::testing::Test {
 protected:
  net::EventLoop loop;
  net::AsioTimerService timers{loop};
};

std::string tcpVia(const net::Endpoint& sentBy, std::string_view branch = "z9hG4bK-t1") {
  return "SIP/2.0/TCP " + sentBy.toString() + ";branch=" + std::string(branch) + ";rport";
}

TEST_F(TcpTransport, RequestInAndResponseOutOverTheSameConnection) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound) << bound.error().detail;
  server.answerRequestsWith(200);
  TcpPeer client(loop, *bound);
  client.write(requestText(tcpVia(client.local())));

  ASSERT_TRUE(loop.runUntil([&] { return client.received.find("\r\n\r\n") != std::string::npos; },
                            kEventually));
  EXPECT_EQ(client.received.rfind("SIP/2.0 200 ", 0), 0u) << client.received;
  ASSERT_EQ(server.handler.messages.size(), 1u);
  const Flow& flow = server.handler.messages[0].flow;
  EXPECT_EQ(flow.protocol, Protocol::Tcp);
  EXPECT_NE(flow.connection, 0u);
  EXPECT_EQ(flow.remote, client.local());
  EXPECT_EQ(server.handler.messages[0].message.topVia().rport(),
            std::optional<std::uint16_t>(client.local().port));
  const TransportStats stats = server.transport.stats();
  EXPECT_EQ(stats.connections, 1u);  // answered on the inbound connection, none opened
  EXPECT_EQ(stats.inboundConnections, 1u);
  EXPECT_EQ(stats.outboundConnections, 0u);
}

TEST_F(TcpTransport, SeveralMessagesInOneSegmentAreAllDelivered) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound);
  TcpPeer client(loop, *bound);
  client.write(requestText(tcpVia(client.local(), "z9hG4bK-a")) +
               requestText(tcpVia(client.local(), "z9hG4bK-b")));
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 2; }, kEventually));
  EXPECT_EQ(server.handler.messages[1].message.branch(),
            std::optional<std::string_view>("z9hG4bK-b"));
}

TEST_F(TcpTransport, TwoSendsToTheSameTargetShareOneConnection) {
  Node a(loop, timers);
  Node b(loop, timers);
  auto bBound = b.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bBound);
  const Target target{.protocol = Protocol::Tcp, .endpoint = *bBound};
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound, "z9hG4bK-1"))), target));
  // The second send is queued behind the connection still being opened.
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound, "z9hG4bK-2"))), target));
  ASSERT_TRUE(loop.runUntil([&] { return b.handler.messages.size() == 2; }, kEventually));
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound, "z9hG4bK-3"))), target));
  ASSERT_TRUE(loop.runUntil([&] { return b.handler.messages.size() == 3; }, kEventually));

  EXPECT_EQ(a.transport.stats().outboundConnections, 1u);
  EXPECT_EQ(b.transport.stats().inboundConnections, 1u);
  EXPECT_EQ(b.handler.messages[0].flow.connection, b.handler.messages[2].flow.connection);
  EXPECT_EQ(a.counter("p2psip_transport_connections_opened_total"), 1u);
  const auto infos = a.transport.connections();
  ASSERT_EQ(infos.size(), 1u);
  EXPECT_TRUE(infos[0].outbound);
  EXPECT_TRUE(infos[0].established);
  EXPECT_EQ(infos[0].remote, *bBound);
}

TEST_F(TcpTransport, ResponseReachesTheRequesterOverItsOwnConnection) {
  Node a(loop, timers);
  Node b(loop, timers);
  auto aBound = a.transport.addListener(Protocol::Tcp, loopback4());  // only to own a sent-by
  auto bBound = b.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(aBound && bBound);
  b.answerRequestsWith(180);
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*aBound), "INVITE")),
                               Target{.protocol = Protocol::Tcp, .endpoint = *bBound}));
  ASSERT_TRUE(loop.runUntil([&] { return a.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(a.handler.messages[0].message.statusCode(), 180);
  EXPECT_EQ(a.transport.stats().connections, 1u);
  EXPECT_EQ(b.transport.stats().connections, 1u);
}

TEST_F(TcpTransport, IdleConnectionsAreClosedOnBothSides) {
  TransportConfig config;
  config.idleTimeout = 200ms;
  Node a(loop, timers, config);
  Node b(loop, timers, config);
  auto bBound = b.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bBound);
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound))),
                               Target{.protocol = Protocol::Tcp, .endpoint = *bBound}));
  ASSERT_TRUE(loop.runUntil([&] { return b.handler.messages.size() == 1; }, kEventually));
  ASSERT_TRUE(loop.runUntil(
      [&] { return a.transport.stats().connections == 0 && b.transport.stats().connections == 0; },
      kEventually));
  EXPECT_GE(a.counter("p2psip_transport_connections_idle_closed_total") +
                b.counter("p2psip_transport_connections_idle_closed_total"),
            1u);
  EXPECT_TRUE(a.handler.errors.empty());  // nothing was lost: no transport error
  EXPECT_EQ(a.metrics.gauge("p2psip_transport_connections").value(), 0);
}

TEST_F(TcpTransport, InboundConnectionsBeyondTheCapAreRefused) {
  TransportConfig config;
  config.maxConnections = 2;
  Node server(loop, timers, config);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound);
  TcpPeer c1(loop, *bound);
  TcpPeer c2(loop, *bound);
  TcpPeer c3(loop, *bound);
  ASSERT_TRUE(loop.runUntil(
      [&] {
        return server.counter("p2psip_transport_connections_rejected_total") == 1 && c3.closed;
      },
      kEventually));
  EXPECT_EQ(server.transport.stats().connections, 2u);
  EXPECT_FALSE(c1.closed);
  EXPECT_FALSE(c2.closed);
}

TEST_F(TcpTransport, OutboundConnectionBeyondTheCapFailsTheSend) {
  TransportConfig config;
  config.maxConnections = 1;
  Node a(loop, timers, config);
  Node b(loop, timers);
  auto b1 = b.transport.addListener(Protocol::Tcp, loopback4());
  auto b2 = b.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(b1 && b2);
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*b1))),
                               Target{.protocol = Protocol::Tcp, .endpoint = *b1}));
  auto second = a.transport.send(parse(requestText(tcpVia(*b2))),
                                 Target{.protocol = Protocol::Tcp, .endpoint = *b2});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::LimitExceeded);
}

TEST_F(TcpTransport, CrlfCrlfPingGetsACrlfPong) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound);
  TcpPeer client(loop, *bound);
  client.write("\r\n\r\n");
  ASSERT_TRUE(loop.runUntil([&] { return client.received == "\r\n"; }, kEventually));
  EXPECT_EQ(server.counter("p2psip_transport_keepalive_pings_received_total"), 1u);
  EXPECT_FALSE(client.closed);
}

TEST_F(TcpTransport, OutboundFlowIsPingedAndStaysUpWhilePongsArrive) {
  TransportConfig config;
  config.keepAlive.pingInterval = 50ms;
  config.keepAlive.pongTimeout = 2s;
  Node a(loop, timers, config);
  Node b(loop, timers);
  auto bBound = b.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bBound);
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound))),
                               Target{.protocol = Protocol::Tcp, .endpoint = *bBound}));
  ASSERT_TRUE(loop.runUntil(
      [&] { return b.counter("p2psip_transport_keepalive_pings_received_total") >= 3; },
      kEventually));
  EXPECT_EQ(a.counter("p2psip_transport_keepalive_timeouts_total"), 0u);
  EXPECT_EQ(a.transport.stats().connections, 1u);
}

TEST_F(TcpTransport, MissingPongFailsTheFlowAndReportsATransportError) {
  // A raw acceptor that reads nothing and never answers pings.
  asio::ip::tcp::acceptor silent(loop.context(), loopback4().toTcp());
  asio::ip::tcp::socket accepted(loop.context());
  silent.async_accept(accepted, [](const asio::error_code&) {});
  const auto silentEndpoint = net::Endpoint::fromAsio(silent.local_endpoint());

  TransportConfig config;
  config.keepAlive.pingInterval = 50ms;
  config.keepAlive.pongTimeout = 100ms;
  Node a(loop, timers, config);
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(silentEndpoint))),
                               Target{.protocol = Protocol::Tcp, .endpoint = silentEndpoint}));
  ASSERT_TRUE(loop.runUntil([&] { return !a.handler.errors.empty(); }, kEventually));
  EXPECT_EQ(a.handler.errors[0].first.endpoint, silentEndpoint);
  EXPECT_EQ(a.handler.errors[0].second.code, ErrorCode::Timeout);
  EXPECT_EQ(a.counter("p2psip_transport_keepalive_timeouts_total"), 1u);
  EXPECT_EQ(a.transport.stats().connections, 0u);
}

TEST_F(TcpTransport, FloodingConnectionIsClosedAtTheByteCap) {
  TransportConfig config;
  config.parseLimits.maxMessageSize = 8 * 1024;
  config.maxInboundBytesPerConnection = 8 * 1024;
  Node server(loop, timers, config);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound);
  TcpPeer client(loop, *bound);
  // A header block that never ends.
  client.writeAsync("OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n" + std::string(256 * 1024, 'a'));
  ASSERT_TRUE(loop.runUntil([&] { return client.closed; }, kEventually));
  ASSERT_TRUE(
      loop.runUntil([&] { return server.transport.stats().connections == 0; }, kEventually));
  // The cap (checked before buffering) trips before the framer's own size limit would.
  EXPECT_EQ(server.counter("p2psip_transport_connections_overflowed_total"), 1u);
  EXPECT_TRUE(server.handler.messages.empty());
}

TEST_F(TcpTransport, NonFatalParseErrorIsAnsweredAndTheConnectionKeepsWorking) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound);
  TcpPeer client(loop, *bound);
  client.write(requestText(tcpVia(client.local(), "z9hG4bK-bad"), "OPTIONS", "INVITE"));
  ASSERT_TRUE(loop.runUntil([&] { return client.received.find("\r\n\r\n") != std::string::npos; },
                            kEventually));
  EXPECT_EQ(client.received.rfind("SIP/2.0 400 ", 0), 0u) << client.received;
  client.write(requestText(tcpVia(client.local(), "z9hG4bK-good")));
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  EXPECT_FALSE(client.closed);
}

TEST_F(TcpTransport, StreamWhoseFramingIsLostIsClosedAfterAnswering) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bound);
  TcpPeer client(loop, *bound);
  std::string bad = requestText(tcpVia(client.local()));
  bad.replace(bad.find("Content-Length: 0"), 17, "Content-Length: x");
  client.write(bad);
  ASSERT_TRUE(loop.runUntil([&] { return client.closed; }, kEventually));
  EXPECT_EQ(client.received.rfind("SIP/2.0 400 ", 0), 0u) << client.received;
  EXPECT_EQ(server.counter("p2psip_transport_parse_errors_total"), 1u);
  EXPECT_TRUE(
      loop.runUntil([&] { return server.transport.stats().connections == 0; }, kEventually));
}

TEST_F(TcpTransport, ConnectFailureIsReportedToTheHandler) {
  // Find a free port and leave nothing listening on it.
  net::Endpoint closedPort;
  {
    asio::ip::tcp::acceptor probe(loop.context(), loopback4().toTcp());
    closedPort = net::Endpoint::fromAsio(probe.local_endpoint());
  }
  Node a(loop, timers);
  const Target target{.protocol = Protocol::Tcp, .endpoint = closedPort};
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(closedPort))), target));
  ASSERT_TRUE(loop.runUntil([&] { return !a.handler.errors.empty(); }, kEventually));
  EXPECT_EQ(a.handler.errors[0].first.endpoint, closedPort);
  EXPECT_EQ(a.handler.errors[0].second.code, ErrorCode::TransportError);
  EXPECT_EQ(a.transport.stats().connections, 0u);
}

TEST_F(TcpTransport, ClosingAConnectionReportsNoErrorAndASendThenReopens) {
  Node a(loop, timers);
  Node b(loop, timers);
  auto bBound = b.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(bBound);
  const Target target{.protocol = Protocol::Tcp, .endpoint = *bBound};
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound))), target));
  ASSERT_TRUE(loop.runUntil([&] { return b.handler.messages.size() == 1; }, kEventually));
  const auto infos = a.transport.connections();
  ASSERT_EQ(infos.size(), 1u);
  a.transport.closeConnection(infos[0].id);
  EXPECT_EQ(a.transport.stats().connections, 0u);
  ASSERT_TRUE(loop.runUntil([&] { return b.transport.stats().connections == 0; }, kEventually));
  ASSERT_TRUE(a.transport.send(parse(requestText(tcpVia(*bBound, "z9hG4bK-2"))), target));
  ASSERT_TRUE(loop.runUntil([&] { return b.handler.messages.size() == 2; }, kEventually));
  EXPECT_TRUE(a.handler.errors.empty());
  EXPECT_TRUE(b.handler.errors.empty());
}

TEST_F(TcpTransport, ResponseToAClosedConnectionReopensToReceivedAndSentByPort) {
  Node server(loop, timers);
  Node uac(loop, timers);
  auto serverBound = server.transport.addListener(Protocol::Tcp, loopback4());
  auto uacBound = uac.transport.addListener(Protocol::Tcp, loopback4());
  ASSERT_TRUE(serverBound && uacBound);
  ASSERT_TRUE(uac.transport.send(parse(requestText(tcpVia(*uacBound))),
                                 Target{.protocol = Protocol::Tcp, .endpoint = *serverBound}));
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  InboundMessage& in = server.handler.messages[0];
  server.transport.closeConnection(in.flow.connection);
  auto response = sip::makeResponse(in.message, 200);
  ASSERT_TRUE(server.transport.send(response, responseTarget(in.message.topVia(), in.flow)));
  ASSERT_TRUE(loop.runUntil([&] { return uac.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(uac.handler.messages[0].message.statusCode(), 200);
}

TEST_F(TcpTransport, Ipv6LoopbackRequestAndResponse) {
  if (!ipv6LoopbackAvailable()) GTEST_SKIP() << "no IPv6 loopback";
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Tcp, loopback6());
  ASSERT_TRUE(bound) << bound.error().detail;
  server.answerRequestsWith(200);
  TcpPeer client(loop, *bound);
  client.write(requestText(tcpVia(client.local())));
  ASSERT_TRUE(loop.runUntil([&] { return client.received.find("\r\n\r\n") != std::string::npos; },
                            kEventually));
  EXPECT_EQ(client.received.rfind("SIP/2.0 200 ", 0), 0u);
  EXPECT_TRUE(server.handler.messages[0].flow.remote.address.is_v6());
}

}  // namespace
}  // namespace p2psip::transport
