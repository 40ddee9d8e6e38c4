// SPDX-License-Identifier: Apache-2.0
// Choosing the best final response of a fork, RFC 3261 §16.7 steps 6 and 7. Pure functions over
// the finals of every branch; ForkingContext builds the response it sends from the choice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "p2psip/sip/message.h"

namespace p2psip::proxy {

// The final outcome of one branch: a response received (Via already popped), or one we stand in
// for (408 for a timeout, 503 for a transport error, §16.7/§8.1.3.1) with `response` null.
struct BranchOutcome {
  std::uint16_t status = 0;
  const sip::Message* response = nullptr;
};

// §16.7 step 6: any 6xx; else the lowest class, preferring within 4xx the responses that help the
// caller resubmit (401, 407, 415, 420, 484), then received responses over our stand-ins, then the
// earliest. `outcomes` must not be empty.
std::size_t chooseBestResponse(const std::vector<BranchOutcome>& outcomes);

// §16.7 step 7: a 401/407 chosen as best carries every WWW-Authenticate and Proxy-Authenticate of
// all the 401/407 received, so the caller can answer every realm at once.
void mergeChallenges(sip::Message& best, const std::vector<BranchOutcome>& outcomes,
                     std::size_t bestIndex);

}  // namespace p2psip::proxy
