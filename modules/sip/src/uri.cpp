// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/uri.h"

#include <arpa/inet.h>

#include <cstring>

#include "host.h"
#include "scanner.h"

namespace p2psip::sip {

using namespace detail;

namespace {

tl::unexpected<Error> uriError(const char* what) {
  return makeError(ErrorCode::ParseError, what);
}

// escaped = "%" HEXDIG HEXDIG; returns the length consumed at s[i] (0 if not an escape).
std::size_t escapeAt(std::string_view s, std::size_t i) {
  return (s[i] == '%' && i + 2 < s.size() && isHex(s[i + 1]) && isHex(s[i + 2])) ? 3 : 0;
}

// Every character of `s` is in `classes` or is an escape.
bool allOf(std::string_view s, std::uint16_t classes) {
  for (std::size_t i = 0; i < s.size();) {
    if (is(s[i], classes)) {
      ++i;
    } else if (std::size_t n = escapeAt(s, i)) {
      i += n;
    } else {
      return false;
    }
  }
  return true;
}

bool isHostname(std::string_view h) {
  // hostname = *( domainlabel "." ) toplabel [ "." ]; toplabel starts with ALPHA (RFC 3261 §25.1).
  if (h.empty() || h.size() > 255) return false;
  if (h.back() == '.') h.remove_suffix(1);
  if (h.empty()) return false;
  std::size_t labelStart = 0;
  std::size_t lastLabelStart = 0;
  for (std::size_t i = 0; i <= h.size(); ++i) {
    if (i == h.size() || h[i] == '.') {
      std::string_view label = h.substr(labelStart, i - labelStart);
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      lastLabelStart = labelStart;
      labelStart = i + 1;
      continue;
    }
    if (!isAlnum(h[i]) && h[i] != '-' && h[i] != '_') return false;
  }
  return isAlpha(h[lastLabelStart]);
}

}  // namespace

// host = hostname / IPv4address / IPv6reference. Sets kind and the host without brackets.
bool detail::parseHost(std::string_view text, std::string_view& host, HostKind& kind) {
  if (!text.empty() && text.front() == '[') {
    if (text.size() < 3 || text.back() != ']') return false;
    host = text.substr(1, text.size() - 2);
    kind = HostKind::Ipv6;
    return isIpv6Address(host);
  }
  host = text;
  // A hostname's top label starts with a letter, so a digit there means an IPv4 literal.
  std::string_view top = text;
  if (!top.empty() && top.back() == '.') top.remove_suffix(1);
  std::size_t dot = top.rfind('.');
  top = dot == std::string_view::npos ? top : top.substr(dot + 1);
  if (!top.empty() && isDigit(top.front())) {
    kind = HostKind::Ipv4;
    return isIpv4Address(text);
  }
  kind = HostKind::Name;
  return isHostname(text);
}

namespace {

// hostport = host [ ":" port ] with IPv6 references in brackets (RFC 5118 §4.3/4.4).
bool parseHostPort(std::string_view text, Uri& uri) {
  std::string_view hostText = text;
  std::string_view portText;
  bool hasPort = false;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return false;
    hostText = text.substr(0, close + 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      portText = text.substr(close + 2);
      hasPort = true;
    }
  } else if (std::size_t colon = text.find(':'); colon != std::string_view::npos) {
    hostText = text.substr(0, colon);
    portText = text.substr(colon + 1);
    hasPort = true;
  }
  if (!parseHost(hostText, uri.host, uri.hostKind)) return false;
  if (hasPort) {
    std::uint64_t port = 0;
    if (!parseDecimal(portText, 65535, port)) return false;
    uri.port = static_cast<std::uint16_t>(port);
  }
  return true;
}

bool validUriParams(std::string_view raw) {
  // uri-parameters = *( ";" pname [ "=" pvalue ] ), paramchar = param-unreserved / unreserved /
  // escaped. No LWS inside a URI. Empty names are rejected (RFC 4475 §3.1.2.1 style ";;").
  std::size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != ';') return false;
    std::size_t end = raw.find(';', i + 1);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view p = raw.substr(i + 1, end - i - 1);
    std::size_t eq = p.find('=');
    std::string_view name = p.substr(0, eq);
    if (name.empty() || !allOf(name, kAlpha | kDigit | kUnreservedMark | kParamUnreserved))
      return false;
    if (eq != std::string_view::npos) {
      std::string_view value = p.substr(eq + 1);
      if (value.empty() || !allOf(value, kAlpha | kDigit | kUnreservedMark | kParamUnreserved))
        return false;
    }
    i = end;
  }
  return true;
}

bool validUriHeaders(std::string_view raw) {
  // headers = header *( "&" header ); header = hname "=" hvalue (hvalue may be empty).
  if (raw.empty()) return false;
  std::size_t i = 0;
  while (i <= raw.size()) {
    std::size_t end = raw.find('&', i);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view h = raw.substr(i, end - i);
    std::size_t eq = h.find('=');
    if (eq == std::string_view::npos || eq == 0) return false;
    if (!allOf(h.substr(0, eq), kAlpha | kDigit | kUnreservedMark | kHnvUnreserved)) return false;
    if (!allOf(h.substr(eq + 1), kAlpha | kDigit | kUnreservedMark | kHnvUnreserved)) return false;
    i = end + 1;
  }
  return true;
}

const char* parseSipUri(Uri& uri, std::string_view rest) {
  // SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]   (RFC 3261 §19.1.1)
  // '@' may appear only once, ending the userinfo: user and password may contain '?' and ';'
  // (user-unreserved, RFC 4475 §3.1.1.2 and §3.1.1.9), so split there before anything else.
  std::size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    std::size_t colon = userinfo.find(':');
    uri.user = userinfo.substr(0, colon);
    if (colon != std::string_view::npos) {
      uri.password = userinfo.substr(colon + 1);
      if (!allOf(uri.password, kAlpha | kDigit | kUnreservedMark | kPasswordExtra))
        return "invalid character in URI password";
    }
    if (uri.user.empty()) return "empty user part in URI";
    if (!allOf(uri.user, kAlpha | kDigit | kUnreservedMark | kUserUnreserved))
      return "invalid character in URI user part";
    rest = rest.substr(at + 1);
  }
  std::size_t q = rest.find('?');
  if (q != std::string_view::npos) {
    uri.headers = rest.substr(q + 1);
    if (!validUriHeaders(uri.headers)) return "malformed URI headers";
    rest = rest.substr(0, q);
  }
  std::size_t semi = rest.find(';');
  std::string_view hostport = rest.substr(0, semi);
  if (semi != std::string_view::npos) {
    std::string_view params = rest.substr(semi);
    if (!validUriParams(params)) return "malformed URI parameters";
    uri.params = ParamList(params);
  }
  if (!parseHostPort(hostport, uri)) return "invalid host or port in URI";
  return nullptr;
}

const char* parseTelUri(Uri& uri, std::string_view rest) {
  // telephone-subscriber (RFC 3966 §3), checked loosely: digits, hex, visual separators, * # +.
  std::size_t semi = rest.find(';');
  uri.user = rest.substr(0, semi);
  if (uri.user.empty()) return "empty tel number";
  for (char c : uri.user) {
    if (!isHex(c) && std::strchr("*#+-.()pPwW", c) == nullptr)
      return "invalid character in tel number";
  }
  if (semi != std::string_view::npos) {
    std::string_view params = rest.substr(semi);
    if (!validUriParams(params)) return "malformed tel parameters";
    uri.params = ParamList(params);
  }
  return nullptr;
}

bool ieq(std::string_view a, std::string_view b) {
  return iequals(a, b);
}

// Compares two escaped strings for equality after unescaping, without allocating.
bool equalUnescaped(std::string_view a, std::string_view b, bool caseInsensitive) {
  std::size_t i = 0, j = 0;
  auto nextChar = [](std::string_view s, std::size_t& k) -> char {
    if (std::size_t n = escapeAt(s, k)) {
      auto hex = [](char h) {
        return static_cast<int>(isDigit(h) ? h - '0' : toLower(h) - 'a' + 10);
      };
      char c = static_cast<char>(hex(s[k + 1]) * 16 + hex(s[k + 2]));
      k += n;
      return c;
    }
    return s[k++];
  };
  while (i < a.size() && j < b.size()) {
    char ca = nextChar(a, i);
    char cb = nextChar(b, j);
    if (caseInsensitive ? toLower(ca) != toLower(cb) : ca != cb) return false;
  }
  return i == a.size() && j == b.size();
}

}  // namespace

bool isIpv4Address(std::string_view text) {
  // dotted quad with 1-3 digit octets <= 255 (RFC 3261 §25.1 IPv4address).
  int parts = 0;
  std::size_t i = 0;
  while (true) {
    std::size_t start = i;
    std::uint64_t v = 0;
    while (i < text.size() && isDigit(text[i]) && i - start < 3)
      v = v * 10 + static_cast<std::uint64_t>(text[i++] - '0');
    if (i == start || v > 255) return false;
    ++parts;
    if (i == text.size()) return parts == 4;
    if (text[i] != '.' || parts == 4) return false;
    ++i;
  }
}

bool isIpv6Address(std::string_view text) {
  // RFC 4291 §2.2 text forms. inet_pton is a pure function; it rejects the RFC 3261 ABNF's
  // three-colon bug (RFC 5118 §4.10). It needs a terminated copy, bounded by the longest form.
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return false;
  for (char c : text) {
    if (!isHex(c) && c != ':' && c != '.') return false;
  }
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  unsigned char out[16];
  return inet_pton(AF_INET6, buf, out) == 1;
}

const char* detail::parseUriInto(std::string_view text, Uri& uri) {
  uri = Uri{};
  uri.text = text;
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )  (RFC 3986 §3.1)
  std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !isAlpha(text[0]))
    return "URI has no scheme";
  uri.schemeText = text.substr(0, colon);
  for (char c : uri.schemeText) {
    if (!isAlnum(c) && c != '+' && c != '-' && c != '.') return "invalid character in URI scheme";
  }
  std::string_view rest = text.substr(colon + 1);
  if (rest.empty()) return "URI is empty after the scheme";
  if (ieq(uri.schemeText, "sip")) {
    uri.scheme = UriScheme::Sip;
    return parseSipUri(uri, rest);
  }
  if (ieq(uri.schemeText, "sips")) {
    uri.scheme = UriScheme::Sips;
    return parseSipUri(uri, rest);
  }
  if (ieq(uri.schemeText, "tel")) {
    uri.scheme = UriScheme::Tel;
    return parseTelUri(uri, rest);
  }
  // SIP and TEL validate every character above; an opaque URI still may not contain white space,
  // controls, quotes or angle brackets (RFC 4475 §3.1.2.7/3.1.2.8).
  for (char c : rest) {
    if (is(c, kUriForbidden)) return "invalid character in URI";
  }
  uri.scheme = UriScheme::Other;
  uri.opaque = rest;
  return nullptr;
}

Result<Uri> parseUri(std::string_view text) {
  Uri uri;
  if (const char* problem = detail::parseUriInto(text, uri)) return uriError(problem);
  return uri;
}

std::string Uri::hostPort() const {
  std::string out;
  if (hostKind == HostKind::Ipv6) {
    out.reserve(host.size() + 8);
    out += '[';
    out += host;
    out += ']';
  } else {
    out = host;
  }
  if (port) {
    out += ':';
    out += std::to_string(*port);
  }
  return out;
}

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (escapeAt(text, i)) {
      auto hex = [](char h) { return isDigit(h) ? h - '0' : toLower(h) - 'a' + 10; };
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 3;
    } else {
      out += text[i++];
    }
  }
  return out;
}

namespace {

bool paramsEquivalent(const ParamList& a, const ParamList& b) {
  // §19.1.4: user, ttl, method, maddr and transport must match if present in either URI; any
  // other parameter appearing in both must match; a parameter in only one is ignored.
  static constexpr std::string_view kMustMatch[] = {"user", "ttl", "method", "maddr", "transport"};
  for (auto name : kMustMatch) {
    auto va = a.find(name);
    auto vb = b.find(name);
    if (va.has_value() != vb.has_value()) return false;
    if (va && !equalUnescaped(*va, *vb, true)) return false;
  }
  bool ok = true;
  a.forEach([&](const Param& pa) {
    auto vb = b.find(pa.name);
    if (vb && !equalUnescaped(pa.value, *vb, true)) ok = false;
    return ok;
  });
  return ok;
}

bool headersEquivalent(std::string_view a, std::string_view b) {
  // §19.1.4: header components are never ignored; each header in one must be in the other.
  auto contains = [](std::string_view set, std::string_view h) {
    std::size_t eq = h.find('=');
    std::size_t i = 0;
    while (i <= set.size()) {
      std::size_t end = set.find('&', i);
      if (end == std::string_view::npos) end = set.size();
      std::string_view x = set.substr(i, end - i);
      std::size_t xeq = x.find('=');
      if (equalUnescaped(x.substr(0, xeq), h.substr(0, eq), true) &&
          equalUnescaped(x.substr(xeq + 1), h.substr(eq + 1), false))
        return true;
      i = end + 1;
    }
    return false;
  };
  auto subset = [&](std::string_view x, std::string_view y) {
    if (x.empty()) return true;
    std::size_t i = 0;
    while (i <= x.size()) {
      std::size_t end = x.find('&', i);
      if (end == std::string_view::npos) end = x.size();
      if (!contains(y, x.substr(i, end - i))) return false;
      i = end + 1;
    }
    return true;
  };
  return subset(a, b) && subset(b, a);
}

std::string telDigits(std::string_view n) {
  std::string out;
  for (char c : n) {
    if (c != '-' && c != '.' && c != '(' && c != ')') out += toLower(c);
  }
  return out;
}

}  // namespace

bool equivalent(const Uri& a, const Uri& b) {
  if (a.scheme != b.scheme) return false;
  if (a.scheme == UriScheme::Other) return a.text == b.text;
  if (a.scheme == UriScheme::Tel) {
    return telDigits(a.user) == telDigits(b.user) && paramsEquivalent(a.params, b.params);
  }
  if (!equalUnescaped(a.user, b.user, false)) return false;
  if (!equalUnescaped(a.password, b.password, false)) return false;
  if (!ieq(a.host, b.host)) return false;
  if (a.port != b.port) return false;  // an explicit default port is not equivalent (§19.1.4)
  if (!paramsEquivalent(a.params, b.params)) return false;
  return headersEquivalent(a.headers, b.headers);
}

}  // namespace p2psip::sip
