// SPDX-License-Identifier: Apache-2.0
#include "source_rate_limiter.h"

#include <algorithm>
#include <chrono>

namespace p2psip::reachability {

bool TokenBucket::take(double rate, double burst, TimePoint now) {
  if (now > last) {
    const double elapsed = std::chrono::duration<double>(now - last).count();
    tokens = std::min(burst, tokens + elapsed * rate);
    last = now;
  }
  if (tokens < 1.0) return false;
  tokens -= 1.0;
  return true;
}

asio::ip::address rateLimitKey(const asio::ip::address& source) {
  if (!source.is_v6()) return source;
  const auto v6 = source.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes);
}

SourceRateLimiter::SourceRateLimiter(const RateLimitConfig& config) : config_(config) {
  total_.tokens = config_.totalBurst;
}

bool SourceRateLimiter::admit(const asio::ip::address& source, TimePoint now) {
  const auto key = rateLimitKey(source);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= config_.maxSources) {
      buckets_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    Entry entry;
    entry.bucket.tokens = config_.perSourceBurst;
    entry.bucket.last = now;
    entry.recency = recency_.begin();
    it = buckets_.emplace(key, entry).first;
  } else {
    recency_.splice(recency_.begin(), recency_, it->second.recency);
  }
  // Per source first: a source over its own rate must not use up the shared total.
  if (!it->second.bucket.take(config_.perSourceRate, config_.perSourceBurst, now)) return false;
  return total_.take(config_.totalRate, config_.totalBurst, now);
}

}  // namespace p2psip::reachability
