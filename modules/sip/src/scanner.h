// SPDX-License-Identifier: Apache-2.0
// Character classes and small scanners for the RFC 3261 §25.1 grammar. Private to the sip module.
// Header values handed to these scanners have already been split into lines, so any CR or LF left
// inside a value is part of a fold (CRLF followed by WSP) and counts as linear white space.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace p2psip::sip::detail {

enum CharClass : std::uint16_t {
  kAlpha = 1 << 0,
  kDigit = 1 << 1,
  kTokenMark = 1 << 2,  // "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
  kWordExtra = 1 << 3,  // word adds "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" /
                        // "?" / "{" / "}"
  kUnreservedMark = 1 << 4,   // mark: "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
  kUserUnreserved = 1 << 5,   // "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
  kParamUnreserved = 1 << 6,  // "[" / "]" / "/" / ":" / "&" / "+" / "$"
  kHnvUnreserved = 1 << 7,    // "[" / "]" / "/" / "?" / ":" / "+" / "$"
  kPasswordExtra = 1 << 8,    // "&" / "=" / "+" / "$" / ","
  kWsp = 1 << 9,              // SP / HTAB (and CR / LF inside folded values)
  kHex = 1 << 10,
  kListSpecial = 1 << 11,  // what findListEnd must look at: comma, quote, angle brackets, backslash
  kUriForbidden = 1 << 12,   // never inside any URI: controls, SP, DEL, < > "
  kCallIdChar = 1 << 13,     // callid = word [ "@" word ]
  kParamValueEnd = 1 << 14,  // ends an unquoted parameter value: ";" "," "?" and LWS
};

constexpr std::array<std::uint16_t, 256> makeCharTable() {
  std::array<std::uint16_t, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] |= kAlpha;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] |= kAlpha;
  for (int c = '0'; c <= '9'; ++c) t[c] |= kDigit | kHex;
  for (int c = 'a'; c <= 'f'; ++c) t[c] |= kHex;
  for (int c = 'A'; c <= 'F'; ++c) t[c] |= kHex;
  for (unsigned char c : std::string_view("-.!%*_+`'~")) t[c] |= kTokenMark;
  for (unsigned char c : std::string_view("()<>:\\\"/[]?{}")) t[c] |= kWordExtra;
  for (unsigned char c : std::string_view("-_.!~*'()")) t[c] |= kUnreservedMark;
  for (unsigned char c : std::string_view("&=+$,;?/")) t[c] |= kUserUnreserved;
  for (unsigned char c : std::string_view("[]/:&+$")) t[c] |= kParamUnreserved;
  for (unsigned char c : std::string_view("[]/?:+$")) t[c] |= kHnvUnreserved;
  for (unsigned char c : std::string_view("&=+$,")) t[c] |= kPasswordExtra;
  for (unsigned char c : std::string_view(" \t\r\n")) t[c] |= kWsp;
  for (unsigned char c : std::string_view(",\"<>\\")) t[c] |= kListSpecial;
  for (int c = 0; c <= 0x20; ++c) t[c] |= kUriForbidden;
  for (int c = 0; c < 256; ++c) {
    if (t[c] & (kAlpha | kDigit | kTokenMark | kWordExtra)) t[c] |= kCallIdChar;
  }
  t['@'] |= kCallIdChar;
  for (unsigned char c : std::string_view(";,? \t\r\n")) t[c] |= kParamValueEnd;
  for (unsigned char c : std::string_view("\x7f<>\"")) t[c] |= kUriForbidden;
  return t;
}

inline constexpr std::array<std::uint16_t, 256> kChars = makeCharTable();

inline bool is(char c, std::uint16_t cls) {
  return (kChars[static_cast<unsigned char>(c)] & cls) != 0;
}
inline bool isAlpha(char c) {
  return is(c, kAlpha);
}
inline bool isDigit(char c) {
  return is(c, kDigit);
}
inline bool isHex(char c) {
  return is(c, kHex);
}
inline bool isAlnum(char c) {
  return is(c, kAlpha | kDigit);
}
inline bool isTokenChar(char c) {
  return is(c, kAlpha | kDigit | kTokenMark);
}
inline bool isWordChar(char c) {
  return is(c, kAlpha | kDigit | kTokenMark | kWordExtra);
}
inline bool isUnreserved(char c) {
  return is(c, kAlpha | kDigit | kUnreservedMark);
}
inline bool isWsp(char c) {
  return is(c, kWsp);
}

inline char toLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    // Equal, or differing only in the case bit of a letter.
    if (x != y && ((x ^ y) != 0x20 || !isAlpha(x))) return false;
  }
  return true;
}

// A cursor over a string_view. All scanners advance `pos` only on success.
struct Cursor {
  std::string_view s;
  std::size_t pos = 0;

  bool atEnd() const { return pos >= s.size(); }
  char peek() const { return pos < s.size() ? s[pos] : '\0'; }
  std::string_view rest() const { return s.substr(pos); }
  void skipLws() {
    while (pos < s.size() && isWsp(s[pos])) ++pos;
  }
  bool consume(char c) {
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  // Skips LWS, the character, LWS (SEMI, EQUAL, SLASH, COLON, COMMA of §25.1).
  bool consumeSeparator(char c) {
    std::size_t save = pos;
    skipLws();
    if (!consume(c)) {
      pos = save;
      return false;
    }
    skipLws();
    return true;
  }
  std::string_view token() {
    std::size_t start = pos;
    while (pos < s.size() && isTokenChar(s[pos])) ++pos;
    return s.substr(start, pos - start);
  }
  std::string_view digits() {
    std::size_t start = pos;
    while (pos < s.size() && isDigit(s[pos])) ++pos;
    return s.substr(start, pos - start);
  }
  // quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE. Returns the text with its quotes, or an
  // empty view (pos unchanged) when unterminated. quoted-pair may escape any octet but CR and LF.
  std::string_view quotedString() {
    if (peek() != '"') return {};
    std::size_t i = pos + 1;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        std::string_view out = s.substr(pos, i + 1 - pos);
        pos = i + 1;
        return out;
      }
      if (c == '\\') {
        if (i + 1 >= s.size() || s[i + 1] == '\r' || s[i + 1] == '\n') return {};
        i += 2;
        continue;
      }
      ++i;
    }
    return {};
  }
};

inline std::string_view trimLws(std::string_view v) {
  std::size_t b = 0, e = v.size();
  while (b < e && isWsp(v[b])) ++b;
  while (e > b && isWsp(v[e - 1])) --e;
  return v.substr(b, e - b);
}

// Parses a decimal without sign into `out`; false on empty, non-digits or overflow of `maximum`.
inline bool parseDecimal(std::string_view text, std::uint64_t maximum, std::uint64_t& out) {
  if (text.empty()) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (!isDigit(c)) return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v > maximum) return false;
  }
  out = v;
  return true;
}

}  // namespace p2psip::sip::detail

namespace p2psip::sip::detail {

// Index of the next top-level ',' in a header value at or after `from`, or s.size(). Commas in
// quoted strings and inside <...> do not separate list items (RFC 3261 §7.3.1).
inline std::size_t findListEnd(std::string_view s, std::size_t from) {
  bool inQuotes = false;
  int angle = 0;
  for (std::size_t i = from; i < s.size(); ++i) {
    if (!is(s[i], kListSpecial)) continue;  // most bytes are ordinary
    char c = s[i];
    if (inQuotes) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inQuotes = false;
    } else if (c == '"') {
      inQuotes = true;
    } else if (c == '<') {
      ++angle;
    } else if (c == '>') {
      if (angle > 0) --angle;
    } else if (c == ',' && angle == 0) {
      return i;
    }
  }
  return s.size();
}

// Calls f(item) for every comma-separated item, including empty ones, so that validators can
// reject ",," (RFC 4475 §3.1.2.1). An all-LWS value yields one empty item.
template <typename F>
bool forEachListItem(std::string_view s, F&& f) {
  // Most values hold one item: without any comma there is nothing to split (memchr is vectorised).
  if (std::memchr(s.data(), ',', s.size()) == nullptr) return f(trimLws(s));
  std::size_t start = 0;
  while (true) {
    std::size_t end = findListEnd(s, start);
    if (!f(trimLws(s.substr(start, end - start)))) return false;
    if (end >= s.size()) return true;
    start = end + 1;
  }
}

}  // namespace p2psip::sip::detail
