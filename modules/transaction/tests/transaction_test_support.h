// SPDX-License-Identifier: Apache-2.0
// Shared fakes for the transaction tests: a recording MessageSender, recording TUs, message
// builders, and a Harness wiring a TransactionLayer to ManualTimerService (deterministic time).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/timer_queue.h"
#include "p2psip/sip/parser.h"
#include "p2psip/transaction/transaction_layer.h"

namespace p2psip::transaction::testing {

using namespace std::chrono_literals;

inline net::Endpoint endpoint(const char* address, std::uint16_t port) {
  return net::Endpoint{asio::ip::make_address(address), port};
}

struct SentMessage {
  sip::Message message;
  transport::Target target;
};

class FakeSender final : public transport::MessageSender {
 public:
  Result<void> send(const sip::Message& message, const transport::Target& target) override {
    if (failSends) return makeError(ErrorCode::TransportError, "fake sender refuses");
    sent.push_back(SentMessage{message.clone(), target});
    return {};
  }
  std::size_t requests(sip::Method method) const {
    std::size_t n = 0;
    for (const auto& s : sent) n += s.message.isRequest() && s.message.method() == method ? 1 : 0;
    return n;
  }
  std::size_t responses(std::uint16_t status) const {
    std::size_t n = 0;
    for (const auto& s : sent) n += s.message.statusCode() == status ? 1 : 0;
    return n;
  }
  const sip::Message& last() const { return sent.back().message; }
  const SentMessage* lastRequest(sip::Method method) const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it) {
      if (it->message.isRequest() && it->message.method() == method) return &*it;
    }
    return nullptr;
  }

  std::vector<SentMessage> sent;
  bool failSends = false;
};

class RecordingTransactionUser final : public TransactionUser {
 public:
  struct Request {
    ServerTransactionId id;
    sip::Message message;
    transport::Flow flow;
  };
  struct Cancel {
    ServerTransactionId id;
    std::optional<ServerTransactionId> invite;
    sip::Message message;
  };
  struct Failure {
    ServerTransactionId id;
    ServerTransactionFailure reason;
    Error error;
  };

  void onRequest(ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& flow) override {
    requests.push_back(Request{id, std::move(request), flow});
    if (onRequestHook) onRequestHook(requests.back());
  }
  void onCancel(ServerTransactionId id, std::optional<ServerTransactionId> invite,
                sip::Message&& cancel, const transport::Flow& /*flow*/) override {
    cancels.push_back(Cancel{id, invite, std::move(cancel)});
  }
  void onAck(sip::Message&& ack, const transport::Flow& /*flow*/) override {
    acks.push_back(std::move(ack));
  }
  void onStrayResponse(sip::Message&& response, const transport::Flow& /*flow*/) override {
    strayResponses.push_back(std::move(response));
  }
  void onServerTransactionFailed(ServerTransactionId id, ServerTransactionFailure reason,
                                 const Error& error) override {
    failures.push_back(Failure{id, reason, error});
  }

  std::vector<Request> requests;
  std::vector<Cancel> cancels;
  std::vector<sip::Message> acks;
  std::vector<sip::Message> strayResponses;
  std::vector<Failure> failures;
  std::function<void(Request&)> onRequestHook;
};

class RecordingClientUser final : public ClientTransactionUser {
 public:
  void onResponse(ClientTransactionId id, sip::Message&& response) override {
    responses.emplace_back(id, std::move(response));
  }
  void onTimeout(ClientTransactionId id, ClientTimeout which) override {
    timeouts.emplace_back(id, which);
  }
  void onTransportError(ClientTransactionId id, const Error& error) override {
    errors.emplace_back(id, error);
  }

  std::vector<std::pair<ClientTransactionId, sip::Message>> responses;
  std::vector<std::pair<ClientTransactionId, ClientTimeout>> timeouts;
  std::vector<std::pair<ClientTransactionId, Error>> errors;
};

inline sip::Message parse(std::string text) {
  auto parsed = sip::parseOwnText(std::move(text));
  if (!parsed) {
    ADD_FAILURE() << "test message does not parse: " << parsed.error().detail;
    std::abort();
  }
  return std::move(*parsed);
}

// A request as a remote UAC (server tests) or our TU (client tests) would write it.
struct RequestSpec {
  std::string method = "INVITE";
  std::string branch = "z9hG4bK-client-1";  // empty: no branch parameter (RFC 2543)
  std::string transport = "UDP";
  std::string sentBy = "192.0.2.10:5060";
  std::string requestUri = "sip:bob@example.com";
  std::string toTag;
  std::string fromTag = "alice-1";
  std::string callId = "call-1@192.0.2.10";
  std::uint32_t cseq = 1;
  std::string cseqMethod;  // defaults to method
  std::vector<std::string> routes;
  std::string extraHeaders;  // complete lines with CRLF
};

inline sip::Message request(const RequestSpec& spec) {
  std::string text = spec.method + " " + spec.requestUri + " SIP/2.0\r\n";
  text += "Via: SIP/2.0/" + spec.transport + " " + spec.sentBy;
  if (!spec.branch.empty()) text += ";branch=" + spec.branch;
  text += "\r\n";
  for (const auto& route : spec.routes) text += "Route: " + route + "\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: Alice <sip:alice@example.com>;tag=" + spec.fromTag + "\r\n";
  text += "To: Bob <sip:bob@example.com>";
  if (!spec.toTag.empty()) text += ";tag=" + spec.toTag;
  text += "\r\n";
  text += "Call-ID: " + spec.callId + "\r\n";
  text += "CSeq: " + std::to_string(spec.cseq) + " " +
          (spec.cseqMethod.empty() ? spec.method : spec.cseqMethod) + "\r\n";
  text += spec.extraHeaders;
  text += "Content-Length: 0\r\n\r\n";
  return parse(std::move(text));
}

inline RequestSpec spec(std::string method, std::string branch = "z9hG4bK-client-1") {
  RequestSpec s;
  s.method = std::move(method);
  s.branch = std::move(branch);
  return s;
}

// A response to `req` as the next hop would send it (Vias, From, To, Call-ID, CSeq copied).
inline sip::Message responseTo(const sip::Message& req, std::uint16_t status,
                               std::string_view toTag = {}) {
  return sip::makeResponse(req, status, {}, toTag);
}

struct Harness {
  explicit Harness(TransactionConfig cfg = {})
      : config(cfg), layer(sender, timers, tu, config, metrics, Logger{}) {}

  static transport::Target udpTarget() {
    return transport::Target{transport::Protocol::Udp, endpoint("198.51.100.7", 5060)};
  }
  static transport::Target tcpTarget() {
    return transport::Target{transport::Protocol::Tcp, endpoint("198.51.100.7", 5060), 42};
  }
  static transport::Flow udpFlow() {
    return transport::Flow{transport::Protocol::Udp, endpoint("203.0.113.1", 5060),
                           endpoint("192.0.2.10", 5060), 0};
  }
  static transport::Flow tcpFlow() {
    return transport::Flow{transport::Protocol::Tcp, endpoint("203.0.113.1", 5060),
                           endpoint("192.0.2.10", 40000), 7};
  }

  void deliver(sip::Message&& message, const transport::Flow& flow = udpFlow()) {
    layer.onMessage(transport::InboundMessage{std::move(message), flow});
  }
  // Starts a client transaction for `req` and checks it was accepted.
  ClientTransactionId send(sip::Message&& req, const transport::Target& target = udpTarget()) {
    auto id = layer.sendRequest(std::move(req), target, client);
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error().detail);
    return id.value_or(ClientTransactionId{});
  }
  // The response the next hop sends to the request we sent last with `method`.
  sip::Message answer(sip::Method method, std::uint16_t status, std::string_view toTag = {}) {
    const auto* sentRequest = sender.lastRequest(method);
    EXPECT_NE(sentRequest, nullptr);
    return responseTo(sentRequest->message, status, toTag);
  }
  std::string state(ClientTransactionId id) const {
    auto info = layer.find(id);
    return info ? info->state : "gone";
  }
  std::string state(ServerTransactionId id) const {
    auto info = layer.find(id);
    return info ? info->state : "gone";
  }
  std::int64_t metric(std::string_view name) const {
    for (const auto& [n, v] : metrics.snapshot()) {
      if (n == name) return v;
    }
    return -1;
  }

  ManualTimerService timers;
  FakeSender sender;
  RecordingTransactionUser tu;
  RecordingClientUser client;
  MetricsRegistry metrics;
  TransactionConfig config;
  TransactionLayer layer;
};

inline TransactionConfig userAgentConfig() {
  TransactionConfig config;
  config.timerC.reset();
  return config;
}

}  // namespace p2psip::transaction::testing
