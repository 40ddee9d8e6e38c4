// SPDX-License-Identifier: Apache-2.0
// Time vocabulary. All protocol state machines take time from a TimerService (timer_service.h),
// never from the system clock directly, so tests can advance time deterministically.
#pragma once

#include <chrono>
#include <functional>

namespace p2psip {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

}  // namespace p2psip

namespace p2psip {

// Wall-clock time, for what crosses machines (the expiry written into an overlay record). Injected
// like the TimerService so tests choose it; production passes std::chrono::system_clock::now.
using WallTime = std::chrono::system_clock::time_point;
using WallClock = std::function<WallTime()>;

inline WallTime systemWallClock() {
  return std::chrono::system_clock::now();
}

}  // namespace p2psip
