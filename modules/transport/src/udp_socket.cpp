// SPDX-License-Identifier: Apache-2.0
#include "udp_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/ip/v6_only.hpp>
#include <cerrno>
#include <cstring>
#include <optional>

namespace p2psip::transport {
namespace {
// The largest UDP payload; RFC 3261 §18.1.1 keeps SIP far below it, but we must not truncate.
constexpr std::size_t kMaxDatagram = 65535;
// The largest payload the kernel sends (IPv4: 65535 less the IP and UDP headers); a larger one is
// refused at once even when it would be queued.
constexpr std::size_t kMaxSendPayload = 65507;
// Datagrams read per wake-up before going back to the reactor: enough to drain a burst without
// starving the rest of the loop.
constexpr int kMaxDatagramsPerWakeup = 64;
constexpr std::size_t kDrainBatch = 8;
// Datagrams sent per sendmmsg; a handler that queues more flushes early.
constexpr std::size_t kSendBatch = 32;

// The sender of a recvmmsg slot, read the way the reactor's receives are (Endpoint::fromAsio).
std::optional<net::Endpoint> endpointOf(const sockaddr_storage& address, socklen_t length) {
  asio::ip::udp::endpoint endpoint;
  if (length > endpoint.capacity() ||
      (address.ss_family != AF_INET && address.ss_family != AF_INET6))
    return std::nullopt;
  std::memcpy(endpoint.data(), &address, length);
  endpoint.resize(length);
  return net::Endpoint::fromAsio(endpoint);
}

// The kernel's default UDP buffers (about 200 KiB) overflow in the bursts a busy SIP server sees,
// and a dropped datagram costs a retransmission 500 ms later. SO_RCVBUFFORCE/SO_SNDBUFFORCE go past
// net.core.rmem_max when we may (root, CAP_NET_ADMIN); otherwise the kernel caps the plain option.
void setBufferSizes(int fd, std::size_t bytes) {
  if (bytes == 0) return;
  const int size = static_cast<int>(std::min<std::size_t>(bytes, 1u << 30));
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) != 0) {
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }
}
}  // namespace

Result<std::shared_ptr<UdpSocket>> UdpSocket::open(asio::io_context& context,
                                                   const net::Endpoint& local, Owner& owner,
                                                   std::size_t socketBufferBytes) {
  asio::ip::udp::socket socket(context);
  asio::error_code ec;
  const auto endpoint = local.toUdp();
  socket.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6()) {
    // Keep IPv6 listeners IPv6-only, so an IPv4 listener may share the port number.
    socket.set_option(asio::ip::v6_only(true), ec);
  }
  if (!ec) socket.bind(endpoint, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (!ec) setBufferSizes(socket.native_handle(), socketBufferBytes);
  if (ec) {
    return makeError(ErrorCode::TransportError,
                     "UDP bind " + local.toString() + ": " + ec.message());
  }
  const auto bound = net::Endpoint::fromAsio(socket.local_endpoint(ec));
  if (ec) return makeError(ErrorCode::TransportError, "UDP local_endpoint: " + ec.message());
  return std::make_shared<UdpSocket>(std::move(socket), bound, owner);
}

UdpSocket::UdpSocket(asio::ip::udp::socket socket, net::Endpoint local, Owner& owner)
    : socket_(std::move(socket)),
      local_(local),
      owner_(&owner),
      buffer_((kDrainBatch + 1) * kMaxDatagram) {}

void UdpSocket::start() {
  receive();
}

void UdpSocket::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_.data(), kMaxDatagram), sender_,
      [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (self->owner_ == nullptr || ec == asio::error::operation_aborted) return;
        // Errors on an unconnected UDP socket (ICMP reports) concern one
        // earlier send, not the socket: keep receiving.
        if (!ec) {
          self->queueing_ = true;
          self->owner_->onDatagram(*self, std::string_view(self->buffer_.data(), n),
                                   net::Endpoint::fromAsio(self->sender_));
          self->drain();
          self->queueing_ = false;
          self->flush();
        }
        if (self->owner_ != nullptr) self->receive();
      });
}

void UdpSocket::drain() {
  // The socket is non-blocking: read what is already queued without another trip through the
  // reactor (one epoll round per datagram is most of a busy server's system time), several
  // datagrams per system call (recvmmsg). A short batch means the queue is empty: no extra call
  // just to hear EAGAIN; the reactor's next receive finds anything that arrives later.
  std::array<mmsghdr, kDrainBatch> messages{};
  std::array<iovec, kDrainBatch> vectors{};
  std::array<sockaddr_storage, kDrainBatch> senders{};
  for (int read = 0; read < kMaxDatagramsPerWakeup && owner_ != nullptr;) {
    for (std::size_t i = 0; i < kDrainBatch; ++i) {
      vectors[i].iov_base = buffer_.data() + (i + 1) * kMaxDatagram;
      vectors[i].iov_len = kMaxDatagram;
      messages[i].msg_hdr = msghdr{};
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &senders[i];
      messages[i].msg_hdr.msg_namelen = sizeof senders[i];
    }
    const int n =
        ::recvmmsg(socket_.native_handle(), messages.data(), kDrainBatch, MSG_DONTWAIT, nullptr);
    if (n < 0) {
      if (errno == EINTR) continue;
      // EAGAIN: drained. Anything else is an ICMP report about an earlier send (not this socket's
      // failure) and consumed it; the reactor's receive picks up from here.
      return;
    }
    for (int i = 0; i < n && owner_ != nullptr; ++i) {
      const auto& sender = senders[static_cast<std::size_t>(i)];
      const auto from =
          endpointOf(sender, messages[static_cast<std::size_t>(i)].msg_hdr.msg_namelen);
      if (!from) continue;
      owner_->onDatagram(
          *this,
          std::string_view(static_cast<const char*>(vectors[static_cast<std::size_t>(i)].iov_base),
                           messages[static_cast<std::size_t>(i)].msg_len),
          *from);
    }
    read += n;
    if (n < static_cast<int>(kDrainBatch)) return;
  }
}

Result<void> UdpSocket::sendTo(std::string_view datagram, const net::Endpoint& to) {
  if (queueing_ && owner_ != nullptr) {
    if (datagram.size() > kMaxSendPayload) {
      return makeError(ErrorCode::TransportError, "UDP send to " + to.toString() + ": " +
                                                      std::to_string(datagram.size()) +
                                                      " bytes is larger than a datagram may be");
    }
    queued_.push_back(Queued{queuedBytes_.size(), datagram.size(), to.toUdp()});
    queuedBytes_.insert(queuedBytes_.end(), datagram.begin(), datagram.end());
    if (queued_.size() >= kSendBatch) flush();
    return {};
  }
  asio::error_code ec;
  socket_.send_to(asio::buffer(datagram.data(), datagram.size()), to.toUdp(), 0, ec);
  if (ec) {
    return makeError(ErrorCode::TransportError,
                     "UDP send to " + to.toString() + ": " + ec.message());
  }
  return {};
}

void UdpSocket::flush() {
  if (queued_.empty()) return;
  std::array<mmsghdr, kSendBatch> messages{};
  std::array<iovec, kSendBatch> vectors{};
  struct Failure {
    net::Endpoint to;
    int error;
  };
  std::vector<Failure> failures;
  std::size_t next = 0;
  while (next < queued_.size()) {
    const std::size_t count = std::min(kSendBatch, queued_.size() - next);
    for (std::size_t k = 0; k < count; ++k) {
      Queued& q = queued_[next + k];
      vectors[k].iov_base = queuedBytes_.data() + q.offset;
      vectors[k].iov_len = q.size;
      messages[k].msg_hdr = msghdr{};
      messages[k].msg_hdr.msg_iov = &vectors[k];
      messages[k].msg_hdr.msg_iovlen = 1;
      messages[k].msg_hdr.msg_name = q.to.data();
      messages[k].msg_hdr.msg_namelen = static_cast<socklen_t>(q.to.size());
    }
    const int sent =
        ::sendmmsg(socket_.native_handle(), messages.data(), static_cast<unsigned>(count), 0);
    if (sent > 0) {
      next += static_cast<std::size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    // sendmmsg stops at the first datagram it cannot send and says why only when that one is
    // first in the call: this one failed, the ones after it get their own try.
    failures.push_back(Failure{net::Endpoint::fromAsio(queued_[next].to), sent < 0 ? errno : EIO});
    ++next;
  }
  queued_.clear();
  queuedBytes_.clear();
  for (const auto& f : failures) {
    if (owner_ == nullptr) return;
    if (f.error == EAGAIN || f.error == EWOULDBLOCK || f.error == ENOBUFS) {
      owner_->onSendFailed(*this, f.to, Error{ErrorCode::LimitExceeded, "UDP send buffer full"});
      continue;
    }
    owner_->onSendFailed(*this, f.to,
                         Error{ErrorCode::TransportError,
                               "UDP send to " + f.to.toString() + ": " + std::strerror(f.error)});
  }
}

void UdpSocket::detach() {
  owner_ = nullptr;
  flush();  // what was already accepted still leaves; nobody is left to hear of failures
  asio::error_code ignored;
  socket_.close(ignored);
}

}  // namespace p2psip::transport
