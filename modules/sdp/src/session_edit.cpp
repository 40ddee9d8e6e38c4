// SPDX-License-Identifier: Apache-2.0
// Edits of SessionDescription. Every edit is expressed as splices of whole lines and applied in
// one pass over the text, so the bytes of every line it does not name are copied unchanged.
#include "p2psip/sdp/session_description.h"

#include <algorithm>
#include <limits>
#include <string>

#include "sdp_text.h"

namespace p2psip::sdp {

namespace {

Result<void> checkAttributeName(std::string_view name) {
  if (!text::isToken(name)) {
    return makeError(ErrorCode::InvalidArgument,
                     "attribute name " + text::quote(name) + " is not a token (RFC 8866 §5.13)");
  }
  return {};
}

// A value must not be able to end the line early or smuggle in a new one.
Result<void> checkAttributeValue(std::string_view value) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
    return makeError(ErrorCode::InvalidArgument,
                     "attribute value " + text::quote(value) + " contains CR, LF or NUL");
  }
  return {};
}

Result<AddressType> checkAddress(std::string_view address) {
  const auto type = ipLiteralType(address);
  if (!type) {
    return makeError(ErrorCode::InvalidArgument,
                     "address " + text::quote(address) + " is not an IPv4 or IPv6 literal");
  }
  return *type;
}

std::string attributeLine(std::string_view name, std::optional<std::string_view> value) {
  std::string line = "a=";
  line += name;
  if (value && !value->empty()) {
    line += ':';
    line += *value;
  }
  return line;
}

}  // namespace

std::string_view SessionDescription::eolOf(std::size_t line) const {
  const auto& record = lines_[line];
  return std::string_view(text_).substr(record.offset + record.length, record.eolLength);
}

// The ending the body itself uses, judged by its first line; CRLF as RFC 8866 §5 prescribes when
// the body is a single line without one.
std::string_view SessionDescription::preferredEol() const {
  const auto eol = eolOf(0);
  return eol.empty() ? std::string_view("\r\n") : eol;
}

std::string SessionDescription::spliceText(const Splice& splice) const {
  std::string out;
  if (splice.count > 0) {
    // A replacement keeps the ending of the lines it replaces; the last replaced line's ending
    // (possibly none, at the end of the body) goes after the last new line.
    const auto firstEol = eolOf(splice.first);
    const auto separator = firstEol.empty() ? preferredEol() : firstEol;
    const auto tailEol = eolOf(splice.first + splice.count - 1);
    for (std::size_t k = 0; k < splice.lines.size(); ++k) {
      out += splice.lines[k];
      out += k + 1 < splice.lines.size() ? separator : tailEol;
    }
  } else if (splice.first < lines_.size()) {
    // An insertion before a line ends like the line before it.
    const auto previous = splice.first > 0 ? eolOf(splice.first - 1) : std::string_view{};
    const auto eol = previous.empty() ? preferredEol() : previous;
    for (const auto& line : splice.lines) {
      out += line;
      out += eol;
    }
  } else {
    // Appending after the last line. If that line has no ending, it gains one and the new last
    // line goes without, so the body keeps its shape.
    const auto lastEol = eolOf(lines_.size() - 1);
    for (const auto& line : splice.lines) {
      if (lastEol.empty()) out += preferredEol();
      out += line;
      out += lastEol;
    }
  }
  return out;
}

void SessionDescription::apply(std::vector<Splice> splices) {
  std::sort(splices.begin(), splices.end(),
            [](const Splice& a, const Splice& b) { return a.first < b.first; });
  const auto lineEnd = [this](std::size_t i) {
    return lines_[i].offset + lines_[i].length + lines_[i].eolLength;
  };
  std::string out;
  out.reserve(text_.size() + 128);
  std::size_t cursor = 0;
  for (const auto& splice : splices) {
    std::size_t begin = 0;
    if (splice.first < lines_.size()) {
      begin = lines_[splice.first].offset;
    } else {
      // After the last line and before any trailing blank lines.
      begin = lineEnd(lines_.size() - 1);
    }
    out.append(text_, cursor, begin - cursor);
    out += spliceText(splice);
    cursor = splice.count > 0 ? lineEnd(splice.first + splice.count - 1) : begin;
  }
  out.append(text_, cursor, std::string::npos);
  text_ = std::move(out);
  // The new lines are validated and contain no line breaks, so re-indexing cannot fail.
  index(std::numeric_limits<std::size_t>::max());
}

void SessionDescription::replaceOrInsert(const std::vector<std::size_t>& existing, std::string line,
                                         std::size_t insertAt) {
  std::vector<Splice> splices;
  if (existing.empty()) {
    splices.push_back(Splice{insertAt, 0, {std::move(line)}});
  } else {
    splices.push_back(Splice{existing.front(), 1, {std::move(line)}});
    for (std::size_t k = 1; k < existing.size(); ++k) splices.push_back(Splice{existing[k], 1, {}});
  }
  apply(std::move(splices));
}

Result<void> SessionDescription::setConnectionAddress(Section section, std::string_view address) {
  const auto range = rangeOf(section);
  if (!range) return tl::unexpected(range.error());
  const auto type = checkAddress(address);
  if (!type) return tl::unexpected(type.error());

  std::vector<std::size_t> existing;
  for (auto i = range->first; i < range->last; ++i) {
    if (text_[lines_[i].offset] == 'c') existing.push_back(i);
  }
  // RFC 8866 §5 field order: media level is m= i= c= b= k= a=; session level is
  // v= o= s= i= u= e= p= c= b= t= r= z= k= a=. Insert c= before the first field that follows it.
  std::size_t insertAt = range->first;
  const std::string_view after = section.isSession() ? "btrzkam" : "bka";
  if (!section.isSession()) ++insertAt;  // past m=
  while (insertAt < range->last &&
         after.find(text_[lines_[insertAt].offset]) == std::string_view::npos) {
    ++insertAt;
  }
  std::string line = "c=IN ";
  line += toString(*type);
  line += ' ';
  line += address;
  replaceOrInsert(existing, std::move(line), insertAt);
  return {};
}

Result<void> SessionDescription::setPort(std::size_t media, std::uint16_t port) {
  const auto range = rangeOf(Section::media(media));
  if (!range) return tl::unexpected(range.error());
  const auto value = line(range->first).value;
  const auto fields = text::splitFields(value, 3);
  // parse() validated the m= line, so fields[1] is "<port>[/<number of ports>]".
  const auto portStart = static_cast<std::size_t>(fields[1].data() - value.data());
  const auto portEnd = portStart + std::min(fields[1].find('/'), fields[1].size());
  std::string newLine = "m=";
  newLine += value.substr(0, portStart);
  newLine += std::to_string(port);
  newLine += value.substr(portEnd);
  apply({Splice{range->first, 1, {std::move(newLine)}}});
  return {};
}

Result<void> SessionDescription::setRtcp(std::size_t media, std::uint16_t port,
                                         std::optional<std::string_view> address) {
  const auto range = rangeOf(Section::media(media));
  if (!range) return tl::unexpected(range.error());
  std::string value = std::to_string(port);
  if (address) {
    const auto type = checkAddress(*address);
    if (!type) return tl::unexpected(type.error());
    value += " IN ";
    value += toString(*type);
    value += ' ';
    value += *address;
  }
  replaceOrInsert(findAttributeLines(*range, "rtcp"), attributeLine("rtcp", value), range->last);
  return {};
}

Result<void> SessionDescription::setDirection(Section section, Direction direction) {
  const auto range = rangeOf(section);
  if (!range) return tl::unexpected(range.error());
  std::vector<std::size_t> existing;
  for (auto i = range->first; i < range->last; ++i) {
    const auto l = line(i);
    if (l.type == 'a' && directionFromAttributeName(l.value)) existing.push_back(i);
  }
  replaceOrInsert(existing, attributeLine(toString(direction), std::nullopt), range->last);
  return {};
}

Result<std::size_t> SessionDescription::removeAttributes(Section section, std::string_view name) {
  const auto range = rangeOf(section);
  if (!range) return tl::unexpected(range.error());
  if (auto ok = checkAttributeName(name); !ok) return tl::unexpected(ok.error());
  const auto existing = findAttributeLines(*range, name);
  if (existing.empty()) return 0;
  std::vector<Splice> splices;
  for (const auto i : existing) splices.push_back(Splice{i, 1, {}});
  apply(std::move(splices));
  return existing.size();
}

Result<void> SessionDescription::replaceAttributes(Section section, std::string_view name,
                                                   const std::vector<std::string_view>& values) {
  const auto range = rangeOf(section);
  if (!range) return tl::unexpected(range.error());
  if (auto ok = checkAttributeName(name); !ok) return tl::unexpected(ok.error());
  std::vector<std::string> newLines;
  for (const auto value : values) {
    if (auto ok = checkAttributeValue(value); !ok) return tl::unexpected(ok.error());
    newLines.push_back(attributeLine(name, value));
  }
  const auto existing = findAttributeLines(*range, name);
  std::vector<Splice> splices;
  if (existing.empty()) {
    if (newLines.empty()) return {};
    splices.push_back(Splice{range->last, 0, std::move(newLines)});
  } else {
    splices.push_back(Splice{existing.front(), 1, std::move(newLines)});
    for (std::size_t k = 1; k < existing.size(); ++k) splices.push_back(Splice{existing[k], 1, {}});
  }
  apply(std::move(splices));
  return {};
}

Result<void> SessionDescription::addAttribute(Section section, std::string_view name,
                                              std::optional<std::string_view> value) {
  const auto range = rangeOf(section);
  if (!range) return tl::unexpected(range.error());
  if (auto ok = checkAttributeName(name); !ok) return tl::unexpected(ok.error());
  if (value) {
    if (auto ok = checkAttributeValue(*value); !ok) return tl::unexpected(ok.error());
  }
  apply({Splice{range->last, 0, {attributeLine(name, value)}}});
  return {};
}

}  // namespace p2psip::sdp
