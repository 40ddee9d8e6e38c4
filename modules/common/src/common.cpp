// SPDX-License-Identifier: Apache-2.0
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"

#include <spdlog/sinks/null_sink.h>

namespace p2psip {

const char* toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return "invalid argument";
    case ErrorCode::ParseError:
      return "parse error";
    case ErrorCode::LimitExceeded:
      return "limit exceeded";
    case ErrorCode::TransportError:
      return "transport error";
    case ErrorCode::Timeout:
      return "timeout";
    case ErrorCode::NotFound:
      return "not found";
    case ErrorCode::Unavailable:
      return "unavailable";
  }
  return "unknown error";
}

std::shared_ptr<spdlog::logger> Logger::nullLogger() {
  // One null sink per Logger is cheap and avoids any shared mutable state.
  auto logger =
      std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::off);
  return logger;
}

Counter& MetricsRegistry::counter(std::string_view name) {
  for (auto& [n, c] : counters_) {
    if (n == name) return c;
  }
  return counters_
      .emplace_back(std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple())
      .second;
}

Gauge& MetricsRegistry::gauge(std::string_view name) {
  for (auto& [n, g] : gauges_) {
    if (n == name) return g;
  }
  return gauges_
      .emplace_back(std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple())
      .second;
}

std::vector<std::pair<std::string, std::int64_t>> MetricsRegistry::snapshot() const {
  std::vector<std::pair<std::string, std::int64_t>> out;
  out.reserve(counters_.size() + gauges_.size());
  for (const auto& [n, c] : counters_) out.emplace_back(n, static_cast<std::int64_t>(c.value()));
  for (const auto& [n, g] : gauges_) out.emplace_back(n, g.value());
  return out;
}

}  // namespace p2psip
