// SPDX-License-Identifier: Apache-2.0
// The RTP relay (media::RelayEngine: epoll, recvmmsg/sendmmsg, checks, latching, RFC 3550
// statistics) against a reference forwarder in the same binary: one thread, epoll, one
// recvfrom/sendto per datagram, no checks at all. Both forward phone A -> leg A ... leg B ->
// phone B over loopback (127.0.0.1 in, 127.0.0.2 out), driven by the same traffic thread.
//
// Two loads, each run alternately for the reference and the relay, `--rounds` times; medians:
//  - saturated: a few streams, each with a window of packets in flight (closed loop): the most
//    packets per second a forwarder thread moves, where batching pays;
//  - paced: many streams at 50 packets/s (20 ms G.711 frames), what a relay really sees: one
//    datagram per socket per wake-up, where the per-packet system calls are the cost.
// "CPU ns/packet" is the forwarder thread's own CPU time (/proc/self/task/TID/schedstat, in ns)
// divided by the packets delivered; the traffic thread is not counted for either side.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "p2psip/media/relay_engine.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace media = p2psip::media;
namespace net = p2psip::net;

constexpr std::size_t kRtpBytes = 172;  // 12-byte header + 160 bytes of G.711 (20 ms)

struct Options {
  int rounds = 5;
  int saturatedStreams = 4;
  int saturatedPacketsPerStream = 8'000;
  int window = 64;  // packets in flight per stream in the saturated load
  int pacedStreams = 100;
  std::chrono::milliseconds pacedDuration = 500ms;
};

// ---------------------------------------------------------------- sockets

class Socket {
 public:
  explicit Socket(const char* address) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int size = 4 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    ::inet_pton(AF_INET, address, &local.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      std::perror("bind");
      std::exit(1);
    }
    socklen_t length = sizeof address_;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address_), &length);
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)), address_(o.address_) {}
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket& operator=(Socket&&) = delete;

  int fd() const { return fd_; }
  const sockaddr_in& address() const { return address_; }
  net::Endpoint endpoint() const {
    return net::Endpoint{asio::ip::address_v4(ntohl(address_.sin_addr.s_addr)),
                         ntohs(address_.sin_port)};
  }

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

sockaddr_in toSockaddr(const net::Endpoint& e) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(e.port);
  out.sin_addr.s_addr = htonl(e.address.to_v4().to_uint());
  return out;
}

std::uint64_t threadCpuNs(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  std::uint64_t ns = 0;
  in >> ns;
  return ns;
}

// Context switches of one thread: each is a sleep in epoll_wait and a wake-up, or a preemption.
std::uint64_t threadSwitches(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/status");
  std::string line;
  std::uint64_t total = 0;
  while (std::getline(in, line)) {
    if (line.find("ctxt_switches:") != std::string::npos) {
      total += std::stoull(line.substr(line.find(':') + 1));
    }
  }
  return total;
}

// ---------------------------------------------------------------- forwarders

// What the traffic thread needs from a forwarder: where each stream's phone A sends.
struct Forwarder {
  virtual ~Forwarder() = default;
  virtual std::vector<sockaddr_in> ingress() const = 0;
  virtual pid_t threadId() const = 0;
};

// The reference: the simplest correct UDP forwarder. One recvfrom and one sendto per datagram,
// recvfrom until EAGAIN on each ready socket, fixed destinations, no checks.
class ReferenceForwarder final : public Forwarder {
 public:
  explicit ReferenceForwarder(const std::vector<net::Endpoint>& destinations) {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    for (std::size_t i = 0; i < destinations.size(); ++i) {
      in_.emplace_back("127.0.0.1");
      out_.emplace_back("127.0.0.2");
      to_.push_back(toSockaddr(destinations[i]));
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i;
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, in_.back().fd(), &event);
    }
    thread_ = std::thread([this] { run(); });
    while (tid_.load() == 0) std::this_thread::yield();
  }
  ~ReferenceForwarder() override {
    stop_.store(true);
    thread_.join();
    ::close(epoll_);
  }
  std::vector<sockaddr_in> ingress() const override {
    std::vector<sockaddr_in> out;
    for (const auto& s : in_) out.push_back(s.address());
    return out;
  }
  pid_t threadId() const override { return tid_.load(); }

 private:
  void run() {
    ::pthread_setname_np(::pthread_self(), "reference-fwd");  // for perf report --comm
    tid_.store(::gettid());
    epoll_event events[64];
    char buffer[2048];
    while (!stop_.load(std::memory_order_relaxed)) {
      const int ready = ::epoll_wait(epoll_, events, 64, 20);
      for (int e = 0; e < ready; ++e) {
        const std::size_t i = events[e].data.u64;
        while (true) {
          const auto n = ::recvfrom(in_[i].fd(), buffer, sizeof buffer, 0, nullptr, nullptr);
          if (n < 0) break;
          ::sendto(out_[i].fd(), buffer, static_cast<std::size_t>(n), 0,
                   reinterpret_cast<const sockaddr*>(&to_[i]), sizeof to_[i]);
        }
      }
    }
  }

  int epoll_ = -1;
  std::vector<Socket> in_;
  std::vector<Socket> out_;
  std::vector<sockaddr_in> to_;
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

// Ours: one RelayEngine with one media thread, a stream per phone pair.
class RelayForwarder final : public Forwarder {
 public:
  RelayForwarder(const std::vector<net::Endpoint>& phonesA,
                 const std::vector<net::Endpoint>& phonesB) {
    media::RelayConfig config;
    config.addresses = {asio::ip::make_address("127.0.0.1"), asio::ip::make_address("127.0.0.2")};
    config.portMin = 20000;
    config.portMax = 21999;
    config.maxStreams = phonesA.size();
    config.socketBufferBytes = 4 << 20;  // as the reference's (capped by net.core.rmem_max)
    engine_ = std::make_unique<media::RelayEngine>(
        config, [](std::function<void()>) {}, metrics_, p2psip::Logger{});
    if (auto started = engine_->start(); !started) {
      std::fprintf(stderr, "relay: %s\n", started.error().detail.c_str());
      std::exit(1);
    }
    for (std::size_t i = 0; i < phonesA.size(); ++i) {
      auto stream =
          engine_->allocate(media::LegConfig{.local = config.addresses[0], .remote = phonesA[i]},
                            media::LegConfig{.local = config.addresses[1], .remote = phonesB[i]});
      if (!stream) {
        std::fprintf(stderr, "relay: %s\n", stream.error().detail.c_str());
        std::exit(1);
      }
      ingress_.push_back(toSockaddr(stream->legA));
    }
    tid_ = findThread("p2psip-media-0");
  }
  std::vector<sockaddr_in> ingress() const override { return ingress_; }
  pid_t threadId() const override { return tid_; }
  media::RelayTotals totals() const { return engine_->totals(); }

 private:
  static pid_t findThread(const std::string& name) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(entry.path() / "comm");
      std::string line;
      std::getline(comm, line);
      if (line == name) return static_cast<pid_t>(std::stol(entry.path().filename().string()));
    }
    std::fprintf(stderr, "relay: media thread not found\n");
    std::exit(1);
  }

  p2psip::MetricsRegistry metrics_;
  std::unique_ptr<media::RelayEngine> engine_;
  std::vector<sockaddr_in> ingress_;
  pid_t tid_ = 0;
};

// ---------------------------------------------------------------- traffic

struct Phones {
  std::vector<Socket> a;  // senders, on 127.0.0.1
  std::vector<Socket> b;  // receivers, on 127.0.0.2
  explicit Phones(int streams) {
    for (int i = 0; i < streams; ++i) {
      a.emplace_back("127.0.0.1");
      b.emplace_back("127.0.0.2");
    }
  }
  std::vector<net::Endpoint> endpointsA() const {
    std::vector<net::Endpoint> out;
    for (const auto& s : a) out.push_back(s.endpoint());
    return out;
  }
  std::vector<net::Endpoint> endpointsB() const {
    std::vector<net::Endpoint> out;
    for (const auto& s : b) out.push_back(s.endpoint());
    return out;
  }
};

void fillRtp(unsigned char* p, std::uint32_t seq, std::uint32_t ssrc) {
  std::memset(p, 0xd5, kRtpBytes);
  p[0] = 0x80;
  p[1] = 0;
  p[2] = static_cast<unsigned char>(seq >> 8);
  p[3] = static_cast<unsigned char>(seq);
  const std::uint32_t ts = seq * 160;
  for (int i = 0; i < 4; ++i) {
    p[4 + i] = static_cast<unsigned char>(ts >> (24 - 8 * i));
    p[8 + i] = static_cast<unsigned char>(ssrc >> (24 - 8 * i));
  }
}

// Reads everything waiting on the receivers; returns how many datagrams.
std::uint64_t drainReceivers(const Phones& phones, int epoll) {
  epoll_event events[128];
  const int ready = ::epoll_wait(epoll, events, 128, 1);
  std::uint64_t got = 0;
  char buffer[2048];
  for (int e = 0; e < ready; ++e) {
    const int fd = phones.b[events[e].data.u64].fd();
    while (::recv(fd, buffer, sizeof buffer, 0) >= 0) ++got;
  }
  return got;
}

int receiverEpoll(const Phones& phones) {
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  for (std::size_t i = 0; i < phones.b.size(); ++i) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = i;
    ::epoll_ctl(epoll, EPOLL_CTL_ADD, phones.b[i].fd(), &event);
  }
  return epoll;
}

struct Measurement {
  double packetsPerSecond = 0;
  double cpuNsPerPacket = 0;
  double switchesPerPacket = 0;
  std::uint64_t delivered = 0;
  std::uint64_t sent = 0;

  static Measurement of(std::uint64_t delivered, std::uint64_t sent, double seconds,
                        std::uint64_t cpuNs, std::uint64_t switches) {
    const double n = delivered > 0 ? double(delivered) : 1.0;
    return Measurement{delivered / seconds, double(cpuNs) / n, double(switches) / n, delivered,
                       sent};
  }
};

// Closed loop: each stream keeps `window` packets in flight; a stalled window (a lost packet) is
// released after 50 ms so one loss cannot end the run.
Measurement runSaturated(const Options& o, const Phones& phones, const Forwarder& forwarder) {
  const auto targets = forwarder.ingress();
  const int epoll = receiverEpoll(phones);
  const auto streams = phones.a.size();
  std::vector<std::uint64_t> sent(streams, 0);
  std::uint64_t delivered = 0;
  const std::uint64_t perStream = static_cast<std::uint64_t>(o.saturatedPacketsPerStream);
  const std::uint64_t total = perStream * streams;
  unsigned char packet[kRtpBytes];
  const auto cpu0 = threadCpuNs(forwarder.threadId());
  const auto switches0 = threadSwitches(forwarder.threadId());
  const auto start = Clock::now();
  auto lastProgress = start;
  std::uint64_t allowance = 0;  // packets written off after stalls
  while (delivered + allowance < total && Clock::now() - start < 30s) {
    std::uint64_t sentTotal = 0;
    for (auto s : sent) sentTotal += s;
    const auto inFlight = [&] {
      return sentTotal > delivered + allowance ? sentTotal - delivered - allowance : 0;
    };
    for (std::size_t i = 0; i < streams; ++i) {
      // Share the window over all streams by the total in flight.
      while (sent[i] < perStream && inFlight() < static_cast<std::uint64_t>(o.window) * streams) {
        fillRtp(packet, static_cast<std::uint32_t>(sent[i]), 0x1000 + static_cast<unsigned>(i));
        ::sendto(phones.a[i].fd(), packet, kRtpBytes, 0,
                 reinterpret_cast<const sockaddr*>(&targets[i]), sizeof targets[i]);
        ++sent[i];
        ++sentTotal;
      }
    }
    const auto got = drainReceivers(phones, epoll);
    delivered += got;
    if (got > 0) {
      lastProgress = Clock::now();
    } else if (Clock::now() - lastProgress > 50ms) {
      allowance = sentTotal - delivered;  // what is in flight now is taken as lost
      lastProgress = Clock::now();
    }
  }
  const auto elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const auto cpu = threadCpuNs(forwarder.threadId()) - cpu0;
  const auto switches = threadSwitches(forwarder.threadId()) - switches0;
  ::close(epoll);
  std::uint64_t sentTotal = 0;
  for (auto s : sent) sentTotal += s;
  return Measurement::of(delivered, sentTotal, elapsed, cpu, switches);
}

// Open loop: every stream sends one packet every 20 ms, the streams spread over the period.
Measurement runPaced(const Options& o, const Phones& phones, const Forwarder& forwarder) {
  const auto targets = forwarder.ingress();
  const int epoll = receiverEpoll(phones);
  const auto streams = phones.a.size();
  const auto period = 20ms;
  unsigned char packet[kRtpBytes];
  std::uint64_t sent = 0;
  std::uint64_t delivered = 0;
  std::vector<std::uint32_t> seq(streams, 0);
  const auto cpu0 = threadCpuNs(forwarder.threadId());
  const auto switches0 = threadSwitches(forwarder.threadId());
  const auto start = Clock::now();
  std::uint64_t slot = 0;  // index of the next (stream, period) send
  while (true) {
    const auto now = Clock::now();
    if (now - start >= o.pacedDuration) break;
    // Send every packet whose time has come: stream i of period p is due at p*20ms + i*20ms/n.
    while (true) {
      const auto round = slot / streams;
      const auto i = slot % streams;
      const auto due = start + round * period + (i * period) / streams;
      if (due > now) break;
      fillRtp(packet, seq[i]++, 0x2000 + static_cast<unsigned>(i));
      ::sendto(phones.a[i].fd(), packet, kRtpBytes, 0,
               reinterpret_cast<const sockaddr*>(&targets[i]), sizeof targets[i]);
      ++sent;
      ++slot;
    }
    delivered += drainReceivers(phones, epoll);
  }
  const auto end = Clock::now() + 100ms;  // stragglers
  while (delivered < sent && Clock::now() < end) delivered += drainReceivers(phones, epoll);
  const auto elapsed = std::chrono::duration<double>(o.pacedDuration).count();
  const auto cpu = threadCpuNs(forwarder.threadId()) - cpu0;
  const auto switches = threadSwitches(forwarder.threadId()) - switches0;
  ::close(epoll);
  return Measurement::of(delivered, sent, elapsed, cpu, switches);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Series {
  std::vector<double> pps;
  std::vector<double> cpu;
  std::vector<double> switches;
  std::uint64_t delivered = 0;
  std::uint64_t sent = 0;
  void add(const Measurement& m) {
    pps.push_back(m.packetsPerSecond);
    cpu.push_back(m.cpuNsPerPacket);
    switches.push_back(m.switchesPerPacket);
    delivered += m.delivered;
    sent += m.sent;
  }
};

void printLoad(const char* title, const Series& reference, const Series& relay) {
  std::printf("\n%s\n", title);
  std::printf("  %-40s %12s %12s %13s %11s\n", "", "packets/s", "CPU ns/pkt", "switches/pkt",
              "delivered");
  const auto row = [](const char* name, const Series& s) {
    std::printf("  %-40s %12.0f %12.0f %13.3f %10.3f%%\n", name, median(s.pps), median(s.cpu),
                median(s.switches), s.sent ? 100.0 * double(s.delivered) / double(s.sent) : 0.0);
  };
  row("reference (epoll, recvfrom/sendto)", reference);
  row("p2psip relay (epoll, recvmmsg, sendmmsg)", relay);
  std::printf("  %-40s %12.2f %12.2f   (packets/s: higher is better; CPU: lower)\n",
              "ratio relay/reference", median(relay.pps) / median(reference.pps),
              median(relay.cpu) / median(reference.cpu));
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (arg == "--rounds") {
      o.rounds = std::max(1, value());
    } else if (arg == "--packets") {
      o.saturatedPacketsPerStream = std::max(100, value());
    } else if (arg == "--paced-streams") {
      o.pacedStreams = std::max(1, value());
    } else if (arg == "--paced-ms") {
      o.pacedDuration = std::chrono::milliseconds(std::max(100, value()));
    } else if (arg == "--quick") {
      o.rounds = 3;
      o.saturatedPacketsPerStream = 2'000;
      o.pacedDuration = 200ms;
    } else {
      std::fprintf(stderr,
                   "usage: relay_bench [--rounds N] [--packets PER_STREAM] [--paced-streams N]"
                   " [--paced-ms MS] [--quick]\n");
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  // The paced load opens a few sockets per stream on each side.
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);

  Series satRef, satRelay, pacedRef, pacedRelay;
  std::uint64_t relayDropped = 0;
  for (int round = 0; round < o.rounds; ++round) {
    {
      Phones phones(o.saturatedStreams);
      {
        ReferenceForwarder reference(phones.endpointsB());
        satRef.add(runSaturated(o, phones, reference));
      }
      RelayForwarder relay(phones.endpointsA(), phones.endpointsB());
      satRelay.add(runSaturated(o, phones, relay));
      relayDropped += relay.totals().packetsDropped;
    }
    {
      Phones phones(o.pacedStreams);
      {
        ReferenceForwarder reference(phones.endpointsB());
        pacedRef.add(runPaced(o, phones, reference));
      }
      RelayForwarder relay(phones.endpointsA(), phones.endpointsB());
      pacedRelay.add(runPaced(o, phones, relay));
      relayDropped += relay.totals().packetsDropped;
    }
  }
  std::printf(
      "relay_bench: %zu-byte RTP over loopback, %d rounds, medians; forwarder thread CPU"
      " only\n",
      kRtpBytes, o.rounds);
  char title[200];
  std::snprintf(title, sizeof title,
                "saturated: %d streams, %d packets each, %d in flight per stream (closed loop)",
                o.saturatedStreams, o.saturatedPacketsPerStream, o.window);
  printLoad(title, satRef, satRelay);
  std::snprintf(title, sizeof title, "paced: %d streams x 50 packets/s for %lld ms (open loop)",
                o.pacedStreams, static_cast<long long>(o.pacedDuration.count()));
  printLoad(title, pacedRef, pacedRelay);
  std::printf("\nrelay packets dropped (all rounds): %llu\n",
              static_cast<unsigned long long>(relayDropped));
  return 0;
}
