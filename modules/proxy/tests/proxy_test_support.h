// SPDX-License-Identifier: Apache-2.0
// Shared fakes for the proxy tests: a recording MessageSender under a real TransactionLayer on a
// ManualTimerService (deterministic time), a LocationService fake that answers at once or when the
// test says so, a recording RequestSink, message builders, and the ProxyHarness wiring them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/timer_queue.h"
#include "p2psip/location/location_service.h"
#include "p2psip/proxy/proxy_core.h"
#include "p2psip/sip/parser.h"
#include "p2psip/transaction/transaction_layer.h"

namespace p2psip::proxy::testing {

using namespace std::chrono_literals;

inline net::Endpoint endpoint(const char* address, std::uint16_t port) {
  return net::Endpoint{asio::ip::make_address(address), port};
}

// Our peer listens here; the caller and the callees are elsewhere.
inline constexpr const char* kProxyHost = "203.0.113.1";
inline constexpr const char* kCallerHost = "192.0.2.10";

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
  std::vector<const SentMessage*> requests(sip::Method method) const {
    std::vector<const SentMessage*> out;
    for (const auto& s : sent) {
      if (s.message.isRequest() && s.message.method() == method) out.push_back(&s);
    }
    return out;
  }
  std::vector<const SentMessage*> responses(std::uint16_t status) const {
    std::vector<const SentMessage*> out;
    for (const auto& s : sent) {
      if (s.message.statusCode() == status) out.push_back(&s);
    }
    return out;
  }
  // Responses that went back to the caller (to its Via, 192.0.2.10), with `status` (0: any final).
  std::vector<const SentMessage*> upstream(std::uint16_t status = 0) const {
    std::vector<const SentMessage*> out;
    for (const auto& s : sent) {
      if (!s.message.isResponse()) continue;
      if (s.target.endpoint.address != asio::ip::make_address(kCallerHost)) continue;
      if (status == 0 ? s.message.statusCode() >= 200 : s.message.statusCode() == status)
        out.push_back(&s);
    }
    return out;
  }

  std::deque<SentMessage> sent;  // a deque: references stay valid while more is sent
  bool failSends = false;
};

// LocationService fake: a table of AORs; answers inside lookup() unless `deferred`, in which case
// the test completes pending lookups explicitly (a DHT answering later).
class FakeLocationService final : public location::LocationService {
 public:
  using location::LocationService::lookup;
  void lookup(std::string_view aor, location::LookupScope scope,
              location::LookupCallback callback) override {
    lookedUp.emplace_back(aor);
    scopes.push_back(scope);
    if (deferred) {
      pending.emplace_back(std::string(aor), std::move(callback));
      return;
    }
    callback(answer(aor));
  }
  Result<location::LookupResult> answer(std::string_view aor) const {
    if (failure) return makeError(ErrorCode::Timeout, "fake location lookup timed out");
    auto it = users.find(std::string(aor));
    if (it == users.end()) return location::LookupResult{};
    return it->second;
  }
  void completePending() {
    auto calls = std::move(pending);
    pending.clear();
    for (auto& [aor, callback] : calls) callback(answer(aor));
  }

  std::map<std::string, location::LookupResult> users;
  bool deferred = false;
  bool failure = false;
  std::vector<std::string> lookedUp;
  std::vector<location::LookupScope> scopes;
  std::deque<std::pair<std::string, location::LookupCallback>> pending;
};

class RecordingSink final : public RequestSink {
 public:
  void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& /*flow*/) override {
    requests.emplace_back(id, std::move(request));
  }
  std::vector<std::pair<transaction::ServerTransactionId, sip::Message>> requests;
};

inline sip::Message parse(std::string text) {
  auto parsed = sip::parseOwnText(std::move(text));
  if (!parsed) {
    ADD_FAILURE() << "test message does not parse: " << parsed.error().detail;
    std::abort();
  }
  return std::move(*parsed);
}

// A request as the caller (Alice's UA at 192.0.2.10) writes it.
struct RequestSpec {
  std::string method = "INVITE";
  std::string requestUri = "sip:bob@p2p.test";
  std::string branch = "z9hG4bK-caller-1";
  std::string transport = "UDP";
  std::string toTag;
  std::string callId = "call-1@192.0.2.10";
  std::uint32_t cseq = 1;
  std::optional<std::uint32_t> maxForwards = 70;
  std::vector<std::string> routes;
  std::vector<std::string> extraVias;  // below the caller's (a request that passed other proxies)
  std::string extraHeaders;            // complete lines with CRLF
};

inline sip::Message request(const RequestSpec& spec) {
  std::string text = spec.method + " " + spec.requestUri + " SIP/2.0\r\n";
  text +=
      "Via: SIP/2.0/" + spec.transport + " " + kCallerHost + ":5060;branch=" + spec.branch + "\r\n";
  for (const auto& via : spec.extraVias) text += "Via: " + via + "\r\n";
  for (const auto& route : spec.routes) text += "Route: " + route + "\r\n";
  if (spec.maxForwards) text += "Max-Forwards: " + std::to_string(*spec.maxForwards) + "\r\n";
  text += "From: Alice <sip:alice@p2p.test>;tag=alice-1\r\n";
  text += "To: Bob <sip:bob@p2p.test>";
  if (!spec.toTag.empty()) text += ";tag=" + spec.toTag;
  text += "\r\n";
  text += "Call-ID: " + spec.callId + "\r\n";
  text += "CSeq: " + std::to_string(spec.cseq) + " " + spec.method + "\r\n";
  text += "Contact: <sip:alice@192.0.2.10:5060>\r\n";
  text += spec.extraHeaders;
  text += "Content-Length: 0\r\n\r\n";
  return parse(std::move(text));
}

inline RequestSpec spec(std::string method, std::string requestUri = "sip:bob@p2p.test") {
  RequestSpec s;
  s.method = std::move(method);
  s.requestUri = std::move(requestUri);
  return s;
}

// A registered contact of bob@p2p.test, reached directly (no NAT, no outbound).
inline location::ContactBinding binding(std::string contact, std::uint16_t q = 1000) {
  location::ContactBinding b;
  b.aor = "sip:bob@p2p.test";
  b.contactUri = std::move(contact);
  b.q = q;
  return b;
}

struct ProxyHarness {
  static ProxyConfig defaultConfig() {
    ProxyConfig config;
    config.addresses = {{transport::Protocol::Udp, kProxyHost, 5060},
                        {transport::Protocol::Tcp, kProxyHost, 5060}};
    return config;
  }
  static sip::LocalDomains defaultDomains() {
    return sip::LocalDomains({"p2p.test"}, {kProxyHost});
  }

  explicit ProxyHarness(ProxyConfig proxyConfig = defaultConfig(),
                        transaction::TransactionConfig txConfig = {}, MediaPolicy* media = nullptr)
      : transactionConfig(txConfig),
        config(std::move(proxyConfig)),
        // The layer keeps a reference to its user; `proxy` is built right after it and destroyed
        // before it, so that its destructor can detach from the layer.
        layer(sender, timers, proxy, transactionConfig, metrics, Logger{}),
        proxy(layer, location, defaultDomains(), config, sink, metrics, Logger{}, media) {}

  static transport::Flow callerFlow(transport::Protocol protocol = transport::Protocol::Udp) {
    transport::Flow flow{protocol, endpoint(kProxyHost, 5060), endpoint(kCallerHost, 5060), 0};
    if (protocol != transport::Protocol::Udp) flow.connection = 7;
    return flow;
  }
  // A flow from a downstream element (where a response to `sent` comes from).
  static transport::Flow flowFrom(const transport::Target& target) {
    return transport::Flow{target.protocol, endpoint(kProxyHost, 5060), target.endpoint,
                           target.connection};
  }

  void fromCaller(sip::Message&& message,
                  const transport::Flow& flow = callerFlow(transport::Protocol::Udp)) {
    layer.onMessage(transport::InboundMessage{std::move(message), flow});
  }
  // The callee behind `sent` answers it.
  void answer(const SentMessage& sent, std::uint16_t status, std::string_view toTag = {},
              std::string extraHeaders = {}) {
    auto response = sip::makeResponse(sent.message, status, {}, toTag);
    if (!extraHeaders.empty()) {
      std::string text = response.serialize();
      text.insert(text.find("\r\n\r\n") + 2, extraHeaders);
      response = parse(std::move(text));
    }
    layer.onMessage(transport::InboundMessage{std::move(response), flowFrom(sent.target)});
  }
  std::int64_t metric(std::string_view name) const {
    for (const auto& [n, v] : metrics.snapshot()) {
      if (n == name) return v;
    }
    return -1;
  }

  ManualTimerService timers;
  FakeSender sender;
  MetricsRegistry metrics;
  FakeLocationService location;
  RecordingSink sink;
  transaction::TransactionConfig transactionConfig;
  ProxyConfig config;
  transaction::TransactionLayer layer;
  ProxyCore proxy;
};

// Every Via value of a message, top first.
inline std::vector<std::string> vias(const sip::Message& m) {
  std::vector<std::string> out;
  for (auto v : m.values(sip::HeaderId::Via)) out.emplace_back(v);
  return out;
}
inline std::vector<std::string> values(const sip::Message& m, sip::HeaderId id) {
  std::vector<std::string> out;
  for (auto v : m.values(id)) out.emplace_back(v);
  return out;
}

}  // namespace p2psip::proxy::testing
