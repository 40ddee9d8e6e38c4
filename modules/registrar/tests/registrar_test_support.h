// SPDX-License-Identifier: Apache-2.0
// Fakes for the registrar tests: a real TransactionLayer over a recording MessageSender and a
// ManualTimerService, whose TransactionUser hands REGISTERs to the Registrar under test; REGISTER
// builders; and an independent digest client (OpenSSL EVP directly, not the module's code).
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <asio/ip/address.hpp>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/timer_queue.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/registrar/registrar.h"
#include "p2psip/sip/aor.h"
#include "p2psip/sip/parser.h"
#include "p2psip/transaction/transaction_layer.h"

namespace p2psip::registrar::testing {

using namespace std::chrono_literals;

inline net::Endpoint endpoint(const char* address, std::uint16_t port) {
  return net::Endpoint{asio::ip::make_address(address), port};
}

inline transport::Flow udpFlow() {
  return transport::Flow{transport::Protocol::Udp, endpoint("203.0.113.1", 5060),
                         endpoint("192.0.2.10", 5060), 0};
}
inline transport::Flow tcpFlow(transport::ConnectionId connection = 7) {
  return transport::Flow{transport::Protocol::Tcp, endpoint("203.0.113.1", 5060),
                         endpoint("192.0.2.10", 40000), connection};
}

class RecordingSender final : public transport::MessageSender {
 public:
  Result<void> send(const sip::Message& message, const transport::Target&) override {
    sent.push_back(message.clone());
    return {};
  }
  std::vector<sip::Message> sent;
};

// The daemon's role: every REGISTER goes to the registrar.
class RegisterForwarder final : public transaction::TransactionUser {
 public:
  void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& flow) override {
    ASSERT_NE(registrar, nullptr);
    registrar->onRegister(id, std::move(request), flow);
  }
  void onCancel(transaction::ServerTransactionId, std::optional<transaction::ServerTransactionId>,
                sip::Message&&, const transport::Flow&) override {}
  void onAck(sip::Message&&, const transport::Flow&) override {}
  void onStrayResponse(sip::Message&&, const transport::Flow&) override {}
  void onServerTransactionFailed(transaction::ServerTransactionId,
                                 transaction::ServerTransactionFailure, const Error&) override {}
  Registrar* registrar = nullptr;
};

struct RegisterSpec {
  std::string requestUri = "sip:p2p.test";
  std::string to = "sip:bob@p2p.test";
  std::string callId = "reg-1@192.0.2.10";
  std::uint32_t cseq = 1;
  std::vector<std::string> contacts;  // one Contact line each
  std::string expires;                // Expires header value; empty: none
  std::string extraHeaders;           // complete lines with CRLF
};

inline std::string lowerHex(const unsigned char* data, unsigned int size) {
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", data[i]);
    out += buf;
  }
  return out;
}

// The client side of RFC 2617 / RFC 8760, written against EVP to check the module independently.
inline std::string clientHash(const char* algorithm, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  const EVP_MD* type = std::string_view(algorithm) == "MD5" ? EVP_md5() : EVP_sha256();
  EVP_Digest(data.data(), data.size(), md, &size, type, nullptr);
  return lowerHex(md, size);
}

// The value of parameter `name` in a challenge, quotes removed.
inline std::string challengeParam(std::string_view challenge, std::string_view name) {
  std::string key = std::string(name) + "=";
  std::size_t pos = 0;
  while ((pos = challenge.find(key, pos)) != std::string_view::npos) {
    if (pos == 0 || challenge[pos - 1] == ' ' || challenge[pos - 1] == ',') break;
    pos += key.size();
  }
  if (pos == std::string_view::npos) return {};
  std::string_view rest = challenge.substr(pos + key.size());
  if (!rest.empty() && rest.front() == '"') {
    rest.remove_prefix(1);
    return std::string(rest.substr(0, rest.find('"')));
  }
  return std::string(rest.substr(0, rest.find_first_of(", ")));
}

struct DigestAnswer {
  std::string algorithm = "MD5";  // or "SHA-256"
  std::string username = "bob";
  std::string password = "secret";
  std::string realm = "p2p.test";
  std::string nonce;
  std::string uri = "sip:p2p.test";
  std::uint32_t nc = 1;
  std::string cnonce = "0a4f113b";
};

inline std::string authorization(const DigestAnswer& a) {
  char nc[9];
  std::snprintf(nc, sizeof nc, "%08x", a.nc);
  const char* alg = a.algorithm.c_str();
  const std::string ha1 = clientHash(alg, a.username + ":" + a.realm + ":" + a.password);
  const std::string ha2 = clientHash(alg, "REGISTER:" + a.uri);
  const std::string response =
      clientHash(alg, ha1 + ":" + a.nonce + ":" + nc + ":" + a.cnonce + ":auth:" + ha2);
  return "Digest username=\"" + a.username + "\", realm=\"" + a.realm + "\", nonce=\"" + a.nonce +
         "\", uri=\"" + a.uri + "\", response=\"" + response + "\", algorithm=" + a.algorithm +
         ", qop=auth, nc=" + nc + ", cnonce=\"" + a.cnonce + "\"";
}

// A credentials file in the temporary directory, removed with the object.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("p2psip-registrar-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(++counter) + ".htdigest");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline std::chrono::system_clock::time_point fixedWallClock() {
  // Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 2616 §3.3.1.
  return std::chrono::system_clock::time_point(std::chrono::seconds(784111777));
}

struct Harness {
  explicit Harness(RegistrarConfig config = {}, location::BindingStoreConfig storeConfig = {})
      : storeConfig_(storeConfig),
        store(storeConfig_, timers),
        layer(sender, timers, forwarder, transactionConfig, metrics, Logger{}),
        registrar(config, domains, store, layer, timers, metrics, Logger{},
                  [this] { return wallNow; }) {
    forwarder.registrar = &registrar;
  }

  // Sends a REGISTER and returns the response the registrar sent (a copy).
  sip::Message send(const RegisterSpec& spec, const transport::Flow& flow = udpFlow()) {
    std::string text = "REGISTER " + spec.requestUri + " SIP/2.0\r\n";
    text += "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-" +
            std::to_string(++branchCounter) + "\r\n";
    text += "Max-Forwards: 70\r\n";
    text += "From: <" + spec.to + ">;tag=from-1\r\n";
    text += "To: <" + spec.to + ">\r\n";
    text += "Call-ID: " + spec.callId + "\r\n";
    text += "CSeq: " + std::to_string(spec.cseq) + " REGISTER\r\n";
    for (const auto& contact : spec.contacts) text += "Contact: " + contact + "\r\n";
    if (!spec.expires.empty()) text += "Expires: " + spec.expires + "\r\n";
    text += spec.extraHeaders;
    text += "Content-Length: 0\r\n\r\n";
    auto parsed = sip::parseOwnText(std::move(text));
    if (!parsed) {
      ADD_FAILURE() << "test REGISTER does not parse: " << parsed.error().detail;
      std::abort();
    }
    const std::size_t before = sender.sent.size();
    layer.onMessage(transport::InboundMessage{std::move(*parsed), flow});
    if (sender.sent.size() != before + 1) {
      ADD_FAILURE() << "expected exactly one response, got " << sender.sent.size() - before;
      std::abort();
    }
    return sender.sent.back().clone();
  }

  std::int64_t metric(std::string_view name) const {
    for (const auto& [n, v] : metrics.snapshot()) {
      if (n == name) return v;
    }
    return -1;
  }

  ManualTimerService timers;
  RecordingSender sender;
  RegisterForwarder forwarder;
  MetricsRegistry metrics;
  transaction::TransactionConfig transactionConfig;
  sip::LocalDomains domains{{"p2p.test", "other.test"}, {"127.0.0.1", "203.0.113.1"}};
  location::BindingStoreConfig storeConfig_;
  location::BindingStore store;
  transaction::TransactionLayer layer;
  std::chrono::system_clock::time_point wallNow = fixedWallClock();  // what Date says
  Registrar registrar;
  int branchCounter = 0;
};

inline std::vector<std::string> values(const sip::Message& m, sip::HeaderId id) {
  std::vector<std::string> out;
  for (auto v : m.values(id)) out.emplace_back(v);
  return out;
}
// Each line of a header whose values contain commas (WWW-Authenticate), unsplit.
inline std::vector<std::string> lines(const sip::Message& m, sip::HeaderId id) {
  std::vector<std::string> out;
  for (const auto& h : m.headers()) {
    if (h.id == id) out.emplace_back(h.value);
  }
  return out;
}
inline std::string header(const sip::Message& m, sip::HeaderId id) {
  const auto* h = m.find(id);
  return h ? std::string(h->value) : std::string();
}

}  // namespace p2psip::registrar::testing
