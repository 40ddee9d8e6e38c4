// SPDX-License-Identifier: Apache-2.0
// RelayWorker: one media thread. It owns the streams handed to it and forwards their packets: an
// epoll set over their sockets, one recvmmsg per ready socket per wake-up (batchSize datagrams),
// the checks, latch and statistics per datagram, and one sendmmsg (sendto for a lone datagram) of
// what passes out of the other leg's socket of the same kind. Receive and send reuse the same
// preallocated buffers: nothing is allocated per packet. The datagrams are relayed unchanged (a
// relay, not a translator: RFC 3550 §7.3's SSRC, sequence and timestamp stay the sender's).
//
// Control arrives through submit() (any thread): a command queue under a mutex, held only to
// push or to swap the queue out, and an eventfd that wakes the thread. A flag set with the queue
// is checked after each recvmmsg, so a command submitted before a datagram was sent is applied
// before that datagram is relayed. Reports go up through the SignallingChannel. Streams idle for
// RelayConfig::inactivityTimeout are swept and reported.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include "file_descriptor.h"
#include "media_packet.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/result.h"
#include "p2psip/media/relay_config.h"
#include "relay_metrics.h"
#include "relay_stream.h"
#include "signalling_channel.h"
#include "socket_address.h"

namespace p2psip::media {

struct AddStream {
  std::unique_ptr<RelayStream> stream;
};
struct SetRemote {
  StreamId id;
  Side side;
  SocketAddress remote;  // RTP; RTCP is its port + 1
  std::uint64_t generation;
};
struct SetFallback {
  StreamId id;
  Side side;
  SocketAddress fallback;  // RTP; RTCP is its port + 1
  Duration after;
};
// Carries the stream's counters so they die on the media thread after the stream (see
// stream_counters.h).
struct RemoveStream {
  StreamId id;
  std::unique_ptr<StreamCounters> counters;
};
using WorkerCommand = std::variant<AddStream, SetRemote, SetFallback, RemoveStream>;

class RelayWorker {
 public:
  RelayWorker(const RelayConfig& config, SignallingChannel& channel, RelayMetrics& metrics,
              Logger logger, std::size_t index);
  ~RelayWorker();  // stop()
  RelayWorker(const RelayWorker&) = delete;
  RelayWorker& operator=(const RelayWorker&) = delete;

  Result<void> start();
  // Joins the thread, then closes every stream it held (ports return to their pools) and drops
  // commands not yet run. Called on the signalling thread.
  void stop();
  // Any thread. Never waits for the media thread beyond the queue's mutex.
  void submit(WorkerCommand command);

 private:
  // A control message buffer with room for one SCM_TIMESTAMPNS.
  struct alignas(cmsghdr) ControlBuffer {
    char bytes[64];
  };
  // What one received batch did, added to the counters and metrics once per batch.
  struct BatchTally {
    std::uint64_t accepted = 0;
    std::uint64_t rtpPackets = 0;
    std::uint64_t rtpBytes = 0;
    std::uint64_t rtcpPackets = 0;
    std::uint64_t rtcpBytes = 0;
    std::uint64_t malformed = 0;
    std::uint64_t refused = 0;
    std::uint64_t unsent = 0;  // no destination yet, or the send failed
    std::uint64_t keepalives = 0;
    bool rtpSeen = false;
  };

  void run();
  void runCommands();
  void apply(AddStream& command);
  void apply(SetRemote& command);
  void apply(SetFallback& command);
  void apply(RemoveStream& command);
  // Sends one RTP keepalive on `side`'s RTP socket if that leg wants them and knows its remote,
  // and one to its fallback while the direct path is on trial.
  void keepAlive(RelayStream& stream, Side side, TimePoint now);
  void sendKeepAlive(RelayLeg& leg, const SocketAddress& destination, bool announce);
  void sendRtcpKeepAlive(RelayLeg& leg, const SocketAddress& destination);
  // The leg gives up its remote for its fallback relay (LegConfig::fallback).
  void fallBack(RelayStream& stream, Side side, const char* why);
  void relay(RelaySocket& socket);
  void send(int fd, std::size_t queued, BatchTally& tally);
  static int sendOne(int fd, const msghdr& message);
  void publish(RelayStream& stream, Side side, const BatchTally& tally, TimePoint now);
  void onLatched(RelayStream& stream, const RelaySocket& socket, const SocketAddress& source);
  void sweep(TimePoint now);
  bool watch(RelayStream& stream);
  void unwatch(RelayStream& stream);
  std::int64_t arrivalNs(const mmsghdr& message, std::int64_t& fallback) const;
  std::uint8_t* buffer(std::size_t i) { return buffers_.data() + i * datagramSize_; }

  const std::size_t batchSize_;
  const std::size_t datagramSize_;
  const Duration inactivityTimeout_;
  const Duration sweepInterval_;
  SignallingChannel& channel_;
  RelayMetrics& metrics_;
  Logger logger_;
  std::size_t index_;

  FileDescriptor epoll_;
  FileDescriptor wakeup_;  // eventfd
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex queueMutex_;
  std::vector<WorkerCommand> queue_;          // guarded by queueMutex_
  std::atomic<bool> commandsPending_{false};  // queue_ is not empty; read without the lock
  std::vector<WorkerCommand> running_;        // media thread only: the batch being applied

  std::unordered_map<std::uint64_t, std::unique_ptr<RelayStream>> streams_;
  std::vector<std::unique_ptr<RelayStream>> retired_;  // removed during the current epoll batch

  // Preallocated batch state (media thread only).
  std::vector<std::uint8_t> buffers_;
  std::vector<mmsghdr> received_;
  std::size_t headersUsed_ = 0;  // received_ headers the last recvmmsg filled
  std::vector<iovec> receivedIov_;
  std::vector<SocketAddress> sources_;
  std::vector<ControlBuffer> control_;
  std::vector<mmsghdr> sending_;
  std::vector<iovec> sendingIov_;
  std::vector<PacketKind> sendingKind_;
  std::vector<epoll_event> events_;
};

}  // namespace p2psip::media
