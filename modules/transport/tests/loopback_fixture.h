// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the transport tests: a recording InboundHandler, raw loopback peers, SIP text
// builders and throwaway TLS identities. Loopback only (127.0.0.1, ::1), port 0, no names.
#pragma once

#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/common/metrics.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/net/tls_context.h"
#include "p2psip/sip/parser.h"
#include "p2psip/transport/transport_layer.h"

namespace p2psip::transport::testing {

using namespace std::chrono_literals;
inline constexpr Duration kEventually = 10s;  // generous bound for "eventually"

inline net::Endpoint loopback4() {
  return net::Endpoint{asio::ip::make_address("127.0.0.1"), 0};
}
inline net::Endpoint loopback6() {
  return net::Endpoint{asio::ip::make_address("::1"), 0};
}

inline bool ipv6LoopbackAvailable() {
  asio::io_context context;
  asio::ip::udp::socket socket(context);
  asio::error_code ec;
  socket.open(asio::ip::udp::v6(), ec);
  if (!ec) socket.bind({asio::ip::make_address("::1"), 0}, ec);
  return !ec;
}

// A request as a UA would write it. `via` is the whole Via value.
inline std::string requestText(std::string_view via, std::string_view method = "OPTIONS",
                               std::string_view cseqMethod = {},
                               std::string_view callId = "call-1") {
  std::string m(method);
  std::string text = m + " sip:bob@127.0.0.1 SIP/2.0\r\n";
  text += "Via: " + std::string(via) + "\r\n";
  text += "Max-Forwards: 70\r\n";
  text += "From: <sip:alice@127.0.0.1>;tag=a1\r\n";
  text += "To: <sip:bob@127.0.0.1>\r\n";
  text += "Call-ID: " + std::string(callId) + "\r\n";
  text += "CSeq: 1 " + std::string(cseqMethod.empty() ? method : cseqMethod) + "\r\n";
  text += "Content-Length: 0\r\n\r\n";
  return text;
}

inline std::string responseText(std::string_view via, int status = 200) {
  std::string text = "SIP/2.0 " + std::to_string(status) + " OK\r\n";
  text += "Via: " + std::string(via) + "\r\n";
  text += "From: <sip:alice@127.0.0.1>;tag=a1\r\n";
  text += "To: <sip:bob@127.0.0.1>;tag=b1\r\n";
  text += "Call-ID: call-1\r\n";
  text += "CSeq: 1 OPTIONS\r\n";
  text += "Content-Length: 0\r\n\r\n";
  return text;
}

inline sip::Message parse(std::string text) {
  auto m = sip::parseOwnText(std::move(text));
  EXPECT_TRUE(m) << (m ? "" : m.error().detail);
  return std::move(*m);
}

class RecordingHandler final : public InboundHandler {
 public:
  void onMessage(InboundMessage&& inbound) override {
    messages.push_back(std::move(inbound));
    if (onEach) onEach(messages.back());
  }
  void onTransportError(const Target& target, const Error& error) override {
    errors.emplace_back(target, error);
  }

  std::vector<InboundMessage> messages;
  std::vector<std::pair<Target, Error>> errors;
  std::function<void(InboundMessage&)> onEach;
};

// One TransportLayer with its handler and metrics, on a shared loop and timer service.
struct Node {
  Node(net::EventLoop& loop, TimerService& timers, const TransportConfig& config = {},
       std::shared_ptr<net::TlsContext> tls = nullptr)
      : transport(loop, timers, metrics, Logger{}, config, std::move(tls)) {
    transport.setInboundHandler(handler);
  }
  std::uint64_t counter(std::string_view name) { return metrics.counter(name).value(); }
  // Answers every request with `status` the RFC 3261 §18.2.2 way.
  void answerRequestsWith(std::uint16_t status) {
    handler.onEach = [this, status](InboundMessage& in) {
      if (!in.message.isRequest()) return;
      auto response = sip::makeResponse(in.message, status);
      auto sent = transport.send(response, responseTarget(in.message.topVia(), in.flow));
      EXPECT_TRUE(sent) << (sent ? "" : sent.error().detail);
    };
  }

  MetricsRegistry metrics;
  RecordingHandler handler;
  TransportLayer transport;
};

// A raw UDP socket standing in for a remote UA.
class UdpPeer {
 public:
  UdpPeer(net::EventLoop& loop, const net::Endpoint& local) : socket_(loop.context()) {
    socket_.open(local.toUdp().protocol());
    socket_.bind(local.toUdp());
    receive();
  }
  net::Endpoint local() const { return net::Endpoint::fromAsio(socket_.local_endpoint()); }
  void send(const std::string& text, const net::Endpoint& to) {
    socket_.send_to(asio::buffer(text), to.toUdp());
  }

  std::vector<std::string> datagrams;
  std::vector<net::Endpoint> senders;

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), sender_,
                               [this](const asio::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 datagrams.emplace_back(buffer_.data(), n);
                                 senders.push_back(net::Endpoint::fromAsio(sender_));
                                 receive();
                               });
  }
  asio::ip::udp::socket socket_;
  std::array<char, 65536> buffer_{};
  asio::ip::udp::endpoint sender_;
};

// A raw TCP client standing in for a remote UA; collects what it reads.
class TcpPeer {
 public:
  TcpPeer(net::EventLoop& loop, const net::Endpoint& server) : socket_(loop.context()) {
    socket_.connect(server.toTcp());
    read();
  }
  ~TcpPeer() {
    asio::error_code ignored;
    socket_.close(ignored);
  }
  net::Endpoint local() const { return net::Endpoint::fromAsio(socket_.local_endpoint()); }
  void write(const std::string& text) { asio::write(socket_, asio::buffer(text)); }
  // For floods: does not block the loop's only thread.
  void writeAsync(std::string text) {
    auto data = std::make_shared<std::string>(std::move(text));
    asio::async_write(socket_, asio::buffer(*data),
                      [data](const asio::error_code&, std::size_t) {});
  }

  std::string received;
  bool closed = false;

 private:
  void read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [this](const asio::error_code& ec, std::size_t n) {
                              if (ec) {
                                closed = true;
                                return;
                              }
                              received.append(buffer_.data(), n);
                              read();
                            });
  }
  asio::ip::tcp::socket socket_;
  std::array<char, 16384> buffer_{};
};

// A throwaway self-signed identity in a private temporary directory.
class TempIdentity {
 public:
  explicit TempIdentity(const std::string& name) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "p2psip-transport-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto identity = net::makeSelfSignedIdentity(name, std::chrono::hours(1));
    EXPECT_TRUE(identity);
    pem_ = *identity;
    std::ofstream(certFile()) << pem_.certificatePem;
    std::ofstream(keyFile()) << pem_.privateKeyPem;
  }
  ~TempIdentity() { std::filesystem::remove_all(dir_); }
  std::string certFile() const { return (dir_ / "cert.pem").string(); }
  std::string keyFile() const { return (dir_ / "key.pem").string(); }
  std::shared_ptr<net::TlsContext> context(net::PeerVerification mode) const {
    auto ctx = net::TlsContext::fromFiles(net::TlsConfig{certFile(), keyFile(), {}, mode});
    EXPECT_TRUE(ctx) << (ctx ? "" : ctx.error().detail);
    return ctx ? *ctx : nullptr;
  }
  std::string certificateDer() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem_.certificatePem.data(), static_cast<int>(pem_.certificatePem.size())),
        &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
    const int len = i2d_X509(cert.get(), nullptr);
    std::string der(static_cast<std::size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509(cert.get(), &p);
    return der;
  }

 private:
  std::filesystem::path dir_;
  net::PemIdentity pem_;
};

}  // namespace p2psip::transport::testing
