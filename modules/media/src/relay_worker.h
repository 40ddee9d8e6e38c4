// SPDX-License-Identifier: Apache-2.0
// RelayWorker: one media thread. It owns the streams handed to it and relays their datagrams:
// each one is checked, latched and counted (admit()), then leaves unchanged from the other leg's
// socket of the same kind (a relay, not a translator: RFC 3550 §7.3's SSRC, sequence and timestamp
// stay the sender's). How the thread waits for datagrams and moves them is its backend's
// (RelayConfig::ioBackend): EpollRelayWorker (epoll, recvmmsg, sendto/sendmmsg) or
// UringRelayWorker (io_uring multishot receives and send requests). Neither allocates per packet.
//
// Control arrives through submit() (any thread): a command queue under a mutex, held only to
// push or to swap the queue out, and an eventfd that wakes the thread. A flag set with the queue
// is checked before received datagrams are relayed, so a command submitted before a datagram was
// sent is applied before that datagram is relayed. Reports go up through the SignallingChannel.
// Streams idle for RelayConfig::inactivityTimeout are swept and reported.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
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
  virtual ~RelayWorker();  // stop()
  RelayWorker(const RelayWorker&) = delete;
  RelayWorker& operator=(const RelayWorker&) = delete;

  // Starts the thread and waits until its backend is set up (or could not be).
  Result<void> start();
  // Joins the thread, then closes every stream it held (ports return to their pools) and drops
  // commands not yet run. Called on the signalling thread; a backend's destructor calls it first.
  void stop();
  // Any thread. Never waits for the media thread beyond the queue's mutex.
  void submit(WorkerCommand command);
  virtual IoBackend backend() const = 0;

 protected:
  // One received datagram, as a backend read it.
  struct ReceivedDatagram {
    std::span<const std::uint8_t> bytes;
    bool truncated = false;  // larger than maxDatagramSize
    const SocketAddress& source;
    std::int64_t arrivalNs = 0;  // the kernel's receive time (SO_TIMESTAMPNS); 0: none given
  };
  // What the relaying of some datagrams did, added to the stream's counters by publish().
  struct BatchTally {
    std::uint64_t accepted = 0;
    std::uint64_t rtpPackets = 0;  // sent on
    std::uint64_t rtpBytes = 0;
    std::uint64_t rtcpPackets = 0;
    std::uint64_t rtcpBytes = 0;
    std::uint64_t malformed = 0;
    std::uint64_t refused = 0;
    std::uint64_t unsent = 0;  // no destination yet, or the send failed
    std::uint64_t keepalives = 0;
    bool rtpSeen = false;
    std::int64_t readNs = 0;  // the time of reading, for datagrams the kernel gave no time
    void countSent(PacketKind kind, std::size_t bytes) {
      if (kind == PacketKind::Rtp) {
        ++rtpPackets;
        rtpBytes += bytes;
      } else {
        ++rtcpPackets;
        rtcpBytes += bytes;
      }
    }
  };
  // Where admit() says a datagram goes: nowhere (destination null) or out of the other leg.
  struct Forward {
    const SocketAddress* destination = nullptr;
    PacketKind kind = PacketKind::Rtp;
  };

  RelayWorker(const RelayConfig& config, SignallingChannel& channel, RelayMetrics& metrics,
              Logger logger, std::size_t index);

  // ---- the backend
  // On the media thread, before anything else; an error ends the thread and fails start().
  virtual Result<void> setUp() = 0;
  // The media thread's loop: returns once stopping(). It relays with admit() and publish(),
  // applies commands with runCommands(), sweeps with sweep() every sweepInterval().
  virtual void loop() = 0;
  // Starts receiving on the four sockets of a stream just added; false if it cannot.
  virtual bool watch(RelayStream& stream) = 0;
  // Stops receiving on a retired stream's sockets. The backend later hands it to
  // closeRetired(), once nothing of its own refers to it any more.
  virtual void forget(RelayStream& stream) = 0;

  // ---- for the backends (media thread)
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  int wakeupFd() const { return wakeup_.get(); }
  Duration sweepInterval() const { return sweepInterval_; }
  std::size_t datagramSize() const { return datagramSize_; }
  // Applies the commands submitted so far, if any (one atomic load when there are none).
  void runCommandsIfPending() {
    if (commandsPending_.load(std::memory_order_acquire)) runCommands();
  }
  // The checks, latch, fallback and statistics of one datagram received on `socket` (of a stream
  // that is not retired); counts in `tally` what does not go on.
  Forward admit(RelaySocket& socket, const ReceivedDatagram& datagram, TimePoint now,
                BatchTally& tally);
  // Adds a tally to the stream's counters; the metrics follow at flushMetrics().
  void publish(RelayStream& stream, Side side, const BatchTally& tally, TimePoint now);
  void flushMetrics();
  // Keepalives, fallbacks, and streams idle too long retired (see forget()).
  void sweep(TimePoint now);
  // Retires every stream as if released (for a backend that must see them closed at stop).
  void retireAll();
  // Destroys every retired stream (sockets closed, ports back) and reports the timed-out ones.
  void closeRetired();
  // Destroys one retired stream, as closeRetired() does.
  void closeRetired(const RelayStream& stream);
  // The kernel's receive time in a received message's control data (SCM_TIMESTAMPNS); 0 if none.
  static std::int64_t timestampNs(const msghdr& header);
  Logger& logger() { return logger_; }
  std::size_t index() const { return index_; }

 private:
  using StreamTable = std::unordered_map<std::uint64_t, std::unique_ptr<RelayStream>>;

  void runCommands();
  void apply(AddStream& command);
  void apply(SetRemote& command);
  void apply(SetFallback& command);
  void apply(RemoveStream& command);
  // Takes the stream out of the table and hands it to the backend to forget; returns the next.
  StreamTable::iterator retire(StreamTable::iterator it, bool timedOut);
  void close(std::unique_ptr<RelayStream> stream);
  // Sends one RTP keepalive on `side`'s RTP socket if that leg wants them and knows its remote,
  // and one to its fallback while the direct path is on trial.
  void keepAlive(RelayStream& stream, Side side, TimePoint now);
  void sendKeepAlive(RelayLeg& leg, const SocketAddress& destination, bool announce);
  void sendRtcpKeepAlive(RelayLeg& leg, const SocketAddress& destination);
  // The leg gives up its remote for its fallback relay (LegConfig::fallback).
  void fallBack(RelayStream& stream, Side side, const char* why);
  void onLatched(RelayStream& stream, const RelaySocket& socket, const SocketAddress& source);

  SignallingChannel& channel_;
  RelayMetrics& metrics_;
  Logger logger_;
  const std::size_t datagramSize_;
  const Duration inactivityTimeout_;
  const Duration sweepInterval_;
  std::size_t index_;

  FileDescriptor wakeup_;  // eventfd
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex queueMutex_;
  std::vector<WorkerCommand> queue_;          // guarded by queueMutex_
  std::atomic<bool> commandsPending_{false};  // queue_ is not empty; read without the lock
  std::vector<WorkerCommand> running_;        // media thread only: the batch being applied

  StreamTable streams_;
  std::vector<std::unique_ptr<RelayStream>> retired_;  // forgotten, not yet closed
  BatchTally metricsTally_;  // published to the stream counters, not yet to the metrics
};

}  // namespace p2psip::media
