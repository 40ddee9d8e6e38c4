// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/endpoint.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstring>
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

std::optional<asio::ip::address_v4> parseIpv4(std::string_view text) {
  asio::ip::address_v4::bytes_type bytes{};
  std::size_t i = 0;
  for (std::size_t part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= text.size() || text[i] != '.') return std::nullopt;
      ++i;
    }
    const std::size_t start = i;
    unsigned value = 0;
    while (i < text.size() && i - start < 3 && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
    }
    if (i == start || value > 255 || (text[start] == '0' && i - start > 1)) return std::nullopt;
    bytes[part] = static_cast<unsigned char>(value);
  }
  if (i != text.size()) return std::nullopt;
  return asio::ip::address_v4(bytes);
}

}  // namespace

std::optional<asio::ip::address> parseAddress(std::string_view text) {
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.find(':') == std::string_view::npos) {
    if (auto v4 = parseIpv4(text)) return asio::ip::address(*v4);
    return std::nullopt;
  }
  if (text.find('%') != std::string_view::npos) {
    // A zone index (fe80::1%eth0): rare, and asio knows how to map the name to an index.
    asio::error_code error;
    auto v6 = asio::ip::make_address_v6(std::string(text), error);
    if (error) return std::nullopt;
    return asio::ip::address(v6);
  }
  std::array<char, 64> buffer{};  // longer than any IPv6 text form (INET6_ADDRSTRLEN is 46)
  if (text.size() >= buffer.size()) return std::nullopt;
  std::memcpy(buffer.data(), text.data(), text.size());
  asio::ip::address_v6::bytes_type bytes{};
  if (inet_pton(AF_INET6, buffer.data(), bytes.data()) != 1) return std::nullopt;
  return asio::ip::address(asio::ip::address_v6(bytes));
}

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
