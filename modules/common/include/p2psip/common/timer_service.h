// SPDX-License-Identifier: Apache-2.0
// TimerService: the injected source of time and one-shot timers (conventions §3.4 item 6).
// Production code uses the event loop's implementation (net::AsioTimerService); tests use
// ManualTimerService and advance time explicitly. Not thread-safe: call on the owning loop.
#pragma once

#include <cstdint>
#include <functional>

#include "p2psip/common/clock.h"

namespace p2psip {

using TimerId = std::uint64_t;
inline constexpr TimerId kNoTimer = 0;

class TimerService {
 public:
  virtual ~TimerService() = default;
  virtual TimePoint now() const = 0;
  // Runs `fn` once, `delay` from now(), on the owning loop. Returns an id for cancel().
  virtual TimerId schedule(Duration delay, std::function<void()> fn) = 0;
  // Cancelling an id that already fired or was cancelled is a no-op.
  virtual void cancel(TimerId id) = 0;
};

}  // namespace p2psip
