// SPDX-License-Identifier: Apache-2.0
// Where a request or a stateless response goes next, as a transport::Target. This issue has no
// DNS (RFC 3263 comes with the dns module), so only IP literals are reachable; a name is an error
// the caller turns into 404 or a failed branch.
#pragma once

#include <optional>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/location/contact_binding.h"
#include "p2psip/sip/uri.h"
#include "p2psip/sip/via.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

// RFC 3263 §4.1-4.2 without DNS: transport from the `transport` parameter (TLS for sips), port
// from the URI or 5060/5061. NotFound for a host name, InvalidArgument for an unusable transport.
Result<transport::Target> nextHopFor(const sip::Uri& uri);

// The transport named in a Via ("UDP", "TCP", "TLS"), nullopt for others (SCTP, WS).
std::optional<transport::Protocol> protocolFromVia(std::string_view transport);

// RFC 5626 §5.3 and NAT traversal: requests to a binding go back over the flow it registered on
// when it asked for outbound, or when the flow's source differs from the Contact (a NAT rewrote
// it, or the Contact names a host we cannot resolve). nullopt: send to the Contact itself.
std::optional<transport::Target> flowTargetFor(const location::ContactBinding& binding,
                                               const sip::Uri& contact);

}  // namespace p2psip::proxy
