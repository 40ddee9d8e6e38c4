// SPDX-License-Identifier: Apache-2.0
#include "relay_bench_forwarders.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace relay_bench {
namespace {

constexpr std::size_t kBatch = 32;  // as RelayConfig::batchSize's default
constexpr std::size_t kDatagramBuffer = 2048;
constexpr int kEpollEvents = 256;  // as the relay's media thread
constexpr int kEachPerWakeup = 256;
// Below the ephemeral range (32768-60999 here) so that no port-0 socket can hold a relay port.
constexpr std::uint16_t kRelayPortMin = 20000;
constexpr std::uint16_t kRelayPortMax = 32767;

}  // namespace

// ---------------------------------------------------------------- raw loops

RawForwarder::RawForwarder(RawMode mode, const std::vector<net::Endpoint>& phonesA,
                           const std::vector<net::Endpoint>& phonesB)
    : mode_(mode),
      buffers_(kBatch * kDatagramBuffer),
      receiveIov_(kBatch),
      sendIov_(kBatch),
      received_(kBatch),
      sending_(kBatch) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  a_.reserve(phonesA.size());
  b_.reserve(phonesA.size());
  for (std::size_t i = 0; i < phonesA.size(); ++i) {
    a_.emplace_back(kLegAAddress);
    b_.emplace_back(kLegBAddress);
    toA_.push_back(toSockaddr(phonesA[i]));
    toB_.push_back(toSockaddr(phonesB[i]));
    legA_.push_back(a_.back().address());
    legB_.push_back(b_.back().address());
    for (int side = 0; side < 2; ++side) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i * 2 + static_cast<std::size_t>(side);
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, (side == 0 ? a_ : b_).back().fd(), &event);
    }
  }
  for (std::size_t i = 0; i < kBatch; ++i) {
    receiveIov_[i] = iovec{buffers_.data() + i * kDatagramBuffer, kDatagramBuffer};
    received_[i].msg_hdr.msg_iov = &receiveIov_[i];
    received_[i].msg_hdr.msg_iovlen = 1;
    sending_[i].msg_hdr.msg_iov = &sendIov_[i];
    sending_[i].msg_hdr.msg_iovlen = 1;
    sending_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  thread_ = std::thread([this] { run(); });
  while (tid_.load() == 0) std::this_thread::yield();
}

RawForwarder::~RawForwarder() {
  stop_.store(true);
  thread_.join();
  ::close(epoll_);
}

void RawForwarder::run() {
  // Named for `perf report --comm`.
  ::pthread_setname_np(::pthread_self(),
                       mode_ == RawMode::Mmsg ? "raw-mmsg-fwd" : "raw-single-fwd");
  tid_.store(::gettid());
  epoll_event events[kEpollEvents];
  while (!stop_.load(std::memory_order_relaxed)) {
    const int ready = ::epoll_wait(epoll_, events, kEpollEvents, 20);
    for (int e = 0; e < ready; ++e) {
      const std::size_t stream = events[e].data.u64 / 2;
      const bool fromA = events[e].data.u64 % 2 == 0;
      const int from = (fromA ? a_ : b_)[stream].fd();
      const int to = (fromA ? b_ : a_)[stream].fd();
      const sockaddr_in& destination = (fromA ? toB_ : toA_)[stream];
      if (mode_ == RawMode::Mmsg) {
        forwardBatch(from, to, destination);
      } else {
        forwardEach(from, to, destination);
      }
    }
  }
}

void RawForwarder::forwardBatch(int from, int to, const sockaddr_in& destination) {
  // Level-triggered like the relay: one batch per ready socket per wake-up, the rest next time.
  const int count =
      ::recvmmsg(from, received_.data(), static_cast<unsigned>(kBatch), MSG_DONTWAIT, nullptr);
  if (count <= 0) return;
  for (int i = 0; i < count; ++i) {
    sendIov_[i] = iovec{receiveIov_[i].iov_base, received_[i].msg_len};
    sending_[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&destination);
  }
  // No checks: what does not go at once (a full buffer) is dropped.
  ::sendmmsg(to, sending_.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
}

void RawForwarder::forwardEach(int from, int to, const sockaddr_in& destination) {
  unsigned char* buffer = buffers_.data();
  // Until EAGAIN, as the older bench's reference did, but bounded: a socket that keeps filling
  // is served again after the others.
  for (int i = 0; i < kEachPerWakeup; ++i) {
    const auto n = ::recvfrom(from, buffer, kDatagramBuffer, 0, nullptr, nullptr);
    if (n < 0) break;
    ::sendto(to, buffer, static_cast<std::size_t>(n), 0,
             reinterpret_cast<const sockaddr*>(&destination), sizeof destination);
  }
}

// ---------------------------------------------------------------- the relay

RelayForwarder::RelayForwarder(const RelaySetup& setup) {
  media::RelayConfig config;
  config.addresses = {asio::ip::make_address(kLegAAddress), asio::ip::make_address(kLegBAddress)};
  config.portMin = kRelayPortMin;
  config.portMax = kRelayPortMax;
  config.maxStreams = setup.maxStreams;
  config.socketBufferBytes = setup.socketBufferBytes;
  // Streams of a later capacity step wait idle through the earlier ones: none may time out.
  config.inactivityTimeout = std::chrono::hours(1);
  const auto before = threadsNamed("p2psip-media-0");
  // The bench is its own signalling thread and needs no report (timeouts, latches): dropped.
  engine_ = std::make_unique<media::RelayEngine>(
      config, [](std::function<void()>) {}, metrics_, p2psip::Logger{});
  if (auto started = engine_->start(); !started) {
    std::fprintf(stderr, "relay: %s\n", started.error().detail.c_str());
    std::exit(1);
  }
  for (const pid_t tid : threadsNamed("p2psip-media-0")) {
    if (std::find(before.begin(), before.end(), tid) == before.end()) tid_ = tid;
  }
  if (tid_ == 0) {
    std::fprintf(stderr, "relay: media thread not found\n");
    std::exit(1);
  }
}

void RelayForwarder::reserve(std::size_t streams) {
  legA_.reserve(legA_.size() + streams);
  legB_.reserve(legB_.size() + streams);
}

double RelayForwarder::allocate(const std::vector<net::Endpoint>& phonesA,
                                const std::vector<net::Endpoint>& phonesB) {
  const auto local = [](const char* address) { return asio::ip::make_address(address); };
  const auto start = Clock::now();
  for (std::size_t i = 0; i < phonesA.size(); ++i) {
    auto stream =
        engine_->allocate(media::LegConfig{.local = local(kLegAAddress), .remote = phonesA[i]},
                          media::LegConfig{.local = local(kLegBAddress), .remote = phonesB[i]});
    if (!stream) {
      std::fprintf(stderr, "relay: stream %zu: %s\n", legA_.size(), stream.error().detail.c_str());
      std::exit(1);
    }
    legA_.push_back(toSockaddr(stream->legA));
    legB_.push_back(toSockaddr(stream->legB));
  }
  const auto elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  return phonesA.empty() ? 0 : elapsed / static_cast<double>(phonesA.size());
}

}  // namespace relay_bench
