// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/params.h"

#include "scanner.h"

namespace p2psip::sip {

using detail::Cursor;

bool ParamList::next(std::string_view& rest, Param& out) {
  // generic-param (RFC 3261 §25.1): SEMI token [ EQUAL gen-value ], where SEMI and EQUAL allow LWS.
  Cursor c{rest};
  if (!c.consumeSeparator(';')) return false;
  out.name = c.token();
  out.value = {};
  out.hasValue = false;
  if (c.consumeSeparator('=')) {
    out.hasValue = true;
    if (c.peek() == '"') {
      out.value = c.quotedString();
    } else {
      std::size_t start = c.pos;
      while (!c.atEnd() && !detail::is(c.peek(), detail::kParamValueEnd)) ++c.pos;
      out.value = c.s.substr(start, c.pos - start);
    }
  }
  rest = c.rest();
  return !out.name.empty() || out.hasValue;
}

std::optional<std::string_view> ParamList::find(std::string_view name) const {
  std::optional<std::string_view> found;
  forEach([&](const Param& p) {
    if (detail::iequals(p.name, name)) {
      found = p.value;
      return false;
    }
    return true;
  });
  return found;
}

}  // namespace p2psip::sip
