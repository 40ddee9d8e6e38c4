// SPDX-License-Identifier: Apache-2.0
#include "next_hop.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/sip/case_insensitive.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace p2psip::proxy {
namespace {

std::optional<asio::ip::address> literal(const sip::Uri& uri) {
  if (uri.hostKind != sip::HostKind::Ipv4 && uri.hostKind != sip::HostKind::Ipv6)
    return std::nullopt;
  return net::parseAddress(uri.host);
}

}  // namespace

Result<transport::Target> nextHopFor(const sip::Uri& uri) {
  if (!uri.isSip()) {
    return makeError(ErrorCode::InvalidArgument, "next hop is not a SIP URI");
  }
  transport::Target target;
  target.protocol =
      uri.scheme == sip::UriScheme::Sips ? transport::Protocol::Tls : transport::Protocol::Udp;
  if (auto t = uri.param("transport")) {
    if (sip::equalsIgnoringCase(*t, "tcp") && uri.scheme != sip::UriScheme::Sips) {
      target.protocol = transport::Protocol::Tcp;
    } else if (sip::equalsIgnoringCase(*t, "tls") ||
               (sip::equalsIgnoringCase(*t, "tcp") && uri.scheme == sip::UriScheme::Sips)) {
      target.protocol = transport::Protocol::Tls;
    } else if (!sip::equalsIgnoringCase(*t, "udp")) {
      return makeError(ErrorCode::InvalidArgument, "unsupported transport " + std::string(*t));
    }
  }
  auto address = literal(uri);
  if (!address) {
    return makeError(ErrorCode::NotFound,
                     "host " + std::string(uri.host) + " needs DNS, which this peer lacks");
  }
  const std::uint16_t defaultPort = target.protocol == transport::Protocol::Tls ? 5061 : 5060;
  target.endpoint = net::Endpoint{*address, uri.port.value_or(defaultPort)};
  // An overlay peer's Record-Route names its NodeId: in-dialog requests go only to that key.
  if (auto node = uri.param("node"); node && target.protocol == transport::Protocol::Tls) {
    if (node->size() != 64 || !std::all_of(node->begin(), node->end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
        })) {
      return makeError(ErrorCode::InvalidArgument, "node parameter is not a NodeId");
    }
    target.peerIdentity = std::string(*node);
  }
  return target;
}

std::optional<transport::Protocol> protocolFromVia(std::string_view transport) {
  if (sip::equalsIgnoringCase(transport, "UDP")) return transport::Protocol::Udp;
  if (sip::equalsIgnoringCase(transport, "TCP")) return transport::Protocol::Tcp;
  if (sip::equalsIgnoringCase(transport, "TLS")) return transport::Protocol::Tls;
  return std::nullopt;
}

std::optional<transport::Target> flowTargetFor(const location::ContactBinding& binding,
                                               const sip::Uri& contact) {
  const auto& flow = binding.flow;
  if (!binding.peerNode.empty()) {
    // Served by another overlay peer: over a TLS peer link pinned to its NodeId.
    transport::Target link;
    link.protocol = transport::Protocol::Tls;
    link.endpoint = flow.remote;
    link.peerIdentity = binding.peerNode;
    return link;
  }
  if (flow.remote.port == 0) return std::nullopt;  // no flow recorded (e.g. a remote peer's record)
  transport::Target overFlow;
  overFlow.protocol = static_cast<transport::Protocol>(flow.transport);
  overFlow.endpoint = flow.remote;
  overFlow.connection = flow.connection;
  overFlow.local = flow.local;
  if (binding.outbound) return overFlow;
  auto direct = nextHopFor(contact);
  if (!direct) return overFlow;  // a name or odd transport: the flow is all we can reach
  // A NAT rewrote the source address, or (UDP) the port: only the flow's binding gets through.
  if (direct->endpoint.address != flow.remote.address) return overFlow;
  const bool sameProtocol = direct->protocol == overFlow.protocol;
  if (sameProtocol && overFlow.protocol == transport::Protocol::Udp &&
      direct->endpoint.port != flow.remote.port)
    return overFlow;
  // Not behind NAT. Over the same transport the registered connection is the best way there
  // (RFC 3261 §18.1.1 connection reuse); a Contact asking for another transport gets it.
  if (sameProtocol) return overFlow;
  return std::nullopt;
}

}  // namespace p2psip::proxy
