// SPDX-License-Identifier: Apache-2.0
// Timer A–M of RFC 3261 Table 4 and RFC 6026 §8.11, derived from one TransactionConfig (no
// statics). Timers that RFC 3261 sets to zero on reliable transports (D, I, J, K) return
// Duration::zero(); the state machines then move to Terminated at once instead of arming them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>

#include "p2psip/common/clock.h"
#include "p2psip/transaction/transaction_config.h"

namespace p2psip::transaction {

// The names a transaction arms its timers under. CancelWait is §9.1's 64*T1 wait after a CANCEL.
enum class TransactionTimer : std::uint8_t { A, B, C, D, E, F, G, H, I, J, K, L, M, CancelWait };

std::string_view toString(TransactionTimer timer);

class TimerValues {
 public:
  explicit TimerValues(const TransactionConfig& config)
      : t1_(config.t1), t2_(config.t2), t4_(config.t4), timerD_(config.timerD) {
    if (config.timerC) timerC_ = Duration(*config.timerC);
  }

  Duration t1() const { return t1_; }
  Duration t2() const { return t2_; }
  Duration t4() const { return t4_; }

  Duration timerA() const { return t1_; }  // initial value; doubles with no cap (§17.1.1.2)
  Duration timerB() const { return 64 * t1_; }
  std::optional<Duration> timerC() const { return timerC_; }
  Duration timerD(bool reliable) const { return reliable ? Duration::zero() : timerD_; }
  Duration timerE() const { return t1_; }  // initial value; doubles up to T2 (§17.1.2.2)
  Duration timerF() const { return 64 * t1_; }
  Duration timerG() const { return t1_; }  // initial value; doubles up to T2 (§17.2.1)
  Duration timerH() const { return 64 * t1_; }
  Duration timerI(bool reliable) const { return reliable ? Duration::zero() : t4_; }
  Duration timerJ(bool reliable) const { return reliable ? Duration::zero() : 64 * t1_; }
  Duration timerK(bool reliable) const { return reliable ? Duration::zero() : t4_; }
  Duration timerL() const { return 64 * t1_; }      // RFC 6026 §8.7
  Duration timerM() const { return 64 * t1_; }      // RFC 6026 §8.4
  Duration cancelWait() const { return 64 * t1_; }  // §9.1

  // Timers E and G: "reset with a value of MIN(2*T1, T2)" and so on, doubling up to T2.
  Duration doubledUpToT2(Duration current) const { return std::min(2 * current, t2_); }

 private:
  Duration t1_;
  Duration t2_;
  Duration t4_;
  Duration timerD_;
  std::optional<Duration> timerC_;
};

}  // namespace p2psip::transaction
