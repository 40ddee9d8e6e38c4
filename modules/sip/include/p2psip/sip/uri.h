// SPDX-License-Identifier: Apache-2.0
// SIP, SIPS (RFC 3261 §19.1) and TEL (RFC 3966) URIs, plus any other absoluteURI kept opaque.
// A Uri is a set of views into text that the caller keeps alive (normally a sip::Message).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/params.h"

namespace p2psip::sip {

enum class UriScheme : std::uint8_t { Sip, Sips, Tel, Other };

enum class HostKind : std::uint8_t { None, Name, Ipv4, Ipv6 };

struct Uri {
  std::string_view text;  // the whole URI as written
  UriScheme scheme = UriScheme::Other;
  std::string_view schemeText;  // as written, e.g. "sip", "SIP", "soap.beep"
  // sip/sips: the userinfo user part, still %-escaped (may contain ';' per RFC 3261
  // user-unreserved) tel: the telephone-subscriber number.   other: empty.
  std::string_view user;
  std::string_view password;  // sip/sips only, still escaped
  std::string_view host;      // IPv6 references without the brackets
  HostKind hostKind = HostKind::None;
  std::optional<std::uint16_t> port;
  ParamList params;          // uri-parameters (sip/sips) or tel parameters
  std::string_view headers;  // after '?', without it, still escaped (sip/sips only)
  std::string_view opaque;   // other schemes: everything after "scheme:"

  bool isSip() const { return scheme == UriScheme::Sip || scheme == UriScheme::Sips; }
  std::optional<std::string_view> param(std::string_view name) const { return params.find(name); }
  // "host" or "[v6]" and ":port" when present, as used in Via sent-by and Request-URIs.
  std::string hostPort() const;
};

// Parses a URI. SIP/SIPS/TEL are fully validated (including IPv4 and IPv6 literals, RFC 5118);
// any other scheme only needs RFC 3986 scheme syntax and printable characters.
Result<Uri> parseUri(std::string_view text);

// RFC 3261 §19.1.4 equivalence for SIP/SIPS URIs: scheme, user and password compare
// case-sensitively after unescaping; host case-insensitively; the parameters user, ttl, method,
// maddr and transport must match when present in either; other parameters only when in both;
// headers must match. TEL URIs compare their global numbers with visual separators removed.
// Other schemes compare byte-exact.
bool equivalent(const Uri& a, const Uri& b);

// %HH unescaping. Invalid escapes are kept literally (RFC 3261 §25 leaves them undefined).
std::string unescape(std::string_view text);

// True for a valid IPv4 dotted quad / IPv6 address (RFC 4291 §2.2 text forms, no brackets).
bool isIpv4Address(std::string_view text);
bool isIpv6Address(std::string_view text);

}  // namespace p2psip::sip
