// SPDX-License-Identifier: Apache-2.0
// Typed values of the SDP fields the stack reads (RFC 8866 §5): o=, c=, t= and m=. Each parse
// function takes the text after "<type>=" and returns views into it, so a value is valid as long
// as the text it was parsed from.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"

namespace p2psip::sdp {

// <addrtype> of c=, o= and a=rtcp for the Internet network type (RFC 8866 §8.2.6).
enum class AddressType : std::uint8_t { Ip4, Ip6 };

std::string_view toString(AddressType type);  // "IP4" or "IP6"

// Ip4 for a dotted-quad literal, Ip6 for an RFC 4291 text literal, std::nullopt otherwise (host
// names, garbage). Used by edits to pick the <addrtype> that goes with a new address.
std::optional<AddressType> ipLiteralType(std::string_view address);

// 0.0.0.0 or the IPv6 unspecified address. RFC 2543 signalled hold with c=IN IP4 0.0.0.0 and
// RFC 3264 §8.4 still asks answerers to understand it, so a relay must not rewrite it.
bool isUnspecifiedAddress(std::string_view address);

// o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> (RFC 8866 §5.2).
// Liberal: the six fields must be present and free of spaces, but sess-id and sess-version are
// not required to be numeric and nettype/addrtype are not checked, because the origin is only an
// identifier and deployed phones put odd values there.
struct Origin {
  std::string_view username;
  std::string_view sessionId;
  std::string_view sessionVersion;
  std::string_view netType;
  std::string_view addrType;
  std::string_view unicastAddress;
};
Result<Origin> parseOrigin(std::string_view value);

// c=<nettype> <addrtype> <connection-address> (RFC 8866 §5.7). nettype must be IN and addrtype
// IP4 or IP6; the address is a literal of that family or a host name. A multicast suffix
// (/<ttl>[/<number of addresses>] for IP4, /<number of addresses> for IP6) is split off.
struct Connection {
  std::string_view netType;
  std::string_view addrType;
  std::string_view address;  // without the multicast suffix
  std::optional<std::uint8_t> ttl;
  std::optional<std::uint32_t> numberOfAddresses;
};
Result<Connection> parseConnection(std::string_view value);

// t=<start-time> <stop-time> (RFC 8866 §5.9): decimal NTP seconds, 0 meaning unbounded.
struct Timing {
  std::uint64_t startTime = 0;
  std::uint64_t stopTime = 0;
};
Result<Timing> parseTiming(std::string_view value);

// m=<media> <port>[/<number of ports>] <proto> <fmt> ... (RFC 8866 §5.14). Port 0 marks a
// rejected or disabled stream (RFC 3264 §6, §8.2).
struct MediaField {
  std::string_view media;  // "audio", "video", "application", ...
  std::uint16_t port = 0;
  std::optional<std::uint32_t> numberOfPorts;
  std::string_view proto;                 // "RTP/AVP", "UDP/TLS/RTP/SAVPF", ...
  std::vector<std::string_view> formats;  // at least one
};
Result<MediaField> parseMediaField(std::string_view value);

}  // namespace p2psip::sdp
