// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/name_addr.h"

#include "name_addr_parser.h"
#include "scanner.h"

namespace p2psip::sip {

using namespace detail;

Result<NameAddr> parseNameAddr(std::string_view text) {
  return parseNameAddrVisitingParams(text, [](const Param&) { return true; });
}

Result<CheckedNameAddr> CheckedNameAddr::make(std::string_view text) {
  auto parsed = parseNameAddr(text);
  if (!parsed) return tl::unexpected(parsed.error());
  return CheckedNameAddr(std::string(parsed->text));
}

std::string NameAddr::displayNameText() const {
  std::string_view d = displayName;
  if (d.size() < 2 || d.front() != '"') return std::string(d);
  std::string out;
  for (std::size_t i = 1; i + 1 < d.size(); ++i) {
    if (d[i] == '\\' && i + 2 < d.size()) ++i;
    out += d[i];
  }
  return out;
}

}  // namespace p2psip::sip
