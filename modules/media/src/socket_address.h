// SPDX-License-Identifier: Apache-2.0
// SocketAddress: an IPv4 or IPv6 address and port in the kernel's own form (sockaddr_storage), so
// the forwarding loop compares packet sources and hands destinations to sendmmsg without any
// conversion. net::Endpoint is the form used at the API; these convert at the edges only.
#pragma once

#include <sys/socket.h>

#include <cstdint>

#include <asio/ip/address.hpp>

#include "p2psip/net/endpoint.h"

namespace p2psip::media {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  static SocketAddress from(const net::Endpoint& endpoint);
  static SocketAddress from(const asio::ip::address& address, std::uint16_t port);
  net::Endpoint toEndpoint() const;

  int family() const { return storage.ss_family; }
  std::uint16_t port() const;
  SocketAddress withPort(std::uint16_t port) const;
  // Same family and IP address, whatever the ports.
  bool sameHost(const SocketAddress& other) const;
  // Same family, IP address and port.
  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage); }
};

}  // namespace p2psip::media
