// SPDX-License-Identifier: Apache-2.0
// Reflector over loopback, driven by a raw UDP client socket on the same loop.
#include "p2psip/reachability/reflector.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>

#include <asio/ip/udp.hpp>

#include "p2psip/common/timer_queue.h"
#include "p2psip/reachability/stun_message.h"

using namespace std::chrono_literals;

namespace p2psip::reachability {
namespace {

struct Datagram {
  std::string bytes;
  net::Endpoint from;
};

// A plain client socket: sends what the test builds, reads without blocking.
class Client {
 public:
  Client(net::EventLoop& loop, const char* address) : socket_(loop.context()) {
    socket_.open(asio::ip::udp::v4());
    socket_.bind({asio::ip::make_address(address), 0});
    socket_.non_blocking(true);
  }
  net::Endpoint local() const { return net::Endpoint::fromAsio(socket_.local_endpoint()); }
  void send(const std::string& bytes, const net::Endpoint& to) {
    socket_.send_to(asio::buffer(bytes), to.toUdp());
  }
  std::optional<Datagram> tryReceive() {
    std::array<char, 2048> buffer{};
    asio::ip::udp::endpoint from;
    asio::error_code ec;
    const std::size_t n = socket_.receive_from(asio::buffer(buffer), from, 0, ec);
    if (ec) return std::nullopt;
    return Datagram{std::string(buffer.data(), n), net::Endpoint::fromAsio(from)};
  }

 private:
  asio::ip::udp::socket socket_;
};

TransactionId idOf(std::uint8_t seed) {
  TransactionId id{};
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(seed + i);
  return id;
}

std::string bindingRequest(std::uint8_t seed, std::optional<ChangeRequest> change = std::nullopt) {
  StunMessage m;
  m.transactionId = idOf(seed);
  m.changeRequest = change;
  return encodeStun(m);
}

class ReflectorTest : public ::testing::Test {
 protected:
  void startReflector(RateLimitConfig limits = {}) {
    ReflectorConfig config;
    config.primary = *net::Endpoint::parse("127.0.0.2:0");
    config.rateLimit = limits;
    reflector_.emplace(loop_, clock_, metrics_, config);
    auto ok = reflector_->start();
    ASSERT_TRUE(ok) << ok.error().detail;
  }
  std::optional<Datagram> receive(Client& client, Duration timeout = 2s) {
    std::optional<Datagram> got;
    loop_.runUntil(
        [&] {
          if (!got) got = client.tryReceive();
          return got.has_value();
        },
        timeout);
    return got;
  }
  std::optional<StunMessage> exchange(Client& client, const std::string& request,
                                      const net::Endpoint& to, net::Endpoint* from = nullptr) {
    client.send(request, to);
    auto got = receive(client);
    if (!got) return std::nullopt;
    if (from != nullptr) *from = got->from;
    auto decoded = decodeStun(got->bytes);
    if (!decoded) return std::nullopt;
    return *decoded;
  }
  std::uint64_t counter(const char* name) { return metrics_.counter(name).value(); }

  net::EventLoop loop_;
  ManualTimerService clock_;
  MetricsRegistry metrics_;
  std::optional<Reflector> reflector_;
};

TEST_F(ReflectorTest, AnswersWithTheSourceAddressFromThePortItWasAsked) {
  startReflector();
  const auto primary = reflector_->primaryEndpoint();
  const auto alternate = reflector_->alternateEndpoint();
  EXPECT_EQ(primary.address, alternate.address);
  EXPECT_NE(primary.port, alternate.port);

  Client client(loop_, "127.0.0.1");
  net::Endpoint from;
  auto answer = exchange(client, bindingRequest(1), primary, &from);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->messageClass, StunClass::SuccessResponse);
  EXPECT_EQ(answer->transactionId, idOf(1));
  EXPECT_EQ(answer->xorMappedAddress, client.local());
  EXPECT_EQ(answer->responseOrigin, primary);
  EXPECT_FALSE(answer->otherAddress);  // RFC 5780 §7.4: one IP address, no OTHER-ADDRESS
  EXPECT_TRUE(answer->fingerprint);
  EXPECT_EQ(from, primary);
  EXPECT_EQ(counter("p2psip_reachability_binding_answers_total"), 1u);
}

TEST_F(ReflectorTest, ChangePortAnswersFromTheOtherSocket) {
  startReflector();
  const auto primary = reflector_->primaryEndpoint();
  const auto alternate = reflector_->alternateEndpoint();
  Client client(loop_, "127.0.0.1");
  net::Endpoint from;
  auto answer = exchange(client, bindingRequest(2, ChangeRequest{false, true}), primary, &from);
  ASSERT_TRUE(answer);
  EXPECT_EQ(from, alternate);
  EXPECT_EQ(answer->responseOrigin, alternate);
  EXPECT_EQ(answer->xorMappedAddress, client.local());
  // And the other way round: a change-port request to the alternate port is answered from the
  // primary (RFC 5780 §6.1 works relative to where the request arrived).
  answer = exchange(client, bindingRequest(3, ChangeRequest{false, true}), alternate, &from);
  ASSERT_TRUE(answer);
  EXPECT_EQ(from, primary);
  EXPECT_EQ(counter("p2psip_reachability_change_port_answers_total"), 2u);
}

TEST_F(ReflectorTest, ChangeIpIsRefusedWith420) {
  startReflector();
  Client client(loop_, "127.0.0.1");
  auto answer =
      exchange(client, bindingRequest(4, ChangeRequest{true, true}), reflector_->primaryEndpoint());
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->messageClass, StunClass::ErrorResponse);
  ASSERT_TRUE(answer->errorCode);
  EXPECT_EQ(answer->errorCode->code, 420);
  EXPECT_EQ(answer->unknownAttributes, (std::vector<std::uint16_t>{attribute::kChangeRequest}));
}

TEST_F(ReflectorTest, UnknownRequiredAttributesGet420AndOtherMethods400) {
  startReflector();
  Client client(loop_, "127.0.0.1");
  // A Binding request with an unknown comprehension-required attribute 0x7F01.
  std::string request = bindingRequest(5);
  request[3] = 4;
  request += std::string("\x7f\x01\x00\x00", 4);
  auto answer = exchange(client, request, reflector_->primaryEndpoint());
  ASSERT_TRUE(answer);
  ASSERT_TRUE(answer->errorCode);
  EXPECT_EQ(answer->errorCode->code, 420);
  EXPECT_EQ(answer->unknownAttributes, (std::vector<std::uint16_t>{0x7F01}));

  StunMessage allocate;  // TURN Allocate (method 0x003): not ours
  allocate.method = 0x003;
  allocate.transactionId = idOf(6);
  answer = exchange(client, encodeStun(allocate), reflector_->primaryEndpoint());
  ASSERT_TRUE(answer);
  ASSERT_TRUE(answer->errorCode);
  EXPECT_EQ(answer->errorCode->code, 400);
  EXPECT_EQ(answer->method, 0x003);
  EXPECT_EQ(counter("p2psip_reachability_error_answers_total"), 2u);
}

TEST_F(ReflectorTest, MalformedDatagramsAndNonRequestsAreDroppedAndCounted) {
  startReflector();
  Client client(loop_, "127.0.0.1");
  const auto primary = reflector_->primaryEndpoint();
  std::string badCookie = bindingRequest(7);
  badCookie[4] = 0;
  client.send(badCookie, primary);
  client.send("not stun at all", primary);
  client.send(std::string(1400, '\0'), primary);
  client.send(bindingRequest(8).substr(0, 19), primary);
  StunMessage indication;
  indication.messageClass = StunClass::Indication;
  client.send(encodeStun(indication), primary);
  StunMessage response;
  response.messageClass = StunClass::SuccessResponse;
  client.send(encodeStun(response), primary);
  ASSERT_TRUE(loop_.runUntil(
      [&] {
        return counter("p2psip_reachability_requests_malformed_total") == 4 &&
               counter("p2psip_reachability_datagrams_ignored_total") == 2;
      },
      2s));
  loop_.runFor(20ms);
  EXPECT_FALSE(client.tryReceive());
  // Still answering afterwards.
  EXPECT_TRUE(exchange(client, bindingRequest(9), primary));
}

TEST_F(ReflectorTest, RateLimitRefusesASourceOverItsBucketAndCountsIt) {
  RateLimitConfig limits;
  limits.perSourceRate = 1;
  limits.perSourceBurst = 3;
  startReflector(limits);
  Client noisy(loop_, "127.0.0.1");
  Client other(loop_, "127.0.0.4");
  const auto primary = reflector_->primaryEndpoint();
  for (std::uint8_t i = 0; i < 10; ++i) noisy.send(bindingRequest(i), primary);
  ASSERT_TRUE(loop_.runUntil(
      [&] { return counter("p2psip_reachability_requests_refused_total") == 7; }, 2s));
  loop_.runFor(20ms);
  int answers = 0;
  while (noisy.tryReceive()) ++answers;
  EXPECT_EQ(answers, 3);
  EXPECT_EQ(counter("p2psip_reachability_binding_answers_total"), 3u);

  // Another source is not affected.
  EXPECT_TRUE(exchange(other, bindingRequest(50), primary));
  // Time (injected) refills the bucket: one more after a second.
  clock_.advance(1s);
  EXPECT_TRUE(exchange(noisy, bindingRequest(51), primary));
  noisy.send(bindingRequest(52), primary);
  ASSERT_TRUE(loop_.runUntil(
      [&] { return counter("p2psip_reachability_requests_refused_total") == 8; }, 2s));
  EXPECT_EQ(metrics_.gauge("p2psip_reachability_rate_limited_sources").value(), 2);
}

TEST_F(ReflectorTest, StartFailsCleanlyWhenThePortIsTaken) {
  startReflector();
  ReflectorConfig clash;
  clash.primary = reflector_->primaryEndpoint();
  Reflector second(loop_, clock_, metrics_, clash);
  auto ok = second.start();
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::TransportError);

  ReflectorConfig bad;  // unspecified address
  bad.primary = *net::Endpoint::parse("0.0.0.0:0");
  Reflector third(loop_, clock_, metrics_, bad);
  EXPECT_EQ(third.start().error().code, ErrorCode::InvalidArgument);
}

TEST_F(ReflectorTest, StopClosesBothPorts) {
  startReflector();
  const auto primary = reflector_->primaryEndpoint();
  reflector_->stop();
  reflector_->stop();
  Client client(loop_, "127.0.0.1");
  client.send(bindingRequest(1), primary);
  loop_.runFor(50ms);
  EXPECT_FALSE(client.tryReceive());
}

}  // namespace
}  // namespace p2psip::reachability
