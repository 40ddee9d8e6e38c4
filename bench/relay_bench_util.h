// SPDX-License-Identifier: Apache-2.0
// relay_bench's plumbing: loopback UDP sockets, what /proc says about a thread's CPU and the
// process's memory, the bench's RTP packets (which stream and direction, which packet, when it
// was sent) and sendmmsg/recvmmsg batches. See relay_bench.md.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/net/endpoint.h"

namespace relay_bench {

namespace net = p2psip::net;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kRtpBytes = 172;  // 12-byte header + 160 bytes of G.711 (20 ms)

// Loopback only. The relay's two legs get an address each (a peer serves its phones on one and
// faces the overlay on another); the phones of each side have their own address, so the
// ephemeral ports of the bench's sockets never fall on a port the relay wants.
inline constexpr const char* kLegAAddress = "127.0.0.1";
inline constexpr const char* kLegBAddress = "127.0.0.2";
inline constexpr const char* kPhoneAAddress = "127.0.0.3";
inline constexpr const char* kPhoneBAddress = "127.0.0.4";

// A non-blocking UDP socket bound to an ephemeral port, with 4 MiB buffers (capped by
// net.core.{r,w}mem_max) and kernel receive timestamps (SO_TIMESTAMPNS) for the latency figures.
// Exits the bench if it cannot be made: there is nothing to measure without it.
class Socket {
 public:
  explicit Socket(const char* address);
  ~Socket();
  Socket(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  Socket& operator=(Socket&&) = delete;

  int fd() const { return fd_; }
  const sockaddr_in& address() const { return address_; }
  net::Endpoint endpoint() const;

 private:
  int fd_ = -1;
  sockaddr_in address_{};
};

sockaddr_in toSockaddr(const net::Endpoint& endpoint);
net::Endpoint toEndpoint(const sockaddr_in& address);

// ---------------------------------------------------------------- /proc

// One thread's time on a CPU, and runnable but waiting for one (another process had it: the
// machine is shared), from /proc/self/task/TID/schedstat, ns.
struct SchedStat {
  std::uint64_t cpuNs = 0;
  std::uint64_t waitNs = 0;
  SchedStat operator-(const SchedStat& o) const { return {cpuNs - o.cpuNs, waitNs - o.waitNs}; }
};
SchedStat schedStat(pid_t tid);
// CPU time the whole machine spent busy (all CPUs, including time the hypervisor took) and the
// share of it this process used, ns, from /proc/stat and /proc/self/stat (10 ms ticks). Their
// difference is what other processes took: whether the machine was quiet. (A sleeping thread's
// run-queue wait is no measure of that here: on this VM a wake-up from another CPU alone waits
// tens of µs, counted as run-queue time.)
struct MachineCpu {
  std::uint64_t busyNs = 0;
  std::uint64_t selfNs = 0;
};
MachineCpu machineCpu();
// CPU that other processes used between two readings, in cores (1.0: one core all the time).
double othersCores(const MachineCpu& before, const MachineCpu& after, double seconds);
// Threads of this process with this name (comm), to find a media thread RelayEngine started.
std::vector<pid_t> threadsNamed(const std::string& name);
std::uint64_t residentBytes();  // VmRSS, from /proc/self/statm
// Kernel memory of the slab caches a UDP socket in an epoll set lives in (UDP, sock_inode_cache,
// filp, dentry, epitem, eppoll_entry), machine wide: nullopt if /proc/slabinfo is not readable.
std::optional<std::uint64_t> socketSlabBytes();
double loadAverage();       // over the last minute
std::int64_t realtimeNs();  // CLOCK_REALTIME: the clock of SO_TIMESTAMPNS

// ---------------------------------------------------------------- the bench's RTP

// Version 2, payload type 0 (PCMU), sequence = the low 16 bits of the packet's index in its
// direction, SSRC naming the stream and direction; the payload starts with the full 32-bit index
// and the send time (CLOCK_REALTIME ns), so the receiver counts loss exactly and measures latency.
std::uint32_t ssrcOf(std::size_t stream, int direction);  // direction 0: A to B, 1: B to A
std::size_t streamOf(std::uint32_t ssrc);
int directionOf(std::uint32_t ssrc);
void writeRtp(unsigned char* packet, std::uint32_t ssrc, std::uint32_t index);
void stampSendTime(unsigned char* packet, std::int64_t realtimeNs);

struct ReceivedPacket {
  std::uint32_t ssrc = 0;
  std::uint32_t index = 0;
  std::int64_t sentNs = 0;      // written by the sender just before its sendmmsg
  std::int64_t receivedNs = 0;  // the kernel's, when the datagram reached the socket
};

// ---------------------------------------------------------------- batches

// Datagrams from one socket to any destinations, sent with one sendmmsg (at most `capacity` per
// call). The send time is written into every queued packet just before the call. A full socket
// buffer drops the rest of the batch, as a phone would; those count as `failed`, not as sent.
class BatchSender {
 public:
  explicit BatchSender(std::size_t capacity);
  // Queues packet `index` of `ssrc` from `fd` to `to` (which must outlive the flush); another fd
  // than the queued packets', or a full batch, flushes first. `sentCounter` (may be null) is
  // incremented once the datagram has really been handed to the kernel.
  void queue(int fd, const sockaddr_in& to, std::uint32_t ssrc, std::uint32_t index,
             std::uint32_t* sentCounter);
  std::size_t flush();  // returns how many were sent
  std::uint64_t failed() const { return failed_; }

 private:
  std::size_t capacity_;
  int fd_ = -1;
  std::size_t queued_ = 0;
  std::uint64_t failed_ = 0;
  std::vector<unsigned char> buffers_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> messages_;
  std::vector<std::uint32_t*> counters_;
};

// One recvmmsg of up to `capacity` datagrams, with their kernel receive times.
class BatchReceiver {
 public:
  explicit BatchReceiver(std::size_t capacity);
  std::size_t capacity() const { return capacity_; }
  // Reads what is waiting on fd, up to capacity; 0 if nothing.
  std::size_t receive(int fd);
  // Datagram i of the last receive(); nullopt if it is not one of the bench's packets.
  std::optional<ReceivedPacket> packet(std::size_t i) const;

 private:
  struct alignas(cmsghdr) Control {
    unsigned char bytes[64];
  };
  std::size_t capacity_;
  std::vector<unsigned char> buffers_;
  std::vector<iovec> iov_;
  std::vector<Control> control_;
  std::vector<mmsghdr> messages_;
};

// ---------------------------------------------------------------- statistics

double median(std::vector<double> values);
// The q-quantile (0..1) by nearest rank; reorders `values`. 0 if empty.
double quantile(std::vector<float>& values, double q);

}  // namespace relay_bench
