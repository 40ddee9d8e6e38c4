// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/aor.h"

#include <algorithm>

#include "scanner.h"

namespace p2psip::sip {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = detail::toLower(c);
  return out;
}
bool containsIgnoringCase(const std::vector<std::string>& set, std::string_view host) {
  return std::any_of(set.begin(), set.end(),
                     [&](const std::string& s) { return detail::iequals(s, host); });
}
}  // namespace

LocalDomains::LocalDomains(std::vector<std::string> domains, std::vector<std::string> ownHosts) {
  for (auto& d : domains) domains_.push_back(lower(d));
  for (auto& h : ownHosts) ownHosts_.push_back(lower(h));
  if (domains_.empty()) domains_.emplace_back("localhost");
}

bool LocalDomains::isDomain(std::string_view host) const {
  return containsIgnoringCase(domains_, host);
}

bool LocalDomains::isOwnHost(std::string_view host) const {
  return containsIgnoringCase(ownHosts_, host);
}

std::optional<std::string> LocalDomains::canonicalAor(const Uri& uri) const {
  if (!uri.isSip() || uri.user.empty()) return std::nullopt;
  std::string domain;
  if (isDomain(uri.host)) {
    domain = lower(uri.host);
  } else if (isOwnHost(uri.host)) {
    domain = defaultDomain();
  } else {
    return std::nullopt;
  }
  std::string aor = "sip:";
  aor += unescape(uri.user);
  aor += '@';
  aor += domain;
  return aor;
}

}  // namespace p2psip::sip

namespace p2psip::sip {

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return detail::iequals(a, b);
}

}  // namespace p2psip::sip
