// SPDX-License-Identifier: Apache-2.0
// Prober: the STUN client side of reachability. From ONE UDP socket bound to our address it runs
// Binding transactions (RFC 5389 §7.2) with other peers' reflectors:
//   - a plain Binding request to every reflector: each answer's XOR-MAPPED-ADDRESS is our
//     reflexive transport address as that reflector sees it; equal answers from different
//     reflectors mean endpoint-independent mapping (RFC 5780 §4.3);
//   - a Binding request with CHANGE-REQUEST(change port) to the first reflector: its answer comes
//     from the reflector's other port, and reaches us only if our NAT or firewall lets in traffic
//     from a source we never sent to (RFC 5780 §4.4, filtering).
// Then classify() (reachability.h) turns the outcomes into a Reachability.
//
// Requests are retransmitted as RFC 5389 §7.2.1 says, with the RTO, Rc and Rm of ProberConfig;
// time comes from the injected TimerService, so tests run the whole schedule instantly with a
// ManualTimerService. Responses are matched by transaction ID only (the 96 random bits of RFC
// 5389 §6), so a change-port answer from the other port is recognised; anything else that
// arrives is counted and dropped.
//
// The completion callback runs once, on the event loop (posted, never from inside start()),
// when every transaction has been answered or has timed out: at most worstCaseDuration(config)
// after start(). Destroying the Prober first cancels it: no callback after destruction. The
// callback may destroy the Prober.
//
// Not thread-safe: use on the signalling loop's thread.
//
// Metrics: p2psip_reachability_probes_total, p2psip_reachability_probe_requests_sent_total
// (retransmissions included), p2psip_reachability_probe_retransmissions_total,
// p2psip_reachability_probe_timeouts_total (transactions), and
// p2psip_reachability_probe_responses_ignored_total (malformed, unknown or late answers).
#pragma once

#include <functional>
#include <memory>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/reachability/reachability.h"
#include "p2psip/reachability/reachability_config.h"

namespace p2psip::reachability {

class Prober {
 public:
  using Completion = std::function<void(const Reachability&)>;

  // `loop`, `timers` and `metrics` must outlive the Prober.
  Prober(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics, ProberConfig config,
         Logger logger = {});
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Validates the configuration, binds the socket and sends the first requests. `done` gets the
  // result later, on the loop. One probe per Prober: a second start() is InvalidArgument.
  Result<void> start(Completion done);
  // Stops a probe in progress without calling its completion. Idempotent.
  void cancel();
  // The socket's bound endpoint (its port resolved), once started.
  net::Endpoint localEndpoint() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::reachability
