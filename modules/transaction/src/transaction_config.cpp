// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transaction/transaction_config.h"

#include <chrono>

namespace p2psip::transaction {

using namespace std::chrono_literals;

Result<void> TransactionConfig::validate() const {
  if (t1 <= 0ms) return makeError(ErrorCode::InvalidArgument, "transaction t1 must be positive");
  if (t2 < t1) return makeError(ErrorCode::InvalidArgument, "transaction t2 must not be below t1");
  if (t4 <= 0ms) return makeError(ErrorCode::InvalidArgument, "transaction t4 must be positive");
  // §17.1.1.2: Timer D "at least 32 seconds" for unreliable transports.
  if (timerD < 32s)
    return makeError(ErrorCode::InvalidArgument, "transaction timerD must be at least 32 s");
  // §16.6 step 11: Timer C "MUST be greater than 3 minutes".
  if (timerC && *timerC <= 3min) {
    return makeError(ErrorCode::InvalidArgument,
                     "transaction timerC must be greater than 3 minutes");
  }
  if (maxTransactions == 0)
    return makeError(ErrorCode::InvalidArgument, "transaction maxTransactions must be positive");
  return {};
}

}  // namespace p2psip::transaction
