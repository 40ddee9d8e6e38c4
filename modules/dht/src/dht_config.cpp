// SPDX-License-Identifier: Apache-2.0
// validate(DhtConfig), apart from the service so that it reads as the config's rules.
#include "p2psip/dht/open_dht_lookup_service.h"

#include <opendht/value.h>

#include <string>

#include "lifetime_class.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::dht {
namespace {

// OpenDHT's default store policy refuses values over MAX_VALUE_SIZE, counting its own msgpack
// framing; keep a kilobyte of room for that and our record header.
constexpr std::size_t kLargestValueBytes = ::dht::MAX_VALUE_SIZE - 1024;

Result<void> invalid(std::string detail) {
  return makeError(ErrorCode::InvalidArgument, "dht: " + std::move(detail));
}

}  // namespace

Result<void> validate(const DhtConfig& config) {
  if (!config.bindAddress.empty()) {
    asio::error_code error;
    asio::ip::make_address(config.bindAddress, error);
    if (error) return invalid("bindAddress \"" + config.bindAddress + "\" is not an IP address");
  }
  for (const std::string& entry : config.bootstrap) {
    // Literals only: the system resolver would block the loop and is not ours to trust.
    auto endpoint = net::Endpoint::parse(entry);
    if (!endpoint) {
      return invalid("bootstrap entry \"" + entry + "\" is not an IP literal with a port (" +
                     endpoint.error().detail + ")");
    }
    if (endpoint->port == 0 || endpoint->address.is_unspecified() ||
        endpoint->address.is_multicast()) {
      return invalid("bootstrap entry \"" + entry + "\" is not a reachable address and port");
    }
  }
  if (config.network.empty()) return invalid("network must not be empty");
  if (config.maxValueBytes == 0 || config.maxValueBytes > kLargestValueBytes) {
    return invalid("maxValueBytes must be between 1 and " + std::to_string(kLargestValueBytes));
  }
  const Duration longest = kLifetimeClasses.back().lifetime;
  if (config.maxLifetime <= Duration::zero() || config.maxLifetime > longest) {
    return invalid(
        "maxLifetime must be positive and at most " +
        std::to_string(std::chrono::duration_cast<std::chrono::minutes>(longest).count()) +
        " minutes");
  }
  if (config.removedLifetime <= Duration::zero() || config.removedLifetime > config.maxLifetime) {
    return invalid("removedLifetime must be positive and at most maxLifetime");
  }
  if (config.maxStoreBytes < (std::size_t{1} << 20)) {
    return invalid("maxStoreBytes must be at least 1 MiB");
  }
  if (config.replicas < 1 || config.replicas > 8) {
    return invalid("replicas must be between 1 and 8");
  }
  if (config.getSettle < Duration::zero() || config.getSettle > std::chrono::seconds(5)) {
    return invalid("getSettle must be between 0 and 5 seconds");
  }
  if (config.maxRequestsPerSecond < 1024 || config.maxRequestsPerSecond > (1u << 24)) {
    return invalid("maxRequestsPerSecond must be between 1024 and 16777216");
  }
  if (config.maxPeerRequestsPerSecond < 128 ||
      config.maxPeerRequestsPerSecond > config.maxRequestsPerSecond) {
    return invalid("maxPeerRequestsPerSecond must be between 128 and maxRequestsPerSecond");
  }
  if (config.bootstrapRetry < std::chrono::seconds(1)) {
    return invalid("bootstrapRetry must be at least one second");
  }
  return {};
}

}  // namespace p2psip::dht
