// SPDX-License-Identifier: Apache-2.0
// The transport layer's contract with the layers above (RFC 3261 §18).
//
// Messages enter through InboundHandler (declared here, implemented by the transaction layer), and
// leave through MessageSender (implemented here by TransportLayer, faked in transaction tests).
// Nothing in transport knows about transactions. Not thread-safe: everything runs on the
// signalling loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/sip/message.h"

namespace p2psip::transport {

enum class Protocol : std::uint8_t { Udp, Tcp, Tls };

std::string_view toString(Protocol p);  // "UDP", "TCP", "TLS" as written in Via
bool isReliable(Protocol p);            // TCP and TLS (RFC 3261 §17.1.1.2 timers A, E, G)

// Identifies one TCP/TLS connection for as long as it lives; 0 means "no connection" (UDP).
using ConnectionId = std::uint64_t;

// How a message arrived, and so how to answer it (§18.2.2) or reach its sender again (RFC 5626
// flows): the protocol, both ends, and for streams the connection.
struct Flow {
  Protocol protocol = Protocol::Udp;
  net::Endpoint local{};
  net::Endpoint remote{};
  ConnectionId connection = 0;
  // TLS only: the lower-case hex SHA-256 of the public key the other end proved it holds in the
  // handshake (net::publicKeyFingerprint), empty when it presented no certificate. For an overlay
  // peer link this is the peer's NodeId.
  std::string peerIdentity{};
};

// Where to send a message. When `connection` names a live connection it is used (responses,
// RFC 5626 flows); otherwise TCP/TLS reuse an open connection to `endpoint` or open one.
struct Target {
  Protocol protocol = Protocol::Udp;
  net::Endpoint endpoint{};
  ConnectionId connection = 0;
  // UDP only: send from the listener bound to this endpoint, so a response leaves from where the
  // request arrived (RFC 3581 §4, symmetric response for NATs). Port 0 = any listener.
  net::Endpoint local{};
  // TLS only: the key fingerprint (see Flow::peerIdentity) the other end must prove. A connection
  // is used only if it proved this key; a new one is opened with the peer-link TLS context and
  // closed with a transport error if the handshake shows another key. Empty: no pinning.
  std::string peerIdentity{};
};

struct InboundMessage {
  sip::Message message;
  Flow flow;
};

// Implemented by the layer above the transport (the transaction layer).
class InboundHandler {
 public:
  virtual ~InboundHandler() = default;
  // A parsed message. Requests already carry received/rport on their top Via (§18.2.1, RFC 3581).
  virtual void onMessage(InboundMessage&& inbound) = 0;
  // A send to `target` failed after send() returned (connect refused, TLS handshake failed,
  // connection reset with queued data). RFC 3261 §8.1.3.1 turns this into a 503 for the client.
  virtual void onTransportError(const Target& target, const Error& error) = 0;
};

// Peer-link frames: on an overlay peer link, a byte 0x00 where a SIP message would start (SIP
// starts with a letter, keep-alives with CR/LF) begins a binary frame of the overlay's peer
// protocol (docs/relay-control-protocol.md §1-2): a 12-byte header whose bytes 10-11 carry the
// body length (big-endian), at most kMaxPeerFrameBytes in all. The transport only delimits frames
// and hands each up whole; what they mean is the peer protocol's business.
inline constexpr std::size_t kPeerFrameHeaderBytes = 12;
inline constexpr std::size_t kMaxPeerFrameBytes = 4096;

class PeerFrameHandler {
 public:
  virtual ~PeerFrameHandler() = default;
  // A whole frame from the peer on `flow` (flow.peerIdentity is its NodeId). The view lives for
  // the call only.
  virtual void onPeerFrame(const Flow& flow, std::string_view frame) = 0;
  // The last established peer link with the peer whose NodeId is `peerIdentity` closed (what the
  // peer holds here on behalf of that link, e.g. relay streams, can go).
  virtual void onPeerLinkClosed(const std::string& /*peerIdentity*/) {}
};

// Implemented by TransportLayer; the transaction layer sends through it.
class MessageSender {
 public:
  virtual ~MessageSender() = default;
  // Serializes and sends, or queues behind a connection being opened. Immediate failures come back
  // here; later ones through InboundHandler::onTransportError.
  virtual Result<void> send(const sip::Message& message, const Target& target) = 0;
  // Sends bytes that serialize() produced earlier: what a transaction lingering in a completed
  // state keeps instead of the whole parsed message (RFC 3261 §17.2.1/§17.2.2 retransmissions,
  // §17.1.1.3 ACKs). The default parses them back and calls send(), for senders that inspect
  // messages; the transport overrides it to send the bytes as they are.
  virtual Result<void> sendSerialized(std::string_view bytes, const Target& target);
};

// RFC 3261 §18.2.2 (with RFC 3581 §4): where a server sends a response to a request that arrived
// on `arrivedOn` with top Via `via`. Reliable transports use the same connection; UDP uses maddr
// if present, else received and rport (or the Via port, default 5060).
Target responseTarget(const sip::Via& via, const Flow& arrivedOn);

}  // namespace p2psip::transport
