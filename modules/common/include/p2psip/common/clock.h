// SPDX-License-Identifier: Apache-2.0
// Time vocabulary. All protocol state machines take time from a TimerService (timer_service.h),
// never from the system clock directly, so tests can advance time deterministically.
#pragma once

#include <chrono>

namespace p2psip {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

}  // namespace p2psip
