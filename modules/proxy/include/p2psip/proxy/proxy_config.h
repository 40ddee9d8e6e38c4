// SPDX-License-Identifier: Apache-2.0
// ProxyConfig: the tunables of the stateful proxy (RFC 3261 §16) for one ProxyCore. Built and
// validated once in app/ and passed by const& (conventions §3.4 item 10); no static tunables.
//
// Timer C (§16.6 step 11, §16.8) is deliberately not here: the transaction layer runs it per
// client INVITE transaction (transaction::TransactionConfig::timerC) and reports it to the proxy
// as ClientTimeout::TimerC, so a second copy here could only disagree with it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

// One address the peer is reachable at for one transport. It is written as our Via sent-by
// (§16.6 step 8) and as our Record-Route URI (§16.6 step 4), and it is how the proxy recognises
// its own Route values (§16.4) and its own Vias (loop detection, §16.3 step 4). The sent-by must
// also be known to the transport (TransportConfig::sentBy or a listener) so that responses to our
// Vias pass its §18.1.2 check.
struct ProxyAddress {
  transport::Protocol protocol = transport::Protocol::Udp;
  std::string host;  // IP literal (IPv6 without brackets) or a name that resolves to us
  std::uint16_t port = 5060;
  // An overlay peer-link listener (TLS with node certificates) rather than one for phones. Used
  // in Via and Record-Route only towards other peers; `nodeId` (our NodeId in hex) is then added
  // to the Record-Route URI as `node=`, so peers routing in-dialog requests back to us pin our key.
  bool peerLink = false;
  std::string nodeId{};
};

struct ProxyConfig {
  // Where we listen, per transport; at least one. The first one of the outgoing transport (and of
  // the destination's address family when `host` is an IP literal) is used for Via/Record-Route.
  std::vector<ProxyAddress> addresses;
  // Record-Route dialog-creating requests (INVITE, SUBSCRIBE, REFER, NOTIFY without To tag) so
  // in-dialog requests come back through us (§16.6 step 4). Off only for tests and benchmarks.
  bool recordRoute = true;
  // Requests in flight (lookups plus forks) before new ones get 503 (§21.5.4).
  std::size_t maxConcurrentRequests = 10000;
  // Retry-After of our overload 503 (§20.33), in seconds.
  std::uint32_t overloadRetryAfterSeconds = 5;
  // Methods named in Allow of our OPTIONS answer (§11.2): every method passes through us.
  std::vector<std::string> allow{"INVITE",  "ACK",       "BYE",    "CANCEL",  "OPTIONS",
                                 "MESSAGE", "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO",
                                 "UPDATE",  "PRACK",     "REFER",  "REGISTER"};
  // Media types named in Accept of our OPTIONS answer (§11.2).
  std::vector<std::string> accept{"application/sdp"};
  // Option tags in Supported of our OPTIONS answer, and the only tags a Proxy-Require may name
  // (§16.3 step 5): Path (RFC 3327) and outbound (RFC 5626) are handled by forwarding.
  std::vector<std::string> supported{"path", "outbound"};

  // Checks every field; the message names the offending one.
  Result<void> validate() const;
};

}  // namespace p2psip::proxy
