// SPDX-License-Identifier: Apache-2.0
// Typed values of the a= attributes a media relay reads: rtpmap (RFC 8866 §6.6), the direction
// attributes (RFC 8866 §6.7), rtcp (RFC 3605) and ICE candidate (RFC 8839 §5.1). Each parse
// function takes the attribute value (the text after "a=<name>:") and returns views into it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/sdp/fields.h"

namespace p2psip::sdp {

// a=<attribute-name>[:<attribute-value>] (RFC 8866 §5.13). A property attribute has no value.
struct Attribute {
  std::string_view name;
  std::optional<std::string_view> value;
};

// Splits the text after "a=" at the first ':'. Never fails: attribute lines the stack does not
// understand are carried byte-exact, so their syntax is not judged.
Attribute splitAttribute(std::string_view lineValue);

// RFC 8866 §6.7. SendRecv is the default when no direction attribute is present.
enum class Direction : std::uint8_t { SendRecv, SendOnly, RecvOnly, Inactive };

std::string_view toString(Direction direction);  // the attribute name: "sendrecv", ...
std::optional<Direction> directionFromAttributeName(std::string_view name);

// a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>] (RFC 8866 §6.6).
// For audio the encoding parameters are the channel count, the only use RFC 8866 defines.
struct Rtpmap {
  std::uint8_t payloadType = 0;  // 0..127 (RFC 3550 §5.1: seven bits)
  std::string_view encodingName;
  std::uint32_t clockRate = 0;
  std::optional<std::uint32_t> channels;
};
Result<Rtpmap> parseRtpmap(std::string_view value);

// a=rtcp:<port> [<nettype> <addrtype> <connection-address>] (RFC 3605 §2.1).
struct Rtcp {
  std::uint16_t port = 0;
  std::optional<Connection> connection;  // same rules as c=
};
Result<Rtcp> parseRtcp(std::string_view value);

// a=candidate:<foundation> <component-id> <transport> <priority> <connection-address> <port>
//   typ <cand-type> [raddr <rel-addr>] [rport <rel-port>] *(<ext-name> <ext-value>)
// (RFC 8839 §5.1). The address may be a host name (e.g. an mDNS ".local" name), so it is only
// required to be free of spaces; extension pairs such as "tcptype active" or "generation 0" are
// kept in order.
struct Candidate {
  std::string_view foundation;    // 1*32 ice-char
  std::uint16_t componentId = 0;  // 1..256; 1 is RTP, 2 is RTCP
  std::string_view transport;     // "UDP", "TCP", or another token
  std::uint32_t priority = 0;
  std::string_view address;
  std::uint16_t port = 0;
  std::string_view type;  // "host", "srflx", "prflx", "relay", or another token
  std::optional<std::string_view> relatedAddress;
  std::optional<std::uint16_t> relatedPort;
  std::vector<std::pair<std::string_view, std::string_view>> extensions;
};
Result<Candidate> parseCandidate(std::string_view value);

}  // namespace p2psip::sdp
