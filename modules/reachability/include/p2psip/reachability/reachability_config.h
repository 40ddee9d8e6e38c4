// SPDX-License-Identifier: Apache-2.0
// Typed settings of the Reflector and the Prober, checked once by validate() at start-up. Every
// tunable of the module lives here (no statics), so the daemon and tests choose them.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::reachability {

// Token buckets that bound what a reflector sends. A Binding answer is larger than the request
// (RFC 5389 §16.1.2 on amplification), so each source address, and all sources together, get a
// rate with a burst; sources are kept in a bounded table (least recently seen evicted).
struct RateLimitConfig {
  double perSourceRate = 20.0;    // requests per second per source address (IPv6: per /64)
  double perSourceBurst = 40.0;   // bucket size per source
  std::size_t maxSources = 4096;  // table bound; memory is O(maxSources)
  double totalRate = 2000.0;      // requests per second over all sources
  double totalBurst = 4000.0;
};

struct ReflectorConfig {
  // The primary transport address. A specific address, so answers leave from the address the
  // request reached (RFC 5389 §7.3.1) and RESPONSE-ORIGIN is true. Port 0: the kernel picks.
  net::Endpoint primary;
  // The alternate port on the same IP, used for change-port answers (RFC 5780 §7.2).
  // 0: primary port + 1, or a kernel-chosen port when the primary port is 0.
  std::uint16_t alternatePort = 0;
  RateLimitConfig rateLimit;
  // Append FINGERPRINT to answers (RFC 5389 §15.5), which helps clients demultiplex.
  bool fingerprint = true;
  // CONNECT-BACK: how long a TCP connection back to the asker may take to be accepted, and how
  // many may be in progress at once (more are answered "not tried"). Each costs a socket, so
  // both are bounded; the rate limit above bounds how often one source can ask.
  Duration connectBackTimeout = std::chrono::seconds(2);
  std::size_t maxConnectBacks = 16;
};

struct ProberConfig {
  // Our address: a specific one (it is compared with the reflexive address). Port 0: ephemeral.
  net::Endpoint local;
  // Other peers' reflector primary endpoints, same address family as `local`. Each gets a plain
  // Binding request; the first also gets a change-port one. Two or more (on different peers)
  // are needed to observe the mapping; with fewer the result says Unknown, and why.
  std::vector<net::Endpoint> reflectors;
  std::size_t maxReflectors = 8;
  // RFC 5389 §7.2.1 retransmission over UDP: send at 0, RTO, 3 RTO, 7 RTO, ... (doubling) up to
  // maxTransmissions (Rc) requests, then wait finalWaitFactor (Rm) x RTO. The RFC's defaults
  // (500 ms, 7, 16: 39.5 s) suit unknown servers on the Internet; peers probe known, live peers
  // at start-up and a silent one should not delay the answer, hence the shorter defaults (1.9 s).
  Duration initialRto = std::chrono::milliseconds(100);
  unsigned maxTransmissions = 5;
  unsigned finalWaitFactor = 4;
  bool fingerprint = true;  // append FINGERPRINT to requests (RFC 5389 §15.5)
  // Our peer-link (TCP) port: when set, the first reflector is also asked to connect back to our
  // reflexive IP at it (CONNECT-BACK), and the probe waits up to connectBackWait for the verdict
  // (the reflector answers once its attempt ends: at most its connectBackTimeout).
  std::optional<std::uint16_t> connectBackPort;
  Duration connectBackWait = std::chrono::seconds(3);
};

// InvalidArgument naming the first bad field.
Result<void> validate(const ReflectorConfig& config);
Result<void> validate(const ProberConfig& config);

// The longest a probe can take: the last transmission plus the final wait (RFC 5389 §7.2.1).
Duration worstCaseDuration(const ProberConfig& config);

}  // namespace p2psip::reachability
