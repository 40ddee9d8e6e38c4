// SPDX-License-Identifier: Apache-2.0
// An SDP body (RFC 8866): parsed once and validated up front, read through typed accessors,
// edited line by line, and written back with every untouched line byte-exact.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/sdp/attributes.h"
#include "p2psip/sdp/fields.h"
#include "p2psip/sdp/media_description.h"
#include "p2psip/sdp/parse_limits.h"

namespace p2psip::sdp {

// Names the part of a description an edit applies to: the session-level section (everything
// before the first m= line) or media description `index` (RFC 8866 §5).
class Section {
 public:
  static constexpr Section session() { return Section(true, 0); }
  static constexpr Section media(std::size_t index) { return Section(false, index); }
  constexpr bool isSession() const { return session_; }
  constexpr std::size_t mediaIndex() const { return index_; }  // meaningful when !isSession()

 private:
  constexpr Section(bool session, std::size_t index) : session_(session), index_(index) {}
  bool session_;
  std::size_t index_;
};

// Owns one SDP body. The text is stored once; lines are kept as offsets into it (not views, so
// copies and moves stay valid), and accessors return views that live until the next edit.
// parse() checks every line's framing and the syntax of v=, o=, s=, t=, c= and m=; attributes are
// judged only when a typed accessor asks for them, so unknown or odd ones never fail a parse.
// Edits rewrite or insert only the lines they concern; serialize() copies the rest byte-exact.
// A value type with no shared state: not thread-safe, but instances are independent.
class SessionDescription {
 public:
  // One line: its type letter, the text after "<type>=", and the raw bytes including the line
  // ending ("\r\n", "\n", or none on a last line without one).
  struct Line {
    char type;
    std::string_view value;
    std::string_view raw;
  };

  // Validates `text` against RFC 8866 §5 and the limits. Errors are ParseError or LimitExceeded
  // with a detail that names the line number and the problem; untrusted bytes never throw.
  static Result<SessionDescription> parse(std::string text, const ParseLimits& limits = {});

  // The body as it now stands: the input byte-exact unless edited.
  const std::string& text() const { return text_; }
  std::string serialize() const { return text_; }

  std::size_t lineCount() const { return lines_.size(); }
  Line line(std::size_t index) const;  // index < lineCount()

  // Session-level fields (RFC 8866 §5.2-§5.9).
  Origin origin() const;
  std::string_view sessionName() const;
  std::optional<Connection> connection() const;  // session-level c= only
  std::vector<Timing> timings() const;           // at least one

  // Session-level attributes only, in line order.
  std::optional<Attribute> attribute(std::string_view name) const;  // the first one
  std::vector<Attribute> attributes(std::string_view name) const;
  bool hasAttribute(std::string_view name) const;
  // Session-level direction attribute, else sendrecv (RFC 8866 §6.7).
  Direction direction() const;

  // The views point into this object, so asking a temporary for them does not compile.
  std::size_t mediaCount() const { return mediaStarts_.size(); }
  MediaDescription media(std::size_t index) const&;  // index < mediaCount()
  MediaDescription media(std::size_t index) const&& = delete;
  std::vector<MediaDescription> mediaDescriptions() const&;
  std::vector<MediaDescription> mediaDescriptions() const&& = delete;

  // --- Edits. Each rewrites only the lines it names and leaves every other byte in place. New
  // lines take the line ending of their neighbours. Bad arguments give InvalidArgument and leave
  // the description unchanged. Views obtained earlier are invalidated.

  // Sets c=IN IP4|IP6 <address> for the section, with the address type taken from the literal.
  // Replaces the section's c= line (dropping further ones, which only multicast layering uses),
  // or inserts one where RFC 8866 §5 orders it: after m= and i= in a media section, before b=,
  // t=, k=, a= at the session level.
  Result<void> setConnectionAddress(Section section, std::string_view address);

  // Replaces the <port> of an m= line, keeping "/<number of ports>" and everything after it.
  Result<void> setPort(std::size_t media, std::uint16_t port);

  // Writes a=rtcp:<port>[ IN IP4|IP6 <address>] (RFC 3605), replacing the section's a=rtcp or
  // appending one at the end of the media section.
  Result<void> setRtcp(std::size_t media, std::uint16_t port,
                       std::optional<std::string_view> address = std::nullopt);

  // Writes the direction attribute of the section, replacing any there (RFC 8866 §6.7), or
  // appending it at the end of the section. Writes a=sendrecv explicitly too, so that it
  // overrides a session-level direction.
  Result<void> setDirection(Section section, Direction direction);

  // Removes every a=<name> line of the section (e.g. "candidate" to strip ICE candidates) and
  // returns how many were removed.
  Result<std::size_t> removeAttributes(Section section, std::string_view name);

  // Replaces every a=<name> line of the section by one line per value, placed where the first
  // old one was (or at the end of the section). An empty value writes a property attribute
  // "a=<name>". With no values this is removeAttributes().
  Result<void> replaceAttributes(Section section, std::string_view name,
                                 const std::vector<std::string_view>& values);

  // Appends a=<name>[:<value>] at the end of the section.
  Result<void> addAttribute(Section section, std::string_view name,
                            std::optional<std::string_view> value = std::nullopt);

 private:
  friend class MediaDescription;

  // Offsets rather than views so that a copied or moved description stays valid.
  struct LineRecord {
    std::size_t offset;      // of the type letter
    std::size_t length;      // without the line ending
    std::uint8_t eolLength;  // 2 for CRLF, 1 for LF, 0 for a last line without one
  };
  // Half-open range of line indexes.
  struct LineRange {
    std::size_t first;
    std::size_t last;
  };
  // Replace lines [first, first + count) by `lines` (each "<type>=<value>", no line ending).
  struct Splice {
    std::size_t first;
    std::size_t count;
    std::vector<std::string> lines;
  };

  SessionDescription() = default;
  bool index(std::size_t maxLines);
  Result<LineRange> rangeOf(Section section) const;
  LineRange sessionRange() const;
  LineRange mediaRange(std::size_t media) const;
  std::optional<std::size_t> findLine(LineRange range, char type) const;
  std::vector<std::size_t> findAttributeLines(LineRange range, std::string_view name) const;
  std::optional<Attribute> findAttribute(LineRange range, std::string_view name) const;
  // Every attribute of the range, or only those called `name`.
  std::vector<Attribute> collectAttributes(LineRange range,
                                           std::optional<std::string_view> name) const;
  std::optional<Direction> findDirection(LineRange range) const;
  std::string_view eolOf(std::size_t line) const;
  std::string_view preferredEol() const;
  std::string spliceText(const Splice& splice) const;
  void apply(std::vector<Splice> splices);
  // Replaces lines `existing` (the first rewritten as `line`, the others removed), or inserts
  // `line` before line `insertAt` when there are none.
  void replaceOrInsert(const std::vector<std::size_t>& existing, std::string line,
                       std::size_t insertAt);

  std::string text_;
  std::vector<LineRecord> lines_;
  std::vector<std::size_t> mediaStarts_;  // line index of each m= line
};

}  // namespace p2psip::sdp
