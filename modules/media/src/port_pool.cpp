// SPDX-License-Identifier: Apache-2.0
#include "port_pool.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

#include "socket_address.h"

namespace p2psip::media {

PortLease::PortLease(PortPool& pool, std::size_t index, FileDescriptor rtp, FileDescriptor rtcp,
                     net::Endpoint endpoint)
    : pool_(&pool),
      index_(index),
      rtp_(std::move(rtp)),
      rtcp_(std::move(rtcp)),
      endpoint_(std::move(endpoint)) {}

PortLease::PortLease(PortLease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      index_(other.index_),
      rtp_(std::move(other.rtp_)),
      rtcp_(std::move(other.rtcp_)),
      endpoint_(other.endpoint_) {}

PortLease& PortLease::operator=(PortLease&& other) noexcept {
  if (this != &other) {
    giveBack();
    pool_ = std::exchange(other.pool_, nullptr);
    index_ = other.index_;
    rtp_ = std::move(other.rtp_);
    rtcp_ = std::move(other.rtcp_);
    endpoint_ = other.endpoint_;
  }
  return *this;
}

PortLease::~PortLease() {
  giveBack();
}

void PortLease::giveBack() {
  if (pool_ == nullptr) return;
  // Close first: the pair is free only once nothing holds the ports.
  rtp_.reset();
  rtcp_.reset();
  std::exchange(pool_, nullptr)->giveBack(index_);
}

PortPool::PortPool(asio::ip::address address, std::uint16_t portMin, std::size_t pairs,
                   int socketBufferBytes)
    : address_(std::move(address)),
      portMin_(portMin),
      socketBufferBytes_(socketBufferBytes),
      inUse_(pairs, false),
      free_(pairs) {}

std::size_t PortPool::freePairs() const {
  std::lock_guard lock(mutex_);
  return free_;
}

void PortPool::giveBack(std::size_t index) {
  std::lock_guard lock(mutex_);
  if (inUse_[index]) {
    inUse_[index] = false;
    ++free_;
  }
}

Result<PortLease> PortPool::lease() {
  const std::size_t pairs = inUse_.size();
  for (std::size_t attempt = 0; attempt < pairs; ++attempt) {
    const auto index = reserve();
    if (!index) break;
    // Bind outside the lock: syscalls never hold up a media thread returning a lease.
    auto lease = bindPair(*index);
    if (lease) return lease;
    giveBack(*index);  // its sockets, if any, are closed already
    // Another process holds one of the ports: try the next pair. Anything else is ours to report.
    if (lease.error().code != ErrorCode::Unavailable) return tl::unexpected(lease.error());
  }
  return makeError(ErrorCode::LimitExceeded,
                   "media: no free RTP/RTCP port pair on " + net::addressToString(address_));
}

std::optional<std::size_t> PortPool::reserve() {
  std::lock_guard lock(mutex_);
  const std::size_t pairs = inUse_.size();
  if (free_ == 0) return std::nullopt;
  for (std::size_t step = 0; step < pairs; ++step) {
    const std::size_t index = (cursor_ + step) % pairs;
    if (inUse_[index]) continue;
    inUse_[index] = true;
    --free_;
    cursor_ = (index + 1) % pairs;
    return index;
  }
  return std::nullopt;
}

Result<PortLease> PortPool::bindPair(std::size_t index) {
  const auto rtpPort = static_cast<std::uint16_t>(portMin_ + 2 * index);
  auto rtp = bindSocket(rtpPort);
  if (!rtp) return tl::unexpected(std::move(rtp.error()));
  auto rtcp = bindSocket(static_cast<std::uint16_t>(rtpPort + 1));
  if (!rtcp) return tl::unexpected(std::move(rtcp.error()));
  return PortLease(*this, index, std::move(*rtp), std::move(*rtcp),
                   net::Endpoint{address_, rtpPort});
}

Result<FileDescriptor> PortPool::bindSocket(std::uint16_t port) const {
  const int family = address_.is_v4() ? AF_INET : AF_INET6;
  FileDescriptor fd(::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    return makeError(ErrorCode::TransportError,
                     std::string("media: socket(): ") + std::strerror(errno));
  }
  const int on = 1;
  if (family == AF_INET6) {
    // An IPv6 leg carries IPv6 only: a v4-mapped source would never match a latch.
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
  }
  // Kernel receive timestamps: each datagram of a recvmmsg batch keeps its own arrival time for
  // the jitter computation (RFC 3550 A.8), however late the media thread reads it.
  ::setsockopt(fd.get(), SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (socketBufferBytes_ > 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &socketBufferBytes_, sizeof socketBufferBytes_);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &socketBufferBytes_, sizeof socketBufferBytes_);
  }
  const SocketAddress local = SocketAddress::from(address_, port);
  if (::bind(fd.get(), local.data(), local.length) != 0) {
    const int error = errno;
    const std::string what =
        "media: bind " + net::Endpoint{address_, port}.toString() + ": " + std::strerror(error);
    if (error == EADDRINUSE || error == EACCES) return makeError(ErrorCode::Unavailable, what);
    return makeError(ErrorCode::TransportError, what);
  }
  return fd;
}

}  // namespace p2psip::media
