// SPDX-License-Identifier: Apache-2.0
// SIP request methods (RFC 3261 §7.1 and the extension RFCs). Unknown methods are legal tokens
// (RFC 3261 §25.1 extension-method) and keep their text in the message.
#pragma once

#include <cstdint>
#include <string_view>

namespace p2psip::sip {

enum class Method : std::uint8_t {
  Extension,  // any other token; see Message::methodText()
  Invite,
  Ack,
  Bye,
  Cancel,
  Options,
  Register,
  Message,    // RFC 3428
  Subscribe,  // RFC 6665
  Notify,     // RFC 6665
  Publish,    // RFC 3903
  Info,       // RFC 6086
  Update,     // RFC 3311
  Prack,      // RFC 3262
  Refer,      // RFC 3515
};

// Method names are case-sensitive (RFC 3261 §7.1).
Method methodFromToken(std::string_view token);
std::string_view toString(Method method);

}  // namespace p2psip::sip
