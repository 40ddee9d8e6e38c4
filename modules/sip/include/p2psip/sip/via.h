// SPDX-License-Identifier: Apache-2.0
// Via header value (RFC 3261 §20.42, §18.2.1; rport from RFC 3581; IPv6 received per RFC 5118).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
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

// A proxy's own Via (§16.6 step 8), checked once: sent-protocol, sent-by and any parameters, to
// which each request adds only ";branch=". Message::pushVia(PreparedVia, branch) then writes it
// and knows its parsed form without parsing it again: a proxy pushes one onto every request it
// forwards, and the text differs between them only in the branch.
class PreparedVia {
 public:
  // `head` is a Via value without a branch, e.g. "SIP/2.0/UDP 198.18.0.1:5060;rport". Fails when
  // it does not parse as the start of a Via or already carries a branch.
  static Result<PreparedVia> make(std::string_view head);

  // The whole value for `branch`: what pushVia(prepared, branch) writes.
  std::string with(std::string_view branch) const { return head_ + std::string(branch); }

 private:
  friend class Message;
  // A view of the parsed head as an offset and a size, so that it moves onto any copy of the text.
  struct Span {
    std::size_t offset = 0;
    std::size_t size = 0;
  };
  PreparedVia() = default;

  std::string head_;
  Span protocolName_;
  Span protocolVersion_;
  Span transport_;
  Span host_;
  HostKind hostKind_ = HostKind::None;
  std::optional<std::uint16_t> port_;
  std::size_t paramsOffset_ = 0;
  std::optional<Span> received_;
  std::optional<Span> rport_;
  std::optional<Span> maddr_;
};

}  // namespace p2psip::sip
