// SPDX-License-Identifier: Apache-2.0
#include "p2psip/media/relay_config.h"

#include <algorithm>
#include <string>

#include "p2psip/net/endpoint.h"

namespace p2psip::media {
namespace {

tl::unexpected<Error> invalid(std::string detail) {
  return makeError(ErrorCode::InvalidArgument, "media: " + std::move(detail));
}

}  // namespace

const char* toString(IoBackend backend) {
  return backend == IoBackend::IoUring ? "io_uring" : "epoll";
}

std::size_t portPairCount(const RelayConfig& config) {
  if (config.portMax <= config.portMin) return 0;
  return (std::size_t{config.portMax} - config.portMin + 1) / 2;
}

Result<void> validate(const RelayConfig& config) {
  // RFC 3550 §11: RTP on an even port, RTCP on the next higher (odd) one.
  if (config.portMin % 2 != 0) return invalid("portMin must be even (RFC 3550 §11)");
  if (config.portMin == 0) return invalid("portMin must not be 0");
  if (portPairCount(config) == 0) {
    return invalid("the port range " + std::to_string(config.portMin) + "-" +
                   std::to_string(config.portMax) + " holds no RTP/RTCP pair");
  }
  if (config.addresses.empty()) return invalid("no relay address configured");
  for (std::size_t i = 0; i < config.addresses.size(); ++i) {
    const auto& address = config.addresses[i];
    if (address.is_unspecified()) {
      // An SDP must name the address media goes to: a wildcard cannot be advertised.
      return invalid("relay address " + net::addressToString(address) + " is unspecified");
    }
    if (std::find(config.addresses.begin(), config.addresses.begin() + static_cast<long>(i),
                  address) != config.addresses.begin() + static_cast<long>(i)) {
      return invalid("relay address " + net::addressToString(address) + " is listed twice");
    }
  }
  if (config.inactivityTimeout <= Duration::zero()) return invalid("inactivityTimeout must be > 0");
  if (config.relatchSilence < Duration::zero()) return invalid("relatchSilence must be >= 0");
  if (config.workerThreads == 0 || config.workerThreads > 64) {
    return invalid("workerThreads must be 1-64");
  }
  if (config.maxStreams == 0) return invalid("maxStreams must be > 0");
  if (config.batchSize == 0 || config.batchSize > 1024) return invalid("batchSize must be 1-1024");
  // 12 bytes of RTP header at least; UDP carries at most 65,507 bytes of payload over IPv4.
  if (config.maxDatagramSize < 64 || config.maxDatagramSize > 65535) {
    return invalid("maxDatagramSize must be 64-65535");
  }
  if (config.socketBufferBytes < 0) return invalid("socketBufferBytes must be >= 0");
  return {};
}

}  // namespace p2psip::media
