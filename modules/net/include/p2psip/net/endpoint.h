// SPDX-License-Identifier: Apache-2.0
// Endpoint: an IP address and port, IPv4 or IPv6. A plain value over asio's address type.
// Only literal addresses: nothing in net resolves names (that is the dns module's job).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/udp.hpp>

#include "p2psip/common/result.h"

namespace p2psip::net {

struct Endpoint {
  asio::ip::address address;
  std::uint16_t port = 0;

  // "192.0.2.1:5060" or "[2001:db8::1]:5060".
  std::string toString() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
  // Orders by address, then port, so Endpoints can key ordered maps.
  friend bool operator<(const Endpoint& a, const Endpoint& b) {
    if (a.address != b.address) return a.address < b.address;
    return a.port < b.port;
  }

  // Parses "192.0.2.1:5060" or "[2001:db8::1]:5060". The port is required; names are refused.
  static Result<Endpoint> parse(std::string_view text);

  // An IPv4-mapped IPv6 address (::ffff:192.0.2.1, seen on dual-stack sockets) becomes plain IPv4,
  // so the same peer compares equal whichever socket it arrived on.
  static Endpoint fromAsio(const asio::ip::udp::endpoint& e);
  static Endpoint fromAsio(const asio::ip::tcp::endpoint& e);
  asio::ip::udp::endpoint toUdp() const { return {address, port}; }
  asio::ip::tcp::endpoint toTcp() const { return {address, port}; }
};

// The address in text without brackets or IPv6 zone, as written in a Via received parameter
// (RFC 3261 §18.2.1, RFC 5118 §4.5).
std::string addressToString(const asio::ip::address& address);

// An IP address literal: dotted-quad IPv4 or IPv6 text, brackets allowed around IPv6 (RFC 3261
// §25.1 host, RFC 5118 §4.5). The same answers as asio::ip::make_address without its temporary
// string and its IPv6-then-IPv4 attempts: the data path converts a Via host or received= value for
// most messages (RFC 3261 §18.2.2), so this is one hand-written IPv4 scan or one inet_pton.
// IPv4 octets with leading zeros are refused, as inet_pton refuses them.
std::optional<asio::ip::address> parseAddress(std::string_view text);

// Hash for unordered containers.
struct EndpointHash {
  std::size_t operator()(const Endpoint& e) const noexcept;
};

}  // namespace p2psip::net
