// SPDX-License-Identifier: Apache-2.0
// TransportConfig: every tunable of the transport layer, with defaults (conventions §3.4 item 10).
// app/ fills it from the configuration file and calls validate() once; TransportLayer assumes a
// valid config.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/result.h"
#include "p2psip/sip/parser.h"

namespace p2psip::transport {

// RFC 5626 §3.5.1 / §4.4.1 CRLF keep-alive on TCP/TLS flows. Pings are answered on every stream;
// these settings govern the pings we send ourselves, on connections we opened.
struct KeepAliveConfig {
  std::chrono::milliseconds pingInterval{0};      // CRLFCRLF every interval; 0 = do not ping
  std::chrono::milliseconds pongTimeout{10'000};  // no CRLF pong within this: flow failed (§4.4.1)
};

struct TransportConfig {
  // A TCP/TLS connection with no bytes received and no message sent for this long is closed.
  // (Connection set-up is bounded separately, by connectTimeout.)
  std::chrono::milliseconds idleTimeout{std::chrono::minutes(5)};
  // Bounds opening a connection (TCP connect plus TLS handshake) separately, so a peer that is
  // down behind a silent network fails within seconds, not after the kernel's SYN retries.
  std::chrono::milliseconds connectTimeout{4'000};
  std::size_t maxConnections = 1024;  // open TCP+TLS connections, both directions
  std::size_t maxInboundBytesPerConnection = 256 * 1024;  // unframed bytes buffered; beyond: close
  // Kernel receive and send buffer of each UDP socket (SO_RCVBUF/SO_SNDBUF, forced past
  // net.core.rmem_max when privileged). Bursts beyond the default ~200 KiB are dropped otherwise.
  std::size_t udpSocketBufferBytes = 4 * 1024 * 1024;
  std::size_t maxOutboundBytesPerConnection =
      1024 * 1024;               // queued for writing; beyond: send fails
  sip::ParseLimits parseLimits;  // per message, datagrams and streams
  KeepAliveConfig keepAlive;
  // RFC 3261 §18.1.2: the sent-by values ("host", "host:port", "[v6]:port") this node writes into
  // its Via headers. A response whose top Via names none of these (nor a listener's own specific
  // address and port) is discarded. A value without a port matches any port.
  std::vector<std::string> sentBy;
  // Peer links we open (TLS pinned to a NodeId) leave from this address, the one our peer record
  // advertises: a multi-homed peer's links and its relay's media then come from the same address,
  // which is what the far peer checks media against (RFC 7362 latching). Unset: the kernel picks.
  std::optional<asio::ip::address> peerLinkSource{};
};

// Checks ranges and the sent-by values; the error names the offending field.
Result<void> validate(const TransportConfig& config);

}  // namespace p2psip::transport
