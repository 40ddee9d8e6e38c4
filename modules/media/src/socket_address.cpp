// SPDX-License-Identifier: Apache-2.0
#include "socket_address.h"

#include <netinet/in.h>

#include <cstring>

namespace p2psip::media {

SocketAddress SocketAddress::from(const net::Endpoint& endpoint) {
  return from(endpoint.address, endpoint.port);
}

SocketAddress SocketAddress::from(const asio::ip::address& address, std::uint16_t port) {
  SocketAddress out;
  if (address.is_v4()) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    const auto bytes = address.to_v4().to_bytes();
    std::memcpy(&in.sin_addr, bytes.data(), bytes.size());
    std::memcpy(&out.storage, &in, sizeof in);
    out.length = sizeof in;
  } else {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port);
    const auto v6 = address.to_v6();
    const auto bytes = v6.to_bytes();
    std::memcpy(&in6.sin6_addr, bytes.data(), bytes.size());
    in6.sin6_scope_id = v6.scope_id();
    std::memcpy(&out.storage, &in6, sizeof in6);
    out.length = sizeof in6;
  }
  return out;
}

net::Endpoint SocketAddress::toEndpoint() const {
  if (family() == AF_INET) {
    sockaddr_in in{};
    std::memcpy(&in, &storage, sizeof in);
    asio::ip::address_v4::bytes_type bytes;
    std::memcpy(bytes.data(), &in.sin_addr, bytes.size());
    return net::Endpoint{asio::ip::address_v4(bytes), ntohs(in.sin_port)};
  }
  sockaddr_in6 in6{};
  std::memcpy(&in6, &storage, sizeof in6);
  asio::ip::address_v6::bytes_type bytes;
  std::memcpy(bytes.data(), &in6.sin6_addr, bytes.size());
  return net::Endpoint{asio::ip::address_v6(bytes, in6.sin6_scope_id), ntohs(in6.sin6_port)};
}

std::uint16_t SocketAddress::port() const {
  // sin_port and sin6_port sit at the same offset, right after the family.
  std::uint16_t networkOrder = 0;
  std::memcpy(&networkOrder,
              reinterpret_cast<const char*>(&storage) + offsetof(sockaddr_in, sin_port),
              sizeof networkOrder);
  return ntohs(networkOrder);
}

SocketAddress SocketAddress::withPort(std::uint16_t port) const {
  SocketAddress out = *this;
  const std::uint16_t networkOrder = htons(port);
  std::memcpy(reinterpret_cast<char*>(&out.storage) + offsetof(sockaddr_in, sin_port),
              &networkOrder, sizeof networkOrder);
  return out;
}

bool SocketAddress::sameHost(const SocketAddress& other) const {
  if (family() != other.family()) return false;
  if (family() == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&storage);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage);
    return a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&storage);
  const auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage);
  return std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof a->sin6_addr) == 0;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  return a.sameHost(b) && a.port() == b.port();
}

}  // namespace p2psip::media
