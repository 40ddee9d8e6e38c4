// SPDX-License-Identifier: Apache-2.0
// Private: host syntax shared by URIs and Via sent-by (RFC 3261 §25.1, RFC 5118).
#pragma once

#include <string_view>

#include "p2psip/sip/uri.h"

namespace p2psip::sip::detail {

// host = hostname / IPv4address / IPv6reference. `host` receives the text without brackets.
bool parseHost(std::string_view text, std::string_view& host, HostKind& kind);

// Parses into `uri` (reset first). Returns nullptr on success, else a phrase naming the problem.
// The public parseUri() wraps it; parsers of larger values use it to avoid copying a Uri around.
const char* parseUriInto(std::string_view text, Uri& uri);

}  // namespace p2psip::sip::detail

#include "p2psip/sip/via.h"

namespace p2psip::sip::detail {

// Parses a Via value into `via` (reset first); nullptr on success, else the problem.
const char* parseViaInto(std::string_view text, Via& via);

}  // namespace p2psip::sip::detail
