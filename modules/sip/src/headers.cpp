// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/headers.h"

#include <cstring>

#include "generic_params.h"
#include "name_addr_parser.h"
#include "scanner.h"

namespace p2psip::sip {

using namespace detail;

namespace {
tl::unexpected<Error> headerError(const char* what) {
  return makeError(ErrorCode::ParseError, what);
}
}  // namespace

Result<CSeq> parseCSeq(std::string_view text) {
  // CSeq = 1*DIGIT LWS Method; the number is less than 2**31 (RFC 3261 §8.1.1.5, RFC 4475
  // §3.1.2.4).
  Cursor c{trimLws(text)};
  std::uint64_t n = 0;
  if (!parseDecimal(c.digits(), 0x7fffffffu, n))
    return headerError("CSeq number missing or above 2**31-1");
  std::size_t before = c.pos;
  c.skipLws();
  if (c.pos == before) return headerError("CSeq needs a space before the method");
  CSeq cseq;
  cseq.number = static_cast<std::uint32_t>(n);
  cseq.methodText = c.token();
  if (cseq.methodText.empty() || !c.atEnd()) return headerError("CSeq method is not a token");
  cseq.method = methodFromToken(cseq.methodText);
  return cseq;
}

Result<std::uint32_t> parseUnsigned(std::string_view text, std::uint32_t maximum) {
  std::uint64_t v = 0;
  if (!parseDecimal(trimLws(text), maximum, v)) return headerError("not a number in range");
  return static_cast<std::uint32_t>(v);
}

Result<ContactValue> parseContact(std::string_view text) {
  ContactValue cv;
  if (trimLws(text) == "*") {
    cv.star = true;
    return cv;
  }
  // One walk over the parameters validates them and checks the two the registrar interprets
  // (RFC 3261 §10.2.1.2).
  const char* problem = nullptr;
  const char* syntax = parseNameAddrInto(text, cv.address, [&](const Param& p) {
    std::uint64_t v = 0;
    if (p.name.size() == 7 && iequals(p.name, "expires") &&
        !parseDecimal(p.value, 0xffffffffu, v)) {
      problem = "Contact expires is not a number in range";
    } else if (p.name.size() == 1 && (p.name[0] | 0x20) == 'q' &&
               !ContactValue::qFromText(p.value)) {
      problem = "Contact q-value out of range";
    }
    return problem == nullptr;
  });
  if (problem) return headerError(problem);
  if (syntax) return headerError(syntax);
  return cv;
}

std::optional<std::uint32_t> ContactValue::expires() const {
  std::uint64_t v = 0;
  if (auto e = address.params.find("expires"); e && parseDecimal(*e, 0xffffffffu, v))
    return static_cast<std::uint32_t>(v);
  return std::nullopt;
}

std::optional<std::uint16_t> ContactValue::q() const {
  auto v = address.params.find("q");
  if (!v) return std::nullopt;
  return qFromText(*v);
}

std::optional<std::uint16_t> ContactValue::qFromText(std::string_view s) {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )   (RFC 3261 §25.1)
  if (s.empty() || s.size() > 5) return std::nullopt;
  if (s[0] != '0' && s[0] != '1') return std::nullopt;
  std::uint16_t result = static_cast<std::uint16_t>((s[0] - '0') * 1000);
  if (s.size() > 1) {
    if (s[1] != '.') return std::nullopt;
    std::uint16_t scale = 100;
    for (std::size_t i = 2; i < s.size(); ++i, scale /= 10) {
      if (!isDigit(s[i])) return std::nullopt;
      result = static_cast<std::uint16_t>(result + (s[i] - '0') * scale);
    }
  }
  if (result > 1000) return std::nullopt;
  return result;
}

Result<MediaType> parseMediaType(std::string_view text) {
  Cursor c{trimLws(text)};
  MediaType mt;
  mt.type = c.token();
  if (mt.type.empty() || !c.consumeSeparator('/'))
    return headerError("media type needs type/subtype");
  mt.subtype = c.token();
  if (mt.subtype.empty()) return headerError("media type needs type/subtype");
  std::string_view params = c.rest();
  if (!validGenericParams(params)) return headerError("malformed media type parameters");
  mt.params = ParamList(trimLws(params));
  return mt;
}

namespace {

// Walks auth-params: name EQUAL ( token / quoted-string ), separated by COMMA (RFC 3261 §25.1).
// Some schemes (RFC 4475 §3.3.7 uses an unknown one) carry a token68-like blob; accept any
// printable text there as long as quotes balance.
template <typename F>
bool forEachAuthParam(std::string_view text, F&& f) {
  Cursor c{text};
  while (true) {
    c.skipLws();
    if (c.atEnd()) return true;
    std::string_view name = c.token();
    if (name.empty()) return false;
    if (!c.consumeSeparator('=')) return false;
    std::string_view value;
    if (c.peek() == '"') {
      value = c.quotedString();
      if (value.empty()) return false;
      value = value.substr(1, value.size() - 2);
    } else {
      std::size_t start = c.pos;
      while (!c.atEnd() && c.peek() != ',' && !isWsp(c.peek())) ++c.pos;
      value = c.s.substr(start, c.pos - start);
    }
    if (!f(name, value)) return true;
    c.skipLws();
    if (c.atEnd()) return true;
    if (!c.consume(',')) return false;
  }
}

}  // namespace

Result<AuthParams> parseAuthParams(std::string_view text) {
  Cursor c{trimLws(text)};
  AuthParams ap;
  ap.scheme = c.token();
  if (ap.scheme.empty()) return headerError("missing authentication scheme");
  c.skipLws();
  ap.paramsText = c.rest();
  if (!forEachAuthParam(ap.paramsText, [](std::string_view, std::string_view) { return true; }))
    return headerError("malformed authentication parameters");
  return ap;
}

Result<AuthParams> parseAuthenticationInfo(std::string_view text) {
  AuthParams ap;
  ap.paramsText = trimLws(text);
  if (ap.paramsText.empty() ||
      !forEachAuthParam(ap.paramsText, [](std::string_view, std::string_view) { return true; }))
    return headerError("malformed Authentication-Info parameters");
  return ap;
}

std::optional<std::string_view> AuthParams::find(std::string_view name) const {
  std::optional<std::string_view> found;
  forEachAuthParam(paramsText, [&](std::string_view n, std::string_view v) {
    if (iequals(n, name)) {
      found = v;
      return false;
    }
    return true;
  });
  return found;
}

Result<EventValue> parseEvent(std::string_view text) {
  Cursor c{trimLws(text)};
  EventValue ev;
  ev.type = c.token();
  if (ev.type.empty()) return headerError("missing event type");
  std::string_view params = c.rest();
  if (!validGenericParams(params)) return headerError("malformed Event parameters");
  ev.params = ParamList(trimLws(params));
  return ev;
}

Result<SubscriptionStateValue> parseSubscriptionState(std::string_view text) {
  Cursor c{trimLws(text)};
  SubscriptionStateValue sv;
  sv.state = c.token();
  if (sv.state.empty()) return headerError("missing subscription state");
  std::string_view params = c.rest();
  if (!validGenericParams(params)) return headerError("malformed Subscription-State parameters");
  sv.params = ParamList(trimLws(params));
  return sv;
}

std::optional<std::uint32_t> SubscriptionStateValue::expires() const {
  std::uint64_t v = 0;
  if (auto e = params.find("expires"); e && parseDecimal(*e, 0xffffffffu, v))
    return static_cast<std::uint32_t>(v);
  return std::nullopt;
}

Result<RetryAfterValue> parseRetryAfter(std::string_view text) {
  Cursor c{trimLws(text)};
  RetryAfterValue rv;
  std::uint64_t v = 0;
  if (!parseDecimal(c.digits(), 0xffffffffu, v))
    return headerError("Retry-After is not a number in range");
  rv.seconds = static_cast<std::uint32_t>(v);
  c.skipLws();
  if (c.peek() == '(') {
    // comment = LPAREN *(ctext / quoted-pair / comment) RPAREN, nesting allowed.
    std::size_t start = c.pos;
    int depth = 0;
    do {
      char ch = c.peek();
      if (c.atEnd()) return headerError("unterminated Retry-After comment");
      if (ch == '\\')
        ++c.pos;
      else if (ch == '(')
        ++depth;
      else if (ch == ')')
        --depth;
      ++c.pos;
    } while (depth > 0);
    rv.comment = c.s.substr(start, c.pos - start);
  }
  std::string_view params = c.rest();
  if (!validGenericParams(params)) return headerError("malformed Retry-After parameters");
  rv.params = ParamList(trimLws(params));
  return rv;
}

Result<WarningValue> parseWarning(std::string_view text) {
  // warning-value = warn-code SP warn-agent SP warn-text; warn-code = 3DIGIT (RFC 4475 §3.1.2.5).
  Cursor c{trimLws(text)};
  WarningValue w;
  std::string_view code = c.digits();
  std::uint64_t v = 0;
  if (code.size() != 3 || !parseDecimal(code, 999, v))
    return headerError("Warning code is not three digits");
  w.code = static_cast<std::uint16_t>(v);
  if (!c.consume(' ')) return headerError("malformed Warning");
  std::size_t start = c.pos;
  while (!c.atEnd() && c.peek() != ' ') ++c.pos;
  w.agent = c.s.substr(start, c.pos - start);
  if (w.agent.empty() || !c.consume(' ')) return headerError("malformed Warning agent");
  w.text = c.quotedString();
  if (w.text.empty() || !c.atEnd()) return headerError("Warning text is not a quoted string");
  return w;
}

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  for (char ch : text) {
    if (!isTokenChar(ch)) return false;
  }
  return true;
}

bool isValidSipDate(std::string_view text) {
  // rfc1123-date = wkday "," SP date1 SP time SP "GMT"   e.g. "Sat, 13 Nov 2010 23:29:00 GMT"
  text = trimLws(text);
  if (text.size() != 29) return false;
  static constexpr const char* kDays = "Mon,Tue,Wed,Thu,Fri,Sat,Sun,";
  static constexpr const char* kMonths = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec ";
  auto inList = [](std::string_view item, const char* list, std::size_t stride) {
    for (std::size_t i = 0; list[i] != '\0'; i += stride) {
      if (std::string_view(list + i, 3) == item) return true;
    }
    return false;
  };
  auto digits = [&](std::size_t pos, std::size_t n) {
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (!isDigit(text[i])) return false;
    }
    return true;
  };
  return inList(text.substr(0, 3), kDays, 4) && text.substr(3, 2) == ", " && digits(5, 2) &&
         text[7] == ' ' && inList(text.substr(8, 3), kMonths, 4) && text[11] == ' ' &&
         digits(12, 4) && text[16] == ' ' && digits(17, 2) && text[19] == ':' && digits(20, 2) &&
         text[22] == ':' && digits(23, 2) && text.substr(25) == " GMT";
}

}  // namespace p2psip::sip
