// SPDX-License-Identifier: Apache-2.0
// Private lexical helpers shared by the SDP field and attribute parsers: the character classes of
// the RFC 8866 §9 grammar, bounded decimal parsing, field splitting and error-message quoting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace p2psip::sdp::text {

constexpr bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool isAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool isHexDigit(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E (RFC 8866 §9).
constexpr bool isTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u <= 0x27) || u == 0x2A || u == 0x2B || u == 0x2D ||
         u == 0x2E || (u >= 0x30 && u <= 0x39) || (u >= 0x41 && u <= 0x5A) ||
         (u >= 0x5E && u <= 0x7E);
}

bool isToken(std::string_view s);

// Non-empty run of digits whose value is at most `maximum`. No sign, no whitespace; overflow
// is detected before it happens, so any length of input is safe.
std::optional<std::uint64_t> parseDecimal(std::string_view s, std::uint64_t maximum);

// Splits on runs of SP. RFC 8866 wants exactly one SP between fields, but trailing or doubled
// spaces are a common sloppiness of deployed phones and carry no meaning, so they are tolerated.
std::vector<std::string_view> splitFields(std::string_view s);

// Like splitFields but stops after `maxFields`; the last field then holds the rest of the text.
std::vector<std::string_view> splitFields(std::string_view s, std::size_t maxFields);

// Dotted-quad IPv4 literal (four decimal octets 0..255).
bool isIp4Literal(std::string_view s);
// RFC 4291 §2.2 text form, including "::" compression and an embedded IPv4 tail.
bool isIp6Literal(std::string_view s);
// FQDN = 4*(alpha-numeric / "-" / ".") in RFC 8866 §9; we accept any length from 1 but require a
// letter, so that a malformed IPv4 literal such as 300.1.1.1 is not mistaken for a host name.
bool isFqdn(std::string_view s);

// A short printable rendering of untrusted bytes for error details: at most 40 characters, with
// control and non-ASCII bytes shown as \xNN so that an error message never carries raw binary.
std::string quote(std::string_view s);

}  // namespace p2psip::sdp::text
