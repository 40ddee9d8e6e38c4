// SPDX-License-Identifier: Apache-2.0
// RelayStream: the media thread's side of one stream. Two legs (A and B), each an RTP/RTCP port
// pair with a latch per socket and the reception statistics of what its phone sends. Built on the
// signalling thread by allocate() (its sockets are already bound), then handed whole to one media
// thread, which alone touches it until it is destroyed. Not movable: epoll events and io_uring
// requests carry pointers to it and its RelaySockets.
#pragma once

#include <array>
#include <cstdint>

#include "latch.h"
#include "p2psip/media/stream.h"
#include "port_pool.h"
#include "reception_statistics.h"
#include "stream_counters.h"

namespace p2psip::media {

enum class Channel : std::uint8_t { Rtp = 0, Rtcp = 1 };

class RelayStream;

// What an epoll event or an io_uring receive points at: one socket, and where it belongs.
struct RelaySocket {
  RelayStream* stream = nullptr;
  Side side = Side::A;
  Channel channel = Channel::Rtp;
  int fd = -1;
};

struct RelayLeg {
  RelayLeg(PortLease portsIn, const Latch::Settings& rtpLatch, std::uint32_t clockRate)
      : ports(std::move(portsIn)),
        latches{Latch(rtpLatch), Latch(rtcpSettings(rtpLatch))},
        reception(clockRate) {}

  // RTCP goes to the RTP port + 1 (RFC 3550 §11) until it latches.
  static Latch::Settings rtcpSettings(Latch::Settings settings) {
    if (settings.remote) {
      settings.remote =
          settings.remote->withPort(static_cast<std::uint16_t>(settings.remote->port() + 1));
    }
    return settings;
  }

  Latch& latch(Channel channel) { return latches[static_cast<std::size_t>(channel)]; }
  RelaySocket& socket(Channel channel) { return sockets[static_cast<std::size_t>(channel)]; }

  PortLease ports;
  std::array<Latch, 2> latches;  // indexed by Channel
  std::array<RelaySocket, 2> sockets{};
  ReceptionStatistics reception;
  std::uint64_t remoteGeneration = 0;  // bumped by setRemote(); tags latch reports
  bool keepAlive = false;              // LegConfig::keepAlive
  bool heard = false;                  // something was accepted on this leg: keepalives stop
  bool rtcpHeard = false;              // ... on its RTCP socket: RTCP keepalives stop
  std::uint16_t keepAliveSequence = 0;
  // LegConfig::fallback: where the leg goes if `remote` stays silent until the deadline.
  std::optional<SocketAddress> fallback;
  Duration fallbackAfter{};
  TimePoint fallbackDeadline{};  // (re)started when the remote or the fallback is learnt
  bool fellBack = false;
};

class RelayStream {
 public:
  RelayStream(StreamId id, RelayLeg a, RelayLeg b, StreamCounters& counters, TimePoint created)
      : id_(id), legs_{std::move(a), std::move(b)}, counters_(&counters), lastActivity_(created) {
    for (Side side : {Side::A, Side::B}) {
      for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
        RelayLeg& l = leg(side);
        l.socket(channel) = RelaySocket{
            this, side, channel, channel == Channel::Rtp ? l.ports.rtpFd() : l.ports.rtcpFd()};
      }
    }
  }
  RelayStream(const RelayStream&) = delete;
  RelayStream& operator=(const RelayStream&) = delete;

  StreamId id() const { return id_; }
  RelayLeg& leg(Side side) { return legs_[static_cast<std::size_t>(side)]; }
  DirectionCounters& receivedOn(Side side) {
    return counters_->received[static_cast<std::size_t>(side)];
  }
  TimePoint lastActivity() const { return lastActivity_; }
  void touch(TimePoint now) { lastActivity_ = now; }
  // Released or timed out: nothing it receives is relayed any more, and it is destroyed once its
  // media thread's backend no longer refers to it (the end of an epoll batch; the last io_uring
  // completion for it). A timed-out stream is reported when destroyed, its ports back in the pool.
  bool retired() const { return retired_; }
  bool timedOut() const { return timedOut_; }
  void retire(bool timedOut) {
    retired_ = true;
    timedOut_ = timedOut;
  }
  // io_uring requests in the kernel (or about to be re-armed) that point at this stream.
  void requestStarted() { ++requests_; }
  // True when that was the last one.
  bool requestEnded() { return --requests_ == 0; }

 private:
  StreamId id_;
  std::array<RelayLeg, 2> legs_;
  StreamCounters* counters_;
  TimePoint lastActivity_;
  std::uint32_t requests_ = 0;
  bool retired_ = false;
  bool timedOut_ = false;
};

}  // namespace p2psip::media
