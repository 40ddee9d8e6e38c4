// SPDX-License-Identifier: Apache-2.0
#include "relay_worker.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <future>
#include <string>
#include <utility>

namespace p2psip::media {
namespace {

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
    : channel_(channel),
      metrics_(metrics),
      logger_(std::move(logger)),
      datagramSize_(config.maxDatagramSize),
      inactivityTimeout_(config.inactivityTimeout),
      sweepInterval_(sweepIntervalFor(config.inactivityTimeout)),
      index_(index) {}

RelayWorker::~RelayWorker() {
  stop();
}

Result<void> RelayWorker::start() {
  wakeup_ = FileDescriptor(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wakeup_.valid()) {
    return makeError(ErrorCode::TransportError,
                     std::string("media: eventfd: ") + std::strerror(errno));
  }
  // The backend is set up on the thread itself: an io_uring ring belongs to the thread that
  // submits to it.
  std::promise<Result<void>> setUpDone;
  std::future<Result<void>> ready = setUpDone.get_future();
  thread_ = std::thread([this, done = std::move(setUpDone)]() mutable {
    Result<void> set = setUp();
    const bool ok = static_cast<bool>(set);
    done.set_value(std::move(set));
    if (ok) loop();
  });
  const std::string name = "p2psip-media-" + std::to_string(index_);
  ::pthread_setname_np(thread_.native_handle(), name.substr(0, 15).c_str());
  Result<void> set = ready.get();
  if (!set) thread_.join();
  return set;
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
  // Sent directly whatever the backend: a few per stream and sweep.
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
  retire(it, false);
}

RelayWorker::StreamTable::iterator RelayWorker::retire(StreamTable::iterator it, bool timedOut) {
  std::unique_ptr<RelayStream> stream = std::move(it->second);
  const auto next = streams_.erase(it);
  stream->retire(timedOut);
  RelayStream& forgotten = *stream;
  retired_.push_back(std::move(stream));
  forget(forgotten);
  return next;
}

void RelayWorker::retireAll() {
  for (auto it = streams_.begin(); it != streams_.end();) it = retire(it, false);
}

void RelayWorker::closeRetired() {
  for (auto& stream : retired_) close(std::move(stream));
  retired_.clear();
}

void RelayWorker::closeRetired(const RelayStream& stream) {
  const auto it = std::find_if(retired_.begin(), retired_.end(),
                               [&](const auto& s) { return s.get() == &stream; });
  if (it == retired_.end()) return;
  std::unique_ptr<RelayStream> owned = std::move(*it);
  *it = std::move(retired_.back());
  retired_.pop_back();
  close(std::move(owned));
}

void RelayWorker::close(std::unique_ptr<RelayStream> stream) {
  const StreamId id = stream->id();
  const bool timedOut = stream->timedOut();
  stream.reset();  // closes its sockets and returns its ports first
  if (timedOut) channel_.streamTimedOut(id);
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
    metrics_.streamsTimedOut.inc();
    logger_.info("media: stream {} timed out after {} ms without media", stream.id().value,
                 std::chrono::duration_cast<std::chrono::milliseconds>(inactivityTimeout_).count());
    it = retire(it, true);  // reported once closed, its ports back in the pool
  }
}

RelayWorker::Forward RelayWorker::admit(RelaySocket& socket, const ReceivedDatagram& datagram,
                                        TimePoint now, BatchTally& tally) {
  if (datagram.truncated) {  // larger than maxDatagramSize
    ++tally.malformed;
    return {};
  }
  const auto packet = socket.channel == Channel::Rtp ? inspectRtpPortDatagram(datagram.bytes)
                                                     : inspectRtcpPortDatagram(datagram.bytes);
  if (!packet) {
    ++tally.malformed;
    return {};
  }
  RelayStream& stream = *socket.stream;
  RelayLeg& in = stream.leg(socket.side);
  Latch& latch = in.latch(socket.channel);
  const SocketAddress& source = datagram.source;
  const std::size_t size = datagram.bytes.size();
  Latch::Verdict verdict = latch.admit(source, packet->ssrc, now);
  if (verdict == Latch::Verdict::Refuse && in.fallback && !in.fellBack &&
      in.fallback->sameHost(source)) {
    if (packet->kind == PacketKind::Rtp && size == 12) {
      ++tally.keepalives;  // payload-less: proves nothing about the far relay
      return {};
    }
    // Media through the fallback relay: the far relay gave up the direct path (it heard
    // nothing from us), so ours is one-way at best; follow it.
    fallBack(stream, socket.side, "the far relay moved to the fallback");
    verdict = latch.admit(source, packet->ssrc, now);
  }
  switch (verdict) {
    case Latch::Verdict::Refuse:
      ++tally.refused;
      return {};
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
       (size == 12 || (in.fallback && isFallbackAnnouncement(datagram.bytes)))) ||
      (in.keepAlive && isRtcpKeepAlive(datagram.bytes))) {
    // An RTP keepalive (RFC 6263 §4.6): it may latch the leg, and that is all it is for. It
    // neither reaches the phone nor keeps the stream alive.
    ++tally.keepalives;
    return {};
  }
  ++tally.accepted;
  if (packet->kind == PacketKind::Rtp) {
    tally.rtpSeen = true;
    std::int64_t arrival = datagram.arrivalNs;
    if (arrival == 0) {
      if (tally.readNs == 0) tally.readNs = realtimeNs();
      arrival = tally.readNs;
    }
    in.reception.onPacket(packet->ssrc, packet->sequence, packet->timestamp, arrival);
  }
  const SocketAddress* destination =
      stream.leg(otherSide(socket.side)).latch(socket.channel).destination();
  if (destination == nullptr) {  // the other phone's address is not known yet
    ++tally.unsent;
    return {};
  }
  return Forward{destination, packet->kind};
}

void RelayWorker::publish(RelayStream& stream, Side side, const BatchTally& tally, TimePoint now) {
  DirectionCounters& counters = stream.receivedOn(side);
  const std::uint64_t dropped = tally.malformed + tally.refused + tally.unsent;
  if (tally.rtpPackets > 0) {
    addRelaxed(counters.packets, tally.rtpPackets);
    addRelaxed(counters.bytes, tally.rtpBytes);
  }
  if (tally.rtcpPackets > 0) {
    addRelaxed(counters.rtcpPackets, tally.rtcpPackets);
    addRelaxed(counters.rtcpBytes, tally.rtcpBytes);
  }
  if (dropped > 0) {
    addRelaxed(counters.dropped, dropped);
    addRelaxed(counters.malformed, tally.malformed);
    addRelaxed(counters.refused, tally.refused);
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
  BatchTally& sum = metricsTally_;
  sum.rtpPackets += tally.rtpPackets;
  sum.rtpBytes += tally.rtpBytes;
  sum.rtcpPackets += tally.rtcpPackets;
  sum.rtcpBytes += tally.rtcpBytes;
  sum.malformed += tally.malformed;
  sum.refused += tally.refused;
  sum.unsent += tally.unsent;
  sum.keepalives += tally.keepalives;
}

void RelayWorker::flushMetrics() {
  // The metrics are shared by the media threads: one atomic add per counter and flush, not per
  // datagram.
  const BatchTally& sum = metricsTally_;
  const std::uint64_t dropped = sum.malformed + sum.refused + sum.unsent;
  if (dropped > 0) {
    metrics_.packetsDropped.inc(dropped);
    if (sum.malformed > 0) metrics_.packetsMalformed.inc(sum.malformed);
    if (sum.refused > 0) metrics_.packetsRefused.inc(sum.refused);
  }
  if (sum.keepalives > 0) metrics_.keepalivesReceived.inc(sum.keepalives);
  const std::uint64_t forwarded = sum.rtpPackets + sum.rtcpPackets;
  if (forwarded > 0) {
    metrics_.packetsForwarded.inc(forwarded);
    metrics_.bytesForwarded.inc(sum.rtpBytes + sum.rtcpBytes);
  }
  metricsTally_ = BatchTally{};
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

// The kernel's receive time (SO_TIMESTAMPNS), so that datagrams read together keep their own
// arrival times.
std::int64_t RelayWorker::timestampNs(const msghdr& header) {
  for (const cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
       c = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(c))) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec stamp{};
      std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
      return std::int64_t{stamp.tv_sec} * kNanosPerSecond + stamp.tv_nsec;
    }
  }
  return 0;
}

}  // namespace p2psip::media
