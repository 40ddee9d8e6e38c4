// SPDX-License-Identifier: Apache-2.0
#include "proxy_metrics.h"

namespace p2psip::proxy {

ProxyMetrics::ProxyMetrics(MetricsRegistry& registry)
    : requests(registry.counter("p2psip_proxy_requests_total")),
      rejected(registry.counter("p2psip_proxy_requests_rejected_total")),
      loopsDetected(registry.counter("p2psip_proxy_loops_detected_total")),
      localResponses(registry.counter("p2psip_proxy_local_responses_total")),
      optionsAnswered(registry.counter("p2psip_proxy_options_answered_total")),
      sinkRequests(registry.counter("p2psip_proxy_sink_requests_total")),
      lookups(registry.counter("p2psip_proxy_location_lookups_total")),
      lookupsFailed(registry.counter("p2psip_proxy_location_lookups_failed_total")),
      branches(registry.counter("p2psip_proxy_branches_total")),
      branchFailures(registry.counter("p2psip_proxy_branch_failures_total")),
      timerC(registry.counter("p2psip_proxy_timer_c_total")),
      responsesForwarded(registry.counter("p2psip_proxy_responses_forwarded_total")),
      statelessForwarded(registry.counter("p2psip_proxy_stateless_forwarded_total")),
      cancels(registry.counter("p2psip_proxy_cancels_total")),
      overloaded(registry.counter("p2psip_proxy_overload_rejections_total")),
      peerRequestsRefused(registry.counter("p2psip_proxy_peer_requests_refused_total")),
      active(registry.gauge("p2psip_proxy_active_requests")) {}

}  // namespace p2psip::proxy
