// SPDX-License-Identifier: Apache-2.0
// RelayConfig: the typed settings of one RelayEngine, checked once by validate() before start.
// Every tunable of the relay lives here (no statics), so tests and the daemon can choose them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"

namespace p2psip::media {

// How a media thread waits for datagrams and moves them; the relaying itself (checks, latching,
// statistics) is the same with both.
//  - IoUring: io_uring (Linux 6.1 or later): a multishot recvmsg on every socket over one ring of
//    provided buffers, a send request per relayed datagram, and one io_uring_enter per wake-up
//    that submits the sends and reaps what arrived, so a datagram costs no system call of its own.
//  - Epoll: epoll, one recvmmsg per ready socket per wake-up, sendto or sendmmsg.
// Where the kernel refuses io_uring (too old, or sysctl kernel.io_uring_disabled), start() falls
// back to Epoll and logs it.
enum class IoBackend : std::uint8_t { Epoll, IoUring };
const char* toString(IoBackend backend);

struct RelayConfig {
  // Port pairs come from [portMin, portMax] on every address: RTP on the even port, RTCP on the
  // next odd one (RFC 3550 §11). portMin must be even; a trailing odd port is left unused.
  std::uint16_t portMin = 30000;
  std::uint16_t portMax = 39999;
  // The local addresses legs may bind, e.g. loopback for the phones served here and the overlay
  // address for the far peer's relay. Each has its own pool over the same port range.
  std::vector<asio::ip::address> addresses;
  // A stream that has relayed nothing accepted (either direction, RTP or RTCP) for this long is
  // released and reported through onTimeout(): no port leaks when a BYE never comes.
  Duration inactivityTimeout = std::chrono::seconds(60);
  // A latched leg moves to a new source only after the latched one has been silent this long
  // (see Latch in the README): a NAT rebinding recovers, a stranger cannot cut in mid-flow.
  // Zero drops the silence condition (same IP and SSRC still required).
  Duration relatchSilence = std::chrono::seconds(1);
  // Media threads. Each owns the streams it was given (both legs), so no stream is shared.
  std::size_t workerThreads = 1;
  IoBackend ioBackend = IoBackend::IoUring;
  std::size_t maxStreams = 2000;
  // Datagrams per recvmmsg/sendmmsg call (Epoll). IoUring gives each media thread 32 times as
  // many receive buffers, shared by its sockets (a power of two, 256-4,096: 1,024 by default).
  std::size_t batchSize = 32;
  // Receive buffer per datagram. Larger datagrams arrive truncated and are dropped as malformed.
  std::size_t maxDatagramSize = 2048;
  // SO_RCVBUF/SO_SNDBUF of each relay socket; 0 keeps the system default.
  int socketBufferBytes = 0;
};

// InvalidArgument naming the first bad field: odd portMin, empty range, no or duplicate or
// unspecified addresses, zero timeouts/threads/streams/batch, or a datagram size out of range.
Result<void> validate(const RelayConfig& config);

// Port pairs available per address with this configuration.
std::size_t portPairCount(const RelayConfig& config);

}  // namespace p2psip::media
