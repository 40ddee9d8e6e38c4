// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transport/transport_config.h"

#include "sent_by_set.h"

namespace p2psip::transport {

Result<void> validate(const TransportConfig& config) {
  auto invalid = [](std::string detail) {
    return makeError(ErrorCode::InvalidArgument, "transport: " + detail);
  };
  if (config.idleTimeout <= std::chrono::milliseconds::zero())
    return invalid("idleTimeout must be positive");
  if (config.connectTimeout <= std::chrono::milliseconds::zero())
    return invalid("connectTimeout must be positive");
  if (config.maxConnections == 0) return invalid("maxConnections must be at least 1");
  if (config.parseLimits.maxMessageSize == 0 || config.parseLimits.maxHeaders == 0 ||
      config.parseLimits.maxHeaderLength == 0) {
    return invalid("parseLimits must all be positive");
  }
  // A connection must be able to hold one whole message, or no message could ever be framed.
  if (config.maxInboundBytesPerConnection < config.parseLimits.maxMessageSize) {
    return invalid("maxInboundBytesPerConnection must be at least parseLimits.maxMessageSize");
  }
  if (config.maxOutboundBytesPerConnection < config.parseLimits.maxMessageSize) {
    return invalid("maxOutboundBytesPerConnection must be at least parseLimits.maxMessageSize");
  }
  if (config.keepAlive.pingInterval < std::chrono::milliseconds::zero()) {
    return invalid("keepAlive.pingInterval must not be negative");
  }
  if (config.keepAlive.pingInterval > std::chrono::milliseconds::zero() &&
      config.keepAlive.pongTimeout <= std::chrono::milliseconds::zero()) {
    return invalid("keepAlive.pongTimeout must be positive when pings are enabled");
  }
  SentBySet sentBy;
  for (const auto& value : config.sentBy) {
    if (auto ok = sentBy.add(value); !ok) return invalid(ok.error().detail);
  }
  return {};
}

}  // namespace p2psip::transport
