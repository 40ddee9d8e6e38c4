// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/endpoint.h"

#include <charconv>
#include <functional>
#include <string>

namespace p2psip::net {
namespace {

asio::ip::address unmapped(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  }
  return a;
}

}  // namespace

std::string addressToString(const asio::ip::address& address) {
  if (address.is_v6()) {
    // Drop the zone (%eth0): it is local to this host and not part of the address grammar.
    return asio::ip::address_v6(address.to_v6().to_bytes()).to_string();
  }
  return address.to_string();
}

std::string Endpoint::toString() const {
  // Appends rather than "[" + s + "]": GCC 12 at -O3 reports a false -Wrestrict on the latter
  // (GCC bug 105651), which -Werror turns into a failed release build.
  std::string out;
  if (address.is_v6()) {
    out += '[';
    out += address.to_string();
    out += ']';
  } else {
    out = address.to_string();
  }
  out += ':';
  out += std::to_string(port);
  return out;
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  std::string_view host;
  std::string_view portText;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return makeError(ErrorCode::InvalidArgument,
                       "endpoint: missing ']' in \"" + std::string(text) + "\"");
    }
    host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (rest.size() < 2 || rest.front() != ':') {
      return makeError(ErrorCode::InvalidArgument,
                       "endpoint: missing port in \"" + std::string(text) + "\"");
    }
    portText = rest.substr(1);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return makeError(ErrorCode::InvalidArgument,
                       "endpoint: missing port in \"" + std::string(text) + "\"");
    }
    host = text.substr(0, colon);
    portText = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return makeError(
          ErrorCode::InvalidArgument,
          "endpoint: IPv6 address must be in brackets in \"" + std::string(text) + "\"");
    }
  }

  unsigned port = 0;
  const auto [end, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
  if (ec != std::errc{} || end != portText.data() + portText.size() || portText.empty() ||
      port > 65535) {
    return makeError(ErrorCode::InvalidArgument,
                     "endpoint: bad port in \"" + std::string(text) + "\"");
  }

  asio::error_code error;
  const bool bracketed = !text.empty() && text.front() == '[';
  asio::ip::address address;
  if (bracketed) {
    const auto v6 = asio::ip::make_address_v6(std::string(host), error);
    if (!error) address = v6;
  } else {
    const auto v4 = asio::ip::make_address_v4(std::string(host), error);
    if (!error) address = v4;
  }
  if (error) {
    return makeError(ErrorCode::InvalidArgument,
                     "endpoint: \"" + std::string(host) + "\" is not an IP address literal");
  }
  return Endpoint{address, static_cast<std::uint16_t>(port)};
}

Endpoint Endpoint::fromAsio(const asio::ip::udp::endpoint& e) {
  return Endpoint{unmapped(e.address()), e.port()};
}

Endpoint Endpoint::fromAsio(const asio::ip::tcp::endpoint& e) {
  return Endpoint{unmapped(e.address()), e.port()};
}

std::size_t EndpointHash::operator()(const Endpoint& e) const noexcept {
  const std::size_t h = std::hash<asio::ip::address>{}(e.address);
  return h ^ (std::hash<std::uint16_t>{}(e.port) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

}  // namespace p2psip::net
