// SPDX-License-Identifier: Apache-2.0
// StreamConnection: one TCP or TLS connection carrying SIP (RFC 3261 §18.3): connect or accept,
// TLS handshake, a read loop that frames messages with sip::StreamFramer, and a write queue that
// holds messages until the connection is up. Policy (what to do with a message, a ping, an error,
// idleness) belongs to the owner, the transport layer. Private to transport.
//
// Held by std::shared_ptr: asio's TLS operations touch the stream even when they complete with
// operation_aborted, so every operation in flight keeps the connection alive until its handler
// has run. The owner's table holds the other reference; detach() cuts the link back to the owner.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>

#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/net/tls_context.h"
#include "p2psip/sip/parser.h"
#include "p2psip/transport/transport.h"

namespace p2psip::transport {

class StreamConnection : public std::enable_shared_from_this<StreamConnection> {
 public:
  class Owner {
   public:
    // Connected, and for TLS the handshake is done; queued messages are being written.
    virtual void onEstablished(StreamConnection& connection) = 0;
    // A framed message, parse error or keep-alive. The connection may be closed on return.
    virtual void onStreamEvent(StreamConnection& connection, sip::StreamEvent&& event) = 0;
    // Called once, when the connection fails or the peer closes it (not after detach()).
    virtual void onClosed(StreamConnection& connection, const Error& reason) = 0;
    // A whole peer-link frame (TLS only; transport.h). The owner decides whether this connection
    // may carry them. The connection may be closed on return.
    virtual void onPeerFrame(StreamConnection& connection, std::string_view frame) = 0;

   protected:
    ~Owner() = default;
  };

  struct Limits {
    sip::ParseLimits parse;
    std::size_t maxInboundBytes = 0;
    std::size_t maxOutboundBytes = 0;
  };

  // `tls` is null for TCP. `socket` is connected (accepted) or fresh (to be connect()ed).
  StreamConnection(ConnectionId id, Protocol protocol, bool outbound, asio::ip::tcp::socket socket,
                   std::shared_ptr<net::TlsContext> tls, const Limits& limits,
                   const TimerService& clock, Owner& owner);

  // Outbound: connects, handshakes (TLS client), then writes what was queued and starts reading.
  void connect(const net::Endpoint& remote);
  // Inbound: handshakes (TLS server) and starts reading.
  void start();

  // Queues bytes for writing. Fails when closing or when the outbound cap would be exceeded.
  Result<void> write(std::string bytes);
  // Stops reading, writes what is queued, then closes (e.g. after answering a framing error).
  void closeAfterFlush();
  // Closes now and reports `reason` to the owner (once).
  void close(const Error& reason);
  // Closes now without telling the owner (the owner initiated it or is going away).
  void detach();

  ConnectionId id() const { return id_; }
  Protocol protocol() const { return protocol_; }
  bool outbound() const { return outbound_; }
  bool established() const { return established_; }
  bool closed() const { return closed_; }
  bool closing() const { return closing_; }
  // The framer lost message boundaries (RFC 3261 §18.3): nothing more can be read from this stream.
  bool framingLost() const { return framer_.fatal(); }
  const net::Endpoint& local() const { return local_; }
  const net::Endpoint& remote() const { return remote_; }
  Flow flow() const { return Flow{protocol_, local_, remote_, id_, peerIdentity_}; }
  // Set by the owner once the TLS handshake has shown the other end's key.
  void setPeerIdentity(std::string fingerprint) { peerIdentity_ = std::move(fingerprint); }
  const std::string& peerIdentity() const { return peerIdentity_; }
  std::size_t bytesQueued() const { return bytesQueued_; }
  TimePoint lastActivity() const { return lastActivity_; }
  std::optional<std::string> peerCertificateDer();

 private:
  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;
  asio::ip::tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  void handshake(TlsStream::handshake_type type);
  void onUp();
  void read();
  void onBytes(std::size_t n);
  void writeNext();
  void finishClosing();
  void closeSocket();
  void touch() { lastActivity_ = clock_.now(); }

  ConnectionId id_;
  Protocol protocol_;
  bool outbound_;
  asio::ip::tcp::socket socket_;                 // TCP; moved into tls_ for TLS
  std::shared_ptr<net::TlsContext> tlsContext_;  // outlives the SSL session that refers to it
  std::optional<TlsStream> tls_;
  Limits limits_;
  const TimerService& clock_;
  Owner* owner_;
  sip::StreamFramer framer_;
  std::vector<char> readBuffer_;
  std::deque<std::string> writeQueue_;
  std::size_t bytesQueued_ = 0;
  bool writing_ = false;
  bool flushPosted_ = false;  // a writeNext() is queued on the loop (see write())
  bool established_ = false;
  bool closing_ = false;
  bool closed_ = false;
  net::Endpoint local_;
  net::Endpoint remote_;
  TimePoint lastActivity_;
  std::string peerIdentity_;
};

}  // namespace p2psip::transport
