// SPDX-License-Identifier: Apache-2.0
// SIP over UDP on loopback: RFC 3261 §18.1.2, §18.2.1, §18.2.2 and RFC 3581.
#include "p2psip/transport/transport_layer.h"

#include <gtest/gtest.h>

#include "loopback_fixture.h"

namespace p2psip::transport {
namespace {

using namespace testing;

class UdpTransport : public ::testing::Test {
 protected:
  net::EventLoop loop;
  net::AsioTimerService timers{loop};
};

std::string via(const net::Endpoint& sentBy, std::string_view params = ";rport") {
  return "SIP/2.0/UDP " + sentBy.toString() + ";branch=z9hG4bK-u1" + std::string(params);
}

TEST_F(UdpTransport, ListenerOnPortZeroReportsTheBoundPort) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound) << bound.error().detail;
  EXPECT_NE(bound->port, 0);
  ASSERT_EQ(server.transport.listeners().size(), 1u);
  EXPECT_EQ(server.transport.listeners()[0].local, *bound);
  EXPECT_EQ(server.transport.stats().listeners, 1u);
}

TEST_F(UdpTransport, InboundRequestIsDeliveredWithReceivedAndRportStamped) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer client(loop, loopback4());
  client.send(requestText(via(client.local())), *bound);

  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  const InboundMessage& in = server.handler.messages[0];
  EXPECT_TRUE(in.message.isRequest());
  EXPECT_EQ(in.flow.protocol, Protocol::Udp);
  EXPECT_EQ(in.flow.remote, client.local());
  EXPECT_EQ(in.flow.local, *bound);
  EXPECT_EQ(in.flow.connection, 0u);
  // RFC 3581 §4: with rport, received is added even though sent-by equals the source.
  EXPECT_EQ(in.message.topVia().received(), std::optional<std::string_view>("127.0.0.1"));
  EXPECT_EQ(in.message.topVia().rport(), std::optional<std::uint16_t>(client.local().port));
  EXPECT_EQ(server.counter("p2psip_transport_messages_received_total"), 1u);
}

TEST_F(UdpTransport, ReceivedIsAddedWhenSentByDiffersFromTheSource) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer client(loop, loopback4());
  client.send(requestText("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-u2"), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  const sip::Via& v = server.handler.messages[0].message.topVia();
  EXPECT_EQ(v.received(), std::optional<std::string_view>("127.0.0.1"));
  EXPECT_FALSE(v.hasRport());
}

TEST_F(UdpTransport, NoReceivedWhenSentByMatchesTheSourceAndNoRport) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer client(loop, loopback4());
  client.send(requestText(via(client.local(), "")), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  EXPECT_FALSE(server.handler.messages[0].message.topVia().received());
}

TEST_F(UdpTransport, ResponseGoesBackToTheSourcePortFromTheListenerItArrivedOn) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  server.answerRequestsWith(200);
  UdpPeer client(loop, loopback4());
  // The sent-by port is wrong (as behind a NAT); rport makes the answer reach the real source.
  client.send(requestText("SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-u3;rport"), *bound);

  ASSERT_TRUE(loop.runUntil([&] { return client.datagrams.size() == 1; }, kEventually));
  EXPECT_EQ(client.datagrams[0].rfind("SIP/2.0 200 ", 0), 0u) << client.datagrams[0];
  EXPECT_EQ(client.senders[0], *bound);
  EXPECT_EQ(server.counter("p2psip_transport_messages_sent_total"), 1u);
}

TEST_F(UdpTransport, MalformedRequestIsAnsweredWith400NamingTheProblem) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer client(loop, loopback4());
  const std::string bad =
      requestText(via(client.local()), "OPTIONS", "INVITE");  // CSeq method mismatch
  const auto expected = sip::parseDatagram(bad);
  ASSERT_FALSE(expected);
  ASSERT_TRUE(expected.error().canRespond());
  client.send(bad, *bound);

  ASSERT_TRUE(loop.runUntil([&] { return client.datagrams.size() == 1; }, kEventually));
  auto response = sip::parseDatagram(client.datagrams[0]);
  ASSERT_TRUE(response) << client.datagrams[0];
  EXPECT_EQ(response->statusCode(), 400);
  EXPECT_EQ(response->reasonPhrase(), expected.error().detail);
  EXPECT_TRUE(server.handler.messages.empty());
  EXPECT_EQ(server.counter("p2psip_transport_parse_errors_total"), 1u);
  EXPECT_EQ(server.counter("p2psip_transport_parse_error_responses_total"), 1u);
}

TEST_F(UdpTransport, GarbageIsDroppedAndCountedWithoutAnswer) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer client(loop, loopback4());
  client.send("this is not SIP\r\n\r\n", *bound);
  // A valid request afterwards proves the garbage was processed first.
  client.send(requestText(via(client.local())), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(server.counter("p2psip_transport_parse_errors_total"), 1u);
  EXPECT_EQ(server.counter("p2psip_transport_parse_error_responses_total"), 0u);
  EXPECT_TRUE(client.datagrams.empty());
}

TEST_F(UdpTransport, CrlfKeepAliveDatagramsAreIgnoredSilently) {
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer client(loop, loopback4());
  client.send("\r\n\r\n", *bound);
  client.send("\r\n", *bound);
  client.send(requestText(via(client.local())), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(server.counter("p2psip_transport_parse_errors_total"), 0u);
  EXPECT_TRUE(client.datagrams.empty());
}

TEST_F(UdpTransport, ResponseWithForeignSentByIsDroppedAndCounted) {
  Node uac(loop, timers);
  auto bound = uac.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer remote(loop, loopback4());
  remote.send(responseText("SIP/2.0/UDP 203.0.113.9:5060;branch=z9hG4bK-foreign"), *bound);
  remote.send(responseText("SIP/2.0/UDP " + bound->toString() + ";branch=z9hG4bK-ours"), *bound);

  ASSERT_TRUE(loop.runUntil([&] { return uac.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(uac.handler.messages[0].message.branch(),
            std::optional<std::string_view>("z9hG4bK-ours"));
  EXPECT_EQ(uac.counter("p2psip_transport_responses_foreign_sent_by_total"), 1u);
}

TEST_F(UdpTransport, ConfiguredSentByIsAcceptedForResponses) {
  TransportConfig config;
  config.sentBy = {"p2p.example.com"};
  Node uac(loop, timers, config);
  auto bound = uac.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer remote(loop, loopback4());
  remote.send(responseText("SIP/2.0/UDP p2p.example.com:5099;branch=z9hG4bK-name"), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return uac.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(uac.counter("p2psip_transport_responses_foreign_sent_by_total"), 0u);
}

TEST_F(UdpTransport, RequestSentToAPeerArrives) {
  Node a(loop, timers);
  Node b(loop, timers);
  auto aBound = a.transport.addListener(Protocol::Udp, loopback4());
  auto bBound = b.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(aBound && bBound);
  auto request = parse(requestText(via(*aBound)));
  ASSERT_TRUE(a.transport.send(request, Target{.protocol = Protocol::Udp, .endpoint = *bBound}));
  ASSERT_TRUE(loop.runUntil([&] { return b.handler.messages.size() == 1; }, kEventually));
  EXPECT_EQ(b.handler.messages[0].flow.remote, *aBound);
}

TEST_F(UdpTransport, SendingToAnAddressFamilyWithoutListenerFailsImmediately) {
  Node a(loop, timers);
  ASSERT_TRUE(a.transport.addListener(Protocol::Udp, loopback4()));
  auto request = parse(requestText("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-x"));
  auto sent = a.transport.send(
      request, Target{.protocol = Protocol::Udp, .endpoint = *net::Endpoint::parse("[::1]:5060")});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::Unavailable);
  EXPECT_EQ(a.counter("p2psip_transport_send_errors_total"), 1u);
}

TEST_F(UdpTransport, Ipv6LoopbackRequestIsStampedAndAnswered) {
  if (!ipv6LoopbackAvailable()) GTEST_SKIP() << "no IPv6 loopback";
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback6());
  ASSERT_TRUE(bound) << bound.error().detail;
  server.answerRequestsWith(200);
  UdpPeer client(loop, loopback6());
  client.send(requestText(via(client.local())), *bound);

  ASSERT_TRUE(loop.runUntil([&] { return client.datagrams.size() == 1; }, kEventually));
  ASSERT_EQ(server.handler.messages.size(), 1u);
  const sip::Via& v = server.handler.messages[0].message.topVia();
  EXPECT_EQ(v.received(), std::optional<std::string_view>("::1"));
  EXPECT_EQ(v.rport(), std::optional<std::uint16_t>(client.local().port));
  EXPECT_EQ(client.datagrams[0].rfind("SIP/2.0 200 ", 0), 0u);
}

TEST_F(UdpTransport, ABurstQueuedBeforeTheLoopRunsIsDeliveredWholeInOrderWithEachSender) {
  // More datagrams than one wake-up reads (64) and than one recvmmsg batch: every one arrives,
  // each with its own source, in the order each client sent them.
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  UdpPeer first(loop, loopback4());
  UdpPeer second(loop, loopback4());
  constexpr int kEach = 75;
  for (int i = 0; i < kEach; ++i) {
    first.send(requestText(via(first.local()), "OPTIONS", {}, "a-" + std::to_string(i)), *bound);
    second.send(requestText(via(second.local()), "OPTIONS", {}, "b-" + std::to_string(i)), *bound);
  }
  ASSERT_TRUE(
      loop.runUntil([&] { return server.handler.messages.size() == 2 * kEach; }, kEventually))
      << server.handler.messages.size() << " delivered";
  int nextA = 0;
  int nextB = 0;
  for (const auto& in : server.handler.messages) {
    const std::string callId(in.message.callId());
    if (in.flow.remote == first.local()) {
      EXPECT_EQ(callId, "a-" + std::to_string(nextA++));
    } else {
      ASSERT_EQ(in.flow.remote, second.local());
      EXPECT_EQ(callId, "b-" + std::to_string(nextB++));
    }
    EXPECT_EQ(in.message.topVia().rport(), std::optional<std::uint16_t>(in.flow.remote.port));
  }
  EXPECT_EQ(nextA, kEach);
  EXPECT_EQ(nextB, kEach);
}

TEST_F(UdpTransport, ABurstOverIpv6KeepsEachSendersAddress) {
  if (!ipv6LoopbackAvailable()) GTEST_SKIP() << "no IPv6 loopback";
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback6());
  ASSERT_TRUE(bound) << bound.error().detail;
  UdpPeer client(loop, loopback6());
  for (int i = 0; i < 20; ++i)
    client.send(requestText(via(client.local()), "OPTIONS", {}, "v6-" + std::to_string(i)), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return server.handler.messages.size() == 20; }, kEventually));
  for (int i = 0; i < 20; ++i) {
    const auto& in = server.handler.messages[static_cast<std::size_t>(i)];
    EXPECT_EQ(in.flow.remote, client.local());
    EXPECT_EQ(in.message.callId(), "v6-" + std::to_string(i));
  }
}

// Sends made inside a listener's receive handler: queued, then one sendmmsg (udp_socket.h).
using UdpSendBatching = UdpTransport;

TEST_F(UdpSendBatching, EveryAnswerToABurstLeavesInTheOrderItWasSent) {
  // Answers sent while the listener's receive handler runs leave together at its end (sendmmsg),
  // in batches when there are many: none may be lost or reordered for its receiver.
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  server.answerRequestsWith(200);
  UdpPeer first(loop, loopback4());
  UdpPeer second(loop, loopback4());
  constexpr int kEach = 75;
  for (int i = 0; i < kEach; ++i) {
    first.send(requestText(via(first.local()), "OPTIONS", {}, "a-" + std::to_string(i)), *bound);
    second.send(requestText(via(second.local()), "OPTIONS", {}, "b-" + std::to_string(i)), *bound);
  }
  ASSERT_TRUE(loop.runUntil(
      [&] { return first.datagrams.size() == kEach && second.datagrams.size() == kEach; },
      kEventually))
      << first.datagrams.size() << " and " << second.datagrams.size() << " answers";
  for (int i = 0; i < kEach; ++i) {
    const auto& a = first.datagrams[static_cast<std::size_t>(i)];
    const auto& b = second.datagrams[static_cast<std::size_t>(i)];
    EXPECT_NE(a.find("Call-ID: a-" + std::to_string(i) + "\r\n"), std::string::npos) << a;
    EXPECT_NE(b.find("Call-ID: b-" + std::to_string(i) + "\r\n"), std::string::npos) << b;
  }
  EXPECT_EQ(server.counter("p2psip_transport_messages_sent_total"), 2u * kEach);
  EXPECT_EQ(server.counter("p2psip_transport_send_errors_total"), 0u);
}

TEST_F(UdpSendBatching, AQueuedSendThatFailsIsReportedAsATransportErrorForItsTarget) {
  // A limited broadcast without SO_BROADCAST is refused by the kernel (EACCES, or ENETUNREACH
  // where no interface has a broadcast route). Sent outside a receive handler, the refusal comes
  // back at once; sent from inside one, the send is queued and the refusal reaches the handler's
  // onTransportError for that target when the batch leaves, as a refused connection would.
  Node server(loop, timers);
  auto bound = server.transport.addListener(Protocol::Udp, loopback4());
  ASSERT_TRUE(bound);
  const net::Endpoint nowhere{asio::ip::make_address("255.255.255.255"), 5060};
  auto direct = server.transport.send(parse(requestText(via(*bound), "OPTIONS", {}, "d-1")),
                                      Target{Protocol::Udp, nowhere, 0, {}, {}});
  EXPECT_FALSE(direct);

  std::optional<Result<void>> queued;
  bool handlerDone = false;
  server.handler.onEach = [&](InboundMessage& in) {
    queued = server.transport.send(parse(requestText(via(*bound), "OPTIONS", {}, "q-1")),
                                   Target{Protocol::Udp, nowhere, 0, {}, {}});
    EXPECT_TRUE(server.handler.errors.empty()) << "reported before the handler returned";
    handlerDone = in.message.isRequest();
  };
  UdpPeer client(loop, loopback4());
  client.send(requestText(via(client.local()), "OPTIONS", {}, "trigger"), *bound);
  ASSERT_TRUE(loop.runUntil([&] { return !server.handler.errors.empty(); }, kEventually));
  ASSERT_TRUE(handlerDone);
  ASSERT_TRUE(queued.has_value());
  EXPECT_TRUE(*queued) << "queued sends succeed; their failure comes later";
  ASSERT_EQ(server.handler.errors.size(), 1u);
  EXPECT_EQ(server.handler.errors[0].first.endpoint, nowhere);
  EXPECT_EQ(server.handler.errors[0].first.protocol, Protocol::Udp);
  EXPECT_EQ(server.handler.errors[0].first.local, *bound);
  EXPECT_EQ(server.counter("p2psip_transport_send_errors_total"), 2u);
}

}  // namespace
}  // namespace p2psip::transport
