// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transport/transport_layer.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <variant>

#include "p2psip/net/event_loop.h"
#include "p2psip/net/tls_context.h"
#include "p2psip/sip/parser.h"
#include "sent_by_set.h"
#include "stream_connection.h"
#include "stream_listener.h"
#include "udp_socket.h"

namespace p2psip::transport {
namespace {

// RFC 5626 §3.5.1: a CRLF pong answers a CRLFCRLF ping.
constexpr std::string_view kPing = "\r\n\r\n";
constexpr std::string_view kPong = "\r\n";

// Metrics of this module, registered once (conventions §3.4 item 11).
struct TransportMetrics {
  explicit TransportMetrics(MetricsRegistry& r)
      : messagesReceived(r.counter("p2psip_transport_messages_received_total")),
        messagesSent(r.counter("p2psip_transport_messages_sent_total")),
        sendErrors(r.counter("p2psip_transport_send_errors_total")),
        parseErrors(r.counter("p2psip_transport_parse_errors_total")),
        parseErrorResponses(r.counter("p2psip_transport_parse_error_responses_total")),
        foreignSentBy(r.counter("p2psip_transport_responses_foreign_sent_by_total")),
        unhandled(r.counter("p2psip_transport_messages_unhandled_total")),
        connectionsOpened(r.counter("p2psip_transport_connections_opened_total")),
        connectionsRejected(r.counter("p2psip_transport_connections_rejected_total")),
        connectionsIdleClosed(r.counter("p2psip_transport_connections_idle_closed_total")),
        connectionsOverflowed(r.counter("p2psip_transport_connections_overflowed_total")),
        keepAlivePings(r.counter("p2psip_transport_keepalive_pings_received_total")),
        keepAliveTimeouts(r.counter("p2psip_transport_keepalive_timeouts_total")),
        connectTimeouts(r.counter("p2psip_transport_connect_timeouts_total")),
        peerIdentityMismatches(r.counter("p2psip_transport_peer_identity_mismatches_total")),
        peerFramesReceived(r.counter("p2psip_transport_peer_frames_received_total")),
        peerFramesSent(r.counter("p2psip_transport_peer_frames_sent_total")),
        peerFramesRefused(r.counter("p2psip_transport_peer_frames_refused_total")),
        connections(r.gauge("p2psip_transport_connections")) {}

  Counter& messagesReceived;
  Counter& messagesSent;
  Counter& sendErrors;
  Counter& parseErrors;          // every malformed message, answered or not
  Counter& parseErrorResponses;  // of those, answered with a 4xx (RFC 3261 §18.2.1 / §21.4.1)
  Counter& foreignSentBy;        // responses discarded by the §18.1.2 sent-by check
  Counter& unhandled;            // no InboundHandler set yet
  Counter& connectionsOpened;
  Counter& connectionsRejected;  // over maxConnections
  Counter& connectionsIdleClosed;
  Counter& connectionsOverflowed;  // inbound byte cap exceeded
  Counter& keepAlivePings;
  Counter& keepAliveTimeouts;
  Counter& connectTimeouts;         // outbound connections not up within connectTimeout
  Counter& peerIdentityMismatches;  // pinned TLS peers that proved another key
  Counter& peerFramesReceived;
  Counter& peerFramesSent;
  Counter& peerFramesRefused;  // on a connection that is not a peer link, or with no handler
  Gauge& connections;
};

bool isOnlyCrlf(std::string_view data) {
  return std::all_of(data.begin(), data.end(), [](char c) { return c == '\r' || c == '\n'; });
}

bool isUsable(const net::Endpoint& e) {
  return e.port != 0 && !e.address.is_unspecified();
}

}  // namespace

class TransportLayer::Impl final : public UdpSocket::Owner,
                                   public StreamListener::Owner,
                                   public StreamConnection::Owner {
 public:
  Impl(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics, Logger logger,
       const TransportConfig& config, std::shared_ptr<net::TlsContext> tls);
  ~Impl();

  void setInboundHandler(InboundHandler& handler) { handler_ = &handler; }
  Result<net::Endpoint> addListener(Protocol protocol, const net::Endpoint& local,
                                    ListenerRole role);
  void setPeerLinkTls(std::shared_ptr<net::TlsContext> tls) { peerTls_ = std::move(tls); }
  void setPeerFrameHandler(PeerFrameHandler& handler) { frameHandler_ = &handler; }
  Result<void> send(const sip::Message& message, const Target& target);
  // `owned`, when given, holds `bytes` and may be moved into a stream's write queue.
  Result<void> sendSerialized(std::string_view bytes, const Target& target,
                              std::string* owned = nullptr);
  Result<void> sendPeerFrame(std::string frame, const Target& target);
  void closeConnection(ConnectionId id) { drop(id, Report::Never, {}); }
  std::optional<std::string> peerCertificateDer(ConnectionId id) const;
  std::optional<ConnectionInfo> connection(ConnectionId id) const;
  std::vector<ConnectionInfo> connections() const;
  std::vector<Listener> listeners() const;
  TransportStats stats() const;

 private:
  struct ConnectionEntry {
    std::shared_ptr<StreamConnection> connection;
    Target openedFor;       // reported in onTransportError
    bool peerLink = false;  // accepted on a PeerLinks listener, or opened pinned to a NodeId
    TimerId idleTimer = kNoTimer;
    TimerId pingTimer = kNoTimer;
    TimerId pongTimer = kNoTimer;
    TimerId connectTimer = kNoTimer;
  };
  using RemoteKey = std::pair<Protocol, net::Endpoint>;
  enum class Report { Never, IfMessagesLost, Always };

  // Socket events.
  void onDatagram(UdpSocket& socket, std::string_view datagram, const net::Endpoint& from) override;
  void onSendFailed(UdpSocket& socket, const net::Endpoint& to, const Error& error) override;
  void onAccepted(StreamListener& listener, asio::ip::tcp::socket&& socket) override;
  void onEstablished(StreamConnection& connection) override;
  void onStreamEvent(StreamConnection& connection, sip::StreamEvent&& event) override;
  void onClosed(StreamConnection& connection, const Error& reason) override;
  void onPeerFrame(StreamConnection& connection, std::string_view frame) override;

  void deliver(sip::Message&& message, const Flow& flow);
  void onParseError(sip::ParseError&& error, const Flow& flow);
  void stampReceived(sip::Message& request, const net::Endpoint& source);

  Result<void> sendDatagram(std::string_view bytes, const Target& target);
  Result<void> sendOnStream(std::string bytes, const Target& target);
  std::shared_ptr<StreamConnection> makeConnection(Protocol protocol, bool outbound,
                                                   asio::ip::tcp::socket socket,
                                                   const std::optional<net::Endpoint>& target,
                                                   std::shared_ptr<net::TlsContext> tls,
                                                   std::string expectedPeer);
  void scheduleConnectTimeout(ConnectionId id);

  void drop(ConnectionId id, Report report, const Error& failure);
  void forget(ConnectionId id);
  void scheduleIdleCheck(ConnectionId id, Duration delay);
  void schedulePing(ConnectionId id);
  static ConnectionInfo infoOf(const StreamConnection& c);

  net::EventLoop& loop_;
  TimerService& timers_;
  TransportMetrics metrics_;
  Logger logger_;
  TransportConfig config_;
  std::shared_ptr<net::TlsContext> tls_;
  std::shared_ptr<net::TlsContext> peerTls_;
  InboundHandler* handler_ = nullptr;
  PeerFrameHandler* frameHandler_ = nullptr;
  SentBySet sentBy_;
  std::vector<std::shared_ptr<UdpSocket>> udpSockets_;
  std::vector<std::shared_ptr<StreamListener>> streamListeners_;
  std::unordered_map<const StreamListener*, ListenerRole> listenerRoles_;
  std::unordered_map<ConnectionId, ConnectionEntry> connections_;
  std::map<RemoteKey, ConnectionId> byRemote_;  // reuse index (RFC 3261 §18.1.1 / §18.2.2)
  // Established peer links by the NodeId they proved: a peer behind a NAT is reached on the link
  // it opened to us, whatever address its records name.
  std::unordered_map<std::string, ConnectionId> byIdentity_;
  ConnectionId nextConnectionId_ = 1;
};

TransportLayer::Impl::Impl(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics,
                           Logger logger, const TransportConfig& config,
                           std::shared_ptr<net::TlsContext> tls)
    : loop_(loop),
      timers_(timers),
      metrics_(metrics),
      logger_(std::move(logger)),
      config_(config),
      tls_(std::move(tls)) {
  if (auto ok = validate(config_); !ok) throw std::invalid_argument(ok.error().detail);
  for (const auto& value : config_.sentBy) (void)sentBy_.add(value);  // validated above
}

TransportLayer::Impl::~Impl() {
  // Sockets may still have operations in flight; detach() makes their handlers no-ops.
  for (auto& s : udpSockets_) s->detach();
  for (auto& l : streamListeners_) l->detach();
  for (auto& [id, entry] : connections_) {
    timers_.cancel(entry.idleTimer);
    timers_.cancel(entry.pingTimer);
    timers_.cancel(entry.pongTimer);
    timers_.cancel(entry.connectTimer);
    entry.connection->detach();
  }
  metrics_.connections.add(-static_cast<std::int64_t>(connections_.size()));
}

Result<net::Endpoint> TransportLayer::Impl::addListener(Protocol protocol,
                                                        const net::Endpoint& local,
                                                        ListenerRole role) {
  if (role == ListenerRole::PeerLinks && (protocol != Protocol::Tls || !peerTls_)) {
    return makeError(ErrorCode::Unavailable,
                     "peer-link listener " + local.toString() + " needs TLS and a node identity");
  }
  net::Endpoint bound;
  if (protocol == Protocol::Udp) {
    auto socket = UdpSocket::open(loop_.context(), local, *this, config_.udpSocketBufferBytes);
    if (!socket) return tl::unexpected(socket.error());
    (*socket)->start();
    bound = (*socket)->local();
    udpSockets_.push_back(std::move(*socket));
  } else {
    if (protocol == Protocol::Tls && role == ListenerRole::Phones && !tls_) {
      return makeError(ErrorCode::Unavailable,
                       "TLS listener " + local.toString() + " needs a TLS context");
    }
    auto listener = StreamListener::open(loop_.context(), protocol, local, *this);
    if (!listener) return tl::unexpected(listener.error());
    listenerRoles_[listener->get()] = role;
    (*listener)->start();
    bound = (*listener)->local();
    streamListeners_.push_back(std::move(*listener));
  }
  // Port 0 resolves only now, so a listener's own address:port is implicitly one of our sent-by
  // values (§18.1.2). A wildcard address says nothing about what we write in Via.
  if (!bound.address.is_unspecified()) sentBy_.add(bound);
  logger_.info("listening on {} {}", toString(protocol), bound.toString());
  return bound;
}

// ---- inbound

void TransportLayer::Impl::onDatagram(UdpSocket& socket, std::string_view datagram,
                                      const net::Endpoint& from) {
  // CRLF-only datagrams are keep-alive noise (RFC 5626 §3.5.1 pings over UDP, NAT refreshers).
  if (isOnlyCrlf(datagram)) return;
  const Flow flow{Protocol::Udp, socket.local(), from, 0, {}};
  auto parsed = sip::parseDatagram(datagram, config_.parseLimits);
  if (!parsed) {
    onParseError(std::move(parsed.error()), flow);
    return;
  }
  deliver(std::move(*parsed), flow);
}

void TransportLayer::Impl::onSendFailed(UdpSocket& socket, const net::Endpoint& to,
                                        const Error& error) {
  metrics_.sendErrors.inc();
  logger_.debug("send to udp {} failed: {}", to.toString(), error.detail);
  // A full send buffer is loss, which retransmission repairs; anything else means nothing will
  // reach `to` from here, which the transactions sending to it must hear (§17.1.4, §17.2.4).
  if (error.code == ErrorCode::LimitExceeded || handler_ == nullptr) return;
  handler_->onTransportError(Target{Protocol::Udp, to, 0, socket.local(), {}}, error);
}

void TransportLayer::Impl::onStreamEvent(StreamConnection& connection, sip::StreamEvent&& event) {
  std::visit(
      [&](auto&& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, sip::Message>) {
          deliver(std::move(e), connection.flow());
        } else if constexpr (std::is_same_v<E, sip::ParseError>) {
          onParseError(std::move(e), connection.flow());
          // §18.3: without a usable Content-Length the next message cannot be found. Close, but
          // only after the 400 written above has left.
          if (connection.framingLost()) connection.closeAfterFlush();
        } else if constexpr (std::is_same_v<E, sip::KeepAlivePing>) {
          metrics_.keepAlivePings.inc();
          (void)connection.write(std::string(kPong));  // RFC 5626 §3.5.1
        } else if constexpr (std::is_same_v<E, sip::KeepAlivePong>) {
          if (auto it = connections_.find(connection.id()); it != connections_.end()) {
            timers_.cancel(it->second.pongTimer);
            it->second.pongTimer = kNoTimer;
          }
        }
      },
      std::move(event));
}

void TransportLayer::Impl::deliver(sip::Message&& message, const Flow& flow) {
  if (message.isResponse()) {
    // §18.1.2: a response whose top Via was not written by us cannot belong to any of our
    // transactions; it is misrouted or forged.
    if (!sentBy_.matches(message.topVia())) {
      metrics_.foreignSentBy.inc();
      logger_.debug("discarding {} response from {}: sent-by {} is not ours", message.statusCode(),
                    flow.remote.toString(), message.topVia().host);
      return;
    }
  } else {
    stampReceived(message, flow.remote);
  }
  if (handler_ == nullptr) {
    metrics_.unhandled.inc();
    return;
  }
  metrics_.messagesReceived.inc();
  handler_->onMessage(InboundMessage{std::move(message), flow});
}

void TransportLayer::Impl::stampReceived(sip::Message& request, const net::Endpoint& source) {
  // §18.2.1 compares hosts, not spellings: an IPv6 sent-by written differently from our canonical
  // text ("0:0::1" vs "::1") is the same host, so hand Message its own spelling to compare with.
  // The usual case, a sent-by that is the source address, needs no address printed at all.
  const std::string_view host = request.topVia().host;
  if (auto written = addressOf(host); written && *written == source.address) {
    request.stampReceived(host, source.port);
    return;
  }
  request.stampReceived(net::addressToString(source.address), source.port);
}

void TransportLayer::Impl::onParseError(sip::ParseError&& error, const Flow& flow) {
  if (error.code == sip::ParseErrorCode::Empty) return;  // keep-alive noise, not an error
  metrics_.parseErrors.inc();
  logger_.debug("malformed message from {} over {}: {} ({})", flow.remote.toString(),
                toString(flow.protocol), error.detail, sip::toString(error.code));
  // RFC 3261 §8.2.6 / §21.4.1: a request we can identify gets a 400 naming the problem, sent the
  // §18.2.2 way; never an ACK (§17.1.1.3), never a response.
  if (!error.canRespond() || !error.partial->isRequest() ||
      error.partial->method() == sip::Method::Ack)
    return;
  sip::Message& request = *error.partial;
  stampReceived(request, flow.remote);
  sip::Message response = sip::makeResponse(request, error.status, error.detail);
  if (send(response, responseTarget(request.topVia(), flow))) metrics_.parseErrorResponses.inc();
}

// ---- outbound

Result<void> TransportLayer::Impl::send(const sip::Message& message, const Target& target) {
  std::string bytes = message.serialize();
  return sendSerialized(bytes, target, &bytes);
}

Result<void> TransportLayer::Impl::sendSerialized(std::string_view bytes, const Target& target,
                                                  std::string* owned) {
  auto sent = target.protocol == Protocol::Udp
                  ? sendDatagram(bytes, target)
                  : sendOnStream(owned != nullptr ? std::move(*owned) : std::string(bytes), target);
  if (sent) {
    metrics_.messagesSent.inc();
  } else {
    metrics_.sendErrors.inc();
    logger_.debug("send to {} {} failed: {}", toString(target.protocol), target.endpoint.toString(),
                  sent.error().detail);
  }
  return sent;
}

Result<void> TransportLayer::Impl::sendDatagram(std::string_view bytes, const Target& target) {
  if (!isUsable(target.endpoint)) {
    return makeError(ErrorCode::InvalidArgument,
                     "UDP target " + target.endpoint.toString() + " is not usable");
  }
  UdpSocket* chosen = nullptr;
  // RFC 3581 §4: answer from the address the request arrived on.
  for (const auto& s : udpSockets_) {
    if (target.local.port != 0 && s->local() == target.local) chosen = s.get();
  }
  for (const auto& s : udpSockets_) {
    if (chosen == nullptr && s->local().address.is_v6() == target.endpoint.address.is_v6())
      chosen = s.get();
  }
  if (chosen == nullptr) {
    return makeError(
        ErrorCode::Unavailable,
        std::string("no UDP listener for ") + (target.endpoint.address.is_v6() ? "IPv6" : "IPv4"));
  }
  return chosen->sendTo(bytes, target.endpoint);
}

Result<void> TransportLayer::Impl::sendOnStream(std::string bytes, const Target& target) {
  auto usable = [&](ConnectionId id) -> StreamConnection* {
    auto it = connections_.find(id);
    if (it == connections_.end()) return nullptr;
    StreamConnection& c = *it->second.connection;
    if (c.protocol() != target.protocol || c.closed() || c.closing()) return nullptr;
    // A pinned target only rides a connection that proved (or is being opened to prove) its key.
    if (!target.peerIdentity.empty() && c.peerIdentity() != target.peerIdentity &&
        it->second.openedFor.peerIdentity != target.peerIdentity) {
      return nullptr;
    }
    return &c;
  };
  // §18.2.2: the connection the request came on, if still open; RFC 5626: the flow named.
  if (target.connection != 0) {
    if (auto* c = usable(target.connection)) return c->write(std::move(bytes));
  }
  if (!isUsable(target.endpoint)) {
    return makeError(ErrorCode::TransportError, "connection " + std::to_string(target.connection) +
                                                    " is gone and there is no endpoint to reopen");
  }
  // §18.1.1 (and RFC 5923's spirit): reuse an open connection to the same place.
  if (auto it = byRemote_.find({target.protocol, target.endpoint}); it != byRemote_.end()) {
    if (auto* c = usable(it->second)) return c->write(std::move(bytes));
  }
  if (!target.peerIdentity.empty()) {
    if (auto it = byIdentity_.find(target.peerIdentity); it != byIdentity_.end()) {
      if (auto* c = usable(it->second)) return c->write(std::move(bytes));
    }
  }
  const bool peerLink = target.protocol == Protocol::Tls && !target.peerIdentity.empty();
  // Unpinned TLS (a stray 2xx relayed by Via towards a peer) falls back to the peer-link context
  // on a peer that serves no phones over TLS.
  const std::shared_ptr<net::TlsContext>& tls = peerLink || !tls_ ? peerTls_ : tls_;
  if (target.protocol == Protocol::Tls && !tls) {
    return makeError(ErrorCode::Unavailable, "no TLS context for " + target.endpoint.toString());
  }
  if (connections_.size() >= config_.maxConnections) {
    metrics_.connectionsRejected.inc();
    return makeError(ErrorCode::LimitExceeded,
                     "connection limit " + std::to_string(config_.maxConnections) + " reached");
  }
  asio::ip::tcp::socket socket(loop_.context());
  if (peerLink && config_.peerLinkSource &&
      config_.peerLinkSource->is_v4() == target.endpoint.address.is_v4()) {
    asio::error_code ec;
    socket.open(target.endpoint.toTcp().protocol(), ec);
    if (!ec) socket.bind(asio::ip::tcp::endpoint(*config_.peerLinkSource, 0), ec);
    if (ec) {
      return makeError(ErrorCode::TransportError,
                       "cannot bind a peer link to " +
                           net::addressToString(*config_.peerLinkSource) + ": " + ec.message());
    }
  }
  auto connection =
      makeConnection(target.protocol, true, std::move(socket), target.endpoint,
                     target.protocol == Protocol::Tls ? tls : nullptr, target.peerIdentity);
  if (peerLink) connections_[connection->id()].peerLink = true;
  if (auto queued = connection->write(std::move(bytes)); !queued) {
    drop(connection->id(), Report::Never, {});
    return queued;
  }
  scheduleConnectTimeout(connection->id());
  connection->connect(target.endpoint);
  return {};
}

void TransportLayer::Impl::scheduleConnectTimeout(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  it->second.connectTimer = timers_.schedule(config_.connectTimeout, [this, id] {
    auto found = connections_.find(id);
    if (found == connections_.end()) return;
    found->second.connectTimer = kNoTimer;
    if (found->second.connection->established()) return;
    metrics_.connectTimeouts.inc();
    logger_.debug("connection {} to {} not up within {} ms", id,
                  found->second.openedFor.endpoint.toString(), config_.connectTimeout.count());
    drop(id, Report::Always,
         Error{ErrorCode::Timeout, "no connection to " +
                                       found->second.openedFor.endpoint.toString() + " within " +
                                       std::to_string(config_.connectTimeout.count()) + " ms"});
  });
}

// ---- connections

std::shared_ptr<StreamConnection> TransportLayer::Impl::makeConnection(
    Protocol protocol, bool outbound, asio::ip::tcp::socket socket,
    const std::optional<net::Endpoint>& target, std::shared_ptr<net::TlsContext> tls,
    std::string expectedPeer) {
  const ConnectionId id = nextConnectionId_++;
  const StreamConnection::Limits limits{config_.parseLimits, config_.maxInboundBytesPerConnection,
                                        config_.maxOutboundBytesPerConnection};
  auto connection = std::make_shared<StreamConnection>(id, protocol, outbound, std::move(socket),
                                                       std::move(tls), limits, timers_, *this);
  const net::Endpoint remote = target ? *target : connection->remote();
  connections_.emplace(
      id, ConnectionEntry{connection, Target{protocol, remote, id, {}, std::move(expectedPeer)}});
  byRemote_[{protocol, remote}] = id;
  metrics_.connectionsOpened.inc();
  metrics_.connections.add(1);
  scheduleIdleCheck(id, config_.idleTimeout);
  return connection;
}

void TransportLayer::Impl::onAccepted(StreamListener& listener, asio::ip::tcp::socket&& socket) {
  if (connections_.size() >= config_.maxConnections) {
    // Refuse rather than evict: an attacker opening connections must not push out good peers.
    metrics_.connectionsRejected.inc();
    asio::error_code ignored;
    logger_.debug("refusing {} connection: limit {} reached", toString(listener.protocol()),
                  config_.maxConnections);
    socket.close(ignored);
    return;
  }
  const auto role = listenerRoles_.find(&listener);
  const bool peerLinks = role != listenerRoles_.end() && role->second == ListenerRole::PeerLinks;
  auto connection = makeConnection(
      listener.protocol(), false, std::move(socket), std::nullopt,
      listener.protocol() == Protocol::Tls ? (peerLinks ? peerTls_ : tls_) : nullptr, {});
  if (peerLinks) connections_[connection->id()].peerLink = true;
  logger_.debug("accepted {} connection {} from {}", toString(listener.protocol()),
                connection->id(), connection->remote().toString());
  connection->start();
}

void TransportLayer::Impl::onEstablished(StreamConnection& connection) {
  if (connection.protocol() == Protocol::Tls) {
    if (auto der = connection.peerCertificateDer()) {
      if (auto fingerprint = net::publicKeyFingerprint(*der)) {
        connection.setPeerIdentity(std::move(*fingerprint));
      }
    }
    auto it = connections_.find(connection.id());
    if (it != connections_.end() && !it->second.openedFor.peerIdentity.empty() &&
        it->second.openedFor.peerIdentity != connection.peerIdentity()) {
      // The address answered, but not with the key we looked up: someone else holds it now (or
      // pretends to). Never deliver the queued request there.
      metrics_.peerIdentityMismatches.inc();
      logger_.warn("peer at {} proved key {}, expected {}; closing", connection.remote().toString(),
                   connection.peerIdentity().empty() ? "(none)" : connection.peerIdentity(),
                   it->second.openedFor.peerIdentity);
      drop(connection.id(), Report::Always,
           Error{ErrorCode::TransportError, "peer at " + connection.remote().toString() +
                                                " is not node " +
                                                it->second.openedFor.peerIdentity});
      return;
    }
  }
  if (auto it = connections_.find(connection.id());
      it != connections_.end() && it->second.peerLink && !connection.peerIdentity().empty()) {
    byIdentity_[connection.peerIdentity()] = connection.id();
  }
  logger_.debug("{} connection {} to {} established", toString(connection.protocol()),
                connection.id(), connection.remote().toString());
  if (connection.outbound() && config_.keepAlive.pingInterval > std::chrono::milliseconds::zero()) {
    schedulePing(connection.id());
  }
}

void TransportLayer::Impl::onClosed(StreamConnection& connection, const Error& reason) {
  if (reason.code == ErrorCode::LimitExceeded) metrics_.connectionsOverflowed.inc();
  logger_.debug("{} connection {} with {} closed: {}", toString(connection.protocol()),
                connection.id(), connection.remote().toString(), reason.detail);
  drop(connection.id(), Report::IfMessagesLost, reason);
}

void TransportLayer::Impl::onPeerFrame(StreamConnection& connection, std::string_view frame) {
  auto it = connections_.find(connection.id());
  const bool peerLink =
      it != connections_.end() && it->second.peerLink && !connection.peerIdentity().empty();
  if (!peerLink || frameHandler_ == nullptr) {
    // A phone's connection has no business sending peer frames; 0x00 is not SIP either.
    metrics_.peerFramesRefused.inc();
    logger_.info(
        "closing {} connection {} from {}: a peer frame {}", toString(connection.protocol()),
        connection.id(), connection.remote().toString(),
        peerLink ? "arrived with no one to take it" : "on a connection that is no peer link");
    drop(connection.id(), Report::Never, {});
    return;
  }
  metrics_.peerFramesReceived.inc();
  frameHandler_->onPeerFrame(connection.flow(), frame);
}

Result<void> TransportLayer::Impl::sendPeerFrame(std::string frame, const Target& target) {
  if (target.protocol != Protocol::Tls || target.peerIdentity.empty()) {
    return makeError(ErrorCode::InvalidArgument, "peer frames go only on pinned TLS peer links");
  }
  if (frame.size() < kPeerFrameHeaderBytes || frame.size() > kMaxPeerFrameBytes ||
      frame.front() != '\0') {
    return makeError(ErrorCode::InvalidArgument, "not a whole peer frame");
  }
  auto sent = sendOnStream(std::move(frame), target);
  if (sent) metrics_.peerFramesSent.inc();
  return sent;
}

void TransportLayer::Impl::drop(ConnectionId id, Report report, const Error& failure) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  const std::shared_ptr<StreamConnection> connection = it->second.connection;
  const Target target = it->second.openedFor;
  // Messages are lost when queued bytes never left, or an outbound connection never came up.
  const bool lost =
      connection->bytesQueued() > 0 || (connection->outbound() && !connection->established());
  forget(id);
  connection->detach();
  if (handler_ != nullptr &&
      (report == Report::Always || (report == Report::IfMessagesLost && lost))) {
    handler_->onTransportError(target, failure);
  }
}

void TransportLayer::Impl::forget(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  ConnectionEntry& entry = it->second;
  timers_.cancel(entry.idleTimer);
  timers_.cancel(entry.pingTimer);
  timers_.cancel(entry.pongTimer);
  timers_.cancel(entry.connectTimer);
  for (const RemoteKey& key :
       {RemoteKey{entry.openedFor.protocol, entry.openedFor.endpoint},
        RemoteKey{entry.connection->protocol(), entry.connection->remote()}}) {
    if (auto r = byRemote_.find(key); r != byRemote_.end() && r->second == id) byRemote_.erase(r);
  }
  std::string closedPeer;
  if (auto i = byIdentity_.find(entry.connection->peerIdentity());
      i != byIdentity_.end() && i->second == id) {
    closedPeer = i->first;
    byIdentity_.erase(i);
    // Another live link with the same peer (both opened one at once) takes over.
    for (const auto& [otherId, other] : connections_) {
      if (otherId != id && other.peerLink && other.connection->established() &&
          other.connection->peerIdentity() == closedPeer) {
        byIdentity_[closedPeer] = otherId;
        closedPeer.clear();
        break;
      }
    }
  }
  connections_.erase(it);
  metrics_.connections.add(-1);
  if (!closedPeer.empty() && frameHandler_ != nullptr) frameHandler_->onPeerLinkClosed(closedPeer);
}

void TransportLayer::Impl::scheduleIdleCheck(ConnectionId id, Duration delay) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  // One check per connection, rescheduled from the last activity: traffic itself costs no timer
  // operations.
  it->second.idleTimer = timers_.schedule(delay, [this, id] {
    auto found = connections_.find(id);
    if (found == connections_.end()) return;
    found->second.idleTimer = kNoTimer;
    const Duration idle = timers_.now() - found->second.connection->lastActivity();
    if (idle < config_.idleTimeout) {
      scheduleIdleCheck(id, config_.idleTimeout - idle);
      return;
    }
    metrics_.connectionsIdleClosed.inc();
    logger_.debug("closing idle connection {}", id);
    drop(id, Report::IfMessagesLost,
         Error{ErrorCode::Timeout, "connection idle or not established in time"});
  });
}

void TransportLayer::Impl::schedulePing(ConnectionId id) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  it->second.pingTimer = timers_.schedule(config_.keepAlive.pingInterval, [this, id] {
    auto found = connections_.find(id);
    if (found == connections_.end()) return;
    ConnectionEntry& entry = found->second;
    entry.pingTimer = kNoTimer;
    if (entry.pongTimer == kNoTimer && entry.connection->write(std::string(kPing))) {
      // RFC 5626 §4.4.1: no pong in time means the flow has failed; tell the layer above so it
      // can re-register the flow.
      entry.pongTimer = timers_.schedule(config_.keepAlive.pongTimeout, [this, id] {
        auto f = connections_.find(id);
        if (f == connections_.end()) return;
        f->second.pongTimer = kNoTimer;
        metrics_.keepAliveTimeouts.inc();
        drop(id, Report::Always, Error{ErrorCode::Timeout, "no keep-alive pong (RFC 5626 §4.4.1)"});
      });
    }
    schedulePing(id);
  });
}

// ---- introspection

ConnectionInfo TransportLayer::Impl::infoOf(const StreamConnection& c) {
  return ConnectionInfo{c.id(),       c.protocol(),    c.local(),       c.remote(),
                        c.outbound(), c.established(), c.bytesQueued(), c.peerIdentity()};
}

std::optional<std::string> TransportLayer::Impl::peerCertificateDer(ConnectionId id) const {
  auto it = connections_.find(id);
  if (it == connections_.end()) return std::nullopt;
  return it->second.connection->peerCertificateDer();
}

std::optional<ConnectionInfo> TransportLayer::Impl::connection(ConnectionId id) const {
  auto it = connections_.find(id);
  if (it == connections_.end()) return std::nullopt;
  return infoOf(*it->second.connection);
}

std::vector<ConnectionInfo> TransportLayer::Impl::connections() const {
  std::vector<ConnectionInfo> out;
  out.reserve(connections_.size());
  for (const auto& [id, entry] : connections_) out.push_back(infoOf(*entry.connection));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<Listener> TransportLayer::Impl::listeners() const {
  std::vector<Listener> out;
  for (const auto& s : udpSockets_) out.push_back(Listener{Protocol::Udp, s->local()});
  for (const auto& l : streamListeners_) {
    auto role = listenerRoles_.find(l.get());
    out.push_back(Listener{l->protocol(), l->local(),
                           role == listenerRoles_.end() ? ListenerRole::Phones : role->second});
  }
  return out;
}

TransportStats TransportLayer::Impl::stats() const {
  TransportStats s;
  s.listeners = udpSockets_.size() + streamListeners_.size();
  s.connections = connections_.size();
  for (const auto& [id, entry] : connections_) {
    (entry.connection->outbound() ? s.outboundConnections : s.inboundConnections)++;
    s.bytesQueued += entry.connection->bytesQueued();
  }
  return s;
}

// ---- TransportLayer forwards to Impl (keeps asio out of the public header)

TransportLayer::TransportLayer(net::EventLoop& loop, TimerService& timers, MetricsRegistry& metrics,
                               Logger logger, const TransportConfig& config,
                               std::shared_ptr<net::TlsContext> tls)
    : impl_(std::make_unique<Impl>(loop, timers, metrics, std::move(logger), config,
                                   std::move(tls))) {}
TransportLayer::~TransportLayer() = default;
void TransportLayer::setInboundHandler(InboundHandler& handler) {
  impl_->setInboundHandler(handler);
}
Result<net::Endpoint> TransportLayer::addListener(Protocol protocol, const net::Endpoint& local,
                                                  ListenerRole role) {
  return impl_->addListener(protocol, local, role);
}
void TransportLayer::setPeerLinkTls(std::shared_ptr<net::TlsContext> tls) {
  impl_->setPeerLinkTls(std::move(tls));
}
Result<void> TransportLayer::send(const sip::Message& message, const Target& target) {
  return impl_->send(message, target);
}
Result<void> TransportLayer::sendSerialized(std::string_view bytes, const Target& target) {
  return impl_->sendSerialized(bytes, target);
}
void TransportLayer::setPeerFrameHandler(PeerFrameHandler& handler) {
  impl_->setPeerFrameHandler(handler);
}
Result<void> TransportLayer::sendPeerFrame(std::string frame, const Target& target) {
  return impl_->sendPeerFrame(std::move(frame), target);
}
void TransportLayer::closeConnection(ConnectionId id) {
  impl_->closeConnection(id);
}
std::optional<std::string> TransportLayer::peerCertificateDer(ConnectionId id) const {
  return impl_->peerCertificateDer(id);
}
std::optional<ConnectionInfo> TransportLayer::connection(ConnectionId id) const {
  return impl_->connection(id);
}
std::vector<ConnectionInfo> TransportLayer::connections() const {
  return impl_->connections();
}
std::vector<Listener> TransportLayer::listeners() const {
  return impl_->listeners();
}
TransportStats TransportLayer::stats() const {
  return impl_->stats();
}

}  // namespace p2psip::transport
