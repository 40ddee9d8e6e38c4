// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transport/transport.h"

#include "p2psip/sip/parser.h"
#include "sent_by_set.h"

namespace p2psip::transport {

std::string_view toString(Protocol p) {
  switch (p) {
    case Protocol::Udp:
      return "UDP";
    case Protocol::Tcp:
      return "TCP";
    case Protocol::Tls:
      return "TLS";
  }
  return "UDP";
}

bool isReliable(Protocol p) {
  return p == Protocol::Tcp || p == Protocol::Tls;
}

Result<void> MessageSender::sendSerialized(std::string_view bytes, const Target& target) {
  auto message = sip::parseDatagram(bytes, sip::ParseLimits{});
  if (!message)
    return makeError(ErrorCode::InvalidArgument, "not a SIP message: " + message.error().detail);
  return send(*message, target);
}

Target responseTarget(const sip::Via& via, const Flow& arrivedOn) {
  Target target;
  target.protocol = arrivedOn.protocol;
  target.local = arrivedOn.local;
  const std::uint16_t sentByPort = via.portOrDefault();

  // The source address as recorded by §18.2.1: `received` when the sent-by host differed from the
  // packet source, otherwise the sent-by host itself, which then equals the source.
  std::optional<asio::ip::address> source;
  if (auto received = via.received()) source = addressOf(*received);
  if (!source) source = addressOf(via.host);
  if (!source) source = arrivedOn.remote.address;

  if (isReliable(arrivedOn.protocol)) {
    // §18.2.2: "MUST be sent using the existing connection to the source of the original request
    // ... if that connection is still open". If it has closed, the server "SHOULD open a connection
    // to the IP address in the received parameter ... using the port in the sent-by value".
    target.connection = arrivedOn.connection;
    target.endpoint = net::Endpoint{*source, sentByPort};
    return target;
  }

  // §18.2.2: maddr wins over everything, with the sent-by port. We do not resolve names, so a
  // maddr that is not an IP literal falls through to the received/rport rules.
  if (auto maddr = via.maddr()) {
    if (auto address = addressOf(*maddr)) {
      target.endpoint = net::Endpoint{*address, sentByPort};
      return target;
    }
  }

  // RFC 3581 §4: with rport filled in, the response goes to received:rport, i.e. back to the exact
  // source so that it crosses the same NAT binding. An rport left empty means §18.2.1 was not
  // applied; the packet source is the best answer then.
  std::uint16_t port = sentByPort;
  if (auto rport = via.rport()) {
    port = *rport;
  } else if (via.hasRport()) {
    port = arrivedOn.remote.port;
    source = arrivedOn.remote.address;
  }
  target.endpoint = net::Endpoint{*source, port};
  return target;
}

}  // namespace p2psip::transport
