// SPDX-License-Identifier: Apache-2.0
// Via header value (RFC 3261 §20.42, §18.2.1; rport from RFC 3581; IPv6 received per RFC 5118).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/params.h"
#include "p2psip/sip/uri.h"

namespace p2psip::sip {

// RFC 3261 §8.1.1.7: branches starting with this cookie are RFC 3261 transaction ids.
inline constexpr std::string_view kMagicCookie = "z9hG4bK";

struct Via {
  std::string_view text;
  std::string_view protocolName;     // "SIP"
  std::string_view protocolVersion;  // "2.0"
  std::string_view transport;        // "UDP", "TCP", "TLS", "SCTP", "WS", or any token
  std::string_view host;             // sent-by host; IPv6 without brackets
  HostKind hostKind = HostKind::None;
  std::optional<std::uint16_t> port;  // sent-by port
  ParamList params;
  // The first branch, received, rport and maddr parameters, found by the parser while it checks
  // them: transaction matching (§17.1.3, §17.2.3) and response routing (§18.2.2, RFC 3581) ask
  // for them several times per message, and ParamList::find would scan the text each time.
  // A parameter written without a value has an empty view.
  std::optional<std::string_view> branchParam;
  std::optional<std::string_view> receivedParam;
  std::optional<std::string_view> rportParam;
  std::optional<std::string_view> maddrParam;

  std::optional<std::string_view> branch() const { return branchParam; }
  std::optional<std::string_view> received() const { return receivedParam; }
  std::optional<std::string_view> maddr() const { return maddrParam; }
  std::optional<std::string_view> ttl() const { return params.find("ttl"); }
  // rport present with no value means "please fill in" (RFC 3581 §4); with a value, the port.
  bool hasRport() const { return rportParam.has_value(); }
  std::optional<std::uint16_t> rport() const;
  bool isRfc3261Branch() const;  // branch present and starts with the magic cookie
  // The port to use when none is written: 5061 for TLS, else 5060 (RFC 3261 §18.2.2).
  std::uint16_t portOrDefault() const;
};

Result<Via> parseVia(std::string_view text);

}  // namespace p2psip::sip
