// SPDX-License-Identifier: Apache-2.0
#include "media_lines.h"

#include <array>
#include <string_view>

namespace p2psip::anchor {
namespace {

// RFC 3551 §6, table 4 and 5: the static payload types whose clock rate is not 8000.
std::uint32_t staticClockRate(std::string_view format, std::string_view media) {
  if (format == "10" || format == "11") return 44100;  // L16
  if (format == "14") return 90000;                    // MPA
  if (format == "6") return 16000;                     // DVI4/16000
  if (format == "16") return 11025;                    // DVI4/11025
  if (format == "17") return 22050;                    // DVI4/22050
  if (media == "video") return 90000;                  // every RFC 3551 video type (25-34)
  return 8000;
}

std::uint32_t clockRateOf(const sdp::MediaDescription& m) {
  if (m.formats().empty()) return 8000;
  const std::string_view first = m.formats().front();
  unsigned value = 0;
  bool numeric = !first.empty() && first.size() <= 3;
  for (char ch : first) {
    if (ch < '0' || ch > '9') {
      numeric = false;
      break;
    }
    value = value * 10 + static_cast<unsigned>(ch - '0');
  }
  if (numeric && value <= 127) {
    if (auto map = m.rtpmap(static_cast<std::uint8_t>(value)); map && map->clockRate != 0) {
      return map->clockRate;
    }
  }
  return staticClockRate(first, m.media());
}

// RFC 8839 §5: the attributes that make a receiver try candidates around the relay.
constexpr std::array<std::string_view, 6> kIceAttributes{
    "candidate", "remote-candidates", "ice-ufrag", "ice-pwd", "ice-options", "end-of-candidates"};

// "<IP literal> <port>", port 1-65535.
std::optional<net::Endpoint> parseFallback(std::string_view value) {
  const auto space = value.find(' ');
  if (space == std::string_view::npos || space + 1 >= value.size()) return std::nullopt;
  asio::error_code ec;
  const auto address = asio::ip::make_address(std::string(value.substr(0, space)), ec);
  if (ec) return std::nullopt;
  const std::string_view portText = value.substr(space + 1);
  if (portText.size() > 5) return std::nullopt;
  unsigned port = 0;
  for (char ch : portText) {
    if (ch < '0' || ch > '9') return std::nullopt;
    port = port * 10 + static_cast<unsigned>(ch - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return net::Endpoint{address, static_cast<std::uint16_t>(port)};
}

}  // namespace

Result<std::vector<MediaLine>> readMediaLines(const sdp::SessionDescription& description,
                                              std::size_t maxLines) {
  if (description.mediaCount() > maxLines) {
    return makeError(ErrorCode::InvalidArgument, "SDP has " +
                                                     std::to_string(description.mediaCount()) +
                                                     " m= lines, more than the relay anchors (" +
                                                     std::to_string(maxLines) + ")");
  }
  std::vector<MediaLine> lines;
  lines.reserve(description.mediaCount());
  for (std::size_t i = 0; i < description.mediaCount(); ++i) {
    const auto m = description.media(i);
    MediaLine line;
    line.media = std::string(m.media());
    line.clockRate = clockRateOf(m);
    if (m.isRejected()) {
      line.rejected = true;
      lines.push_back(std::move(line));
      continue;
    }
    const auto connection = m.effectiveConnection();
    if (!connection) {
      return makeError(ErrorCode::ParseError,
                       "SDP m= line " + std::to_string(i + 1) + " has no c= address");
    }
    if (sdp::isUnspecifiedAddress(connection->address)) {
      line.hold = true;
      lines.push_back(std::move(line));
      continue;
    }
    asio::error_code ec;
    const auto address = asio::ip::make_address(std::string(connection->address), ec);
    if (ec) {
      return makeError(
          ErrorCode::ParseError,
          "SDP c= address '" + std::string(connection->address) + "' is not an IP literal");
    }
    line.remote = net::Endpoint{address, m.port()};
    if (auto attribute = m.attribute(kFallbackAttribute)) {
      line.fallback = attribute->value ? parseFallback(*attribute->value) : std::nullopt;
      line.fallbackMalformed = !line.fallback || line.fallback->address.is_v6() != address.is_v6();
      if (line.fallbackMalformed) line.fallback.reset();
    }
    lines.push_back(std::move(line));
  }
  return lines;
}

Result<void> pointAtRelay(sdp::SessionDescription& description,
                          const std::vector<std::optional<net::Endpoint>>& relay,
                          const std::vector<MediaLine>& lines) {
  if (relay.size() != description.mediaCount() || lines.size() != relay.size()) {
    return makeError(ErrorCode::InvalidArgument, "one relay endpoint per m= line is needed");
  }
  auto removeIce = [&](sdp::Section section) -> Result<void> {
    for (auto name : kIceAttributes) {
      if (auto removed = description.removeAttributes(section, name); !removed) {
        return tl::unexpected(removed.error());
      }
    }
    return {};
  };
  std::optional<std::string> firstAddress;
  for (std::size_t i = 0; i < relay.size(); ++i) {
    if (!relay[i]) continue;
    const std::string address = net::addressToString(relay[i]->address);
    if (!firstAddress) firstAddress = address;
    const auto section = sdp::Section::media(i);
    if (auto ok = description.setConnectionAddress(section, lines[i].hold ? "0.0.0.0" : address);
        !ok) {
      return ok;
    }
    if (auto ok = description.setPort(i, relay[i]->port); !ok) return ok;
    if (description.media(i).hasAttribute("rtcp")) {
      if (auto ok = description.setRtcp(i, static_cast<std::uint16_t>(relay[i]->port + 1)); !ok) {
        return ok;
      }
    }
    if (auto ok = removeIce(section); !ok) return ok;
  }
  if (auto ok = removeIce(sdp::Section::session()); !ok) return ok;
  if (firstAddress && description.connection()) {
    return description.setConnectionAddress(sdp::Section::session(), *firstAddress);
  }
  return {};
}

}  // namespace p2psip::anchor
