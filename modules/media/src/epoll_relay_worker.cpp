// SPDX-License-Identifier: Apache-2.0
#include "epoll_relay_worker.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <utility>

namespace p2psip::media {
namespace {

// Events taken per epoll_wait: a buffer size, not a limit (more ready sockets wait one round).
constexpr int kEpollEvents = 256;

}  // namespace

EpollRelayWorker::EpollRelayWorker(const RelayConfig& config, SignallingChannel& channel,
                                   RelayMetrics& metrics, Logger logger, std::size_t index)
    : RelayWorker(config, channel, metrics, std::move(logger), index),
      batchSize_(config.batchSize),
      buffers_(batchSize_ * config.maxDatagramSize),
      received_(batchSize_),
      receivedIov_(batchSize_),
      sources_(batchSize_),
      control_(batchSize_),
      sending_(batchSize_),
      sendingIov_(batchSize_),
      sendingKind_(batchSize_),
      events_(kEpollEvents) {
  // The message headers point into the buffers once and for all; each call only resets the
  // lengths the kernel overwrites.
  for (std::size_t i = 0; i < batchSize_; ++i) {
    receivedIov_[i] = iovec{buffer(i), datagramSize()};
    msghdr& in = received_[i].msg_hdr;
    in.msg_name = sources_[i].data();
    in.msg_iov = &receivedIov_[i];
    in.msg_iovlen = 1;
    in.msg_control = control_[i].bytes;
    in.msg_namelen = sizeof(sockaddr_storage);
    in.msg_controllen = sizeof(ControlBuffer);
    msghdr& out = sending_[i].msg_hdr;
    out.msg_iov = &sendingIov_[i];
    out.msg_iovlen = 1;
  }
}

EpollRelayWorker::~EpollRelayWorker() {
  stop();
}

Result<void> EpollRelayWorker::setUp() {
  epoll_ = FileDescriptor(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_.valid()) {
    return makeError(ErrorCode::TransportError,
                     std::string("media: epoll_create1: ") + std::strerror(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up; every socket has a RelaySocket pointer
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeupFd(), &event) != 0) {
    return makeError(ErrorCode::TransportError,
                     std::string("media: epoll_ctl(eventfd): ") + std::strerror(errno));
  }
  return {};
}

void EpollRelayWorker::loop() {
  TimePoint nextSweep = Clock::now() + sweepInterval();
  while (!stopping()) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(nextSweep - Clock::now());
    const int timeoutMs = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
    const int ready = ::epoll_wait(epoll_.get(), events_.data(), kEpollEvents, timeoutMs);
    if (ready < 0 && errno != EINTR) {
      logger().error("media: epoll_wait: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < ready; ++i) {
      if (events_[i].data.ptr == nullptr) {
        std::uint64_t count = 0;  // reset the eventfd; the queue is looked at below
        [[maybe_unused]] const auto read = ::read(wakeupFd(), &count, sizeof count);
      } else {
        relay(*static_cast<RelaySocket*>(events_[i].data.ptr));
      }
    }
    runCommandsIfPending();
    // Later events of this batch may still have pointed at streams removed during it.
    closeRetired();
    flushMetrics();
    const TimePoint now = Clock::now();
    if (now >= nextSweep) {
      sweep(now);
      closeRetired();
      nextSweep = now + sweepInterval();
    }
  }
}

bool EpollRelayWorker::watch(RelayStream& stream) {
  for (Side side : {Side::A, Side::B}) {
    for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
      RelaySocket& socket = stream.leg(side).socket(channel);
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.ptr = &socket;
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socket.fd, &event) != 0) {
        logger().error("media: stream {}: epoll_ctl: {}", stream.id().value, std::strerror(errno));
        unwatch(stream);
        return false;
      }
    }
  }
  return true;
}

void EpollRelayWorker::forget(RelayStream& stream) {
  // Closed at the end of this epoll batch: a later event of the batch may point at it.
  unwatch(stream);
}

void EpollRelayWorker::unwatch(RelayStream& stream) {
  for (Side side : {Side::A, Side::B}) {
    for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
      // ENOENT for a socket never added is fine.
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, stream.leg(side).socket(channel).fd, nullptr);
    }
  }
}

void EpollRelayWorker::relay(RelaySocket& socket) {
  // The kernel rewrote these lengths only in the headers it filled last time.
  for (std::size_t i = 0; i < headersUsed_; ++i) {
    msghdr& in = received_[i].msg_hdr;
    in.msg_namelen = sizeof(sockaddr_storage);
    in.msg_controllen = sizeof(ControlBuffer);
  }
  const int count = ::recvmmsg(socket.fd, received_.data(), static_cast<unsigned>(batchSize_),
                               MSG_DONTWAIT, nullptr);
  if (count <= 0) {
    headersUsed_ = 0;
    return;  // EAGAIN, or a socket error (ICMP) that reading has now cleared
  }
  headersUsed_ = static_cast<std::size_t>(count);
  // Commands submitted before these datagrams were sent apply to them: a setRemote() that
  // returned before the phone sent is in force. (One atomic load per batch, not per packet.)
  runCommandsIfPending();
  if (socket.stream->retired()) return;  // released just now: the batch goes nowhere

  const TimePoint now = Clock::now();
  RelayStream& stream = *socket.stream;
  BatchTally tally;
  std::size_t queued = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i) {
    const msghdr& header = received_[i].msg_hdr;
    SocketAddress& source = sources_[i];
    source.length = header.msg_namelen;
    const ReceivedDatagram datagram{
        .bytes = std::span<const std::uint8_t>(buffer(i), received_[i].msg_len),
        .truncated = (header.msg_flags & MSG_TRUNC) != 0,
        .source = source,
        .arrivalNs = timestampNs(header)};
    const Forward forward = admit(socket, datagram, now, tally);
    if (forward.destination == nullptr) continue;
    sendingIov_[queued] = iovec{buffer(i), received_[i].msg_len};
    msghdr& outgoing = sending_[queued].msg_hdr;
    outgoing.msg_name = const_cast<sockaddr*>(forward.destination->data());
    outgoing.msg_namelen = forward.destination->length;
    sendingKind_[queued] = forward.kind;
    ++queued;
  }
  send(stream.leg(otherSide(socket.side)).socket(socket.channel).fd, queued, tally);
  publish(stream, socket.side, tally, now);
}

void EpollRelayWorker::send(int fd, std::size_t queued, BatchTally& tally) {
  std::size_t next = 0;
  while (next < queued) {
    // One datagram (the usual case at a phone's pace: 50 packets/s per stream) goes by sendto,
    // which spares the kernel copying in a message header and an iovec.
    const int sent = queued - next == 1
                         ? sendOne(fd, sending_[next].msg_hdr)
                         : ::sendmmsg(fd, sending_.data() + next,
                                      static_cast<unsigned>(queued - next), MSG_DONTWAIT);
    if (sent > 0) {
      for (std::size_t j = next; j < next + static_cast<std::size_t>(sent); ++j) {
        tally.countSent(sendingKind_[j], sendingIov_[j].iov_len);
      }
      next += static_cast<std::size_t>(sent);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
      // The socket buffer is full. Real-time media is not queued: drop the rest of the batch.
      tally.unsent += queued - next;
      break;
    }
    // This datagram cannot go (e.g. no route to its destination): skip it, send the others.
    ++tally.unsent;
    ++next;
  }
}

int EpollRelayWorker::sendOne(int fd, const msghdr& message) {
  const iovec& data = message.msg_iov[0];
  const auto sent = ::sendto(fd, data.iov_base, data.iov_len, MSG_DONTWAIT,
                             static_cast<const sockaddr*>(message.msg_name), message.msg_namelen);
  return sent < 0 ? -1 : 1;
}

}  // namespace p2psip::media
