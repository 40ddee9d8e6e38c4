// SPDX-License-Identifier: Apache-2.0
// The traffic relay_bench drives through a forwarder, from the bench's main thread:
//  - saturated: a few streams one way, each keeping a window of packets in flight (closed
//    loop): the most packets per second a forwarding thread moves;
//  - paced: N G.711 calls, 50 packets/s of 172 bytes each way per call, spread over the 20 ms
//    period (open loop): capacity, and latency through the relay or phone to phone;
//  - idle streams allocated, for the memory one stream takes.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "relay_bench_forwarders.h"
#include "relay_bench_util.h"

namespace relay_bench {

// ---------------------------------------------------------------- saturated

// One socket per phone: phones A (kPhoneAAddress) send, phones B (kPhoneBAddress) receive.
struct Phones {
  std::vector<Socket> a;
  std::vector<Socket> b;
  explicit Phones(std::size_t streams);
  std::vector<net::Endpoint> endpointsA() const;
  std::vector<net::Endpoint> endpointsB() const;
};

struct SaturatedLoad {
  std::size_t packetsPerStream = 16'000;
  std::size_t window = 64;  // packets in flight per stream
};

struct SaturatedResult {
  double packetsPerSecond = 0;  // delivered, over the wall-clock time of the run
  double cpu = 0;               // forwarding thread's CPU time over the run's: share of one core
  double cpuNsPerPacket = 0;    // forwarding thread's CPU time per packet delivered
  double generatorCpu = 0;      // the traffic thread's, share of one core
  // Run-queue wait of both threads over the run's time: another process had their CPU.
  double contention = 0;
  std::uint64_t delivered = 0;
  std::uint64_t sent = 0;
};

SaturatedResult runSaturated(const SaturatedLoad& load, const Phones& phones,
                             const Forwarder& forwarder);

// ---------------------------------------------------------------- paced

// The phones of the paced loads. A stream's phone is a simulated one: phone A of streams
// [64k, 64k+64) sends from and receives on socket k of side A (kPhoneAAddress), so the traffic
// thread sends a run of due packets with one sendmmsg and reads replies in batches. The relay
// does not see the difference: each stream still has its own four relay ports, and each leg
// latches to its phone's socket and sends there, as to a phone of its own.
class PhoneBank {
 public:
  static constexpr std::size_t kStreamsPerSocket = 64;
  explicit PhoneBank(std::size_t streams);
  std::size_t streams() const { return streams_; }
  const Socket& phone(int side, std::size_t stream) const {
    return sockets_[static_cast<std::size_t>(side)][stream / kStreamsPerSocket];
  }
  // Per stream: phone A's (B's) endpoint, as signalling would give the relay from the SDP.
  std::vector<net::Endpoint> endpoints(int side) const;
  // Per stream: phone A's (B's) address, where the other phone sends when there is no relay.
  std::vector<sockaddr_in> addresses(int side) const;
  const std::array<std::vector<Socket>, 2>& sockets() const { return sockets_; }
  // The next packet index per stream and direction: a stream's sequence goes on across runs, as
  // a call's would, so the relay's RFC 3550 statistics see one source.
  std::array<std::vector<std::uint32_t>, 2>& nextIndex() { return nextIndex_; }

 private:
  std::size_t streams_;
  std::array<std::vector<Socket>, 2> sockets_;
  std::array<std::vector<std::uint32_t>, 2> nextIndex_;
};

struct PacedLoad {
  std::size_t streams = 200;
  std::chrono::milliseconds duration{2500};  // sending
  std::chrono::milliseconds warmup{300};     // left out of the CPU and rate figures
  std::chrono::microseconds slot{200};       // the traffic thread sends what is due this often
  std::chrono::milliseconds drain{300};      // longest wait for stragglers after the last send
  // Then, until the forwarder has been silent for settleQuiet (at most settleMax), what still
  // arrives is read and counted as afterDrain, so that the next run starts on an idle forwarder.
  std::chrono::milliseconds settleQuiet{50};
  std::chrono::milliseconds settleMax{5000};
  // A packet this much later than its send time counts as late: a relay that lags by a whole
  // frame is not keeping pace, and a phone's jitter buffer soon drops such packets.
  std::chrono::milliseconds lateAfter{20};
  // A packet the traffic thread sends this much after its due time: the traffic thread, not the
  // forwarder, is behind (the step measures the traffic, not the forwarder).
  std::chrono::milliseconds behindAfter{5};
};

struct PacedResult {
  std::array<std::uint64_t, 2> sent{};        // per direction: 0 A to B, 1 B to A
  std::array<std::uint64_t, 2> lost{};        // sent and not received after the drain
  std::array<std::uint64_t, 2> afterDrain{};  // of the lost: arrived after the drain, too late
  std::array<std::uint64_t, 2> stray{};       // of an earlier run, arrived during this one
  std::uint64_t reordered = 0;                // arrived after a later packet of their direction
  std::uint64_t late = 0;                     // received, but more than lateAfter after their send
  std::uint64_t sentBehind = 0;               // sent more than behindAfter after their due time
  std::uint64_t sendFailed = 0;               // the traffic thread's own full buffers (not sent)
  double packetsPerSecond = 0;                // received per second, in the measured window
  double forwarderCpu = 0;                    // share of one core, in the measured window
  double generatorCpu = 0;                    // the traffic thread's, same window
  double others = 0;  // CPU other processes used in the window, in cores: was the machine quiet
  // The relay's counts over the run: read and relayed, read and dropped.
  std::optional<std::uint64_t> relayForwarded;
  std::optional<std::uint64_t> relayDropped;
  std::vector<float> latencyUs;  // per packet: kernel receive time minus send time
  std::uint64_t lostTotal() const { return lost[0] + lost[1]; }
  std::uint64_t sentTotal() const { return sent[0] + sent[1]; }
};

// Phone A of stream i sends to toA[i], phone B to toB[i] (a forwarder's legs, or the other
// phone directly); `forwarder` (may be null) is whose CPU and counts are taken.
PacedResult runPaced(const PacedLoad& load, PhoneBank& phones, const std::vector<sockaddr_in>& toA,
                     const std::vector<sockaddr_in>& toB, const Forwarder* forwarder);

// ---------------------------------------------------------------- memory

struct MemoryResult {
  std::size_t streams = 0;
  double rssBytesPerStream = 0;
  std::optional<double> slabBytesPerStream;  // kernel, machine wide: see socketSlabBytes()
  double allocateUs = 0;                     // mean RelayEngine::allocate() time
};

// A started engine, then `streams` idle streams allocated on it: the growth per stream.
MemoryResult measureMemory(std::size_t streams);

}  // namespace relay_bench
