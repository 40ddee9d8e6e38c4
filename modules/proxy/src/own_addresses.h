// SPDX-License-Identifier: Apache-2.0
// OwnAddresses: how the proxy recognises itself and writes itself into messages. It answers
// "is this URI / Via sent-by us?" (§16.4 Route removal and strict-route compatibility, §16.3 step 4
// loop detection, §16.7 step 3) and builds our Via (§16.6 step 8) and Record-Route (§16.6 step 4)
// values from ProxyConfig::addresses and sip::LocalDomains. Immutable; owned by ProxyCore.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/net/endpoint.h"
#include "p2psip/proxy/proxy_config.h"
#include "p2psip/sip/aor.h"
#include "p2psip/sip/name_addr.h"
#include "p2psip/sip/uri.h"
#include "p2psip/sip/via.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

class OwnAddresses {
 public:
  OwnAddresses(std::vector<ProxyAddress> addresses, const sip::LocalDomains& domains);

  // A SIP URI naming this peer: one of our hosts (configured or LocalDomains::isOwnHost) on one of
  // our ports (5060/5061 by default), or one of our domains without a port or on one of our ports.
  bool isOwnUri(const sip::Uri& uri) const;
  // The peer itself rather than a user at it: an own URI without a user part (OPTIONS pings,
  // REGISTER, strict-routed requests carrying our Record-Route URI).
  bool isPeerUri(const sip::Uri& uri) const { return uri.user.empty() && isOwnUri(uri); }
  // A Via whose sent-by is one of our hosts on one of our ports.
  bool isOwnSentBy(const sip::Via& via) const;

  // The address written into a message leaving over `protocol` towards `destination` is the first
  // of that protocol in the destination's address family, else the first of that protocol, else
  // the first of all. Peer-link addresses are chosen only when `peerLink` (the destination is an
  // overlay peer), and phone-side ones otherwise, when there is a choice.
  //
  // Our Via for such a message (§16.6 step 8): "SIP/2.0/UDP host:port;rport", prepared once per
  // listener and protocol; the request adds its branch. rport asks the next hop to answer to the
  // source port (RFC 3581), which keeps NATs between peers working. Null when the configured host
  // cannot be written in a Via.
  const sip::PreparedVia* viaFor(transport::Protocol protocol, const net::Endpoint& destination,
                                 bool peerLink = false) const;
  // "<sip:host:port;transport=udp;lr>" (§16.6 step 4; lr for loose routing, §19.1.1), likewise
  // prepared once. Towards a peer link it names our peer-link listener and carries
  // `node=<our NodeId>`. Null when the configured host cannot be written in a URI.
  const sip::CheckedNameAddr* recordRouteFor(transport::Protocol protocol,
                                             const net::Endpoint& destination,
                                             bool peerLink = false) const;
  // The request came over an overlay peer link: TLS from a node that proved its key, on one of our
  // peer-link listeners (or on a link we opened to a peer).
  bool isPeerLinkFlow(const transport::Flow& flow) const;
  bool hasPeerLinks() const;

 private:
  bool isOwnHost(std::string_view host) const;
  bool isOwnPort(std::uint16_t port) const;

  // What we write for each address, per protocol (Udp, Tcp, Tls): built and checked once here
  // rather than for every forwarded request.
  struct Written {
    std::optional<sip::PreparedVia> via;
    std::optional<sip::CheckedNameAddr> recordRoute;
  };
  // What to write for a message leaving over `protocol` towards `destination` (the choice above).
  const Written& writtenFor(transport::Protocol protocol, const net::Endpoint& destination,
                            bool peerLink) const;

  struct Prepared {
    std::optional<bool> ipv4;  // the host's family, when it is an IP literal
    std::array<Written, 3> byProtocol;
  };

  std::vector<ProxyAddress> addresses_;
  std::vector<Prepared> prepared_;
  const sip::LocalDomains& domains_;
};

}  // namespace p2psip::proxy
