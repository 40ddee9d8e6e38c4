// SPDX-License-Identifier: Apache-2.0
// SourceRateLimiter: token buckets per source address plus one over all sources, for the
// Reflector. A Binding answer is larger than its request, so a reflector that answered everything
// could be aimed at a victim with spoofed requests (RFC 5389 §16.1.2); the buckets bound what it
// sends to any one address and in total. Private to the reachability module.
//
// Memory is bounded: at most maxSources buckets, the least recently seen evicted first. An
// evicted source comes back with a full bucket, so an attacker who churns the table gains one
// burst per maxSources other sources it sends as, and the total bucket still holds. IPv6 sources
// are keyed by their /64, since one host can use a whole /64. Not thread-safe.
#pragma once

#include <cstddef>
#include <list>
#include <unordered_map>

#include <asio/ip/address.hpp>

#include "p2psip/common/clock.h"
#include "p2psip/reachability/reachability_config.h"

namespace p2psip::reachability {

// One bucket: `rate` tokens per second up to `burst`; take() spends one if there is one.
struct TokenBucket {
  double tokens = 0.0;
  TimePoint last{};
  bool take(double rate, double burst, TimePoint now);
};

class SourceRateLimiter {
 public:
  explicit SourceRateLimiter(const RateLimitConfig& config);

  // True when a request from `source` at `now` may be answered; spends a token of its bucket
  // and of the total one.
  bool admit(const asio::ip::address& source, TimePoint now);
  std::size_t sources() const { return buckets_.size(); }

 private:
  struct Entry {
    TokenBucket bucket;
    std::list<asio::ip::address>::iterator recency;
  };

  RateLimitConfig config_;
  TokenBucket total_;
  std::unordered_map<asio::ip::address, Entry> buckets_;
  std::list<asio::ip::address> recency_;  // most recently seen first
};

// The key a source is limited under: IPv4 as is, IPv6 cut to its /64 (IPv4-mapped as IPv4).
asio::ip::address rateLimitKey(const asio::ip::address& source);

}  // namespace p2psip::reachability
