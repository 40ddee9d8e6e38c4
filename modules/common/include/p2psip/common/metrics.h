// SPDX-License-Identifier: Apache-2.0
// Counters and gauges. Modules register named metrics into an injected MetricsRegistry and keep
// references to them (conventions §3.4 item 11). The registry owns them; references stay valid
// for its lifetime. Counters are relaxed atomics so media threads may increment them too.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace p2psip {

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(std::int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void add(std::int64_t d) { value_.fetch_add(d, std::memory_order_relaxed); }
  std::int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::int64_t> value_{0};
};

// Not thread-safe for registration (do it at construction on the signalling loop).
class MetricsRegistry {
 public:
  // Returns the counter with this name, creating it on first use.
  Counter& counter(std::string_view name);
  Gauge& gauge(std::string_view name);
  // Snapshot of every metric as (name, value), in registration order.
  std::vector<std::pair<std::string, std::int64_t>> snapshot() const;

 private:
  std::deque<std::pair<std::string, Counter>> counters_;
  std::deque<std::pair<std::string, Gauge>> gauges_;
};

}  // namespace p2psip
