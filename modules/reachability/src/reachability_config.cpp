// SPDX-License-Identifier: Apache-2.0
#include "p2psip/reachability/reachability_config.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace p2psip::reachability {
namespace {

tl::unexpected<Error> invalid(std::string detail) {
  return makeError(ErrorCode::InvalidArgument, "reachability: " + std::move(detail));
}

bool positiveFinite(double v) {
  return std::isfinite(v) && v > 0.0;
}

// Upper bounds that keep the arithmetic (RTO doubling, token counts) far from overflow.
constexpr unsigned kMaxTransmissionsLimit = 16;
constexpr unsigned kMaxFinalWaitFactor = 64;
constexpr auto kMaxInitialRto = std::chrono::seconds(10);
constexpr double kMaxRate = 1e9;

}  // namespace

Result<void> validate(const ReflectorConfig& config) {
  if (config.primary.address.is_unspecified()) {
    return invalid("reflector primary address must be a specific address, not " +
                   config.primary.toString());
  }
  if (config.primary.address.is_multicast()) return invalid("reflector address is multicast");
  if (config.alternatePort == 0 && config.primary.port == 0xFFFF) {
    return invalid("reflector primary port 65535 leaves no primary+1 alternate port");
  }
  if (config.alternatePort != 0 && config.alternatePort == config.primary.port) {
    return invalid("reflector alternate port equals the primary port");
  }
  const auto& rl = config.rateLimit;
  if (!positiveFinite(rl.perSourceRate) || rl.perSourceRate > kMaxRate) {
    return invalid("rateLimit.perSourceRate must be positive");
  }
  if (!positiveFinite(rl.perSourceBurst) || rl.perSourceBurst < 1.0 ||
      rl.perSourceBurst > kMaxRate) {
    return invalid("rateLimit.perSourceBurst must be at least 1");
  }
  if (rl.maxSources == 0) return invalid("rateLimit.maxSources must be at least 1");
  if (config.connectBackTimeout <= Duration::zero() ||
      config.connectBackTimeout > std::chrono::seconds(30)) {
    return invalid("reflector connectBackTimeout must be in (0, 30 s]");
  }
  if (config.maxConnectBacks > 4096) return invalid("reflector maxConnectBacks must be 0-4096");
  if (!positiveFinite(rl.totalRate) || rl.totalRate > kMaxRate) {
    return invalid("rateLimit.totalRate must be positive");
  }
  if (!positiveFinite(rl.totalBurst) || rl.totalBurst < 1.0 || rl.totalBurst > kMaxRate) {
    return invalid("rateLimit.totalBurst must be at least 1");
  }
  return {};
}

Result<void> validate(const ProberConfig& config) {
  if (config.local.address.is_unspecified()) {
    // The NAT test compares the reflexive address with ours, so ours must be known.
    return invalid("prober local address must be a specific address, not " +
                   config.local.toString());
  }
  if (config.reflectors.empty()) return invalid("prober needs at least one reflector");
  if (config.maxReflectors == 0) return invalid("prober maxReflectors must be at least 1");
  if (config.reflectors.size() > config.maxReflectors) {
    return invalid("prober has " + std::to_string(config.reflectors.size()) +
                   " reflectors, over maxReflectors " + std::to_string(config.maxReflectors));
  }
  for (std::size_t i = 0; i < config.reflectors.size(); ++i) {
    const auto& r = config.reflectors[i];
    if (r.address.is_unspecified() || r.address.is_multicast() || r.port == 0) {
      return invalid("reflector " + r.toString() + " is not a unicast address and port");
    }
    if (r.address.is_v4() != config.local.address.is_v4()) {
      return invalid("reflector " + r.toString() + " is not in the address family of " +
                     config.local.toString());
    }
    if (std::find(config.reflectors.begin(), config.reflectors.begin() + i, r) !=
        config.reflectors.begin() + i) {
      return invalid("reflector " + r.toString() + " is listed twice");
    }
  }
  if (config.initialRto <= Duration::zero() || config.initialRto > kMaxInitialRto) {
    return invalid("prober initialRto must be in (0, 10 s]");
  }
  if (config.maxTransmissions == 0 || config.maxTransmissions > kMaxTransmissionsLimit) {
    return invalid("prober maxTransmissions must be 1-16");
  }
  if (config.finalWaitFactor == 0 || config.finalWaitFactor > kMaxFinalWaitFactor) {
    return invalid("prober finalWaitFactor must be 1-64");
  }
  if (config.connectBackPort && *config.connectBackPort == 0) {
    return invalid("prober connectBackPort must not be 0");
  }
  if (config.connectBackWait <= Duration::zero() ||
      config.connectBackWait > std::chrono::seconds(60)) {
    return invalid("prober connectBackWait must be in (0, 60 s]");
  }
  return {};
}

Duration worstCaseDuration(const ProberConfig& config) {
  // Transmissions at 0, RTO, 3 RTO, ..., (2^(Rc-1) - 1) RTO, then Rm x RTO of silence.
  const unsigned rc = std::min(config.maxTransmissions, kMaxTransmissionsLimit);
  const auto lastSend = config.initialRto * ((1LL << (rc == 0 ? 0 : rc - 1)) - 1);
  const Duration schedule = lastSend + config.initialRto * config.finalWaitFactor;
  return config.connectBackPort ? std::max(schedule, config.connectBackWait) : schedule;
}

}  // namespace p2psip::reachability
