// SPDX-License-Identifier: Apache-2.0
// ProxyMetrics: the proxy's counters, registered once into the injected MetricsRegistry
// (conventions §3.4 item 11). Names follow p2psip_proxy_<what>_total.
#pragma once

#include "p2psip/common/metrics.h"

namespace p2psip::proxy {

struct ProxyMetrics {
  explicit ProxyMetrics(MetricsRegistry& registry);

  Counter& requests;             // requests that created a server transaction
  Counter& rejected;             // answered by §16.3 validation (400-499 from us)
  Counter& loopsDetected;        // 482
  Counter& localResponses;       // any response we generated (404, 480, 483, 487, ...)
  Counter& optionsAnswered;      // OPTIONS to the peer itself
  Counter& sinkRequests;         // handed to the RequestSink (REGISTER)
  Counter& lookups;              // LocationService lookups started
  Counter& lookupsFailed;        // lookups that returned an error
  Counter& branches;             // client transactions started (one per fork target)
  Counter& branchFailures;       // branches that ended by timeout or transport error
  Counter& timerC;               // §16.8 Timer C expiries
  Counter& responsesForwarded;   // responses relayed upstream statefully
  Counter& statelessForwarded;   // ACKs and stray 2xx relayed statelessly
  Counter& cancels;              // CANCELs from callers that matched a request in flight
  Counter& overloaded;           // 503 because maxConcurrentRequests or the layer refused
  Counter& peerRequestsRefused;  // from peer links, not for our users nor routed through us
  Gauge& active;                 // requests in flight
};

}  // namespace p2psip::proxy
