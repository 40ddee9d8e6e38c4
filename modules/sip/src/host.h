// SPDX-License-Identifier: Apache-2.0
// Private: host syntax shared by URIs and Via sent-by (RFC 3261 §25.1, RFC 5118).
#pragma once

#include <string_view>

#include "p2psip/sip/uri.h"

namespace p2psip::sip::detail {

// host = hostname / IPv4address / IPv6reference. `host` receives the text without brackets.
bool parseHost(std::string_view text, std::string_view& host, HostKind& kind);

}  // namespace p2psip::sip::detail
