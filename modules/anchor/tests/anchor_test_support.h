// SPDX-License-Identifier: Apache-2.0
// Phones (UDP sockets on loopback) and SIP/SDP text builders shared by the anchor tests.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "p2psip/net/endpoint.h"
#include "p2psip/sdp/session_description.h"
#include "p2psip/sip/parser.h"

namespace p2psip::anchor::testing {

inline asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

// A phone's RTP socket on loopback, with a bounded receive.
class Phone {
 public:
  explicit Phone(const char* address) : fd_(::socket(AF_INET, SOCK_DGRAM, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &sa.sin_addr);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    socklen_t len = sizeof sa;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    endpoint_ = net::Endpoint{ip(address), ntohs(sa.sin_port)};
    timeval tv{0, 200000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Phone() { ::close(fd_); }
  Phone(const Phone&) = delete;
  Phone& operator=(const Phone&) = delete;

  const net::Endpoint& endpoint() const { return endpoint_; }

  void sendRtp(const net::Endpoint& to, std::uint16_t seq) const {
    std::uint8_t packet[172] = {0x80, 0x00};
    packet[2] = static_cast<std::uint8_t>(seq >> 8);
    packet[3] = static_cast<std::uint8_t>(seq);
    packet[8] = static_cast<std::uint8_t>(endpoint_.port);  // SSRC differs per phone
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(to.port);
    ::inet_pton(AF_INET, to.address.to_string().c_str(), &sa.sin_addr);
    ::sendto(fd_, packet, sizeof packet, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }

  // Counts RTP datagrams arriving within a short bounded wait.
  int receiveCount(int expected) const {
    int got = 0;
    std::uint8_t buffer[2048];
    for (int attempts = 0; got < expected && attempts < expected + 10; ++attempts) {
      if (::recv(fd_, buffer, sizeof buffer, 0) > 0) ++got;
    }
    return got;
  }
  // The same, skipping the relays' payload-less keepalives (RFC 6263 §4.6).
  int receiveMediaCount(int expected) const {
    int got = 0;
    std::uint8_t buffer[2048];
    for (int attempts = 0; got < expected && attempts < 4 * expected + 10; ++attempts) {
      if (::recv(fd_, buffer, sizeof buffer, 0) > 12) ++got;
    }
    return got;
  }

 private:
  int fd_;
  net::Endpoint endpoint_;
};

inline std::string offer(const net::Endpoint& audio,
                         std::optional<net::Endpoint> video = std::nullopt,
                         std::string_view extra = "") {
  std::string body = "v=0\r\no=alice 1 1 IN IP4 " + audio.address.to_string() +
                     "\r\ns=-\r\nc=IN IP4 " + audio.address.to_string() + "\r\nt=0 0\r\nm=audio " +
                     std::to_string(audio.port) + " RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n" +
                     std::string(extra);
  if (video) {
    body += "m=video " + std::to_string(video->port) + " RTP/AVP 96\r\nc=IN IP4 " +
            video->address.to_string() + "\r\na=rtpmap:96 H264/90000\r\n";
  }
  return body;
}

inline sip::Message parse(const std::string& text) {
  auto message = sip::parseOwnText(text);
  EXPECT_TRUE(message) << text;
  return std::move(*message);
}

inline std::string request(std::string_view method, std::string_view callId,
                           std::string_view fromTag, std::string_view toTag, std::uint32_t cseq,
                           const std::string& body) {
  std::string text =
      std::string(method) + " sip:bob@127.0.0.1 SIP/2.0\r\n" +
      "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + std::to_string(cseq) +
      "\r\nMax-Forwards: 70\r\nFrom: <sip:alice@p2p.test>;tag=" + std::string(fromTag) +
      "\r\nTo: <sip:bob@p2p.test>" + (toTag.empty() ? "" : ";tag=" + std::string(toTag)) +
      "\r\nCall-ID: " + std::string(callId) + "\r\nCSeq: " + std::to_string(cseq) + " " +
      std::string(method) + "\r\nContact: <sip:alice@127.0.0.1:5070>\r\n";
  if (!body.empty()) text += "Content-Type: application/sdp\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return text;
}

inline std::string response(std::uint16_t status, std::string_view method, std::string_view callId,
                            std::string_view fromTag, std::uint32_t cseq, const std::string& body) {
  std::string text = "SIP/2.0 " + std::to_string(status) + " Whatever\r\n" +
                     "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-" + std::to_string(cseq) +
                     "\r\nFrom: <sip:alice@p2p.test>;tag=" + std::string(fromTag) +
                     "\r\nTo: <sip:bob@p2p.test>;tag=bobtag\r\nCall-ID: " + std::string(callId) +
                     "\r\nCSeq: " + std::to_string(cseq) + " " + std::string(method) + "\r\n";
  if (!body.empty()) text += "Content-Type: application/sdp\r\n";
  text += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  return text;
}

// Polls `done` until it holds or about five seconds pass (media threads report asynchronously).
inline bool eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 5000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

// What a phone would take out of an SDP body: per m= line, where to send.
inline std::vector<net::Endpoint> endpointsIn(std::string_view body) {
  auto sdp = sdp::SessionDescription::parse(std::string(body));
  EXPECT_TRUE(sdp) << body;
  std::vector<net::Endpoint> out;
  for (const auto& m : sdp->mediaDescriptions()) {
    out.push_back(
        net::Endpoint{ip(std::string(m.effectiveConnection()->address).c_str()), m.port()});
  }
  return out;
}

}  // namespace p2psip::anchor::testing
