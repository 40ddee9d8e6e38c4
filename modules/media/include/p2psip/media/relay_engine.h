// SPDX-License-Identifier: Apache-2.0
// RelayEngine: the RTP/RTCP relay. It owns a pool of port pairs per local address and one or more
// media threads that forward packets (io_uring multishot receives and send requests, or epoll
// with recvmmsg/sendmmsg: RelayConfig::ioBackend; nothing allocated per packet).
//
// Threading: every member function is called on the signalling thread, and none of them waits for
// a media thread: control goes to the media threads through a mutex-guarded command queue and an
// eventfd wake-up (the lock is taken on the control path only, never per packet). What the media
// threads report (a stream timed out, a leg latched) comes back as closures handed to the injected
// `postToSignalling` (the app wires it to net::EventLoop::post); the callbacks registered with
// onTimeout()/onLatch() run inside those closures, so on the signalling thread.
//
// Owned by the composition root; destroy it (or call stop()) before the signalling loop goes.
// Closures already posted when the engine is destroyed do nothing.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/media/relay_config.h"
#include "p2psip/media/stream.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::media {

class RelayEngine {
 public:
  using PostToSignalling = std::function<void(std::function<void()>)>;
  using TimeoutHandler = std::function<void(StreamId)>;
  using LatchHandler = std::function<void(StreamId, Side, const net::Endpoint& source)>;

  RelayEngine(RelayConfig config, PostToSignalling postToSignalling, MetricsRegistry& metrics,
              Logger logger);
  ~RelayEngine();  // stop()
  RelayEngine(const RelayEngine&) = delete;
  RelayEngine& operator=(const RelayEngine&) = delete;

  // Validates the configuration and starts the media threads.
  Result<void> start();
  // Stops and joins the media threads and closes every stream (their ports return to the pools).
  // No callback runs afterwards. Idempotent.
  void stop();

  // Binds an RTP/RTCP pair for each leg now, on the caller's thread, so the SDP can be written at
  // once, then hands the stream to a media thread. Errors: Unavailable (not started),
  // InvalidArgument (a local address not configured, a family mismatch, clock rate 0),
  // LimitExceeded (maxStreams reached, or no free pair left on an address), TransportError.
  Result<AllocatedStream> allocate(const LegConfig& a, const LegConfig& b);
  // New remote for one side, from an SDP answer or a re-INVITE. A different endpoint re-arms that
  // leg's latch (the media moved); the same endpoint changes nothing. NotFound if not active.
  Result<void> setRemote(StreamId id, Side side, const net::Endpoint& remote);
  // A third peer's relay for `side` to fall back to if its remote is not heard within `after`
  // (LegConfig::fallback): the offering peer learns it from the answer. Starts a new trial of
  // the direct path. NotFound if not active; InvalidArgument for a family mismatch, port 0 or
  // a non-positive delay.
  Result<void> setFallback(StreamId id, Side side, const net::Endpoint& fallback, Duration after);
  // Tears the stream down (BYE, failed call). Its ports return to the pool as soon as its media
  // thread has closed the sockets, normally within microseconds. NotFound if not active (already
  // released or timed out).
  Result<void> release(StreamId id);

  // Called when a stream is released for inactivity (not after release()).
  void onTimeout(TimeoutHandler handler);
  // Called when a leg latches or re-latches onto the source of its packets.
  void onLatch(LatchHandler handler);

  // Counters of one active stream; nullopt if unknown. Reads relaxed atomics the media thread
  // writes, so the numbers of one snapshot may be a packet apart from each other.
  std::optional<StreamStats> stats(StreamId id) const;
  std::vector<StreamStats> snapshot() const;
  RelayTotals totals() const;
  std::size_t active() const;  // streams allocated and not yet released or reported timed out
  // What the media threads use: RelayConfig::ioBackend, or Epoll where io_uring could not be set
  // up at start() (the configured one before start()).
  IoBackend ioBackend() const;
  std::size_t freePortPairs() const;  // over every address
  std::size_t freePortPairs(const asio::ip::address& address) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::media
