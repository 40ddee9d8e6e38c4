// SPDX-License-Identifier: Apache-2.0
// Reflector: the STUN server side of reachability (RFC 5389 §7.3 Binding, RFC 5780 §6.1 for
// CHANGE-REQUEST). Every peer runs one so that other peers can learn their reflexive address and
// NAT behaviour from it.
//
// It owns two UDP sockets on the same IP: the primary port and an alternate port. A Binding
// request is answered with XOR-MAPPED-ADDRESS = the request's source and RESPONSE-ORIGIN = the
// socket the answer leaves from: the socket it arrived on, or the other one when CHANGE-REQUEST
// asks to change the port. With one IP it cannot change the address, so a change-IP request gets
// 420 (Unknown Attribute) naming CHANGE-REQUEST, and no answer carries OTHER-ADDRESS (RFC 5780
// §7.4: only servers with a second IP address send it).
//
// Every datagram costs O(1) time and no memory beyond a bounded rate-limit table: requests over a
// source's or the total token bucket are dropped and counted, malformed datagrams are dropped and
// counted (RFC 5389 §7.3: silently discarded), and nothing is kept per transaction: Binding
// changes no state, so a retransmitted request is simply answered again. The one exception is
// CONNECT-BACK (stun_message.h): the reflector opens a TCP connection to the asker's source IP
// at the port named, closes it as soon as it is accepted (or after connectBackTimeout), and only
// then answers, with CONNECT-RESULT; at most maxConnectBacks are in progress (more are answered
// "not tried" at once), retransmissions of one in progress are recognised by transaction ID,
// and the target is always the request's own source IP.
//   p2psip_reachability_connect_backs_{accepted,not_accepted,not_tried}_total
//
// Not thread-safe: construct, start, stop and destroy on the signalling loop's thread.
//
// Metrics (counters unless noted):
//   p2psip_reachability_binding_answers_total      success responses sent
//   p2psip_reachability_change_port_answers_total  ... of which from the other port
//   p2psip_reachability_error_answers_total        error responses sent (400, 420)
//   p2psip_reachability_requests_refused_total     dropped by the rate limit
//   p2psip_reachability_requests_malformed_total   datagrams that are not valid STUN
//   p2psip_reachability_datagrams_ignored_total    valid STUN that is not a request, or port 0
//   p2psip_reachability_send_errors_total          answers the socket refused
//   p2psip_reachability_rate_limited_sources       gauge: sources in the rate-limit table
#pragma once

#include <memory>
#include <string_view>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/reachability/reachability_config.h"

namespace p2psip::reachability {

class Reflector {
 public:
  // `clock` only provides now() for the rate limit (tests pass a ManualTimerService). `loop`,
  // `clock` and `metrics` must outlive the Reflector.
  Reflector(net::EventLoop& loop, const TimerService& clock, MetricsRegistry& metrics,
            ReflectorConfig config, Logger logger = {});
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Validates the configuration and binds both sockets; then answers until stop() or
  // destruction. TransportError when a port is taken; InvalidArgument for a bad configuration.
  Result<void> start();
  // Closes both sockets. Idempotent.
  void stop();

  // Bound endpoints (ports resolved when the configuration said 0). Valid after start().
  net::Endpoint primaryEndpoint() const;
  net::Endpoint alternateEndpoint() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::reachability
