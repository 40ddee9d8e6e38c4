// SPDX-License-Identifier: Apache-2.0
#include "response_selection.h"

#include <string>
#include <tuple>

namespace p2psip::proxy {
namespace {

bool helpsResubmission(std::uint16_t status) {
  return status == 401 || status == 407 || status == 415 || status == 420 || status == 484;
}

bool isChallenge(std::uint16_t status) {
  return status == 401 || status == 407;
}

// Smaller is better.
std::tuple<int, int, int> rank(const BranchOutcome& o) {
  const int klass = o.status / 100;
  return {klass == 6 ? 0 : klass, helpsResubmission(o.status) ? 0 : 1, o.response ? 0 : 1};
}

}  // namespace

std::size_t chooseBestResponse(const std::vector<BranchOutcome>& outcomes) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < outcomes.size(); ++i) {
    if (rank(outcomes[i]) < rank(outcomes[best])) best = i;
  }
  return best;
}

void mergeChallenges(sip::Message& best, const std::vector<BranchOutcome>& outcomes,
                     std::size_t bestIndex) {
  if (!isChallenge(outcomes[bestIndex].status)) return;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    const auto& o = outcomes[i];
    if (i == bestIndex || o.response == nullptr || !isChallenge(o.status)) continue;
    for (auto id : {sip::HeaderId::WwwAuthenticate, sip::HeaderId::ProxyAuthenticate}) {
      // Challenges contain commas, so copy whole lines rather than list items.
      for (const auto& h : o.response->headers()) {
        if (h.id == id) best.addHeader(sip::canonicalName(id), std::string(h.value));
      }
    }
  }
}

}  // namespace p2psip::proxy
