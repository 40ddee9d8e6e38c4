// SPDX-License-Identifier: Apache-2.0
// The RTP relay (media::RelayEngine: epoll, recvmmsg/sendmmsg, checks, latching, RFC 3550
// statistics), over loopback only, in four parts (relay_bench.md has the figures):
//  1. forwarding rate: packets/s through the relay against a raw epoll + recvmmsg/sendmmsg loop
//     with no checks at all (and the older recvfrom/sendto loop, and a raw io_uring loop),
//     saturated, medians of rounds;
//  2. capacity: G.711 calls (50 packets/s of 172 bytes each way, 20 ms apart) through ONE media
//     thread, stepped upwards; loss counted exactly per direction and late packets (a relay
//     falling behind), the thread's CPU from /proc/self/task/TID/schedstat, and calls per core
//     = calls / that CPU;
//  3. added latency per relay hop: p50/p99 through the relay (and the raw loop) minus phone to
//     phone direct;
//  4. memory per relayed stream: RSS growth per idle stream (and the kernel's, which RSS misses).
// The traffic runs on the main thread; only the forwarding thread's CPU is the forwarder's.
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "relay_bench_forwarders.h"
#include "relay_bench_loads.h"
#include "relay_bench_util.h"

namespace {

using namespace std::chrono_literals;
using namespace relay_bench;

struct Options {
  std::string parts = "1234";
  int rounds = 5;
  // 1. forwarding rate
  std::size_t saturatedStreams = 4;
  std::size_t saturatedPackets = 16'000;  // per stream and round
  std::size_t window = 64;
  // 2. capacity
  std::vector<std::size_t> steps;  // empty: 250, 500, 1000, then every 500 up to maxStreams
  std::size_t maxStreams = 4000;
  std::chrono::milliseconds stepDuration = 2500ms;
  std::chrono::milliseconds warmup = 300ms;
  std::chrono::seconds capacityBudget = 60s;
  std::chrono::microseconds slot = 200us;
  int retries = 2;  // more attempts of a disturbed run or step (see bench/relay_bench.md)
  // "Disturbed": in part 1 (both threads always runnable) a thread waited for a CPU more than
  // this share of the time; in parts 2-3 (the forwarder sleeps and is woken thousands of times
  // a second, each wake-up counted as waiting) other processes used more than maxOthers cores.
  double maxWait = 0.05;
  double maxOthers = 0.10;
  bool capacityRaw = false;
  bool capacityUringRaw = false;
  bool capacityRelayEpoll = false;
  // 3. latency
  std::size_t latencyStreams = 200;
  std::chrono::milliseconds latencyDuration = 1000ms;
  int latencyRounds = 3;
  // 4. memory
  std::size_t memoryStreams = 2000;
};

bool wants(const Options& o, char part) {
  return o.parts.find(part) != std::string::npos;
}

// 1234567 -> "1,234,567": the tables are read by people.
std::string grouped(double value) {
  const auto whole = static_cast<long long>(value + (value < 0 ? -0.5 : 0.5));
  std::string digits = std::to_string(whole < 0 ? -whole : whole);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<std::size_t>(i), ",");
  }
  return (whole < 0 ? "-" : "") + digits;
}

const char* verdict(bool met) {
  return met ? "met" : "NOT met";
}

// ---------------------------------------------------------------- 1. forwarding rate

struct Series {
  std::vector<double> pps;
  std::vector<double> cpu;
  std::vector<double> nsPerPacket;
  std::vector<double> generatorCpu;
  std::vector<double> contention;
  std::uint64_t delivered = 0;
  std::uint64_t sent = 0;
  void add(const SaturatedResult& r) {
    pps.push_back(r.packetsPerSecond);
    cpu.push_back(r.cpu);
    nsPerPacket.push_back(r.cpuNsPerPacket);
    generatorCpu.push_back(r.generatorCpu);
    contention.push_back(r.contention);
    delivered += r.delivered;
    sent += r.sent;
  }
};

void partForwarding(const Options& o) {
  Phones phones(o.saturatedStreams);
  const SaturatedLoad load{.packetsPerStream = o.saturatedPackets, .window = o.window};
  Series mmsg, single, uring, relay, relayEpoll;
  // A run during which another process held a CPU one of the two threads wanted is run again
  // (up to --retries more times) and the least disturbed attempt kept: the figures should be
  // the forwarders', not the machine's.
  const auto measure = [&](const Forwarder& forwarder) {
    SaturatedResult best = runSaturated(load, phones, forwarder);
    for (int attempt = 0; attempt < o.retries && best.contention > o.maxWait; ++attempt) {
      SaturatedResult again = runSaturated(load, phones, forwarder);
      if (again.contention < best.contention) best = again;
    }
    return best;
  };
  const auto runRaw = [&](RawMode mode, Series& series) {
    RawForwarder forwarder(mode, phones.endpointsA(), phones.endpointsB());
    series.add(measure(forwarder));
  };
  const auto runRelay = [&](media::IoBackend backend, Series& series) {
    // 4 MiB socket buffers, as the raw loops' (capped by net.core.rmem_max).
    RelayForwarder forwarder(RelaySetup{
        .maxStreams = o.saturatedStreams, .socketBufferBytes = 4 << 20, .backend = backend});
    forwarder.allocate(phones.endpointsA(), phones.endpointsB());
    series.add(measure(forwarder));
  };
  const auto runUring = [&] {
    UringForwarder forwarder(phones.endpointsA(), phones.endpointsB());
    uring.add(measure(forwarder));
  };
  for (int round = 0; round < o.rounds; ++round) {
    // The order turns each round, so no forwarder always runs first (a cold cache, a frequency
    // step) or last.
    for (int k = 0; k < 5; ++k) {
      switch ((round + k) % 5) {
        case 0:
          runRaw(RawMode::Mmsg, mmsg);
          break;
        case 1:
          runRaw(RawMode::Single, single);
          break;
        case 2:
          runUring();
          break;
        case 3:
          runRelay(media::IoBackend::Epoll, relayEpoll);
          break;
        default:
          runRelay(media::IoBackend::IoUring, relay);
          break;
      }
    }
  }
  std::printf(
      "\n1. Forwarding rate: %zu streams one way, %zu packets in flight each, %s per stream"
      " (closed loop); medians of %d rounds\n",
      o.saturatedStreams, o.window, grouped(static_cast<double>(o.saturatedPackets)).c_str(),
      o.rounds);
  std::printf("   %-42s %10s %7s %11s %10s %9s %8s\n", "forwarder (one thread)", "packets/s",
              "CPU %", "CPU ns/pkt", "delivered", "gen CPU%", "waited%");
  const auto row = [](const char* name, const Series& s) {
    std::printf("   %-42s %10s %7.1f %11s %9.3f%% %9.1f %8.1f\n", name,
                grouped(median(s.pps)).c_str(), 100 * median(s.cpu),
                grouped(median(s.nsPerPacket)).c_str(),
                s.sent ? 100.0 * double(s.delivered) / double(s.sent) : 0.0,
                100 * median(s.generatorCpu), 100 * median(s.contention));
  };
  row("raw loop: epoll + recvmmsg/sendmmsg (32)", mmsg);
  row("raw loop: epoll + recvfrom/sendto", single);
  row("raw loop: io_uring multishot recvmsg", uring);
  row("relay: RelayEngine, 1 thread, io_uring", relay);
  row("relay: RelayEngine, 1 thread, epoll", relayEpoll);
  // Each round runs the three within a second, under the same load from the rest of the machine:
  // the ratio is taken per round, then its median.
  std::vector<double> ppsRatio, cpuRatio, epollRatio, uringRatio, uringCpuRatio;
  for (std::size_t r = 0; r < relay.pps.size(); ++r) {
    ppsRatio.push_back(relay.pps[r] / mmsg.pps[r]);
    cpuRatio.push_back(relay.nsPerPacket[r] / mmsg.nsPerPacket[r]);
    epollRatio.push_back(relayEpoll.pps[r] / mmsg.pps[r]);
    uringRatio.push_back(uring.pps[r] / mmsg.pps[r]);
    uringCpuRatio.push_back(uring.nsPerPacket[r] / mmsg.nsPerPacket[r]);
  }
  const double ratio = median(ppsRatio);
  if (std::max({median(mmsg.contention), median(single.contention), median(uring.contention),
                median(relay.contention), median(relayEpoll.contention)}) > o.maxWait) {
    std::printf(
        "   (waited%%: the forwarder and traffic threads were runnable without a CPU that share of"
        " the time: other processes had it; the rates are then the machine's, the per-round ratios"
        " still compare like with like)\n");
  }
  std::printf(
      "   relay / raw recvmmsg loop (median of per-round ratios): packets/s %.2f (target >= 0.90:"
      " %s), CPU ns/packet %.2f\n",
      ratio, verdict(ratio >= 0.90), median(cpuRatio));
  std::printf("   relay with epoll / raw recvmmsg loop: packets/s %.2f\n", median(epollRatio));
  std::printf(
      "   raw io_uring loop / raw recvmmsg loop (median of per-round ratios): packets/s %.2f, CPU"
      " ns/packet %.2f\n",
      median(uringRatio), median(uringCpuRatio));
}

// ---------------------------------------------------------------- 2. capacity

std::vector<std::size_t> capacitySteps(const Options& o, std::size_t maxStreams) {
  std::vector<std::size_t> steps = o.steps;
  if (steps.empty()) {
    steps = {250, 500, 1000};
    for (std::size_t s = 1500; s <= maxStreams; s += 500) steps.push_back(s);
  }
  std::vector<std::size_t> out;
  for (const auto s : steps) {
    if (s > 0 && s <= maxStreams) out.push_back(s);
  }
  return out;
}

struct StepRow {
  std::size_t calls = 0;
  PacedResult result;
  int tries = 1;
};

// Carried: every packet arrived and none late, while the traffic thread kept its schedule (at
// least 99.9 % of the packets sent on time: one preemption of the traffic thread delays a few
// hundred, a traffic thread that cannot keep up delays them all).
bool clean(const PacedResult& r) {
  return r.sentTotal() > 0 && r.lostTotal() == 0 && r.late == 0 &&
         r.sentBehind * 1000 <= r.sentTotal() && r.sendFailed == 0;
}

// Other processes used the CPUs the two threads wanted: the figures are the machine's.
bool contended(const PacedResult& r, double limit) {
  return r.others > limit;
}

void printStep(const StepRow& row) {
  const PacedResult& r = row.result;
  std::vector<float> latency = r.latencyUs;
  const double p50 = quantile(latency, 0.50);
  const double p99 = quantile(latency, 0.99);
  const double callsPerCore =
      r.forwarderCpu > 0 ? static_cast<double>(row.calls) / r.forwarderCpu : 0;
  const std::string lost = grouped(double(r.lost[0])) + "/" + grouped(double(r.lost[1]));
  std::printf("   %6zu %10s %9s %7s %6.1f %10s %8.1f %8.1f %8.0f %8.0f  %s", row.calls,
              grouped(r.packetsPerSecond).c_str(), lost.c_str(), grouped(double(r.late)).c_str(),
              100 * r.forwarderCpu, grouped(callsPerCore).c_str(), 100 * r.generatorCpu,
              100 * r.others, p50, p99, clean(r) ? "yes" : "no");
  if (row.tries > 1) std::printf(" (try %d)", row.tries);
  if (r.lostTotal() > 0 && r.relayForwarded && r.relayDropped) {
    // Where the packets went: never read by the relay by the end of the drain (its socket
    // buffer overflowed, or they were still queued), read and dropped by it, or lost after it
    // (including those on their way at the end of the drain).
    const auto sent = static_cast<long long>(r.sentTotal());
    const auto read = static_cast<long long>(*r.relayForwarded + *r.relayDropped);
    const auto received = sent - static_cast<long long>(r.lostTotal());
    std::printf(" [lost: %lld not read, %llu dropped by the relay, %lld after it]", sent - read,
                static_cast<unsigned long long>(*r.relayDropped),
                static_cast<long long>(*r.relayForwarded) - received);
  }
  if (r.sentBehind > 0) {
    std::printf(" [traffic thread behind: %s packets sent late]",
                grouped(double(r.sentBehind)).c_str());
  }
  if (r.sendFailed > 0) {
    std::printf(" [traffic send failures: %llu]", static_cast<unsigned long long>(r.sendFailed));
  }
  std::printf("\n");
  std::fflush(stdout);
}

// Of two attempts of a step: a clean one, else the less disturbed.
bool better(const PacedResult& a, const PacedResult& b) {
  if (clean(a) != clean(b)) return clean(a);
  return a.others < b.others;
}

// A disturbed step is run again; so is one that failed while the forwarder still had CPU to
// spare, since then a preemption of either thread (a 20 ms time slice of another process makes
// late packets, 5 ms puts the traffic behind) is the likelier cause. A forwarder that used a
// whole core is saturated: another try would not change that.
bool worthAnotherTry(const PacedResult& r, double maxOthers) {
  return contended(r, maxOthers) || (!clean(r) && r.forwarderCpu < 0.95);
}

// Steps through the calls counts on one forwarder until two steps in a row are not clean, the
// time budget is spent or the steps run out. A step is tried up to `retries` more times when
// worthAnotherTry() and the best attempt kept: the table is the forwarder's capacity on a quiet
// machine, as nearly as a shared one gives it.
// What the phones sent and received in every attempt of every step, kept or not.
struct Traffic {
  std::array<std::uint64_t, 2> sent{};
  std::array<std::uint64_t, 2> received{};
};

std::vector<StepRow> stepCapacity(const Options& o, PhoneBank& phones, const Forwarder& forwarder,
                                  const std::vector<std::size_t>& steps, Traffic& traffic) {
  std::printf("   %6s %10s %9s %7s %6s %10s %8s %8s %8s %8s  %s\n", "calls", "packets/s",
              "lost A/B", "late", "CPU %", "calls/core", "gen CPU%", "others%", "p50 µs", "p99 µs",
              "clean");
  std::vector<StepRow> rows;
  const auto start = Clock::now();
  const PacedLoad defaults;
  int uncleanInARow = 0;
  for (const auto calls : steps) {
    StepRow row{calls, {}, 0};
    for (int attempt = 0; attempt <= o.retries; ++attempt) {
      if (Clock::now() - start + o.stepDuration + defaults.drain > o.capacityBudget) break;
      const PacedLoad load{
          .streams = calls, .duration = o.stepDuration, .warmup = o.warmup, .slot = o.slot};
      PacedResult r = runPaced(load, phones, forwarder.legA(), forwarder.legB(), &forwarder);
      for (std::size_t d = 0; d < 2; ++d) {
        traffic.sent[d] += r.sent[d];
        traffic.received[d] += r.sent[d] - r.lost[d] + r.afterDrain[d] + r.stray[d];
      }
      if (row.tries == 0 || better(r, row.result)) {
        row.result = std::move(r);
        row.tries = attempt + 1;
      }
      if (!worthAnotherTry(row.result, o.maxOthers)) break;
    }
    if (row.tries == 0) {
      std::printf("   (time budget of %llds spent: steps stop here)\n",
                  static_cast<long long>(o.capacityBudget.count()));
      break;
    }
    rows.push_back(std::move(row));
    printStep(rows.back());
    uncleanInARow = clean(rows.back().result) ? 0 : uncleanInARow + 1;
    if (uncleanInARow == 2) break;
  }
  return rows;
}

void summariseCapacity(const std::vector<StepRow>& rows, bool relay) {
  const StepRow* best = nullptr;
  const StepRow* previous = nullptr;  // the clean step before `best`, for the marginal cost
  for (const auto& row : rows) {
    if (clean(row.result) && (best == nullptr || row.calls > best->calls)) {
      previous = best;
      best = &row;
    }
  }
  if (best == nullptr) {
    std::printf("   no step was clean\n");
    return;
  }
  const double cpu = best->result.forwarderCpu;
  const double perCore = cpu > 0 ? static_cast<double>(best->calls) / cpu : 0;
  std::printf(
      "   largest clean step: %s calls (%s packets/s) on %.1f%% of one core -> %s calls per"
      " core from its CPU",
      grouped(double(best->calls)).c_str(), grouped(best->result.packetsPerSecond).c_str(),
      100 * cpu, grouped(perCore).c_str());
  if (relay) std::printf(" (target >= 1,500: %s)", verdict(perCore >= 1500));
  std::printf("\n");
  if (previous != nullptr && best->result.forwarderCpu > previous->result.forwarderCpu) {
    const double marginal = static_cast<double>(best->calls - previous->calls) /
                            (best->result.forwarderCpu - previous->result.forwarderCpu);
    std::printf("   marginal, between the clean steps of %zu and %zu calls: %s calls per core\n",
                previous->calls, best->calls, grouped(marginal).c_str());
  }
}

// The relay's own per-stream counters over all the steps against what the phones counted: RTP
// forwarded per direction, and its RFC 3550 loss (A.3) and jitter (A.8) figures.
void checkRelayCounters(const std::vector<media::StreamStats>& streams, const Traffic& traffic) {
  std::array<std::uint64_t, 2> forwarded{};
  std::int64_t lost = 0;
  std::vector<double> jitter;
  for (const auto& s : streams) {
    forwarded[0] += s.aToB.packets;
    forwarded[1] += s.bToA.packets;
    lost += s.aToB.lost + s.bToA.lost;
    if (s.aToB.packets > 0) jitter.push_back(s.aToB.jitterMs);
    if (s.bToA.packets > 0) jitter.push_back(s.bToA.jitterMs);
  }
  const auto maxJitter = jitter.empty() ? 0.0 : *std::max_element(jitter.begin(), jitter.end());
  std::printf(
      "   relay's counters, all steps: forwarded A>B %s, B>A %s (phones received %s, %s, late"
      " ones included);"
      " RFC 3550 lost %lld; jitter median %.3f ms, max %.3f ms\n",
      grouped(double(forwarded[0])).c_str(), grouped(double(forwarded[1])).c_str(),
      grouped(double(traffic.received[0])).c_str(), grouped(double(traffic.received[1])).c_str(),
      static_cast<long long>(lost), median(jitter), maxJitter);
}

void partCapacity(const Options& o, std::size_t maxStreams) {
  const auto steps = capacitySteps(o, maxStreams);
  if (steps.empty()) return;
  const std::size_t largest = *std::max_element(steps.begin(), steps.end());
  PhoneBank phones(largest);
  std::printf(
      "\n2. Capacity of one media thread: G.711 calls, each 2 x 50 packets/s of %zu bytes (20 ms"
      " apart, spread over the period, sent every %lld µs); %lld ms per step, CPU and packets/s"
      " after %lld ms of warm-up; clean = no loss (counted after a drain), none later than 20 ms,"
      " traffic on schedule; others%% = CPU other processes used (%% of one core)\n",
      kRtpBytes, static_cast<long long>(o.slot.count()),
      static_cast<long long>(o.stepDuration.count()), static_cast<long long>(o.warmup.count()));
  const auto runRelay = [&](media::IoBackend backend) {
    RelayForwarder relay(RelaySetup{.maxStreams = largest, .backend = backend});
    const double allocateUs = relay.allocate(phones.endpoints(0), phones.endpoints(1));
    std::printf(
        "   relay (%s): %zu streams allocated up front (%.1f µs per allocate(), 4 relay ports"
        " each); a step uses the first N\n",
        media::toString(backend), largest, allocateUs);
    Traffic traffic;
    summariseCapacity(stepCapacity(o, phones, relay, steps, traffic), true);
    // The media thread publishes a batch's counts just after sending it: let the last publish.
    std::this_thread::sleep_for(20ms);
    checkRelayCounters(relay.snapshot(), traffic);
  };
  runRelay(media::IoBackend::IoUring);
  if (o.capacityRelayEpoll) runRelay(media::IoBackend::Epoll);
  if (o.capacityRaw) {
    RawForwarder raw(RawMode::Mmsg, phones.endpoints(0), phones.endpoints(1));
    std::printf("   same steps, raw recvmmsg/sendmmsg loop (2 ports per call):\n");
    Traffic traffic;
    summariseCapacity(stepCapacity(o, phones, raw, steps, traffic), false);
  }
  if (o.capacityUringRaw) {
    UringForwarder raw(phones.endpoints(0), phones.endpoints(1));
    std::printf(
        "   same steps, raw io_uring loop (2 ports per call, multishot recvmsg, sendmsg SQEs):\n");
    Traffic traffic;
    summariseCapacity(stepCapacity(o, phones, raw, steps, traffic), false);
  }
}

// ---------------------------------------------------------------- 3. latency

void partLatency(const Options& o) {
  PhoneBank phones(o.latencyStreams);
  RelayForwarder relay(RelaySetup{.maxStreams = o.latencyStreams});
  relay.allocate(phones.endpoints(0), phones.endpoints(1));
  // The raw loop on the same phones tells the cost of a forwarding thread as such (its wake-up
  // on this machine) from the relay's own.
  RawForwarder raw(RawMode::Mmsg, phones.endpoints(0), phones.endpoints(1));
  // Without a forwarder phone A sends to phone B's socket and back: the same sockets and system
  // calls, one loopback trip instead of two and no thread between.
  const auto directA = phones.addresses(1);
  const auto directB = phones.addresses(0);
  const PacedLoad load{.streams = o.latencyStreams,
                       .duration = o.latencyDuration,
                       .warmup = std::min<std::chrono::milliseconds>(o.warmup, 100ms),
                       .slot = o.slot};
  struct Path {
    const char* name;
    const std::vector<sockaddr_in>& toA;
    const std::vector<sockaddr_in>& toB;
    const Forwarder* forwarder;
    std::vector<double> p50{};
    std::vector<double> p99{};
  };
  Path paths[] = {{"phone to phone, direct", directA, directB, nullptr},
                  {"via the raw recvmmsg loop", raw.legA(), raw.legB(), &raw},
                  {"via the relay", relay.legA(), relay.legB(), &relay}};
  std::uint64_t lost = 0;
  std::uint64_t sent = 0;
  for (int round = 0; round < o.latencyRounds; ++round) {
    for (int k = 0; k < 3; ++k) {
      Path& path = paths[(round + k) % 3];
      // As in part 1: a disturbed run is run again, the least disturbed kept.
      const auto disturbance = [](const PacedResult& x) { return x.others; };
      PacedResult r = runPaced(load, phones, path.toA, path.toB, path.forwarder);
      lost += r.lostTotal();
      sent += r.sentTotal();
      for (int attempt = 0; attempt < o.retries && disturbance(r) > o.maxOthers; ++attempt) {
        PacedResult again = runPaced(load, phones, path.toA, path.toB, path.forwarder);
        lost += again.lostTotal();
        sent += again.sentTotal();
        if (disturbance(again) < disturbance(r)) r = std::move(again);
      }
      path.p50.push_back(quantile(r.latencyUs, 0.50));
      path.p99.push_back(quantile(r.latencyUs, 0.99));
    }
  }
  std::printf(
      "\n3. Latency per relay hop: %zu calls paced (%s packets/s), %lld ms per run, send time in"
      " the payload to the kernel's receive time at the phone; medians of %d rounds\n",
      o.latencyStreams, grouped(100.0 * double(o.latencyStreams)).c_str(),
      static_cast<long long>(o.latencyDuration.count()), o.latencyRounds);
  std::printf("   %-34s %8s %8s\n", "", "p50 µs", "p99 µs");
  for (const auto& path : paths) {
    std::printf("   %-34s %8.1f %8.1f\n", path.name, median(path.p50), median(path.p99));
  }
  const Path& direct = paths[0];
  for (const Path* hop : {&paths[1], &paths[2]}) {
    std::printf("   %-34s %8.1f %8.1f\n",
                hop == &paths[2] ? "added by the relay hop" : "added by the raw loop hop",
                median(hop->p50) - median(direct.p50), median(hop->p99) - median(direct.p99));
  }
  std::printf("   (lost: %llu of %s)\n", static_cast<unsigned long long>(lost),
              grouped(double(sent)).c_str());
}

// ---------------------------------------------------------------- 4. memory

void printMemory(const MemoryResult& m) {
  std::printf("\n4. Memory per relayed stream: %s idle streams allocated on a started engine\n",
              grouped(double(m.streams)).c_str());
  std::printf("   user space (RSS growth / streams): %s bytes per stream; allocate(): %.1f µs\n",
              grouped(m.rssBytesPerStream).c_str(), m.allocateUs);
  if (m.slabBytesPerStream) {
    std::printf(
        "   kernel, not in RSS: 4 UDP sockets per stream, about %s bytes of slab per stream"
        " (machine-wide /proc/slabinfo, so approximate),\n"
        "   plus socket buffers only while datagrams wait in them\n",
        grouped(*m.slabBytesPerStream).c_str());
  } else {
    std::printf(
        "   kernel, not in RSS: 4 UDP sockets per stream (/proc/slabinfo not readable here),"
        " plus socket buffers only while datagrams wait in them\n");
  }
}

// ---------------------------------------------------------------- main

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: relay_bench [--quick] [--only PARTS] [--rounds N]\n"
               "                   [--packets PER_STREAM] [--window N]\n"
               "                   [--steps N,N,...] [--max-streams N] [--step-ms MS]"
               " [--budget-s S] [--slot-us US]\n"
               "                   [--retries N] [--capacity-raw] [--capacity-uring-raw]"
               " [--capacity-relay-epoll]\n"
               "                   [--latency-streams N] [--latency-ms MS]"
               " [--latency-rounds N]\n"
               "                   [--memory-streams N]\n"
               "  PARTS: digits of 1 (rate) 2 (capacity) 3 (latency) 4 (memory); see"
               " bench/relay_bench.md\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto text = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    const auto number = [&](long min) {
      const long v = std::atol(text().c_str());
      if (v < min) usage();
      return v;
    };
    if (arg == "--only") {
      o.parts = text();
    } else if (arg == "--rounds") {
      o.rounds = static_cast<int>(number(1));
    } else if (arg == "--packets") {
      o.saturatedPackets = static_cast<std::size_t>(number(100));
    } else if (arg == "--window") {
      o.window = static_cast<std::size_t>(number(1));
    } else if (arg == "--steps") {
      o.steps.clear();
      const std::string list = text();
      for (std::size_t at = 0; at < list.size();) {
        const auto comma = std::min(list.find(',', at), list.size());
        o.steps.push_back(std::strtoul(list.substr(at, comma - at).c_str(), nullptr, 10));
        at = comma + 1;
      }
    } else if (arg == "--max-streams") {
      o.maxStreams = static_cast<std::size_t>(number(1));
    } else if (arg == "--step-ms") {
      o.stepDuration = std::chrono::milliseconds(number(200));
    } else if (arg == "--budget-s") {
      o.capacityBudget = std::chrono::seconds(number(1));
    } else if (arg == "--slot-us") {
      o.slot = std::chrono::microseconds(number(20));
    } else if (arg == "--retries") {
      o.retries = static_cast<int>(number(0));
    } else if (arg == "--capacity-raw") {
      o.capacityRaw = true;
    } else if (arg == "--capacity-uring-raw") {
      o.capacityUringRaw = true;
    } else if (arg == "--capacity-relay-epoll") {
      o.capacityRelayEpoll = true;
    } else if (arg == "--latency-streams") {
      o.latencyStreams = static_cast<std::size_t>(number(1));
    } else if (arg == "--latency-ms") {
      o.latencyDuration = std::chrono::milliseconds(number(100));
    } else if (arg == "--latency-rounds") {
      o.latencyRounds = static_cast<int>(number(1));
    } else if (arg == "--memory-streams") {
      o.memoryStreams = static_cast<std::size_t>(number(1));
    } else if (arg == "--quick") {
      // The CI smoke: every part, briefly (a few seconds in all).
      o.rounds = 3;
      o.saturatedPackets = 2'000;
      o.steps = {250, 1000};
      o.stepDuration = 500ms;
      o.warmup = 100ms;
      o.latencyDuration = 300ms;
      o.latencyRounds = 1;
      o.memoryStreams = 500;
      o.retries = 0;
    } else {
      usage();
    }
  }
  return o;
}

// Each relayed stream holds 4 sockets and the paced traffic one per 64 streams per side: raises
// the open-file limit as far as allowed and returns how many streams fit in it.
std::size_t raiseFileLimit(std::size_t wanted) {
  const rlim_t needed = static_cast<rlim_t>(wanted * 4 + wanted / 16 + 256);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_max < needed) {
    rlimit raised{needed, needed};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;  // root may raise the cap
  }
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  ::getrlimit(RLIMIT_NOFILE, &files);
  const auto fit =
      static_cast<std::size_t>((files.rlim_cur > 256 ? files.rlim_cur - 256 : 0) / (4 + 1.0 / 16));
  return std::min(wanted, fit);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  // The relay's range (20000-32767) has 6,384 port pairs per address.
  const std::size_t wanted =
      std::min<std::size_t>(6000, std::max({o.maxStreams, o.memoryStreams, o.latencyStreams}));
  const std::size_t fit = raiseFileLimit(wanted);
  std::printf(
      "relay_bench: %zu-byte RTP over loopback (relay legs on %s and %s, phones on %s and %s);"
      " load average %.2f at start\n",
      kRtpBytes, kLegAAddress, kLegBAddress, kPhoneAAddress, kPhoneBAddress, loadAverage());
  if (fit < wanted) {
    std::printf("   (open-file limit: at most %zu streams instead of %zu)\n", fit, wanted);
  }
  // Memory first, on a fresh heap: later parts would leave freed blocks that an allocation
  // reuses without growing RSS. Printed last, in the parts' order.
  std::optional<MemoryResult> memory;
  if (wants(o, '4')) memory = measureMemory(std::min(o.memoryStreams, fit));
  if (wants(o, '1')) partForwarding(o);
  if (wants(o, '2')) partCapacity(o, std::min(o.maxStreams, fit));
  if (wants(o, '3')) {
    Options latency = o;
    latency.latencyStreams = std::min(o.latencyStreams, fit);
    partLatency(latency);
  }
  if (memory) printMemory(*memory);
  return 0;
}
