// SPDX-License-Identifier: Apache-2.0
// Private: validation of *( SEMI generic-param ) after a header value (RFC 3261 §25.1).
#pragma once

#include <string_view>

namespace p2psip::sip::detail {

// True when `text` is empty or LWS only, or a sequence of ";" token [ "=" gen-value ] with LWS
// allowed around ';' and '='. gen-value = token / host / quoted-string. Empty parameters (";;")
// are rejected (RFC 4475 §3.1.2.1).
bool validGenericParams(std::string_view text);

}  // namespace p2psip::sip::detail
