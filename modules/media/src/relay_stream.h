// SPDX-License-Identifier: Apache-2.0
// RelayStream: the media thread's side of one stream. Two legs (A and B), each an RTP/RTCP port
// pair with a latch per socket and the reception statistics of what its phone sends. Built on the
// signalling thread by allocate() (its sockets are already bound), then handed whole to one media
// thread, which alone touches it until it is destroyed. Not movable: epoll carries pointers to its
// RelaySockets.
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

// What an epoll event points at: one socket, and where it belongs.
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
  // Released, its sockets unwatched, waiting for the end of an epoll batch to be destroyed.
  bool retired() const { return retired_; }
  void retire() { retired_ = true; }

 private:
  StreamId id_;
  std::array<RelayLeg, 2> legs_;
  StreamCounters* counters_;
  TimePoint lastActivity_;
  bool retired_ = false;
};

}  // namespace p2psip::media
