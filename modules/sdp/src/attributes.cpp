// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sdp/attributes.h"

#include <algorithm>
#include <string>

#include "sdp_text.h"

namespace p2psip::sdp {

namespace {

std::string_view trimTrailingSpaces(std::string_view s) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// The rest of `whole` starting at `part`, which must be a view into it.
std::string_view restFrom(std::string_view whole, std::string_view part) {
  return whole.substr(static_cast<std::size_t>(part.data() - whole.data()));
}

Result<std::uint16_t> parsePort(std::string_view s, std::string_view what) {
  const auto port = text::parseDecimal(s, 65535);
  if (!port) {
    return makeError(ErrorCode::ParseError,
                     std::string(what) + " " + text::quote(s) + " is not a number in 0..65535");
  }
  return static_cast<std::uint16_t>(*port);
}

// ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839 §5.1).
bool isIceChars(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return text::isAlpha(c) || text::isDigit(c) || c == '+' || c == '/';
  });
}

}  // namespace

Attribute splitAttribute(std::string_view lineValue) {
  const auto colon = lineValue.find(':');
  if (colon == std::string_view::npos) return Attribute{lineValue, std::nullopt};
  return Attribute{lineValue.substr(0, colon), lineValue.substr(colon + 1)};
}

std::string_view toString(Direction direction) {
  switch (direction) {
    case Direction::SendRecv:
      return "sendrecv";
    case Direction::SendOnly:
      return "sendonly";
    case Direction::RecvOnly:
      return "recvonly";
    case Direction::Inactive:
      return "inactive";
  }
  return "sendrecv";
}

std::optional<Direction> directionFromAttributeName(std::string_view name) {
  if (name == "sendrecv") return Direction::SendRecv;
  if (name == "sendonly") return Direction::SendOnly;
  if (name == "recvonly") return Direction::RecvOnly;
  if (name == "inactive") return Direction::Inactive;
  return std::nullopt;
}

Result<Rtpmap> parseRtpmap(std::string_view value) {
  const auto f = text::splitFields(value, 2);
  if (f.size() != 2) {
    return makeError(ErrorCode::ParseError,
                     "rtpmap needs '<payload type> <encoding name>/<clock rate>' (RFC 8866 §6.6)");
  }
  Rtpmap r;
  const auto pt = text::parseDecimal(f[0], 127);
  if (!pt) {
    return makeError(ErrorCode::ParseError,
                     "rtpmap payload type " + text::quote(f[0]) + " is not a number in 0..127");
  }
  r.payloadType = static_cast<std::uint8_t>(*pt);
  const auto encoding = trimTrailingSpaces(f[1]);
  const auto slash = encoding.find('/');
  r.encodingName = encoding.substr(0, slash);
  if (!text::isToken(r.encodingName) || slash == std::string_view::npos) {
    return makeError(ErrorCode::ParseError,
                     "rtpmap encoding " + text::quote(encoding) + " is not '<name>/<clock rate>'");
  }
  const auto rest = encoding.substr(slash + 1);
  const auto slash2 = rest.find('/');
  const auto clock = text::parseDecimal(rest.substr(0, slash2), UINT32_MAX);
  if (!clock) {
    return makeError(
        ErrorCode::ParseError,
        "rtpmap clock rate " + text::quote(rest.substr(0, slash2)) + " is not a number");
  }
  r.clockRate = static_cast<std::uint32_t>(*clock);
  if (slash2 != std::string_view::npos) {
    const auto channels = text::parseDecimal(rest.substr(slash2 + 1), UINT32_MAX);
    if (!channels) {
      return makeError(ErrorCode::ParseError, "rtpmap encoding parameters " +
                                                  text::quote(rest.substr(slash2 + 1)) +
                                                  " are not a channel count");
    }
    r.channels = static_cast<std::uint32_t>(*channels);
  }
  return r;
}

Result<Rtcp> parseRtcp(std::string_view value) {
  const auto f = text::splitFields(value);
  if (f.size() != 1 && f.size() != 4) {
    return makeError(
        ErrorCode::ParseError,
        "rtcp needs '<port> [<nettype> <addrtype> <connection-address>]' (RFC 3605 §2.1)");
  }
  Rtcp r;
  auto port = parsePort(f[0], "rtcp port");
  if (!port) return tl::unexpected(std::move(port.error()));
  r.port = *port;
  if (f.size() == 4) {
    auto connection = parseConnection(restFrom(value, f[1]));
    if (!connection) {
      return makeError(ErrorCode::ParseError, "rtcp address: " + connection.error().detail);
    }
    r.connection = *connection;
  }
  return r;
}

Result<Candidate> parseCandidate(std::string_view value) {
  const auto f = text::splitFields(value);
  if (f.size() < 8 || f[6] != "typ") {
    return makeError(ErrorCode::ParseError,
                     "candidate needs '<foundation> <component-id> <transport> <priority> "
                     "<connection-address> <port> typ <cand-type>' (RFC 8839 §5.1)");
  }
  if (f.size() % 2 != 0) {
    return makeError(ErrorCode::ParseError,
                     "candidate has an extension name without a value (RFC 8839 §5.1)");
  }
  Candidate c;
  c.foundation = f[0];
  if (c.foundation.size() > 32 || !isIceChars(c.foundation)) {
    return makeError(ErrorCode::ParseError,
                     "candidate foundation " + text::quote(f[0]) + " is not 1*32 ice-char");
  }
  const auto component = f[1].size() <= 3 ? text::parseDecimal(f[1], 256) : std::nullopt;
  if (!component || *component == 0) {
    return makeError(ErrorCode::ParseError,
                     "candidate component-id " + text::quote(f[1]) + " is not 1..256");
  }
  c.componentId = static_cast<std::uint16_t>(*component);
  c.transport = f[2];
  if (!text::isToken(c.transport)) {
    return makeError(ErrorCode::ParseError,
                     "candidate transport " + text::quote(f[2]) + " is not a token");
  }
  const auto priority = text::parseDecimal(f[3], UINT32_MAX);
  if (!priority) {
    return makeError(ErrorCode::ParseError,
                     "candidate priority " + text::quote(f[3]) + " is not a 32-bit number");
  }
  c.priority = static_cast<std::uint32_t>(*priority);
  c.address = f[4];
  if (!ipLiteralType(c.address) && !text::isFqdn(c.address)) {
    return makeError(ErrorCode::ParseError, "candidate address " + text::quote(f[4]) +
                                                " is not an IP address or host name");
  }
  auto port = parsePort(f[5], "candidate port");
  if (!port) return tl::unexpected(std::move(port.error()));
  c.port = *port;
  c.type = f[7];
  if (!text::isToken(c.type)) {
    return makeError(ErrorCode::ParseError,
                     "candidate type " + text::quote(f[7]) + " is not a token");
  }
  for (std::size_t i = 8; i + 1 < f.size(); i += 2) {
    if (f[i] == "raddr") {
      c.relatedAddress = f[i + 1];
    } else if (f[i] == "rport") {
      auto relatedPort = parsePort(f[i + 1], "candidate rport");
      if (!relatedPort) return tl::unexpected(std::move(relatedPort.error()));
      c.relatedPort = *relatedPort;
    } else {
      c.extensions.emplace_back(f[i], f[i + 1]);
    }
  }
  return c;
}

}  // namespace p2psip::sdp
