// SPDX-License-Identifier: Apache-2.0
#include "relay_worker.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>

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
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;

// Idle streams are looked for a few times per timeout, so one is released at most a quarter of
// the timeout late; at least every 10 ms (tests use short timeouts), at most every second.
Duration sweepIntervalFor(Duration timeout) {
  return std::clamp<Duration>(timeout / 4, std::chrono::milliseconds(10), std::chrono::seconds(1));
}

// A relay leg that gave up the direct path says so through the fallback relay (a keepalive with
// this 4-byte payload, payload type 127). Only our relays send it; only a leg that has a fallback
// treats it as one, and never forwards it.
constexpr std::size_t kFallbackAnnouncementSize = 16;
constexpr std::uint8_t kFallbackMagic[4] = {'p', '2', 'p', 'F'};

// Our keepalives' SSRCs: this tag in the high half, the sending leg's port in the low half.
constexpr std::uint32_t kKeepAliveSsrcTag = 0x6b610000u;
constexpr std::size_t kRtcpKeepAliveSize = 8;

bool isRtcpKeepAlive(std::span<const std::uint8_t> datagram) {
  return datagram.size() == kRtcpKeepAliveSize && datagram[0] == 0x80 && datagram[1] == 201 &&
         datagram[4] == (kKeepAliveSsrcTag >> 24) &&
         datagram[5] == ((kKeepAliveSsrcTag >> 16) & 0xff);
}

bool isFallbackAnnouncement(std::span<const std::uint8_t> datagram) {
  return datagram.size() == kFallbackAnnouncementSize && (datagram[1] & 0x7f) == 0x7f &&
         std::equal(std::begin(kFallbackMagic), std::end(kFallbackMagic), datagram.begin() + 12);
}

std::int64_t realtimeNs() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return std::int64_t{now.tv_sec} * kNanosPerSecond + now.tv_nsec;
}

}  // namespace

RelayWorker::RelayWorker(const RelayConfig& config, SignallingChannel& channel,
                         RelayMetrics& metrics, Logger logger, std::size_t index)
    : batchSize_(config.batchSize),
      datagramSize_(config.maxDatagramSize),
      inactivityTimeout_(config.inactivityTimeout),
      sweepInterval_(sweepIntervalFor(config.inactivityTimeout)),
      channel_(channel),
      metrics_(metrics),
      logger_(std::move(logger)),
      index_(index),
      buffers_(batchSize_ * datagramSize_),
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
    receivedIov_[i] = iovec{buffer(i), datagramSize_};
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

RelayWorker::~RelayWorker() {
  stop();
}

Result<void> RelayWorker::start() {
  epoll_ = FileDescriptor(::epoll_create1(EPOLL_CLOEXEC));
  wakeup_ = FileDescriptor(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!epoll_.valid() || !wakeup_.valid()) {
    return makeError(ErrorCode::TransportError,
                     std::string("media: epoll/eventfd: ") + std::strerror(errno));
  }
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // the wake-up; every socket has a RelaySocket pointer
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &event) != 0) {
    return makeError(ErrorCode::TransportError,
                     std::string("media: epoll_ctl(eventfd): ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
  const std::string name = "p2psip-media-" + std::to_string(index_);
  ::pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  return {};
}

void RelayWorker::stop() {
  if (thread_.joinable()) {
    stopping_.store(true, std::memory_order_release);
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto written = ::write(wakeup_.get(), &one, sizeof one);
    thread_.join();
  }
  // The thread is gone: what it owned is ours to close now.
  std::vector<WorkerCommand> pending;
  {
    std::lock_guard lock(queueMutex_);
    pending.swap(queue_);
  }
  streams_.clear();
  retired_.clear();
  pending.clear();
  running_.clear();
}

void RelayWorker::submit(WorkerCommand command) {
  {
    std::lock_guard lock(queueMutex_);
    queue_.push_back(std::move(command));
    commandsPending_.store(true, std::memory_order_release);
  }
  const std::uint64_t one = 1;
  // The counter cannot overflow (the media thread resets it at each wake-up); EAGAIN would mean
  // a wake-up is pending anyway.
  [[maybe_unused]] const auto written = ::write(wakeup_.get(), &one, sizeof one);
}

void RelayWorker::run() {
  TimePoint nextSweep = Clock::now() + sweepInterval_;
  while (!stopping_.load(std::memory_order_acquire)) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(nextSweep - Clock::now());
    const int timeoutMs = static_cast<int>(std::max<std::int64_t>(0, wait.count()));
    const int ready = ::epoll_wait(epoll_.get(), events_.data(), kEpollEvents, timeoutMs);
    if (ready < 0 && errno != EINTR) {
      logger_.error("media: epoll_wait: {}", std::strerror(errno));
      break;
    }
    for (int i = 0; i < ready; ++i) {
      if (events_[i].data.ptr == nullptr) {
        std::uint64_t count = 0;  // reset the eventfd; the queue is looked at below
        [[maybe_unused]] const auto read = ::read(wakeup_.get(), &count, sizeof count);
      } else {
        relay(*static_cast<RelaySocket*>(events_[i].data.ptr));
      }
    }
    if (commandsPending_.load(std::memory_order_acquire)) runCommands();
    // Later events of this batch may still have pointed at streams removed during it.
    retired_.clear();
    const TimePoint now = Clock::now();
    if (now >= nextSweep) {
      sweep(now);
      nextSweep = now + sweepInterval_;
    }
  }
}

void RelayWorker::runCommands() {
  {
    std::lock_guard lock(queueMutex_);
    running_.swap(queue_);
    commandsPending_.store(false, std::memory_order_relaxed);
  }
  for (auto& command : running_) {
    std::visit([this](auto& c) { apply(c); }, command);
  }
  running_.clear();  // keeps its capacity: the next swap hands it to the queue
}

void RelayWorker::apply(AddStream& command) {
  RelayStream& stream = *command.stream;
  if (!watch(stream)) {
    // It cannot be relayed; tell signalling, which frees it as if it had timed out.
    channel_.streamTimedOut(stream.id());
    return;
  }
  streams_.emplace(stream.id().value, std::move(command.stream));
  const TimePoint now = Clock::now();
  for (Side side : {Side::A, Side::B}) {
    RelayLeg& leg = stream.leg(side);
    leg.fallbackDeadline = now + leg.fallbackAfter;
    keepAlive(stream, side, now);
  }
}

void RelayWorker::keepAlive(RelayStream& stream, Side side, TimePoint now) {
  RelayLeg& leg = stream.leg(side);
  if (!leg.keepAlive) return;
  if (!leg.rtcpHeard) {
    // RTCP has its own NAT mapping: without this, a far relay behind a symmetric NAT learns our
    // RTCP source only from the first report a phone sends, seconds into the call.
    if (const SocketAddress* destination = leg.latch(Channel::Rtcp).destination()) {
      sendRtcpKeepAlive(leg, *destination);
    }
  }
  if (!leg.heard) {
    if (const SocketAddress* destination = leg.latch(Channel::Rtp).destination()) {
      // After a fallback they announce it: the far relay may still hear us directly while we do
      // not hear it, and it moves only on a packet that comes through the fallback relay.
      sendKeepAlive(leg, *destination, leg.fellBack);
    }
  }
  // While the direct path is on trial, and a while after (the far relay decides on its own
  // clock), our NAT must let the fallback relay in: the far relay may switch when we did not.
  if (leg.fallback && !leg.fellBack && now < leg.fallbackDeadline + 4 * leg.fallbackAfter) {
    sendKeepAlive(leg, *leg.fallback, false);
  }
}

void RelayWorker::sendKeepAlive(RelayLeg& leg, const SocketAddress& destination, bool announce) {
  // RFC 6263 §4.6: V=2, a payload type the far relay never forwards (it has no payload), and our
  // leg's port as SSRC so that each leg's keepalives are told apart in a capture. An announcement
  // (isFallbackAnnouncement) adds a 4-byte payload, so a third relay forwards it like media.
  const std::uint16_t seq = leg.keepAliveSequence++;
  const std::uint32_t ssrc = kKeepAliveSsrcTag | leg.ports.rtpEndpoint().port;
  const std::uint8_t packet[kFallbackAnnouncementSize] = {0x80,
                                                          0x7f,
                                                          static_cast<std::uint8_t>(seq >> 8),
                                                          static_cast<std::uint8_t>(seq),
                                                          0,
                                                          0,
                                                          0,
                                                          0,
                                                          static_cast<std::uint8_t>(ssrc >> 24),
                                                          static_cast<std::uint8_t>(ssrc >> 16),
                                                          static_cast<std::uint8_t>(ssrc >> 8),
                                                          static_cast<std::uint8_t>(ssrc),
                                                          kFallbackMagic[0],
                                                          kFallbackMagic[1],
                                                          kFallbackMagic[2],
                                                          kFallbackMagic[3]};
  const std::size_t size = announce ? sizeof packet : 12;
  if (::sendto(leg.socket(Channel::Rtp).fd, packet, size, MSG_DONTWAIT, destination.data(),
               destination.length) == static_cast<ssize_t>(size)) {
    metrics_.keepalivesSent.inc();
  }
}

void RelayWorker::sendRtcpKeepAlive(RelayLeg& leg, const SocketAddress& destination) {
  // An empty receiver report (RFC 3550 §6.4.2, RC 0) with the leg's keepalive SSRC: no phone sends
  // one alone (RTCP is compound, §6.1), so the far relay can tell it from a phone's report.
  const std::uint32_t ssrc = kKeepAliveSsrcTag | leg.ports.rtpEndpoint().port;
  const std::uint8_t packet[kRtcpKeepAliveSize] = {0x80,
                                                   201,
                                                   0,
                                                   1,
                                                   static_cast<std::uint8_t>(ssrc >> 24),
                                                   static_cast<std::uint8_t>(ssrc >> 16),
                                                   static_cast<std::uint8_t>(ssrc >> 8),
                                                   static_cast<std::uint8_t>(ssrc)};
  if (::sendto(leg.socket(Channel::Rtcp).fd, packet, sizeof packet, MSG_DONTWAIT,
               destination.data(), destination.length) == sizeof packet) {
    metrics_.keepalivesSent.inc();
  }
}

void RelayWorker::apply(SetRemote& command) {
  const auto it = streams_.find(command.id.value);
  if (it == streams_.end()) return;  // timed out meanwhile
  RelayLeg& leg = it->second->leg(command.side);
  leg.remoteGeneration = command.generation;
  leg.latch(Channel::Rtp).setRemote(command.remote);
  leg.latch(Channel::Rtcp)
      .setRemote(command.remote.withPort(static_cast<std::uint16_t>(command.remote.port() + 1)));
  leg.heard = false;  // a new remote: open the way to it again
  leg.rtcpHeard = false;
  // ... and give the direct path to it a new trial.
  leg.fellBack = false;
  const TimePoint now = Clock::now();
  leg.fallbackDeadline = now + leg.fallbackAfter;
  keepAlive(*it->second, command.side, now);
}

void RelayWorker::apply(SetFallback& command) {
  const auto it = streams_.find(command.id.value);
  if (it == streams_.end()) return;
  RelayLeg& leg = it->second->leg(command.side);
  leg.fallback = command.fallback;
  leg.fallbackAfter = command.after;
  leg.fellBack = false;
  const TimePoint now = Clock::now();
  leg.fallbackDeadline = now + command.after;
  keepAlive(*it->second, command.side, now);
}

void RelayWorker::fallBack(RelayStream& stream, Side side, const char* why) {
  RelayLeg& leg = stream.leg(side);
  const SocketAddress relay = *leg.fallback;
  leg.fellBack = true;
  leg.latch(Channel::Rtp).setRemote(relay);
  leg.latch(Channel::Rtcp).setRemote(relay.withPort(static_cast<std::uint16_t>(relay.port() + 1)));
  leg.heard = false;  // keepalives now open our NAT towards the fallback relay
  leg.rtcpHeard = false;
  metrics_.fallbacks.inc();
  const net::Endpoint endpoint = relay.toEndpoint();
  logger_.info("media: stream {} leg {} falls back to relay {}: {}", stream.id().value,
               toString(side), endpoint.toString(), why);
  channel_.legFellBack(stream.id(), side, endpoint, leg.remoteGeneration);
  keepAlive(stream, side, Clock::now());
}

void RelayWorker::apply(RemoveStream& command) {
  const auto it = streams_.find(command.id.value);
  if (it == streams_.end()) return;  // timed out meanwhile; its counters die with the command
  unwatch(*it->second);
  // Kept until the end of this epoll batch: a later event of the batch may point at it.
  it->second->retire();
  retired_.push_back(std::move(it->second));
  streams_.erase(it);
}

bool RelayWorker::watch(RelayStream& stream) {
  for (Side side : {Side::A, Side::B}) {
    for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
      RelaySocket& socket = stream.leg(side).socket(channel);
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.ptr = &socket;
      if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, socket.fd, &event) != 0) {
        logger_.error("media: stream {}: epoll_ctl: {}", stream.id().value, std::strerror(errno));
        unwatch(stream);
        return false;
      }
    }
  }
  return true;
}

void RelayWorker::unwatch(RelayStream& stream) {
  for (Side side : {Side::A, Side::B}) {
    for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
      // ENOENT for a socket never added is fine.
      ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, stream.leg(side).socket(channel).fd, nullptr);
    }
  }
}

void RelayWorker::sweep(TimePoint now) {
  for (auto it = streams_.begin(); it != streams_.end();) {
    RelayStream& stream = *it->second;
    if (now - stream.lastActivity() < inactivityTimeout_) {
      for (Side side : {Side::A, Side::B}) {
        RelayLeg& leg = stream.leg(side);
        // The connectivity check: a keepalive or media from the far relay proves the direct
        // path inbound; silence until the deadline means our NAT or theirs keeps it shut.
        if (leg.fallback && !leg.fellBack && !leg.heard &&
            leg.latch(Channel::Rtp).destination() != nullptr && now >= leg.fallbackDeadline) {
          fallBack(stream, side, "nothing heard on the direct path");
        } else {
          keepAlive(stream, side, now);
        }
      }
      ++it;
      continue;
    }
    const StreamId id = stream.id();
    unwatch(stream);
    it = streams_.erase(it);  // closes its sockets and returns its ports first
    metrics_.streamsTimedOut.inc();
    logger_.info("media: stream {} timed out after {} ms without media", id.value,
                 std::chrono::duration_cast<std::chrono::milliseconds>(inactivityTimeout_).count());
    channel_.streamTimedOut(id);
  }
}

void RelayWorker::relay(RelaySocket& socket) {
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
  if (commandsPending_.load(std::memory_order_acquire)) runCommands();
  if (socket.stream->retired()) return;  // released just now: the batch goes nowhere

  const TimePoint now = Clock::now();
  RelayStream& stream = *socket.stream;
  RelayLeg& in = stream.leg(socket.side);
  RelayLeg& out = stream.leg(otherSide(socket.side));
  Latch& latch = in.latch(socket.channel);
  BatchTally tally;
  std::size_t queued = 0;
  std::int64_t fallbackArrival = 0;

  for (std::size_t i = 0; i < static_cast<std::size_t>(count); ++i) {
    const mmsghdr& message = received_[i];
    if ((message.msg_hdr.msg_flags & MSG_TRUNC) != 0) {  // larger than maxDatagramSize
      ++tally.malformed;
      continue;
    }
    const std::span<const std::uint8_t> datagram(buffer(i), message.msg_len);
    const auto packet = socket.channel == Channel::Rtp ? inspectRtpPortDatagram(datagram)
                                                       : inspectRtcpPortDatagram(datagram);
    if (!packet) {
      ++tally.malformed;
      continue;
    }
    SocketAddress& source = sources_[i];
    source.length = message.msg_hdr.msg_namelen;
    Latch::Verdict verdict = latch.admit(source, packet->ssrc, now);
    if (verdict == Latch::Verdict::Refuse && in.fallback && !in.fellBack &&
        in.fallback->sameHost(source)) {
      if (packet->kind == PacketKind::Rtp && message.msg_len == 12) {
        ++tally.keepalives;  // payload-less: proves nothing about the far relay
        continue;
      }
      // Media through the fallback relay: the far relay gave up the direct path (it heard
      // nothing from us), so ours is one-way at best; follow it.
      fallBack(stream, socket.side, "the far relay moved to the fallback");
      verdict = latch.admit(source, packet->ssrc, now);
    }
    switch (verdict) {
      case Latch::Verdict::Refuse:
        ++tally.refused;
        continue;
      case Latch::Verdict::Latched:
      case Latch::Verdict::Relatched:
        onLatched(stream, socket, source);
        break;
      case Latch::Verdict::Accept:
        break;
    }
    in.heard = true;
    if (socket.channel == Channel::Rtcp) in.rtcpHeard = true;
    if ((packet->kind == PacketKind::Rtp &&
         (message.msg_len == 12 || (in.fallback && isFallbackAnnouncement(datagram)))) ||
        (in.keepAlive && isRtcpKeepAlive(datagram))) {
      // An RTP keepalive (RFC 6263 §4.6): it may latch the leg, and that is all it is for. It
      // neither reaches the phone nor keeps the stream alive.
      ++tally.keepalives;
      continue;
    }
    ++tally.accepted;
    if (packet->kind == PacketKind::Rtp) {
      tally.rtpSeen = true;
      in.reception.onPacket(packet->ssrc, packet->sequence, packet->timestamp,
                            arrivalNs(message, fallbackArrival));
    }
    const SocketAddress* destination = out.latch(socket.channel).destination();
    if (destination == nullptr) {  // the other phone's address is not known yet
      ++tally.unsent;
      continue;
    }
    sendingIov_[queued] = iovec{buffer(i), message.msg_len};
    msghdr& outgoing = sending_[queued].msg_hdr;
    outgoing.msg_name = const_cast<sockaddr*>(destination->data());
    outgoing.msg_namelen = destination->length;
    sendingKind_[queued] = packet->kind;
    ++queued;
  }
  send(out.socket(socket.channel).fd, queued, tally);
  publish(stream, socket.side, tally, now);
}

void RelayWorker::send(int fd, std::size_t queued, BatchTally& tally) {
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
        if (sendingKind_[j] == PacketKind::Rtp) {
          ++tally.rtpPackets;
          tally.rtpBytes += sendingIov_[j].iov_len;
        } else {
          ++tally.rtcpPackets;
          tally.rtcpBytes += sendingIov_[j].iov_len;
        }
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

int RelayWorker::sendOne(int fd, const msghdr& message) {
  const iovec& data = message.msg_iov[0];
  const auto sent = ::sendto(fd, data.iov_base, data.iov_len, MSG_DONTWAIT,
                             static_cast<const sockaddr*>(message.msg_name), message.msg_namelen);
  return sent < 0 ? -1 : 1;
}

void RelayWorker::publish(RelayStream& stream, Side side, const BatchTally& tally, TimePoint now) {
  DirectionCounters& counters = stream.receivedOn(side);
  const std::uint64_t dropped = tally.malformed + tally.refused + tally.unsent;
  addRelaxed(counters.packets, tally.rtpPackets);
  addRelaxed(counters.bytes, tally.rtpBytes);
  addRelaxed(counters.rtcpPackets, tally.rtcpPackets);
  addRelaxed(counters.rtcpBytes, tally.rtcpBytes);
  if (dropped > 0) {
    addRelaxed(counters.dropped, dropped);
    addRelaxed(counters.malformed, tally.malformed);
    addRelaxed(counters.refused, tally.refused);
    metrics_.packetsDropped.inc(dropped);
    if (tally.malformed > 0) metrics_.packetsMalformed.inc(tally.malformed);
    if (tally.refused > 0) metrics_.packetsRefused.inc(tally.refused);
  }
  if (tally.rtpSeen) {
    const ReceptionStatistics& reception = stream.leg(side).reception;
    counters.lost.store(reception.lost(), std::memory_order_relaxed);
    counters.jitterMs.store(reception.jitterMs(), std::memory_order_relaxed);
  }
  if (tally.accepted > 0) {
    // Only media from an accepted source keeps a stream alive: a stranger cannot hold ports.
    stream.touch(now);
    counters.lastActivity.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  }
  if (tally.keepalives > 0) metrics_.keepalivesReceived.inc(tally.keepalives);
  const std::uint64_t forwarded = tally.rtpPackets + tally.rtcpPackets;
  if (forwarded > 0) {
    metrics_.packetsForwarded.inc(forwarded);
    metrics_.bytesForwarded.inc(tally.rtpBytes + tally.rtcpBytes);
  }
}

void RelayWorker::onLatched(RelayStream& stream, const RelaySocket& socket,
                            const SocketAddress& source) {
  metrics_.latches.inc();
  RelayLeg& leg = stream.leg(socket.side);
  if (socket.channel == Channel::Rtcp) return;
  leg.latch(Channel::Rtcp).followRtp(source);
  const net::Endpoint endpoint = source.toEndpoint();
  logger_.debug("media: stream {} leg {} latched to {}", stream.id().value, toString(socket.side),
                endpoint.toString());
  channel_.legLatched(stream.id(), socket.side, endpoint, leg.remoteGeneration);
}

// The kernel's receive time (SO_TIMESTAMPNS), so that datagrams read in one batch keep their own
// arrival times; the time of reading if the kernel gave none.
std::int64_t RelayWorker::arrivalNs(const mmsghdr& message, std::int64_t& fallback) const {
  const msghdr& header = message.msg_hdr;
  for (const cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      return std::int64_t{stamp.tv_sec} * kNanosPerSecond + stamp.tv_nsec;
    }
  }
  if (fallback == 0) fallback = realtimeNs();
  return fallback;
}

}  // namespace p2psip::media
