// SPDX-License-Identifier: Apache-2.0
#include "relay_bench_util.h"

#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

namespace relay_bench {
namespace {

constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
// Above every SSRC a real phone is likely to pick in a test, and never 0.
constexpr std::uint32_t kSsrcBase = 0x10000000;
constexpr std::size_t kHeaderBytes = 12;
constexpr std::size_t kDatagramBuffer = 2048;

void putU32(unsigned char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (24 - 8 * i));
}

std::uint32_t getU32(const unsigned char* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

}  // namespace

// ---------------------------------------------------------------- sockets

Socket::Socket(const char* address) {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    std::perror("socket");
    std::exit(1);
  }
  const int size = 4 << 20;
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  const int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
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

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), address_(other.address_) {}

net::Endpoint Socket::endpoint() const {
  return toEndpoint(address_);
}

sockaddr_in toSockaddr(const net::Endpoint& endpoint) {
  sockaddr_in out{};
  out.sin_family = AF_INET;
  out.sin_port = htons(endpoint.port);
  out.sin_addr.s_addr = htonl(endpoint.address.to_v4().to_uint());
  return out;
}

net::Endpoint toEndpoint(const sockaddr_in& address) {
  return net::Endpoint{asio::ip::address_v4(ntohl(address.sin_addr.s_addr)),
                       ntohs(address.sin_port)};
}

// ---------------------------------------------------------------- /proc

SchedStat schedStat(pid_t tid) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  SchedStat out;
  in >> out.cpuNs >> out.waitNs;
  return out;
}

MachineCpu machineCpu() {
  const auto tick = static_cast<std::uint64_t>(kNanosPerSecond / ::sysconf(_SC_CLK_TCK));
  MachineCpu out;
  {
    std::ifstream in("/proc/stat");
    std::string cpu;
    std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                  steal = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    out.busyNs = (user + nice + system + irq + softirq + steal) * tick;
  }
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  // Fields after the command name (in parentheses, which may hold spaces): state is field 3,
  // utime and stime fields 14 and 15.
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  out.selfNs = (utime + stime) * tick;
  return out;
}

double othersCores(const MachineCpu& before, const MachineCpu& after, double seconds) {
  const double busy = static_cast<double>(after.busyNs - before.busyNs);
  const double self = static_cast<double>(after.selfNs - before.selfNs);
  return std::max(0.0, busy - self) / 1e9 / seconds;
}

std::vector<pid_t> threadsNamed(const std::string& name) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(entry.path() / "comm");
    std::string line;
    std::getline(comm, line);
    if (line == name) out.push_back(static_cast<pid_t>(std::stol(entry.path().filename())));
  }
  return out;
}

std::uint64_t residentBytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::optional<std::uint64_t> socketSlabBytes() {
  std::ifstream in("/proc/slabinfo");
  if (!in) return std::nullopt;
  // What one UDP socket in an epoll set takes: the sock (UDP), its inode (sock_inode_cache), the
  // open file (filp) and its dentry, and epoll's item and wait-queue entry.
  const char* caches[] = {"UDP", "sock_inode_cache", "filp", "dentry", "epitem", "eppoll_entry"};
  std::string line;
  std::uint64_t total = 0;
  bool any = false;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    std::uint64_t active = 0;
    std::uint64_t objects = 0;
    std::uint64_t size = 0;
    if (!(fields >> name >> active >> objects >> size)) continue;
    if (std::find_if(std::begin(caches), std::end(caches),
                     [&](const char* c) { return name == c; }) == std::end(caches)) {
      continue;
    }
    total += active * size;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

std::int64_t realtimeNs() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return std::int64_t{now.tv_sec} * kNanosPerSecond + now.tv_nsec;
}

// ---------------------------------------------------------------- the bench's RTP

std::uint32_t ssrcOf(std::size_t stream, int direction) {
  return kSsrcBase + static_cast<std::uint32_t>(stream * 2) + static_cast<std::uint32_t>(direction);
}

std::size_t streamOf(std::uint32_t ssrc) {
  return (ssrc - kSsrcBase) / 2;
}

int directionOf(std::uint32_t ssrc) {
  return static_cast<int>((ssrc - kSsrcBase) % 2);
}

void writeRtp(unsigned char* p, std::uint32_t ssrc, std::uint32_t index) {
  std::memset(p + kHeaderBytes, 0xd5, kRtpBytes - kHeaderBytes);  // G.711 A-law silence
  p[0] = 0x80;
  p[1] = 0;
  p[2] = static_cast<unsigned char>(index >> 8);
  p[3] = static_cast<unsigned char>(index);
  putU32(p + 4, index * 160);  // 20 ms at 8 kHz
  putU32(p + 8, ssrc);
  putU32(p + kHeaderBytes, index);
}

void stampSendTime(unsigned char* p, std::int64_t ns) {
  std::memcpy(p + kHeaderBytes + 4, &ns, sizeof ns);
}

// ---------------------------------------------------------------- batches

BatchSender::BatchSender(std::size_t capacity)
    : capacity_(capacity),
      buffers_(capacity * kRtpBytes),
      iov_(capacity),
      messages_(capacity),
      counters_(capacity, nullptr) {
  for (std::size_t i = 0; i < capacity_; ++i) {
    iov_[i] = iovec{buffers_.data() + i * kRtpBytes, kRtpBytes};
    messages_[i].msg_hdr.msg_iov = &iov_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
    messages_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
}

void BatchSender::queue(int fd, const sockaddr_in& to, std::uint32_t ssrc, std::uint32_t index,
                        std::uint32_t* sentCounter) {
  if (queued_ > 0 && (fd != fd_ || queued_ == capacity_)) flush();
  fd_ = fd;
  writeRtp(buffers_.data() + queued_ * kRtpBytes, ssrc, index);
  messages_[queued_].msg_hdr.msg_name = const_cast<sockaddr_in*>(&to);
  counters_[queued_] = sentCounter;
  ++queued_;
}

std::size_t BatchSender::flush() {
  if (queued_ == 0) return 0;
  const std::int64_t now = realtimeNs();
  for (std::size_t i = 0; i < queued_; ++i) stampSendTime(buffers_.data() + i * kRtpBytes, now);
  std::size_t next = 0;
  while (next < queued_) {
    const int sent = ::sendmmsg(fd_, messages_.data() + next, static_cast<unsigned>(queued_ - next),
                                MSG_DONTWAIT);
    if (sent > 0) {
      for (std::size_t i = next; i < next + static_cast<std::size_t>(sent); ++i) {
        if (counters_[i] != nullptr) ++*counters_[i];
      }
      next += static_cast<std::size_t>(sent);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      failed_ += queued_ - next;  // the socket buffer is full: a phone would drop these too
      break;
    }
    ++failed_;  // this datagram cannot go (e.g. ICMP unreachable pending): skip it
    ++next;
  }
  const std::size_t sent = next;
  queued_ = 0;
  return sent;
}

BatchReceiver::BatchReceiver(std::size_t capacity)
    : capacity_(capacity),
      buffers_(capacity * kDatagramBuffer),
      iov_(capacity),
      control_(capacity),
      messages_(capacity) {
  for (std::size_t i = 0; i < capacity_; ++i) {
    iov_[i] = iovec{buffers_.data() + i * kDatagramBuffer, kDatagramBuffer};
    messages_[i].msg_hdr.msg_iov = &iov_[i];
    messages_[i].msg_hdr.msg_iovlen = 1;
  }
}

std::size_t BatchReceiver::receive(int fd) {
  for (std::size_t i = 0; i < capacity_; ++i) {
    messages_[i].msg_hdr.msg_control = control_[i].bytes;
    messages_[i].msg_hdr.msg_controllen = sizeof(Control);
  }
  const int count =
      ::recvmmsg(fd, messages_.data(), static_cast<unsigned>(capacity_), MSG_DONTWAIT, nullptr);
  return count > 0 ? static_cast<std::size_t>(count) : 0;
}

std::optional<ReceivedPacket> BatchReceiver::packet(std::size_t i) const {
  const mmsghdr& message = messages_[i];
  if (message.msg_len < kHeaderBytes + 12) return std::nullopt;
  const unsigned char* p = buffers_.data() + i * kDatagramBuffer;
  ReceivedPacket out;
  out.ssrc = getU32(p + 8);
  if (out.ssrc < kSsrcBase) return std::nullopt;
  out.index = getU32(p + kHeaderBytes);
  std::memcpy(&out.sentNs, p + kHeaderBytes + 4, sizeof out.sentNs);
  const msghdr& header = message.msg_hdr;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      out.receivedNs = std::int64_t{stamp.tv_sec} * kNanosPerSecond + stamp.tv_nsec;
    }
  }
  return out;
}

// ---------------------------------------------------------------- statistics

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

double quantile(std::vector<float>& values, double q) {
  if (values.empty()) return 0;
  const auto rank = static_cast<std::size_t>(q * static_cast<double>(values.size() - 1) + 0.5);
  std::nth_element(values.begin(), values.begin() + static_cast<long>(rank), values.end());
  return values[rank];
}

}  // namespace relay_bench
