// SPDX-License-Identifier: Apache-2.0
#include "sent_by_set.h"

#include "p2psip/net/endpoint.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace p2psip::transport {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool validHostName(std::string_view host) {
  // RFC 3261 §25.1 hostname: alphanumerics, '-' and '.'; enough to refuse typos like spaces.
  return !host.empty() && std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.';
  });
}

}  // namespace

std::optional<asio::ip::address> addressOf(std::string_view host) {
  auto address = net::parseAddress(host);
  if (!address) return std::nullopt;
  if (address->is_v6() && address->to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address->to_v6());
  }
  return address;
}

Result<void> SentBySet::add(std::string_view hostPort) {
  std::string_view host = hostPort;
  std::optional<std::uint16_t> port;
  std::string_view portText;
  if (!hostPort.empty() && hostPort.front() == '[') {
    const auto close = hostPort.find(']');
    if (close == std::string_view::npos) {
      return makeError(ErrorCode::InvalidArgument,
                       "sent-by \"" + std::string(hostPort) + "\": missing ']'");
    }
    host = hostPort.substr(0, close + 1);
    const auto rest = hostPort.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return makeError(ErrorCode::InvalidArgument,
                         "sent-by \"" + std::string(hostPort) + "\": junk after ']'");
      }
      portText = rest.substr(1);
      if (portText.empty()) {
        return makeError(ErrorCode::InvalidArgument,
                         "sent-by \"" + std::string(hostPort) + "\": empty port");
      }
    }
  } else if (const auto colon = hostPort.find(':'); colon != std::string_view::npos) {
    host = hostPort.substr(0, colon);
    portText = hostPort.substr(colon + 1);
    if (portText.empty()) {
      return makeError(ErrorCode::InvalidArgument,
                       "sent-by \"" + std::string(hostPort) + "\": empty port");
    }
  }
  if (!portText.empty()) {
    unsigned value = 0;
    const auto [end, ec] =
        std::from_chars(portText.data(), portText.data() + portText.size(), value);
    if (ec != std::errc{} || end != portText.data() + portText.size() || value == 0 ||
        value > 65535) {
      return makeError(ErrorCode::InvalidArgument,
                       "sent-by \"" + std::string(hostPort) + "\": bad port");
    }
    port = static_cast<std::uint16_t>(value);
  }

  Entry entry;
  entry.port = port;
  if (auto address = addressOf(host)) {
    entry.address = *address;
  } else if (host.front() != '[' && validHostName(host)) {
    entry.host = lower(host);
  } else {
    return makeError(
        ErrorCode::InvalidArgument,
        "sent-by \"" + std::string(hostPort) + "\": host is neither a name nor an IP address");
  }
  entries_.push_back(std::move(entry));
  return {};
}

void SentBySet::add(const net::Endpoint& endpoint) {
  entries_.push_back(Entry{{}, endpoint.address, endpoint.port});
}

bool SentBySet::matches(const sip::Via& via) const {
  const auto address = addressOf(via.host);
  const std::uint16_t port = via.portOrDefault();
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    if (e.port && *e.port != port) return false;
    if (e.address) return address && *address == *e.address;
    return !address && lower(via.host) == e.host;
  });
}

}  // namespace p2psip::transport
