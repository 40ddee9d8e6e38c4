// SPDX-License-Identifier: Apache-2.0
// SIP compares header names, tokens, methods in some places, hosts and most parameter names
// without regard to ASCII case (RFC 3261 §7.3.1, §19.1.4). One definition for every module.
#pragma once

#include <string_view>

namespace p2psip::sip {

// ASCII case-insensitive equality; bytes outside A-Z/a-z must match exactly.
bool equalsIgnoringCase(std::string_view a, std::string_view b);

}  // namespace p2psip::sip
