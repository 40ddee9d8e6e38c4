// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the sdp module. Properties checked on every input that parses:
//  1. serialize() gives back the input byte-exact, and the output parses to the same text;
//  2. every typed accessor runs without crashing (its errors are values);
//  3. a port edit changes exactly one line and keeps the line count;
//  4. a relay-style series of edits yields a description that parses again to the same text.
// Inputs that do not parse must fail with a non-empty error detail.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "p2psip/sdp/session_description.h"

namespace {

using p2psip::sdp::Direction;
using p2psip::sdp::ParseLimits;
using p2psip::sdp::Section;
using p2psip::sdp::SessionDescription;

void check(bool condition) {
  if (!condition) std::abort();
}

// Bounds big enough that edits, which may lengthen lines, never trip them on re-parse.
ParseLimits generousLimits() {
  return ParseLimits{.maxBodySize = 1u << 24,
                     .maxLines = 1u << 20,
                     .maxMediaSections = 1u << 16,
                     .maxLineLength = 1u << 24};
}

void readEverything(const SessionDescription& sdp) {
  (void)sdp.origin();
  (void)sdp.sessionName();
  (void)sdp.connection();
  check(!sdp.timings().empty());
  (void)sdp.direction();
  (void)sdp.attributes("group");
  for (std::size_t i = 0; i < sdp.lineCount(); ++i) check(sdp.line(i).raw.size() >= 2);
  for (const auto& media : sdp.mediaDescriptions()) {
    check(!media.formats().empty());
    (void)media.connection();
    (void)media.effectiveConnection();
    (void)media.attributes();
    (void)media.rtpmaps();
    (void)media.rtpmap(0);
    (void)media.rtcp();
    (void)media.rtcpMux();
    (void)media.direction();
    (void)media.iceUfrag();
    (void)media.icePwd();
    (void)media.iceOptions();
    (void)media.candidates();
  }
}

void checkPortEditTouchesOneLine(const SessionDescription& original, std::uint16_t port) {
  if (original.mediaCount() == 0) return;
  const std::size_t media = original.mediaCount() - 1;
  SessionDescription edited = original;
  check(edited.setPort(media, port).has_value());
  check(edited.lineCount() == original.lineCount());
  std::size_t changed = 0;
  for (std::size_t i = 0; i < original.lineCount(); ++i) {
    if (edited.line(i).raw != original.line(i).raw) ++changed;
  }
  check(changed == (original.media(media).port() == port ? 0u : 1u));
  check(edited.media(media).port() == port);
}

void checkRelayEditsReparse(SessionDescription sdp, std::uint16_t port) {
  check(sdp.setConnectionAddress(Section::session(), "203.0.113.1").has_value());
  check(sdp.setDirection(Section::session(), Direction::SendRecv).has_value());
  for (std::size_t i = 0; i < sdp.mediaCount(); ++i) {
    check(sdp.setPort(i, port).has_value());
    if (sdp.media(i).connection()) {
      check(sdp.setConnectionAddress(Section::media(i), "2001:db8::1").has_value());
    }
    check(sdp.setRtcp(i, static_cast<std::uint16_t>(port + 1), "203.0.113.1").has_value());
    check(sdp.setDirection(Section::media(i), Direction::SendOnly).has_value());
    check(sdp.removeAttributes(Section::media(i), "candidate").has_value());
    check(sdp.replaceAttributes(Section::media(i), "ice-ufrag", {"relay"}).has_value());
    check(sdp.addAttribute(Section::media(i), "rtcp-mux").has_value());
    check(sdp.media(i).port() == port);
    check(sdp.media(i).direction() == Direction::SendOnly);
  }
  const auto again = SessionDescription::parse(sdp.serialize(), generousLimits());
  check(again.has_value());
  check(again->serialize() == sdp.serialize());
  check(again->mediaCount() == sdp.mediaCount());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  auto parsed = SessionDescription::parse(input);
  if (!parsed) {
    check(!parsed.error().detail.empty());
    return 0;
  }
  const std::string output = parsed->serialize();
  check(output == input);
  const auto again = SessionDescription::parse(output);
  check(again.has_value() && again->serialize() == output);

  readEverything(*parsed);
  const auto port = static_cast<std::uint16_t>(size * 2654435761u);
  checkPortEditTouchesOneLine(*parsed, port);
  checkRelayEditsReparse(std::move(*parsed), port);
  return 0;
}
