// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sdp/fields.h"

#include <string>

#include "sdp_text.h"

namespace p2psip::sdp {

std::string_view toString(AddressType type) {
  return type == AddressType::Ip4 ? "IP4" : "IP6";
}

std::optional<AddressType> ipLiteralType(std::string_view address) {
  if (text::isIp4Literal(address)) return AddressType::Ip4;
  if (text::isIp6Literal(address)) return AddressType::Ip6;
  return std::nullopt;
}

bool isUnspecifiedAddress(std::string_view address) {
  if (address == "0.0.0.0") return true;
  if (!text::isIp6Literal(address)) return false;
  // Every 16-bit group is zero: only '0', ':' and, for "::0.0.0.0", '.'.
  return address.find_first_not_of("0:.") == std::string_view::npos;
}

Result<Origin> parseOrigin(std::string_view value) {
  const auto f = text::splitFields(value);
  if (f.size() != 6) {
    return makeError(ErrorCode::ParseError,
                     "o= needs six fields '<username> <sess-id> <sess-version> <nettype> "
                     "<addrtype> <unicast-address>' (RFC 8866 §5.2), found " +
                         std::to_string(f.size()));
  }
  return Origin{f[0], f[1], f[2], f[3], f[4], f[5]};
}

namespace {

// <connection-address> without the multicast suffix, checked against <addrtype>.
bool isAddressOfType(std::string_view address, std::string_view addrType) {
  if (text::isFqdn(address)) return true;
  return addrType == "IP4" ? text::isIp4Literal(address) : text::isIp6Literal(address);
}

}  // namespace

Result<Connection> parseConnection(std::string_view value) {
  const auto f = text::splitFields(value);
  if (f.size() != 3) {
    return makeError(ErrorCode::ParseError,
                     "c= needs '<nettype> <addrtype> <connection-address>' (RFC 8866 §5.7)");
  }
  Connection c{f[0], f[1], f[2], std::nullopt, std::nullopt};
  if (c.netType != "IN") {
    return makeError(ErrorCode::ParseError, "c= nettype " + text::quote(c.netType) + " is not IN");
  }
  if (c.addrType != "IP4" && c.addrType != "IP6") {
    return makeError(ErrorCode::ParseError,
                     "c= addrtype " + text::quote(c.addrType) + " is not IP4 or IP6");
  }
  std::string_view suffix;
  if (const auto slash = c.address.find('/'); slash != std::string_view::npos) {
    suffix = c.address.substr(slash + 1);
    c.address = c.address.substr(0, slash);
  }
  if (!isAddressOfType(c.address, c.addrType)) {
    return makeError(ErrorCode::ParseError, "c= address " + text::quote(c.address) + " is not an " +
                                                std::string(c.addrType) + " address or host name");
  }
  if (f[2].size() != c.address.size()) {
    // RFC 8866 §5.7: IP4 multicast is <address>/<ttl>[/<number>], IP6 is <address>[/<number>].
    std::string_view count = suffix;
    if (c.addrType == "IP4") {
      const auto slash = suffix.find('/');
      const auto ttl = text::parseDecimal(suffix.substr(0, slash), 255);
      if (!ttl)
        return makeError(ErrorCode::ParseError, "c= TTL " + text::quote(suffix) + " is not 0..255");
      c.ttl = static_cast<std::uint8_t>(*ttl);
      count = slash == std::string_view::npos ? std::string_view{} : suffix.substr(slash + 1);
      if (slash == std::string_view::npos) return c;
    }
    const auto number = text::parseDecimal(count, UINT32_MAX);
    if (!number || *number == 0) {
      return makeError(ErrorCode::ParseError, "c= number of addresses " + text::quote(count) +
                                                  " is not a positive number");
    }
    c.numberOfAddresses = static_cast<std::uint32_t>(*number);
  }
  return c;
}

Result<Timing> parseTiming(std::string_view value) {
  const auto f = text::splitFields(value);
  if (f.size() != 2) {
    return makeError(ErrorCode::ParseError, "t= needs '<start-time> <stop-time>' (RFC 8866 §5.9)");
  }
  const auto start = text::parseDecimal(f[0], UINT64_MAX);
  const auto stop = text::parseDecimal(f[1], UINT64_MAX);
  if (!start || !stop) {
    return makeError(ErrorCode::ParseError, "t= times " + text::quote(value) + " are not decimal");
  }
  return Timing{*start, *stop};
}

Result<MediaField> parseMediaField(std::string_view value) {
  const auto f = text::splitFields(value);
  if (f.size() < 4) {
    return makeError(ErrorCode::ParseError,
                     "m= needs '<media> <port> <proto> <fmt> ...' with at least one format "
                     "(RFC 8866 §5.14)");
  }
  MediaField m;
  m.media = f[0];
  if (!text::isToken(m.media)) {
    return makeError(ErrorCode::ParseError, "m= media " + text::quote(m.media) + " is not a token");
  }
  std::string_view port = f[1];
  if (const auto slash = port.find('/'); slash != std::string_view::npos) {
    const auto count = text::parseDecimal(port.substr(slash + 1), UINT32_MAX);
    if (!count || *count == 0) {
      return makeError(ErrorCode::ParseError, "m= number of ports " +
                                                  text::quote(port.substr(slash + 1)) +
                                                  " is not a positive number");
    }
    m.numberOfPorts = static_cast<std::uint32_t>(*count);
    port = port.substr(0, slash);
  }
  const auto portNumber = text::parseDecimal(port, 65535);
  if (!portNumber) {
    return makeError(ErrorCode::ParseError,
                     "m= port " + text::quote(port) + " is not a number in 0..65535");
  }
  m.port = static_cast<std::uint16_t>(*portNumber);
  // proto = token *("/" token): '/' is not a token-char, so check each part.
  m.proto = f[2];
  for (std::size_t pos = 0;;) {
    const auto slash = m.proto.find('/', pos);
    if (!text::isToken(m.proto.substr(pos, slash - pos))) {
      return makeError(ErrorCode::ParseError,
                       "m= proto " + text::quote(m.proto) + " is not token *(\"/\" token)");
    }
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  m.formats.assign(f.begin() + 3, f.end());
  for (const auto format : m.formats) {
    if (!text::isToken(format)) {
      return makeError(ErrorCode::ParseError,
                       "m= format " + text::quote(format) + " is not a token");
    }
  }
  return m;
}

}  // namespace p2psip::sdp
