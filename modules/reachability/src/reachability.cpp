// SPDX-License-Identifier: Apache-2.0
#include "p2psip/reachability/reachability.h"

#include <algorithm>
#include <utility>

namespace p2psip::reachability {

const char* toString(NatClass c) {
  switch (c) {
    case NatClass::Public:
      return "Public";
    case NatClass::FullCone:
      return "FullCone";
    case NatClass::RestrictedCone:
      return "RestrictedCone";
    case NatClass::Symmetric:
      return "Symmetric";
    case NatClass::Unknown:
      break;
  }
  return "Unknown";
}

const char* toString(MappingBehavior m) {
  switch (m) {
    case MappingBehavior::EndpointIndependent:
      return "endpoint-independent";
    case MappingBehavior::AddressDependent:
      return "address-dependent";
    case MappingBehavior::Unknown:
      break;
  }
  return "unknown";
}

const char* toString(FilteringBehavior f) {
  switch (f) {
    case FilteringBehavior::Open:
      return "open";
    case FilteringBehavior::Filtered:
      return "filtered";
    case FilteringBehavior::Unknown:
      break;
  }
  return "unknown";
}

const char* toString(InboundLinks l) {
  switch (l) {
    case InboundLinks::Accepted:
      return "accepted";
    case InboundLinks::Refused:
      return "refused";
    case InboundLinks::Unknown:
      break;
  }
  return "unknown";
}

namespace {

MappingBehavior mappingOf(const std::vector<BindingOutcome>& outcomes, std::size_t& answers) {
  std::optional<net::Endpoint> first;
  bool differ = false;
  answers = 0;
  for (const auto& o : outcomes) {
    // Only plain requests: a change-port request goes to the same destination as the plain one
    // to that reflector, so its mapping says nothing new (RFC 5780 §4.3 varies the destination).
    if (o.changePort || o.connectBack || !o.mapped) continue;
    ++answers;
    if (!first) {
      first = o.mapped;
    } else if (*o.mapped != *first) {
      differ = true;
    }
  }
  if (differ) return MappingBehavior::AddressDependent;
  return answers >= 2 ? MappingBehavior::EndpointIndependent : MappingBehavior::Unknown;
}

FilteringBehavior filteringOf(const std::vector<BindingOutcome>& outcomes,
                              std::vector<std::string>& notes) {
  bool open = false;
  bool filtered = false;
  for (const auto& o : outcomes) {
    if (!o.changePort) continue;
    const std::string who = o.reflector.toString();
    if (o.succeeded()) {
      // The answer must come from another port, or the reflector ignored CHANGE-REQUEST and
      // the answer proves nothing about filtering (RFC 5780 §4.4 relies on the other source).
      if (o.answeredFrom && o.answeredFrom->port != o.reflector.port) {
        open = true;
      } else {
        notes.push_back("reflector " + who + " answered the change-port request from the port " +
                        "it was sent to: it ignores CHANGE-REQUEST");
      }
      continue;
    }
    if (o.errorCode) {
      notes.push_back("reflector " + who + " refused the change-port request (error " +
                      std::to_string(*o.errorCode) + ")");
      continue;
    }
    const bool plainAnswered =
        std::any_of(outcomes.begin(), outcomes.end(), [&](const BindingOutcome& p) {
          return !p.changePort && p.reflector == o.reflector && p.succeeded();
        });
    if (plainAnswered) {
      filtered = true;
    } else {
      notes.push_back("reflector " + who +
                      " answered neither request: filtering cannot be observed through it");
    }
  }
  if (open) return FilteringBehavior::Open;
  return filtered ? FilteringBehavior::Filtered : FilteringBehavior::Unknown;
}

}  // namespace

Reachability classify(const net::Endpoint& local, std::vector<BindingOutcome> outcomes) {
  Reachability r;
  r.local = local;
  r.outcomes = std::move(outcomes);
  for (const auto& o : r.outcomes) {
    if (!o.mapped) continue;
    if (std::find(r.observed.begin(), r.observed.end(), *o.mapped) == r.observed.end()) {
      r.observed.push_back(*o.mapped);
    }
    // RFC 5389 §2: a reflexive transport address other than our own means a NAT in between.
    if (*o.mapped != local) r.natted = true;
  }
  for (const auto& o : r.outcomes) {
    if (o.connectBack && o.connectAccepted) {
      r.inboundLinks = *o.connectAccepted ? InboundLinks::Accepted : InboundLinks::Refused;
    }
  }
  std::size_t plainAnswers = 0;
  r.mapping = mappingOf(r.outcomes, plainAnswers);
  r.filtering = filteringOf(r.outcomes, r.notes);

  if (r.observed.empty()) {
    r.notes.push_back("no reflector answered: reachability unknown");
    r.natClass = NatClass::Unknown;
    return r;
  }
  if (plainAnswers < 2 && r.mapping == MappingBehavior::Unknown) {
    r.notes.push_back("only " + std::to_string(plainAnswers) +
                      " reflector(s) answered; two are needed to observe the mapping");
  }
  if (!r.natted) {
    switch (r.filtering) {
      case FilteringBehavior::Open:
        r.natClass = NatClass::Public;
        break;
      case FilteringBehavior::Filtered:
        // Our own address, but inbound only after outbound: a stateful firewall. Hole punching
        // works, unsolicited traffic does not, as behind a restricted cone NAT.
        r.notes.push_back("not translated, but filtered: a stateful firewall");
        r.natClass = NatClass::RestrictedCone;
        break;
      case FilteringBehavior::Unknown:
        r.natClass = NatClass::Unknown;
        break;
    }
    return r;
  }
  switch (r.mapping) {
    case MappingBehavior::AddressDependent:
      r.natClass = NatClass::Symmetric;
      break;
    case MappingBehavior::EndpointIndependent:
      r.natClass = r.filtering == FilteringBehavior::Open       ? NatClass::FullCone
                   : r.filtering == FilteringBehavior::Filtered ? NatClass::RestrictedCone
                                                                : NatClass::Unknown;
      break;
    case MappingBehavior::Unknown:
      r.natClass = NatClass::Unknown;
      break;
  }
  return r;
}

}  // namespace p2psip::reachability
