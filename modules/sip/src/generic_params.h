// SPDX-License-Identifier: Apache-2.0
// Private: *( SEMI generic-param ) after a header value (RFC 3261 §25.1), validated and visited in
// one pass, so that callers checking branch, received, expires or q need not walk the list again.
#pragma once

#include <string_view>

#include "p2psip/sip/params.h"
#include "scanner.h"

namespace p2psip::sip::detail {

// Walks `text`: empty or LWS only, or ";" token [ "=" gen-value ] repeated, with LWS allowed
// around ';' and '='; gen-value = token / host / quoted-string. Calls f(const Param&) for each and
// returns false on a syntax error (empty parameters such as ";;" included, RFC 4475 §3.1.2.1) or
// when f returns false.
template <typename F>
bool forEachGenericParam(std::string_view text, F&& f) {
  const std::size_t n = text.size();
  std::size_t i = 0;
  Param p;
  while (true) {
    while (i < n && isWsp(text[i])) ++i;
    if (i >= n) return true;
    if (text[i] != ';') return false;
    ++i;
    while (i < n && isWsp(text[i])) ++i;
    std::size_t nameStart = i;
    while (i < n && isTokenChar(text[i])) ++i;
    if (i == nameStart) return false;
    p.name = text.substr(nameStart, i - nameStart);
    p.value = {};
    p.hasValue = false;
    std::size_t save = i;
    while (i < n && isWsp(text[i])) ++i;
    if (i < n && text[i] == '=') {
      ++i;
      while (i < n && isWsp(text[i])) ++i;
      p.hasValue = true;
      if (i < n && text[i] == '"') {
        Cursor c{text, i};
        p.value = c.quotedString();
        if (p.value.empty()) return false;
        i = c.pos;
      } else {
        std::size_t valueStart = i;
        // token / host: host adds ':' '[' ']' for IPv6 references.
        while (i < n &&
               (isTokenChar(text[i]) || text[i] == ':' || text[i] == '[' || text[i] == ']'))
          ++i;
        if (i == valueStart) return false;
        p.value = text.substr(valueStart, i - valueStart);
      }
    } else {
      i = save;
    }
    if (!f(p)) return false;
  }
}

inline bool validGenericParams(std::string_view text) {
  return forEachGenericParam(text, [](const Param&) { return true; });
}

}  // namespace p2psip::sip::detail
