// SPDX-License-Identifier: Apache-2.0
// Endpoint: an IP address and port, IPv4 or IPv6. A plain value over asio's address type.
#pragma once

#include <cstdint>
#include <string>

#include <asio/ip/address.hpp>

namespace p2psip::net {

struct Endpoint {
  asio::ip::address address;
  std::uint16_t port = 0;

  // "192.0.2.1:5060" or "[2001:db8::1]:5060".
  std::string toString() const;
  friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

}  // namespace p2psip::net
