// SPDX-License-Identifier: Apache-2.0
// The forwarders relay_bench compares. Each carries streams both ways, one thread for all: what
// phone A of stream i sends to leg A leaves leg B towards phone B of stream i, and back.
//  - RawForwarder (Mmsg): the reference, the least a batching forwarder can do: epoll, one
//    recvmmsg (32) per ready socket per wake-up, one sendmmsg of them to a fixed destination. No
//    source address, no timestamps, no checks.
//  - RawForwarder (Single): the older reference, one recvfrom and one sendto per datagram.
//  - UringForwarder: the raw loop through io_uring: a multishot recvmsg on every socket over one
//    provided-buffer ring, a sendmsg SQE per datagram out of the other socket, and one
//    io_uring_enter per wake-up that submits the sends and reaps the next receptions.
//  - RelayForwarder: media::RelayEngine with one media thread, a stream per phone pair, with
//    either backend (io_uring, the default, or epoll).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "p2psip/common/metrics.h"
#include "p2psip/media/relay_engine.h"
#include "relay_bench_util.h"

namespace relay_bench {

namespace media = p2psip::media;

// What the traffic needs from a forwarder.
class Forwarder {
 public:
  virtual ~Forwarder() = default;
  // Where phone A (B) of stream i sends, and where the forwarder receives it.
  virtual const std::vector<sockaddr_in>& legA() const = 0;
  virtual const std::vector<sockaddr_in>& legB() const = 0;
  virtual pid_t threadId() const = 0;  // the forwarding thread, whose CPU is measured
  // The relay's own counts, to tell where a loss happened; nullopt for the raw loops.
  virtual std::optional<media::RelayTotals> totals() const { return std::nullopt; }
};

enum class RawMode { Mmsg, Single };

class RawForwarder final : public Forwarder {
 public:
  // Two sockets per stream (leg A on kLegAAddress, leg B on kLegBAddress), fixed destinations.
  RawForwarder(RawMode mode, const std::vector<net::Endpoint>& phonesA,
               const std::vector<net::Endpoint>& phonesB);
  ~RawForwarder() override;
  RawForwarder(const RawForwarder&) = delete;
  RawForwarder& operator=(const RawForwarder&) = delete;

  const std::vector<sockaddr_in>& legA() const override { return legA_; }
  const std::vector<sockaddr_in>& legB() const override { return legB_; }
  pid_t threadId() const override { return tid_.load(); }

 private:
  void run();
  // Forward what waits on socket `from` out of `to`: one batch, or one datagram at a time.
  void forwardBatch(int from, int to, const sockaddr_in& destination);
  void forwardEach(int from, int to, const sockaddr_in& destination);

  RawMode mode_;
  int epoll_ = -1;
  std::vector<Socket> a_;
  std::vector<Socket> b_;
  std::vector<sockaddr_in> toA_;  // phone A of each stream
  std::vector<sockaddr_in> toB_;
  std::vector<sockaddr_in> legA_;
  std::vector<sockaddr_in> legB_;
  // Batch state, preallocated: the receive buffers are the send buffers.
  std::vector<unsigned char> buffers_;
  std::vector<iovec> receiveIov_;
  std::vector<iovec> sendIov_;
  std::vector<mmsghdr> received_;
  std::vector<mmsghdr> sending_;
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

// Two sockets per stream as RawForwarder (Mmsg), no checks, read and written through io_uring.
// The ring is set up on the forwarding thread (IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN: the
// receptions run when that thread asks for completions, never on another CPU).
class UringForwarder final : public Forwarder {
 public:
  UringForwarder(const std::vector<net::Endpoint>& phonesA,
                 const std::vector<net::Endpoint>& phonesB);
  ~UringForwarder() override;
  UringForwarder(const UringForwarder&) = delete;
  UringForwarder& operator=(const UringForwarder&) = delete;

  const std::vector<sockaddr_in>& legA() const override { return legA_; }
  const std::vector<sockaddr_in>& legB() const override { return legB_; }
  pid_t threadId() const override { return tid_.load(); }

 private:
  struct Ring;  // the io_uring state, defined with liburing in the .cpp
  void run();

  std::vector<Socket> sockets_;       // stream i: leg A at 2i, leg B at 2i+1
  std::vector<sockaddr_in> towards_;  // per socket: the phone its peer socket's datagrams go to
  std::vector<sockaddr_in> legA_;
  std::vector<sockaddr_in> legB_;
  std::atomic<bool> stop_{false};
  std::atomic<pid_t> tid_{0};
  std::atomic<int> setupError_{0};
  std::thread thread_;
};

struct RelaySetup {
  std::size_t maxStreams = 2000;
  int socketBufferBytes = 0;  // 0: the system default, as the daemon's default configuration
  media::IoBackend backend = media::IoBackend::IoUring;  // the default
};

class RelayForwarder final : public Forwarder {
 public:
  // Starts an engine with one media thread on kLegAAddress/kLegBAddress, ports 20000-32767.
  // Exits the bench if the engine does not run the backend asked for.
  explicit RelayForwarder(const RelaySetup& setup);
  // Allocates one stream per phone pair (leg A's remote phone A, leg B's phone B, latching as
  // for a phone); returns the mean allocate() time in µs.
  double allocate(const std::vector<net::Endpoint>& phonesA,
                  const std::vector<net::Endpoint>& phonesB);
  // Room for this many more streams in legA()/legB(), so that growing them is not measured.
  void reserve(std::size_t streams);

  const std::vector<sockaddr_in>& legA() const override { return legA_; }
  const std::vector<sockaddr_in>& legB() const override { return legB_; }
  pid_t threadId() const override { return tid_; }
  std::optional<media::RelayTotals> totals() const override { return engine_->totals(); }
  std::size_t active() const { return engine_->active(); }
  std::vector<media::StreamStats> snapshot() const { return engine_->snapshot(); }

 private:
  p2psip::MetricsRegistry metrics_;
  std::unique_ptr<media::RelayEngine> engine_;
  std::vector<sockaddr_in> legA_;
  std::vector<sockaddr_in> legB_;
  pid_t tid_ = 0;
};

}  // namespace relay_bench
