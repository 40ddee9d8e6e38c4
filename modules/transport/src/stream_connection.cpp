// SPDX-License-Identifier: Apache-2.0
#include "stream_connection.h"

#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

namespace p2psip::transport {
namespace {
constexpr std::size_t kReadChunk = 16 * 1024;
// Queued messages are written together up to this many bytes: one TLS record (at most 16 KiB of
// plaintext each) and one syscall for a burst instead of one per message.
constexpr std::size_t kMaxCoalescedWrite = 64 * 1024;

Error ioError(std::string_view what, const asio::error_code& ec) {
  return Error{ErrorCode::TransportError, std::string(what) + ": " + ec.message()};
}
}  // namespace

StreamConnection::StreamConnection(ConnectionId id, Protocol protocol, bool outbound,
                                   asio::ip::tcp::socket socket,
                                   std::shared_ptr<net::TlsContext> tls, const Limits& limits,
                                   const TimerService& clock, Owner& owner)
    : id_(id),
      protocol_(protocol),
      outbound_(outbound),
      socket_(std::move(socket)),
      tlsContext_(std::move(tls)),
      limits_(limits),
      clock_(clock),
      owner_(&owner),
      framer_(limits.parse),
      readBuffer_(kReadChunk),
      lastActivity_(clock.now()) {
  asio::error_code ec;
  if (socket_.is_open()) {
    local_ = net::Endpoint::fromAsio(socket_.local_endpoint(ec));
    remote_ = net::Endpoint::fromAsio(socket_.remote_endpoint(ec));
  }
  if (tlsContext_) tls_.emplace(std::move(socket_), tlsContext_->native());
}

void StreamConnection::connect(const net::Endpoint& remote) {
  remote_ = remote;
  socket().async_connect(remote.toTcp(), [self = shared_from_this()](const asio::error_code& ec) {
    if (self->closed_) return;
    if (ec) {
      self->close(ioError("connect to " + self->remote_.toString(), ec));
      return;
    }
    asio::error_code ignored;
    self->local_ = net::Endpoint::fromAsio(self->socket().local_endpoint(ignored));
    // SIP messages are small and latency matters more than segment count.
    self->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    if (self->tls_) {
      self->handshake(TlsStream::client);
    } else {
      self->onUp();
    }
  });
}

void StreamConnection::start() {
  asio::error_code ignored;
  socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  if (tls_) {
    handshake(TlsStream::server);
  } else {
    onUp();
  }
}

void StreamConnection::handshake(TlsStream::handshake_type type) {
  tls_->async_handshake(type, [self = shared_from_this()](const asio::error_code& ec) {
    if (self->closed_) return;
    if (ec) {
      self->close(ioError("TLS handshake with " + self->remote_.toString(), ec));
      return;
    }
    self->onUp();
  });
}

void StreamConnection::onUp() {
  established_ = true;
  touch();
  if (owner_ != nullptr) owner_->onEstablished(*this);
  if (closed_) return;
  read();
  writeNext();
}

void StreamConnection::read() {
  auto handler = [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
    if (self->closed_) return;
    if (ec) {
      const bool orderly = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
      self->close(orderly ? Error{ErrorCode::TransportError, "connection closed by peer"}
                          : ioError("read from " + self->remote_.toString(), ec));
      return;
    }
    self->onBytes(n);
    if (!self->closed_ && !self->closing_) self->read();
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(readBuffer_), std::move(handler));
  } else {
    socket_.async_read_some(asio::buffer(readBuffer_), std::move(handler));
  }
}

void StreamConnection::onBytes(std::size_t n) {
  touch();
  const std::string_view bytes(readBuffer_.data(), n);
  // A peer that sends faster than it completes messages is flooding us: RFC 3261 §18.3 gives no
  // way to recover framing, so the connection goes.
  if (framer_.buffered() + bytes.size() > limits_.maxInboundBytes || !framer_.append(bytes)) {
    close(Error{ErrorCode::LimitExceeded, "more than " + std::to_string(limits_.maxInboundBytes) +
                                              " bytes buffered from " + remote_.toString()});
    return;
  }
  while (!closed_ && !closing_ && owner_ != nullptr) {
    // Peer-link frames sit between SIP messages (transport.h); only TLS carries them.
    if (protocol_ == Protocol::Tls) {
      const std::string_view pending = framer_.pending();
      if (!pending.empty() && pending.front() == '\0') {
        if (pending.size() < kPeerFrameHeaderBytes) break;
        const std::size_t length =
            kPeerFrameHeaderBytes +
            ((static_cast<std::size_t>(static_cast<unsigned char>(pending[10])) << 8) |
             static_cast<unsigned char>(pending[11]));
        if (length > kMaxPeerFrameBytes) {
          close(Error{ErrorCode::ParseError, "peer frame of " + std::to_string(length) +
                                                 " bytes from " + remote_.toString() +
                                                 " is over the limit"});
          return;
        }
        if (pending.size() < length) break;
        auto self = shared_from_this();
        const std::string frame(pending.substr(0, length));
        framer_.consume(length);
        owner_->onPeerFrame(*this, frame);
        continue;
      }
    }
    sip::StreamEvent event = framer_.next();
    if (std::holds_alternative<sip::NeedMoreData>(event)) break;
    const bool isError = std::holds_alternative<sip::ParseError>(event);
    auto self = shared_from_this();  // the owner may drop its reference while handling the event
    owner_->onStreamEvent(*this, std::move(event));
    // A framing error leaves no way to find the next message; the owner closes us (after any
    // answer), and we must not read further in any case.
    if (isError && framer_.fatal()) break;
  }
}

Result<void> StreamConnection::write(std::string bytes) {
  if (closed_ || closing_) {
    return makeError(ErrorCode::TransportError,
                     "connection to " + remote_.toString() + " is closing");
  }
  if (bytesQueued_ + bytes.size() > limits_.maxOutboundBytes) {
    return makeError(ErrorCode::LimitExceeded, "more than " +
                                                   std::to_string(limits_.maxOutboundBytes) +
                                                   " bytes queued for " + remote_.toString());
  }
  bytesQueued_ += bytes.size();
  writeQueue_.push_back(std::move(bytes));
  // Cork until the current handler returns: the messages a handler sends (a response upstream,
  // the request downstream, a burst of forwarded messages) leave in one write.
  if (established_ && !writing_ && !flushPosted_) {
    flushPosted_ = true;
    asio::post(socket().get_executor(), [self = shared_from_this()] {
      self->flushPosted_ = false;
      self->writeNext();
    });
  }
  return {};
}

void StreamConnection::writeNext() {
  if (writing_ || closed_) return;
  if (writeQueue_.empty()) {
    if (closing_) finishClosing();
    return;
  }
  writing_ = true;
  // Coalesce what is queued into one buffer (bounded), so it goes in one write. (Built aside and
  // put back: erasing inside a deque invalidates references to its other elements.)
  if (writeQueue_.size() > 1 &&
      writeQueue_[0].size() + writeQueue_[1].size() <= kMaxCoalescedWrite) {
    std::string merged = std::move(writeQueue_.front());
    writeQueue_.pop_front();
    while (!writeQueue_.empty() &&
           merged.size() + writeQueue_.front().size() <= kMaxCoalescedWrite) {
      merged += writeQueue_.front();
      writeQueue_.pop_front();
    }
    writeQueue_.push_front(std::move(merged));
  }
  auto handler = [self = shared_from_this()](const asio::error_code& ec, std::size_t) {
    self->writing_ = false;
    if (self->closed_) return;
    if (ec) {
      self->close(ioError("write to " + self->remote_.toString(), ec));
      return;
    }
    self->touch();
    self->bytesQueued_ -= self->writeQueue_.front().size();
    self->writeQueue_.pop_front();
    self->writeNext();
  };
  const auto buffer = asio::buffer(writeQueue_.front());
  if (tls_) {
    asio::async_write(*tls_, buffer, std::move(handler));
  } else {
    asio::async_write(socket_, buffer, std::move(handler));
  }
}

void StreamConnection::closeAfterFlush() {
  if (closed_ || closing_) return;
  closing_ = true;
  if (!writing_ && writeQueue_.empty()) finishClosing();
}

void StreamConnection::finishClosing() {
  close(Error{ErrorCode::TransportError, "closed after answering a framing error"});
}

void StreamConnection::close(const Error& reason) {
  if (closed_) return;
  auto self = shared_from_this();  // the owner drops its reference in onClosed
  closed_ = true;
  closeSocket();
  if (owner_ != nullptr) {
    Owner* owner = owner_;
    owner_ = nullptr;
    owner->onClosed(*this, reason);
  }
}

void StreamConnection::detach() {
  owner_ = nullptr;
  if (closed_) return;
  closed_ = true;
  closeSocket();
}

void StreamConnection::closeSocket() {
  // No TLS close_notify: SIP frames by Content-Length, so truncation cannot go unnoticed, and a
  // graceful TLS shutdown would need the connection to outlive this call.
  asio::error_code ignored;
  socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

std::optional<std::string> StreamConnection::peerCertificateDer() {
  if (!tls_ || !established_) return std::nullopt;
  return net::peerCertificateDer(tls_->native_handle());
}

}  // namespace p2psip::transport
