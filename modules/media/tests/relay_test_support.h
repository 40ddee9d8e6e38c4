// SPDX-License-Identifier: Apache-2.0
// Test doubles for the relay: a UDP socket playing a phone (or a stranger), RTP/RTCP packet
// builders, and a "signalling thread" that is the test's own thread, fed by a queue the media
// threads post into. Every wait is bounded.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "file_descriptor.h"
#include "p2psip/net/endpoint.h"
#include "socket_address.h"

namespace p2psip::media::testing {

using namespace std::chrono_literals;

inline asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

// An RTP packet (RFC 3550 §5.1): V=2, no padding, extension or CSRC; payload of `payloadSize`
// bytes of `fill`.
inline std::vector<std::uint8_t> rtpPacket(std::uint16_t sequence, std::uint32_t timestamp,
                                           std::uint32_t ssrc, std::size_t payloadSize = 160,
                                           std::uint8_t payloadType = 0, std::uint8_t fill = 0xd5) {
  std::vector<std::uint8_t> p(12 + payloadSize, fill);
  p[0] = 0x80;
  p[1] = payloadType;
  p[2] = static_cast<std::uint8_t>(sequence >> 8);
  p[3] = static_cast<std::uint8_t>(sequence);
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<std::uint8_t>(timestamp >> (24 - 8 * i));
    p[8 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
  }
  return p;
}

// An empty RTCP receiver report (RFC 3550 §6.4.2): header and sender SSRC, 8 bytes.
inline std::vector<std::uint8_t> rtcpReceiverReport(std::uint32_t ssrc) {
  std::vector<std::uint8_t> p = {0x80, 201, 0, 1, 0, 0, 0, 0};
  for (int i = 0; i < 4; ++i) p[4 + i] = static_cast<std::uint8_t>(ssrc >> (24 - 8 * i));
  return p;
}

struct Datagram {
  std::vector<std::uint8_t> bytes;
  net::Endpoint source;
};

// A UDP socket on a loopback address: a phone, a far relay, or an attacker.
class Phone {
 public:
  explicit Phone(const char* address, std::uint16_t port = 0) : Phone(ip(address), port) {}
  explicit Phone(const asio::ip::address& address, std::uint16_t port = 0) {
    if (!tryBind(address, port)) throw std::runtime_error("cannot bind test socket");
  }
  static std::optional<Phone> at(const asio::ip::address& address, std::uint16_t port) {
    Phone phone;
    if (!phone.tryBind(address, port)) return std::nullopt;
    return phone;
  }

  net::Endpoint endpoint() const { return local_; }

  void send(const net::Endpoint& to, const std::vector<std::uint8_t>& bytes) const {
    const auto address = SocketAddress::from(to);
    ::sendto(fd_.get(), bytes.data(), bytes.size(), 0, address.data(), address.length);
  }

  // The next datagram within `timeout`, or nullopt.
  std::optional<Datagram> receive(std::chrono::milliseconds timeout = 2000ms) const {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    std::vector<std::uint8_t> buffer(70000);
    SocketAddress source;
    source.length = sizeof source.storage;
    const auto n =
        ::recvfrom(fd_.get(), buffer.data(), buffer.size(), 0, source.data(), &source.length);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<std::size_t>(n));
    return Datagram{std::move(buffer), source.toEndpoint()};
  }

  // Everything queued now (waiting `quiet` for more), for "nothing else arrived" checks.
  std::vector<Datagram> drain(std::chrono::milliseconds quiet = 100ms) const {
    std::vector<Datagram> out;
    while (auto d = receive(quiet)) out.push_back(std::move(*d));
    return out;
  }

  int fd() const { return fd_.get(); }

 private:
  Phone() = default;
  bool tryBind(const asio::ip::address& address, std::uint16_t port) {
    fd_ = FileDescriptor(::socket(address.is_v4() ? AF_INET : AF_INET6, SOCK_DGRAM, 0));
    const int size = 4 << 20;  // room for bursts (capped by net.core.rmem_max)
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    const auto local = SocketAddress::from(address, port);
    if (::bind(fd_.get(), local.data(), local.length) != 0) return false;
    SocketAddress bound;
    bound.length = sizeof bound.storage;
    ::getsockname(fd_.get(), bound.data(), &bound.length);
    local_ = bound.toEndpoint();
    return true;
  }

  FileDescriptor fd_;
  net::Endpoint local_;
};

// A phone with its RTP socket on an even port and its RTCP socket on the next one (RFC 3550
// §11), found by trying pairs in [from, from + 2 * tries).
struct PhoneWithRtcp {
  Phone rtp;
  Phone rtcp;
  static PhoneWithRtcp bind(const char* address, std::uint16_t from) {
    for (std::uint16_t port = from; port < from + 200; port += 2) {
      auto rtp = Phone::at(ip(address), port);
      if (!rtp) continue;
      auto rtcp = Phone::at(ip(address), static_cast<std::uint16_t>(port + 1));
      if (!rtcp) continue;
      return PhoneWithRtcp{std::move(*rtp), std::move(*rtcp)};
    }
    throw std::runtime_error("no free port pair for the test phone");
  }
};

// The test thread plays the signalling thread: media threads post closures here, and the test
// runs them by draining.
class SignallingQueue {
 public:
  std::function<void(std::function<void()>)> poster() {
    return [this](std::function<void()> task) {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    };
  }
  // Runs what was posted so far, on the calling thread. Returns how many ran.
  std::size_t drain() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
    return tasks.size();
  }
  // Drains until `done()` or `timeout`.
  bool drainUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      drain();
      if (done()) return true;
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);
    }
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
};

// Polls `condition` until true or `timeout` (for what the media thread does asynchronously).
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

}  // namespace p2psip::media::testing
