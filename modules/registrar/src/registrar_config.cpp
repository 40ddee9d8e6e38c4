// SPDX-License-Identifier: Apache-2.0
#include "p2psip/registrar/registrar_config.h"

#include <set>

namespace p2psip::registrar {

Result<void> RegistrarConfig::validate() const {
  auto invalid = [](std::string detail) {
    return makeError(ErrorCode::InvalidArgument, std::move(detail));
  };
  if (minExpires.count() < 1) return invalid("minExpires must be at least 1 s");
  if (defaultExpires < minExpires) return invalid("defaultExpires must not be below minExpires");
  if (maxExpires < defaultExpires) return invalid("maxExpires must not be below defaultExpires");
  // Expires is 32 bits (§20.19).
  if (maxExpires.count() > 0xffffffffLL) return invalid("maxExpires must be below 2**32 s");
  if (nonceLifetime.count() < 1) return invalid("nonceLifetime must be at least 1 s");
  if (digestAlgorithms.empty()) return invalid("digestAlgorithms must name at least one algorithm");
  if (maxTrackedNonces == 0) return invalid("maxTrackedNonces must be at least 1");
  if (retryAfter.count() < 1) return invalid("retryAfter must be at least 1 s");
  if (flowTimerDatagram.count() < 1 || flowTimerStream.count() < 1) {
    return invalid("flow timers must be at least 1 s");
  }
  std::set<std::string> seen;
  for (const auto& entry : authentication) {
    if (entry.domain.empty()) return invalid("authentication entry without a domain");
    if (entry.credentialsFile.empty()) {
      return invalid("authentication for " + entry.domain + " has no credentials file");
    }
    if (!seen.insert(entry.domain).second) {
      return invalid("authentication lists " + entry.domain + " twice");
    }
  }
  return {};
}

}  // namespace p2psip::registrar
