// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sdp/media_description.h"

#include <string>

#include "p2psip/sdp/session_description.h"
#include "sdp_text.h"

namespace p2psip::sdp {

std::optional<Connection> MediaDescription::connection() const {
  const auto index = session_->findLine(session_->mediaRange(index_), 'c');
  if (!index) return std::nullopt;
  auto connection = parseConnection(session_->line(*index).value);
  return connection ? std::optional<Connection>(*connection) : std::nullopt;
}

std::optional<Connection> MediaDescription::effectiveConnection() const {
  if (auto media = connection()) return media;
  return session_->connection();
}

std::optional<Attribute> MediaDescription::attribute(std::string_view name) const {
  return session_->findAttribute(session_->mediaRange(index_), name);
}

std::vector<Attribute> MediaDescription::attributes(std::string_view name) const {
  return session_->collectAttributes(session_->mediaRange(index_), name);
}

std::vector<Attribute> MediaDescription::attributes() const {
  return session_->collectAttributes(session_->mediaRange(index_), std::nullopt);
}

bool MediaDescription::hasAttribute(std::string_view name) const {
  return attribute(name).has_value();
}

std::optional<Attribute> MediaDescription::effectiveAttribute(std::string_view name) const {
  if (auto media = attribute(name)) return media;
  return session_->attribute(name);
}

namespace {

// Prefixes an attribute parse error with the line it came from.
Error atLine(std::size_t index, const Error& error) {
  return Error{error.code, "line " + std::to_string(index + 1) + ": " + error.detail};
}

}  // namespace

Result<std::vector<Rtpmap>> MediaDescription::rtpmaps() const {
  std::vector<Rtpmap> found;
  for (const auto i : session_->findAttributeLines(session_->mediaRange(index_), "rtpmap")) {
    auto rtpmap = parseRtpmap(splitAttribute(session_->line(i).value).value.value_or(""));
    if (!rtpmap) return tl::unexpected(atLine(i, rtpmap.error()));
    found.push_back(*rtpmap);
  }
  return found;
}

std::optional<Rtpmap> MediaDescription::rtpmap(std::uint8_t payloadType) const {
  for (const auto& attribute : attributes("rtpmap")) {
    auto rtpmap = parseRtpmap(attribute.value.value_or(""));
    if (rtpmap && rtpmap->payloadType == payloadType) return *rtpmap;
  }
  return std::nullopt;
}

Result<std::optional<Rtcp>> MediaDescription::rtcp() const {
  const auto lines = session_->findAttributeLines(session_->mediaRange(index_), "rtcp");
  if (lines.empty()) return std::optional<Rtcp>{};
  auto rtcp = parseRtcp(splitAttribute(session_->line(lines.front()).value).value.value_or(""));
  if (!rtcp) return tl::unexpected(atLine(lines.front(), rtcp.error()));
  return std::optional<Rtcp>(*rtcp);
}

Direction MediaDescription::direction() const {
  if (auto media = session_->findDirection(session_->mediaRange(index_))) return *media;
  return session_->direction();
}

std::optional<std::string_view> MediaDescription::iceUfrag() const {
  const auto attribute = effectiveAttribute("ice-ufrag");
  if (!attribute) return std::nullopt;
  return attribute->value.value_or(std::string_view{});
}

std::optional<std::string_view> MediaDescription::icePwd() const {
  const auto attribute = effectiveAttribute("ice-pwd");
  if (!attribute) return std::nullopt;
  return attribute->value.value_or(std::string_view{});
}

std::vector<std::string_view> MediaDescription::iceOptions() const {
  const auto attribute = effectiveAttribute("ice-options");
  if (!attribute || !attribute->value) return {};
  return text::splitFields(*attribute->value);
}

Result<std::vector<Candidate>> MediaDescription::candidates() const {
  std::vector<Candidate> found;
  for (const auto i : session_->findAttributeLines(session_->mediaRange(index_), "candidate")) {
    auto candidate = parseCandidate(splitAttribute(session_->line(i).value).value.value_or(""));
    if (!candidate) return tl::unexpected(atLine(i, candidate.error()));
    found.push_back(std::move(*candidate));
  }
  return found;
}

}  // namespace p2psip::sdp
