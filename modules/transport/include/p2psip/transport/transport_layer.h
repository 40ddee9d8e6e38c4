// SPDX-License-Identifier: Apache-2.0
// TransportLayer: SIP over UDP, TCP and TLS on the signalling loop (RFC 3261 §18).
//
// Messages enter from sockets, are parsed (sip::parseDatagram, sip::StreamFramer), checked and
// stamped (§18.1.2 sent-by check for responses; §18.2.1 received/rport for requests, RFC 3581)
// and handed up to the InboundHandler. They leave through send() (MessageSender): over UDP from a
// listener socket, over TCP/TLS on a reused or newly opened connection, queued until it is up.
// Malformed requests are answered here (400 naming the problem), because nothing above ever sees
// them. Nothing here knows about transactions.
//
// Owned by the composition root; constructed after, destroyed before, the EventLoop and the
// TimerService. Not thread-safe: call everything on the signalling loop. Handler callbacks may call
// back into send() and closeConnection(), but must not destroy the TransportLayer.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/transport/transport.h"
#include "p2psip/transport/transport_config.h"

namespace p2psip::net {
class EventLoop;
class TlsContext;
}  // namespace p2psip::net

namespace p2psip::transport {

// One open TCP/TLS connection, for status pages and tests.
// Who a stream listener serves: phones (the TLS context given to the constructor) or overlay peers
// (the peer-link context: mutual TLS with node certificates, see setPeerLinkTls()).
enum class ListenerRole : std::uint8_t { Phones, PeerLinks };

struct ConnectionInfo {
  ConnectionId id = 0;
  Protocol protocol = Protocol::Tcp;
  net::Endpoint local;
  net::Endpoint remote;
  bool outbound = false;     // we opened it
  bool established = false;  // connected, and for TLS the handshake is done
  std::size_t bytesQueued = 0;
  std::string peerIdentity;  // TLS: key fingerprint the other end proved (see Flow)
};

struct TransportStats {
  std::size_t listeners = 0;
  std::size_t connections = 0;  // TCP+TLS, any state
  std::size_t inboundConnections = 0;
  std::size_t outboundConnections = 0;
  std::size_t bytesQueued = 0;  // waiting to be written, all connections
};

struct Listener {
  Protocol protocol = Protocol::Udp;
  net::Endpoint local;
  ListenerRole role = ListenerRole::Phones;
};

class TransportLayer final : public MessageSender {
 public:
  // `config` must pass validate() (throws std::invalid_argument otherwise: startup only).
  // `tls` may be null when no TLS listener or target is used.
  TransportLayer(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics,
                 Logger logger, const TransportConfig& config,
                 std::shared_ptr<net::TlsContext> tls = nullptr);
  ~TransportLayer() override;
  TransportLayer(const TransportLayer&) = delete;
  TransportLayer& operator=(const TransportLayer&) = delete;

  // Where inbound messages and late send failures go. Set before adding listeners; until then
  // inbound messages are dropped (the transaction layer is built after us, with us as its sender).
  void setInboundHandler(InboundHandler& handler);

  // Binds a UDP socket or a TCP/TLS acceptor. Port 0 picks a free port; the bound endpoint is
  // returned. Its address:port also counts as one of our sent-by values (unless a wildcard).
  Result<net::Endpoint> addListener(Protocol protocol, const net::Endpoint& local,
                                    ListenerRole role = ListenerRole::Phones);

  // The TLS context of overlay peer links (PeerVerification::AnyCertificate with this node's
  // certificate): used by PeerLinks listeners and by sends whose Target names a peerIdentity.
  // Set before adding such listeners.
  void setPeerLinkTls(std::shared_ptr<net::TlsContext> tls);

  // MessageSender. Targets with a live `connection` use it; otherwise TCP/TLS reuse a connection
  // to (protocol, endpoint) or open one and queue the message until it is up.
  Result<void> send(const sip::Message& message, const Target& target) override;
  Result<void> sendSerialized(std::string_view bytes, const Target& target) override;

  // Where peer-link frames go (see transport.h). Without a handler they are counted and dropped.
  void setPeerFrameHandler(PeerFrameHandler& handler);
  // Sends one frame on the peer link to target.peerIdentity, opening one if needed like send().
  // `frame` must be a whole frame; a Target that is not a pinned TLS peer is InvalidArgument.
  Result<void> sendPeerFrame(std::string frame, const Target& target);

  // Closes a TCP/TLS connection now, dropping anything queued. No onTransportError follows.
  void closeConnection(ConnectionId id);

  // The DER certificate the peer presented on a TLS connection (for identity checks by public key
  // hash, see net::subjectPublicKeyInfoDer); nullopt for unknown, TCP or not-yet-handshaken ones.
  std::optional<std::string> peerCertificateDer(ConnectionId id) const;

  std::optional<ConnectionInfo> connection(ConnectionId id) const;
  std::vector<ConnectionInfo> connections() const;
  std::vector<Listener> listeners() const;
  TransportStats stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::transport
