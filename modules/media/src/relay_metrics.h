// SPDX-License-Identifier: Apache-2.0
// RelayMetrics: the engine's counters in the injected registry (conventions §3.4 item 11). Media
// threads add to them once per received batch, not per packet.
#pragma once

#include "p2psip/common/metrics.h"

namespace p2psip::media {

struct RelayMetrics {
  explicit RelayMetrics(MetricsRegistry& registry)
      : packetsForwarded(registry.counter("p2psip_media_packets_forwarded_total")),
        bytesForwarded(registry.counter("p2psip_media_bytes_forwarded_total")),
        packetsDropped(registry.counter("p2psip_media_packets_dropped_total")),
        packetsMalformed(registry.counter("p2psip_media_packets_malformed_total")),
        packetsRefused(registry.counter("p2psip_media_packets_refused_total")),
        latches(registry.counter("p2psip_media_latches_total")),
        keepalivesSent(registry.counter("p2psip_media_keepalives_sent_total")),
        keepalivesReceived(registry.counter("p2psip_media_keepalives_received_total")),
        fallbacks(registry.counter("p2psip_media_fallbacks_total")),
        streamsAllocated(registry.counter("p2psip_media_streams_allocated_total")),
        streamsTimedOut(registry.counter("p2psip_media_streams_timed_out_total")),
        streamsActive(registry.gauge("p2psip_media_streams_active")) {}

  Counter& packetsForwarded;  // RTP and RTCP
  Counter& bytesForwarded;
  Counter& packetsDropped;  // received and not forwarded, for any reason
  Counter& packetsMalformed;
  Counter& packetsRefused;  // from a source the latch does not accept
  Counter& latches;
  Counter& keepalivesSent;      // RTP keepalives towards far relays (LegConfig::keepAlive)
  Counter& keepalivesReceived;  // payload-less RTP: latched onto, never forwarded
  Counter& fallbacks;           // legs that gave up a direct path for their fallback relay
  Counter& streamsAllocated;
  Counter& streamsTimedOut;
  Gauge& streamsActive;
};

}  // namespace p2psip::media
