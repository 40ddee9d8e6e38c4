// SPDX-License-Identifier: Apache-2.0
#include "sdp_text.h"

#include <algorithm>

namespace p2psip::sdp::text {

bool isToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

std::optional<std::uint64_t> parseDecimal(std::string_view s, std::uint64_t maximum) {
  if (s.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (maximum - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::vector<std::string_view> splitFields(std::string_view s) {
  return splitFields(s, s.size() + 1);
}

std::vector<std::string_view> splitFields(std::string_view s, std::size_t maxFields) {
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (pos < s.size() && fields.size() < maxFields) {
    while (pos < s.size() && s[pos] == ' ') ++pos;
    if (pos == s.size()) break;
    std::size_t end = fields.size() + 1 == maxFields ? s.size() : s.find(' ', pos);
    if (end == std::string_view::npos) end = s.size();
    fields.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

bool isIp4Literal(std::string_view s) {
  int octets = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = s.find('.', pos);
    if (end == std::string_view::npos) end = s.size();
    const auto octet = s.substr(pos, end - pos);
    if (octet.size() > 3 || !parseDecimal(octet, 255)) return false;
    ++octets;
    if (end == s.size()) break;
    pos = end + 1;
  }
  return octets == 4;
}

namespace {

// Counts the 16-bit groups in a run of "h16:h16:..." (one side of a "::"). An IPv4 tail counts
// as two groups. Returns std::nullopt when the run is malformed.
std::optional<int> countIp6Groups(std::string_view part, bool allowIp4Tail) {
  if (part.empty()) return 0;
  int groups = 0;
  std::size_t pos = 0;
  while (true) {
    std::size_t end = part.find(':', pos);
    const bool last = end == std::string_view::npos;
    if (last) end = part.size();
    const auto piece = part.substr(pos, end - pos);
    if (last && allowIp4Tail && piece.find('.') != std::string_view::npos) {
      if (!isIp4Literal(piece)) return std::nullopt;
      groups += 2;
    } else {
      if (piece.empty() || piece.size() > 4 ||
          !std::all_of(piece.begin(), piece.end(), isHexDigit)) {
        return std::nullopt;
      }
      ++groups;
    }
    if (last) break;
    pos = end + 1;
  }
  return groups;
}

}  // namespace

bool isIp6Literal(std::string_view s) {
  if (s.size() < 2 || s.size() > 45) return false;
  const std::size_t compressed = s.find("::");
  if (compressed == std::string_view::npos) {
    const auto groups = countIp6Groups(s, true);
    return groups && *groups == 8;
  }
  if (s.find("::", compressed + 1) != std::string_view::npos) return false;
  const auto head = countIp6Groups(s.substr(0, compressed), false);
  const auto tail = countIp6Groups(s.substr(compressed + 2), true);
  return head && tail && *head + *tail <= 7;
}

bool isFqdn(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  bool letter = false;
  for (char c : s) {
    if (isAlpha(c)) {
      letter = true;
    } else if (!isDigit(c) && c != '-' && c != '.') {
      return false;
    }
  }
  return letter;
}

std::string quote(std::string_view s) {
  constexpr std::size_t kMaxShown = 40;
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x20 && u < 0x7f && u != '\\') {
      out += static_cast<char>(u);
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  if (s.size() > kMaxShown) out += "...";
  out += '\'';
  return out;
}

}  // namespace p2psip::sdp::text
