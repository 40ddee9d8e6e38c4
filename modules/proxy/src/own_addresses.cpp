// SPDX-License-Identifier: Apache-2.0
#include "own_addresses.h"
#include "p2psip/sip/case_insensitive.h"

#include <algorithm>
#include <cctype>

namespace p2psip::proxy {
namespace {

// §19.1.2: the default port is 5061 for sips or transport=tls, 5060 otherwise.
std::uint16_t defaultPort(const sip::Uri& uri) {
  if (uri.scheme == sip::UriScheme::Sips) return 5061;
  if (auto t = uri.param("transport"); t && sip::equalsIgnoringCase(*t, "tls")) return 5061;
  return 5060;
}

std::string_view lowerProtocol(transport::Protocol protocol) {
  switch (protocol) {
    case transport::Protocol::Udp:
      return "udp";
    case transport::Protocol::Tcp:
      return "tcp";
    case transport::Protocol::Tls:
      return "tls";
  }
  return "udp";
}

}  // namespace

namespace {

// "host" or "[v6]" as written in a URI or Via.
void appendHostForUri(std::string& out, std::string_view host) {
  const bool v6 = host.find(':') != std::string_view::npos;  // RFC 5118 §4.1: in brackets
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
}

std::size_t protocolIndex(transport::Protocol protocol) {
  return static_cast<std::size_t>(protocol);
}

std::string viaHead(transport::Protocol protocol, const ProxyAddress& a) {
  std::string via = "SIP/2.0/";
  via += transport::toString(protocol);
  via += ' ';
  appendHostForUri(via, a.host);
  via += ':';
  via += std::to_string(a.port);
  via += ";rport";
  return via;
}

std::string recordRouteText(transport::Protocol protocol, const ProxyAddress& a) {
  std::string rr = "<sip:";
  appendHostForUri(rr, a.host);
  rr += ':';
  rr += std::to_string(a.port);
  rr += ";transport=";
  rr += lowerProtocol(protocol);
  if (a.peerLink && !a.nodeId.empty()) {
    rr += ";node=";
    rr += a.nodeId;
  }
  rr += ";lr>";
  return rr;
}

}  // namespace

OwnAddresses::OwnAddresses(std::vector<ProxyAddress> addresses, const sip::LocalDomains& domains)
    : addresses_(std::move(addresses)), domains_(domains) {
  prepared_.reserve(addresses_.size());
  for (const auto& a : addresses_) {
    Prepared p;
    if (auto address = net::parseAddress(a.host)) p.ipv4 = address->is_v4();
    // Every protocol, not only the address's own: writtenFor falls back to an address of another
    // protocol when none of the outgoing one exists, and the Via then names the outgoing protocol.
    for (auto protocol :
         {transport::Protocol::Udp, transport::Protocol::Tcp, transport::Protocol::Tls}) {
      auto& written = p.byProtocol[protocolIndex(protocol)];
      if (auto via = sip::PreparedVia::make(viaHead(protocol, a))) written.via = std::move(*via);
      if (auto rr = sip::CheckedNameAddr::make(recordRouteText(protocol, a)))
        written.recordRoute = std::move(*rr);
    }
    prepared_.push_back(std::move(p));
  }
}

bool OwnAddresses::isOwnHost(std::string_view host) const {
  if (domains_.isOwnHost(host)) return true;
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [&](const ProxyAddress& a) { return sip::equalsIgnoringCase(a.host, host); });
}

bool OwnAddresses::isOwnPort(std::uint16_t port) const {
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [&](const ProxyAddress& a) { return a.port == port; });
}

bool OwnAddresses::isOwnUri(const sip::Uri& uri) const {
  if (!uri.isSip()) return false;
  if (isOwnHost(uri.host)) return isOwnPort(uri.port.value_or(defaultPort(uri)));
  // A Route naming our domain (a preloaded route, a Path written with the domain) reaches us.
  if (domains_.isDomain(uri.host)) return !uri.port || isOwnPort(*uri.port);
  return false;
}

bool OwnAddresses::isOwnSentBy(const sip::Via& via) const {
  return isOwnHost(via.host) && isOwnPort(via.portOrDefault());
}

const OwnAddresses::Written& OwnAddresses::writtenFor(transport::Protocol protocol,
                                                      const net::Endpoint& destination,
                                                      bool peerLink) const {
  // Best: same role, protocol and family; then same role and protocol; then same protocol.
  const std::size_t none = addresses_.size();
  std::size_t sameRole = none;
  std::size_t sameProtocol = none;
  for (std::size_t i = 0; i < addresses_.size(); ++i) {
    const auto& a = addresses_[i];
    if (a.protocol != protocol) continue;
    if (a.peerLink == peerLink) {
      const auto& ipv4 = prepared_[i].ipv4;
      if (ipv4 && *ipv4 == destination.address.is_v4()) {
        return prepared_[i].byProtocol[protocolIndex(protocol)];
      }
      if (sameRole == none) sameRole = i;
    }
    if (sameProtocol == none) sameProtocol = i;
  }
  const std::size_t chosen = sameRole != none ? sameRole : sameProtocol != none ? sameProtocol : 0;
  return prepared_[chosen].byProtocol[protocolIndex(protocol)];
}

bool OwnAddresses::isPeerLinkFlow(const transport::Flow& flow) const {
  if (flow.protocol != transport::Protocol::Tls || flow.peerIdentity.empty()) return false;
  bool onPhoneListener = false;
  for (const auto& a : addresses_) {
    if (a.protocol != transport::Protocol::Tls || a.port != flow.local.port) continue;
    if (a.peerLink) return true;
    onPhoneListener = true;
  }
  // Not on any listener of ours: a link we opened to a peer (pinned to its NodeId).
  return !onPhoneListener;
}

bool OwnAddresses::hasPeerLinks() const {
  return std::any_of(addresses_.begin(), addresses_.end(),
                     [](const ProxyAddress& a) { return a.peerLink; });
}

const sip::PreparedVia* OwnAddresses::viaFor(transport::Protocol protocol,
                                             const net::Endpoint& destination,
                                             bool peerLink) const {
  const auto& written = writtenFor(protocol, destination, peerLink);
  return written.via ? &*written.via : nullptr;
}

const sip::CheckedNameAddr* OwnAddresses::recordRouteFor(transport::Protocol protocol,
                                                         const net::Endpoint& destination,
                                                         bool peerLink) const {
  const auto& written = writtenFor(protocol, destination, peerLink);
  return written.recordRoute ? &*written.recordRoute : nullptr;
}

}  // namespace p2psip::proxy
