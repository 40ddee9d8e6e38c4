// SPDX-License-Identifier: Apache-2.0
#include "relay_bench_loads.h"

#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace relay_bench {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kReceiveBatch = 64;
constexpr std::size_t kSendBatch = 256;
constexpr int kEpollEvents = 256;
constexpr int kBatchesPerSocket = 16;
constexpr auto kPeriod = 20ms;  // G.711 frames: 50 packets/s per direction

std::int64_t nanos(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// An epoll set over sockets, each event carrying the socket's fd.
class ReadySet {
 public:
  ReadySet() : epoll_(::epoll_create1(EPOLL_CLOEXEC)) {}
  ~ReadySet() { ::close(epoll_); }
  ReadySet(const ReadySet&) = delete;
  ReadySet& operator=(const ReadySet&) = delete;

  void add(const Socket& socket) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = socket.fd();
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, socket.fd(), &event);
  }
  // Reads everything waiting on every ready socket; `onPacket` per bench packet. Waits up to
  // timeoutMs for the first (0: only looks).
  template <typename F>
  std::size_t drain(BatchReceiver& receiver, int timeoutMs, F&& onPacket) {
    const int ready = ::epoll_wait(epoll_, events_, kEpollEvents, timeoutMs);
    std::size_t total = 0;
    for (int e = 0; e < ready; ++e) {
      // Until the socket is empty, or a bounded number of batches: a socket still filling up is
      // looked at again on the next call.
      for (int batch = 0; batch < kBatchesPerSocket; ++batch) {
        const std::size_t count = receiver.receive(events_[e].data.fd);
        for (std::size_t i = 0; i < count; ++i) {
          if (const auto packet = receiver.packet(i)) onPacket(*packet);
        }
        total += count;
        if (count < receiver.capacity()) break;
      }
    }
    return total;
  }

 private:
  int epoll_;
  epoll_event events_[kEpollEvents];
};

void sleepUntil(Clock::time_point when) {
  // steady_clock is CLOCK_MONOTONIC on Linux.
  const std::int64_t ns = nanos(when.time_since_epoch());
  timespec at{};
  at.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  at.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) == EINTR) {
  }
}

}  // namespace

// ---------------------------------------------------------------- saturated

Phones::Phones(std::size_t streams) {
  a.reserve(streams);
  b.reserve(streams);
  for (std::size_t i = 0; i < streams; ++i) {
    a.emplace_back(kPhoneAAddress);
    b.emplace_back(kPhoneBAddress);
  }
}

std::vector<net::Endpoint> Phones::endpointsA() const {
  std::vector<net::Endpoint> out;
  for (const auto& s : a) out.push_back(s.endpoint());
  return out;
}

std::vector<net::Endpoint> Phones::endpointsB() const {
  std::vector<net::Endpoint> out;
  for (const auto& s : b) out.push_back(s.endpoint());
  return out;
}

// Closed loop: each stream keeps `window` packets in flight, sent in sendmmsg batches; phones B
// read with recvmmsg. A window stalled by a loss is written off after 50 ms so one loss cannot
// end the run; the run is bounded to 30 s whatever happens.
SaturatedResult runSaturated(const SaturatedLoad& load, const Phones& phones,
                             const Forwarder& forwarder) {
  const auto& targets = forwarder.legA();
  const std::size_t streams = phones.a.size();
  ReadySet ready;
  for (const auto& s : phones.b) ready.add(s);
  BatchSender sender(load.window);
  BatchReceiver receiver(kReceiveBatch);
  std::vector<std::uint32_t> next(streams, 0);  // packets queued (indexes used)
  std::vector<std::uint32_t> sent(streams, 0);  // of which really sent
  std::vector<std::int64_t> gone(streams, 0);   // delivered, or written off after a stall
  std::uint64_t delivered = 0;
  const std::uint64_t total = load.packetsPerStream * streams;
  const auto onPacket = [&](const ReceivedPacket& p) {
    const std::size_t stream = streamOf(p.ssrc);
    if (stream >= streams) return;
    ++gone[stream];
    ++delivered;
  };

  // Leftovers of an earlier run (stragglers after a write-off) are not this run's.
  ready.drain(receiver, 0, [](const ReceivedPacket&) {});
  const pid_t tid = forwarder.threadId();
  const pid_t self = ::gettid();
  const auto forwarder0 = schedStat(tid);
  const auto generator0 = schedStat(self);
  const auto start = Clock::now();
  auto lastProgress = start;
  std::uint64_t writtenOff = 0;  // in flight when a window stalled
  while (delivered + writtenOff + sender.failed() < total && Clock::now() - start < 30s) {
    for (std::size_t i = 0; i < streams; ++i) {
      const std::int64_t inFlight = std::max<std::int64_t>(0, std::int64_t{sent[i]} - gone[i]);
      const std::int64_t room = static_cast<std::int64_t>(load.window) - inFlight;
      const std::int64_t left = static_cast<std::int64_t>(load.packetsPerStream) - next[i];
      for (std::int64_t k = 0; k < std::min(room, left); ++k) {
        sender.queue(phones.a[i].fd(), targets[i], ssrcOf(i, 0), next[i]++, &sent[i]);
      }
    }
    sender.flush();
    const auto got = ready.drain(receiver, 1, onPacket);
    if (got > 0) {
      lastProgress = Clock::now();
    } else if (Clock::now() - lastProgress > 50ms) {
      // What is in flight now is taken as lost (a packet that still arrives counts as delivered).
      for (std::size_t i = 0; i < streams; ++i) {
        const std::int64_t inFlight = std::int64_t{sent[i]} - gone[i];
        if (inFlight > 0) {
          gone[i] += inFlight;
          writtenOff += static_cast<std::uint64_t>(inFlight);
        }
      }
      lastProgress = Clock::now();
    }
  }
  const auto elapsed = Clock::now() - start;
  const auto forwarderUse = schedStat(tid) - forwarder0;
  const auto generatorUse = schedStat(self) - generator0;
  const auto cpu = forwarderUse.cpuNs;
  SaturatedResult out;
  out.delivered = delivered;
  for (std::size_t i = 0; i < streams; ++i) out.sent += sent[i];
  const double seconds = std::chrono::duration<double>(elapsed).count();
  out.packetsPerSecond = static_cast<double>(delivered) / seconds;
  out.cpu = static_cast<double>(cpu) / static_cast<double>(nanos(elapsed));
  out.generatorCpu = static_cast<double>(generatorUse.cpuNs) / static_cast<double>(nanos(elapsed));
  out.contention = static_cast<double>(forwarderUse.waitNs + generatorUse.waitNs) /
                   static_cast<double>(nanos(elapsed));
  out.cpuNsPerPacket =
      static_cast<double>(cpu) / std::max<double>(1, static_cast<double>(delivered));
  return out;
}

// ---------------------------------------------------------------- paced

PhoneBank::PhoneBank(std::size_t streams) : streams_(streams) {
  const std::size_t perSide = (streams + kStreamsPerSocket - 1) / kStreamsPerSocket;
  for (int side = 0; side < 2; ++side) {
    auto& sockets = sockets_[static_cast<std::size_t>(side)];
    sockets.reserve(perSide);
    for (std::size_t k = 0; k < perSide; ++k) {
      sockets.emplace_back(side == 0 ? kPhoneAAddress : kPhoneBAddress);
    }
    nextIndex_[static_cast<std::size_t>(side)].assign(streams, 0);
  }
}

std::vector<net::Endpoint> PhoneBank::endpoints(int side) const {
  std::vector<net::Endpoint> out;
  out.reserve(streams_);
  for (std::size_t i = 0; i < streams_; ++i) out.push_back(phone(side, i).endpoint());
  return out;
}

std::vector<sockaddr_in> PhoneBank::addresses(int side) const {
  std::vector<sockaddr_in> out;
  out.reserve(streams_);
  for (std::size_t i = 0; i < streams_; ++i) out.push_back(phone(side, i).address());
  return out;
}

// Open loop. Packet k of stream i in direction A to B is due at t0 + k*20ms + i*20ms/N, and B to
// A half a period later, so the N calls are spread evenly over the period. Every `slot` the
// traffic thread wakes (clock_nanosleep), sends what is due with sendmmsg and reads what arrived
// (epoll_wait with no timeout, recvmmsg). It never sleeps in epoll_wait while sending, so the
// forwarder's sends to the phones wake nobody: on loopback the sender pays for the receiver's
// wake-up, which a relay sending to real phones over a network would not.
PacedResult runPaced(const PacedLoad& load, PhoneBank& phones, const std::vector<sockaddr_in>& toA,
                     const std::vector<sockaddr_in>& toB, const Forwarder* forwarder) {
  const std::size_t n = std::min({load.streams, phones.streams(), toA.size(), toB.size()});
  const std::array<const std::vector<sockaddr_in>*, 2> to{&toA, &toB};
  ReadySet ready;
  for (const auto& side : phones.sockets()) {
    for (const auto& s : side) ready.add(s);
  }
  BatchSender sender(kSendBatch);
  BatchReceiver receiver(kReceiveBatch);
  auto& nextIndex = phones.nextIndex();
  std::array<std::vector<std::uint32_t>, 2> sent;
  std::array<std::vector<std::uint32_t>, 2> received;
  std::array<std::vector<std::int64_t>, 2> highest;  // highest index received
  std::array<std::vector<std::uint32_t>, 2> first;   // the first index of this run
  for (std::size_t d = 0; d < 2; ++d) {
    sent[d].assign(n, 0);
    received[d].assign(n, 0);
    first[d].assign(nextIndex[d].begin(), nextIndex[d].begin() + static_cast<long>(n));
    highest[d].assign(n, -1);
    for (std::size_t i = 0; i < n; ++i) highest[d][i] = std::int64_t{first[d][i]} - 1;
  }
  PacedResult out;
  const double seconds = std::chrono::duration<double>(load.duration).count();
  out.latencyUs.reserve(static_cast<std::size_t>(static_cast<double>(n) * 100 * seconds * 1.1));
  std::uint64_t receivedTotal = 0;
  bool settling = false;  // past the drain: what arrives now is lost all the same
  const auto lateUs = static_cast<float>(nanos(load.lateAfter)) / 1000.0f;
  const auto onPacket = [&](const ReceivedPacket& p) {
    const std::size_t stream = streamOf(p.ssrc);
    const auto d = static_cast<std::size_t>(directionOf(p.ssrc));
    if (stream >= n || p.index < first[d][stream]) {
      ++out.stray[d];  // an earlier run's: it must not stand in for one of this run's
      return;
    }
    if (settling) {
      ++out.afterDrain[d];
      return;
    }
    ++received[d][stream];
    ++receivedTotal;
    if (std::int64_t{p.index} < highest[d][stream]) {
      ++out.reordered;
    } else {
      highest[d][stream] = p.index;
    }
    if (p.receivedNs != 0) {
      const auto latency = static_cast<float>(p.receivedNs - p.sentNs) / 1000.0f;
      out.latencyUs.push_back(latency);
      if (latency > lateUs) ++out.late;
    }
  };

  const pid_t tid = forwarder != nullptr ? forwarder->threadId() : 0;
  const pid_t self = ::gettid();
  const auto totals0 = forwarder != nullptr ? forwarder->totals() : std::nullopt;
  const std::int64_t periodNs = nanos(kPeriod);
  const std::int64_t behindNs = nanos(load.behindAfter);
  const auto t0 = Clock::now() + 1ms;
  const auto end = t0 + load.duration;
  const auto windowStart = t0 + std::min(load.warmup, load.duration / 2);
  bool measuring = false;
  SchedStat forwarder0;
  SchedStat generator0;
  MachineCpu machine0;
  std::uint64_t received0 = 0;
  Clock::time_point measured0;
  std::array<std::uint64_t, 2> cursor{};  // (period, stream) of the next packet per direction
  auto wake = t0;
  sleepUntil(t0);
  Clock::time_point now = Clock::now();
  while (now < end) {
    if (!measuring && now >= windowStart) {
      measuring = true;
      measured0 = now;
      if (tid != 0) forwarder0 = schedStat(tid);
      generator0 = schedStat(self);
      machine0 = machineCpu();
      received0 = receivedTotal;
    }
    const std::int64_t elapsed = nanos(now - t0);
    for (std::size_t d = 0; d < 2; ++d) {
      const std::int64_t offset = d == 0 ? 0 : periodNs / 2;
      while (true) {
        const auto period = static_cast<std::int64_t>(cursor[d] / n);
        const auto i = static_cast<std::size_t>(cursor[d] % n);
        const std::int64_t due =
            period * periodNs + offset +
            static_cast<std::int64_t>(i) * periodNs / static_cast<std::int64_t>(n);
        if (due > elapsed) break;
        if (elapsed - due > behindNs) ++out.sentBehind;
        sender.queue(phones.phone(static_cast<int>(d), i).fd(), (*to[d])[i],
                     ssrcOf(i, static_cast<int>(d)), nextIndex[d][i]++, &sent[d][i]);
        ++cursor[d];
      }
    }
    sender.flush();
    ready.drain(receiver, 0, onPacket);
    // The next slot; after a late wake-up (preempted), the due packets go at once.
    wake += load.slot;
    now = Clock::now();
    if (wake > now) {
      sleepUntil(std::min(wake, end));
      now = Clock::now();
    } else {
      wake = now;  // behind: no burst of slots to catch up, the due packets all went already
    }
  }
  if (!measuring) measured0 = t0;
  const double window = std::chrono::duration<double>(now - measured0).count();
  const auto windowNs = static_cast<double>(nanos(now - measured0));
  if (tid != 0) {
    const auto used = schedStat(tid) - forwarder0;
    out.forwarderCpu = static_cast<double>(used.cpuNs) / windowNs;
  }
  out.generatorCpu = static_cast<double>((schedStat(self) - generator0).cpuNs) / windowNs;
  out.others = othersCores(machine0, machineCpu(), window);
  out.packetsPerSecond = static_cast<double>(receivedTotal - received0) / window;

  std::uint64_t sentTotal = 0;
  for (std::size_t d = 0; d < 2; ++d) {
    for (std::size_t i = 0; i < n; ++i) sentTotal += sent[d][i];
  }
  const auto drainEnd = Clock::now() + load.drain;
  while (receivedTotal < sentTotal && Clock::now() < drainEnd) ready.drain(receiver, 5, onPacket);

  for (std::size_t d = 0; d < 2; ++d) {
    for (std::size_t i = 0; i < n; ++i) {
      out.sent[d] += sent[d][i];
      // Counted per stream: a duplicate of one stream's packet cannot hide another's loss.
      out.lost[d] += sent[d][i] > received[d][i] ? sent[d][i] - received[d][i] : 0;
    }
  }
  out.sendFailed = sender.failed();
  if (totals0) {
    const auto totals1 = forwarder->totals();
    out.relayForwarded = totals1->packetsForwarded - totals0->packetsForwarded;
    out.relayDropped = totals1->packetsDropped - totals0->packetsDropped;
  }
  settling = true;
  const auto settleEnd = Clock::now() + load.settleMax;
  auto lastArrival = Clock::now();
  while (Clock::now() - lastArrival < load.settleQuiet && Clock::now() < settleEnd) {
    if (ready.drain(receiver, 10, onPacket) > 0) lastArrival = Clock::now();
  }
  return out;
}

// ---------------------------------------------------------------- memory

MemoryResult measureMemory(std::size_t streams) {
  RelayForwarder relay(RelaySetup{.maxStreams = streams});
  // Phones that never send: only the relay's own state is measured.
  std::vector<net::Endpoint> phonesA;
  std::vector<net::Endpoint> phonesB;
  for (std::size_t i = 0; i < streams; ++i) {
    const auto port = static_cast<std::uint16_t>(2 * (i % 30000) + 1024);
    phonesA.push_back(net::Endpoint{asio::ip::make_address(kPhoneAAddress), port});
    phonesB.push_back(net::Endpoint{asio::ip::make_address(kPhoneBAddress), port});
  }
  std::this_thread::sleep_for(50ms);  // the media thread settled in epoll_wait
  relay.reserve(streams);             // the bench's own per-stream vectors: not the relay's memory
  const auto rss0 = residentBytes();
  const auto slab0 = socketSlabBytes();
  MemoryResult out;
  out.streams = streams;
  out.allocateUs = relay.allocate(phonesA, phonesB);
  // The media thread takes each stream into its table and epoll set asynchronously.
  std::this_thread::sleep_for(200ms);
  const auto rss1 = residentBytes();
  const auto slab1 = socketSlabBytes();
  const double count = static_cast<double>(std::max<std::size_t>(1, streams));
  out.rssBytesPerStream = (static_cast<double>(rss1) - static_cast<double>(rss0)) / count;
  if (slab0 && slab1) {
    out.slabBytesPerStream = (static_cast<double>(*slab1) - static_cast<double>(*slab0)) / count;
  }
  return out;
}

}  // namespace relay_bench
