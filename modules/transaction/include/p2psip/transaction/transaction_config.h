// SPDX-License-Identifier: Apache-2.0
// TransactionConfig: the tunables of RFC 3261 §17 (Table 4) for one TransactionLayer.
// Passed by const& at construction; there are no static tunables (conventions §3.4 item 10).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "p2psip/common/result.h"

namespace p2psip::transaction {

struct TransactionConfig {
  // RTT estimate: first retransmit interval of Timers A, E and G; Timers B, F, H, J, L, M are 64*T1
  // (§17.1.1.1).
  std::chrono::milliseconds t1{500};
  // Cap on the retransmit interval of non-INVITE requests and INVITE final responses (§17.1.2.2,
  // §17.2.1).
  std::chrono::milliseconds t2{4000};
  // Maximum time a message stays in the network: Timers I and K over unreliable transports.
  std::chrono::milliseconds t4{5000};
  // Client INVITE wait in Completed for retransmitted final responses over UDP; RFC 3261 wants >=
  // 32 s.
  std::chrono::milliseconds timerD{32000};
  // Proxy Timer C (§16.6 step 11, §16.8): how long an INVITE client transaction waits after its
  // last provisional before the TU is told to CANCEL. Must exceed 3 minutes; nullopt for user
  // agents.
  std::optional<std::chrono::milliseconds> timerC{std::chrono::milliseconds{181000}};
  // Transactions in flight before new ones are refused (server side answers 503 statelessly).
  std::size_t maxTransactions = 65536;

  // Checks the RFC constraints above; the message names the offending field.
  Result<void> validate() const;
};

}  // namespace p2psip::transaction
