// SPDX-License-Identifier: Apache-2.0
// Private: the name-addr / addr-spec parser (RFC 3261 §20.10, §25.1) as a template that hands each
// header parameter to a visitor while validating it, so Contact can check expires and q in the
// same pass.
#pragma once

#include <string_view>

#include "generic_params.h"
#include "host.h"
#include "p2psip/sip/name_addr.h"
#include "scanner.h"

namespace p2psip::sip::detail {

// Parses into `na` (reset first); nullptr on success, else a phrase naming the problem. Writing
// in place spares copying a NameAddr (with its Uri) through several return values per header.
template <typename F>
const char* parseNameAddrInto(std::string_view text, NameAddr& na, F&& onParam) {
  na = NameAddr{};
  text = trimLws(text);
  na.text = text;
  if (text.empty()) return "empty address";
  Cursor c{text};
  if (c.peek() == '"') {
    na.displayName = c.quotedString();
    if (na.displayName.empty()) return "unterminated quoted display name";
    c.skipLws();
    if (c.peek() != '<') return "display name not followed by <URI>";
  } else if (c.peek() != '<') {
    // display-name = *(token LWS): scan tokens; if a '<' follows it is a name-addr (RFC 4475
    // §3.1.1.6 allows no LWS before '<'), otherwise the whole value is an addr-spec.
    std::size_t start = c.pos;
    std::size_t end = c.pos;
    while (true) {
      std::string_view t = c.token();
      if (t.empty()) break;
      end = c.pos;
      c.skipLws();
    }
    if (c.peek() == '<' && end > start) {
      na.displayName = text.substr(start, end - start);
    } else {
      c.pos = start;
    }
  }
  if (c.peek() == '<') {
    std::size_t close = text.find('>', c.pos);
    if (close == std::string_view::npos) return "missing '>' after URI";
    if (const char* problem = parseUriInto(text.substr(c.pos + 1, close - c.pos - 1), na.uri))
      return problem;
    na.angleBrackets = true;
    c.pos = close + 1;
  } else {
    // addr-spec: parameters after ';' belong to the header (RFC 3261 §20.10), so the URI ends at
    // the first ';' or white space; a URI with '?' or ',' must be in <> (RFC 4475 §3.1.2.13).
    std::size_t start = c.pos;
    while (!c.atEnd() && c.peek() != ';' && !isWsp(c.peek())) ++c.pos;
    std::string_view uriText = text.substr(start, c.pos - start);
    if (uriText.find_first_of("?,") != std::string_view::npos)
      return "URI with '?' or ',' must be enclosed in angle brackets";
    if (const char* problem = parseUriInto(uriText, na.uri)) return problem;
  }
  std::string_view params = c.rest();
  if (!forEachGenericParam(params, onParam)) return "malformed header parameters";
  na.params = ParamList(trimLws(params));
  return nullptr;
}

template <typename F>
Result<NameAddr> parseNameAddrVisitingParams(std::string_view text, F&& onParam) {
  NameAddr na;
  if (const char* problem = parseNameAddrInto(text, na, onParam))
    return makeError(ErrorCode::ParseError, problem);
  return na;
}

}  // namespace p2psip::sip::detail
