// SPDX-License-Identifier: Apache-2.0
// Parsing and reading of SessionDescription. Edits live in session_edit.cpp.
#include "p2psip/sdp/session_description.h"

#include <cstring>
#include <string>

#include "sdp_text.h"

namespace p2psip::sdp {

namespace {

std::string lineLabel(std::size_t index) {
  return "line " + std::to_string(index + 1) + ": ";
}

tl::unexpected<Error> lineError(std::size_t index, std::string detail) {
  return makeError(ErrorCode::ParseError, lineLabel(index) + detail);
}

std::string_view trimTrailingSpaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

// Splits text_ into lines_. Each line ends at LF; a CR right before the LF belongs to the line
// ending, which is how both CRLF (RFC 8866 §5) and the bare LF that many stacks send are
// accepted. Blank lines at the very end are left out of lines_ and stay in the text as a
// trailer, because some stacks end the body with an extra CRLF. Returns false as soon as more
// than `maxLines` lines are seen, so a hostile body costs at most that much work.
bool SessionDescription::index(std::size_t maxLines) {
  lines_.clear();
  mediaStarts_.clear();
  const char* data = text_.data();
  const std::size_t size = text_.size();
  std::size_t pos = 0;
  while (pos < size) {
    if (lines_.size() == maxLines) return false;
    const void* newline = std::memchr(data + pos, '\n', size - pos);
    std::size_t end =
        newline ? static_cast<std::size_t>(static_cast<const char*>(newline) - data) : size;
    const std::size_t next = newline ? end + 1 : size;
    std::uint8_t eol = newline ? 1 : 0;
    if (newline && end > pos && data[end - 1] == '\r') {
      --end;
      eol = 2;
    }
    lines_.push_back(LineRecord{pos, end - pos, eol});
    pos = next;
  }
  while (!lines_.empty() && lines_.back().length == 0) lines_.pop_back();
  for (std::size_t i = 0; i < lines_.size(); ++i) {
    if (lines_[i].length > 0 && data[lines_[i].offset] == 'm') mediaStarts_.push_back(i);
  }
  return true;
}

Result<SessionDescription> SessionDescription::parse(std::string text, const ParseLimits& limits) {
  if (text.size() > limits.maxBodySize) {
    return makeError(ErrorCode::LimitExceeded, "SDP body of " + std::to_string(text.size()) +
                                                   " bytes exceeds the limit of " +
                                                   std::to_string(limits.maxBodySize));
  }
  SessionDescription sdp;
  sdp.text_ = std::move(text);
  if (!sdp.index(limits.maxLines)) {
    return makeError(ErrorCode::LimitExceeded,
                     "SDP body has more than " + std::to_string(limits.maxLines) + " lines");
  }
  if (sdp.lines_.empty()) {
    return makeError(ErrorCode::ParseError,
                     "empty SDP body; the first line must be v=0 (RFC 8866 §5.1)");
  }
  if (sdp.mediaStarts_.size() > limits.maxMediaSections) {
    const auto line = sdp.mediaStarts_[limits.maxMediaSections];
    return makeError(ErrorCode::LimitExceeded, lineLabel(line) + "more than " +
                                                   std::to_string(limits.maxMediaSections) +
                                                   " media descriptions");
  }

  bool haveOrigin = false;
  bool haveName = false;
  bool haveTiming = false;
  bool inMedia = false;
  bool haveSessionConnection = false;
  for (std::size_t i = 0; i < sdp.lines_.size(); ++i) {
    const auto& record = sdp.lines_[i];
    if (record.length > limits.maxLineLength) {
      return makeError(ErrorCode::LimitExceeded,
                       lineLabel(i) + "length " + std::to_string(record.length) +
                           " exceeds the limit of " + std::to_string(limits.maxLineLength));
    }
    const std::string_view content(sdp.text_.data() + record.offset, record.length);
    if (content.empty()) return lineError(i, "empty line; blank lines may only end the body");
    if (content.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos) {
      return lineError(i, "contains a CR or NUL byte, which no SDP line may hold (RFC 8866 §9)");
    }
    if (content.size() < 2 || content[0] < 'a' || content[0] > 'z' || content[1] != '=') {
      return lineError(
          i, "expected '<type>=<value>' with a one-letter lowercase type (RFC 8866 §5), got " +
                 text::quote(content));
    }
    const char type = content[0];
    const std::string_view value = content.substr(2);
    if (i == 0) {
      if (type != 'v') {
        return lineError(i,
                         "the first line must be v=0 (RFC 8866 §5.1), got " + text::quote(content));
      }
      if (trimTrailingSpaces(value) != "0") {
        return lineError(i, "version " + text::quote(value) + " is not 0 (RFC 8866 §5.1)");
      }
      continue;
    }
    const std::string typeName{type, '='};
    switch (type) {
      case 'v':
        return lineError(i, "v= may only be the first line (RFC 8866 §5.1)");
      case 'o':
      case 's':
      case 't': {
        if (inMedia)
          return lineError(i, typeName + " is not allowed in a media description (RFC 8866 §5)");
        bool& seen = type == 'o' ? haveOrigin : type == 's' ? haveName : haveTiming;
        // Several time descriptions are legal (RFC 8866 §5.9); o= and s= appear once.
        if (seen && type != 't') return lineError(i, "second " + typeName + " line (RFC 8866 §5)");
        seen = true;
        if (type == 'o') {
          if (auto r = parseOrigin(value); !r) return lineError(i, r.error().detail);
        } else if (type == 't') {
          if (auto r = parseTiming(value); !r) return lineError(i, r.error().detail);
        }
        // s= may be empty: RFC 8866 §5.3 wants "s= " or "s=-", but empty s= is common (RFC 5118).
        break;
      }
      case 'c':
        if (!inMedia) {
          if (haveSessionConnection) {
            return lineError(i, "second session-level c= line (RFC 8866 §5.7 allows one)");
          }
          haveSessionConnection = true;
        }
        if (auto r = parseConnection(value); !r) return lineError(i, r.error().detail);
        break;
      case 'm':
        inMedia = true;
        if (auto r = parseMediaField(value); !r) return lineError(i, r.error().detail);
        break;
      default:
        // i=, u=, e=, p=, b=, r=, z=, k=, a= and unknown letters are carried byte-exact. RFC 8866
        // §5 tells a parser to ignore a description with an unknown type letter; we keep it so
        // that a relay passes it on unchanged and the endpoint decides.
        break;
    }
  }
  if (!haveOrigin) return makeError(ErrorCode::ParseError, "missing o= line (RFC 8866 §5.2)");
  if (!haveName) return makeError(ErrorCode::ParseError, "missing s= line (RFC 8866 §5.3)");
  if (!haveTiming) return makeError(ErrorCode::ParseError, "missing t= line (RFC 8866 §5.9)");
  return sdp;
}

SessionDescription::Line SessionDescription::line(std::size_t index) const {
  const auto& record = lines_.at(index);
  const std::string_view all(text_);
  return Line{text_[record.offset], all.substr(record.offset + 2, record.length - 2),
              all.substr(record.offset, record.length + record.eolLength)};
}

SessionDescription::LineRange SessionDescription::sessionRange() const {
  return LineRange{0, mediaStarts_.empty() ? lines_.size() : mediaStarts_.front()};
}

SessionDescription::LineRange SessionDescription::mediaRange(std::size_t media) const {
  const auto last = media + 1 < mediaStarts_.size() ? mediaStarts_[media + 1] : lines_.size();
  return LineRange{mediaStarts_.at(media), last};
}

Result<SessionDescription::LineRange> SessionDescription::rangeOf(Section section) const {
  if (section.isSession()) return sessionRange();
  if (section.mediaIndex() >= mediaStarts_.size()) {
    return makeError(ErrorCode::InvalidArgument,
                     "media index " + std::to_string(section.mediaIndex()) + " is out of range (" +
                         std::to_string(mediaStarts_.size()) + " media descriptions)");
  }
  return mediaRange(section.mediaIndex());
}

std::optional<std::size_t> SessionDescription::findLine(LineRange range, char type) const {
  for (auto i = range.first; i < range.last; ++i) {
    if (text_[lines_[i].offset] == type) return i;
  }
  return std::nullopt;
}

std::vector<std::size_t> SessionDescription::findAttributeLines(LineRange range,
                                                                std::string_view name) const {
  std::vector<std::size_t> found;
  for (auto i = range.first; i < range.last; ++i) {
    const auto l = line(i);
    if (l.type == 'a' && splitAttribute(l.value).name == name) found.push_back(i);
  }
  return found;
}

std::optional<Attribute> SessionDescription::findAttribute(LineRange range,
                                                           std::string_view name) const {
  for (auto i = range.first; i < range.last; ++i) {
    const auto l = line(i);
    if (l.type != 'a') continue;
    const auto attribute = splitAttribute(l.value);
    if (attribute.name == name) return attribute;
  }
  return std::nullopt;
}

std::vector<Attribute> SessionDescription::collectAttributes(
    LineRange range, std::optional<std::string_view> name) const {
  std::vector<Attribute> found;
  for (auto i = range.first; i < range.last; ++i) {
    const auto l = line(i);
    if (l.type != 'a') continue;
    const auto attribute = splitAttribute(l.value);
    if (!name || attribute.name == *name) found.push_back(attribute);
  }
  return found;
}

std::optional<Direction> SessionDescription::findDirection(LineRange range) const {
  for (auto i = range.first; i < range.last; ++i) {
    const auto l = line(i);
    if (l.type != 'a') continue;
    if (auto direction = directionFromAttributeName(l.value)) return direction;
  }
  return std::nullopt;
}

Origin SessionDescription::origin() const {
  // parse() guaranteed exactly one valid o= line in the session section.
  const auto index = findLine(sessionRange(), 'o');
  if (!index) return Origin{};
  return parseOrigin(line(*index).value).value_or(Origin{});
}

std::string_view SessionDescription::sessionName() const {
  const auto index = findLine(sessionRange(), 's');
  return index ? line(*index).value : std::string_view{};
}

std::optional<Connection> SessionDescription::connection() const {
  const auto index = findLine(sessionRange(), 'c');
  if (!index) return std::nullopt;
  auto connection = parseConnection(line(*index).value);
  return connection ? std::optional<Connection>(*connection) : std::nullopt;
}

std::vector<Timing> SessionDescription::timings() const {
  std::vector<Timing> found;
  const auto range = sessionRange();
  for (auto i = range.first; i < range.last; ++i) {
    const auto l = line(i);
    if (l.type != 't') continue;
    if (auto timing = parseTiming(l.value)) found.push_back(*timing);
  }
  return found;
}

std::optional<Attribute> SessionDescription::attribute(std::string_view name) const {
  return findAttribute(sessionRange(), name);
}

std::vector<Attribute> SessionDescription::attributes(std::string_view name) const {
  return collectAttributes(sessionRange(), name);
}

bool SessionDescription::hasAttribute(std::string_view name) const {
  return findAttribute(sessionRange(), name).has_value();
}

Direction SessionDescription::direction() const {
  return findDirection(sessionRange()).value_or(Direction::SendRecv);
}

MediaDescription SessionDescription::media(std::size_t index) const& {
  const auto start = mediaStarts_.at(index);
  // parse() and the edits keep every m= line valid, so this never falls back.
  auto field = parseMediaField(line(start).value);
  return MediaDescription(*this, index, field ? std::move(*field) : MediaField{});
}

std::vector<MediaDescription> SessionDescription::mediaDescriptions() const& {
  std::vector<MediaDescription> all;
  all.reserve(mediaStarts_.size());
  for (std::size_t i = 0; i < mediaStarts_.size(); ++i) all.push_back(media(i));
  return all;
}

}  // namespace p2psip::sdp
