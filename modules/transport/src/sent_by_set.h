// SPDX-License-Identifier: Apache-2.0
// SentBySet: the Via sent-by values this node writes, for the RFC 3261 §18.1.2 response check.
// Private to transport.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/sip/via.h"

namespace p2psip::transport {

class SentBySet {
 public:
  // Parses "host", "host:port", "[v6]" or "[v6]:port". IP literals are compared as addresses.
  Result<void> add(std::string_view hostPort);
  void add(const net::Endpoint& endpoint);
  // True when the Via's sent-by host (and port, when the entry has one) is one of ours. A Via
  // without a port is compared using its transport's default port (RFC 3261 §18.2.2).
  bool matches(const sip::Via& via) const;
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::string host;                          // lower-cased name, when not an IP literal
    std::optional<asio::ip::address> address;  // IP literal
    std::optional<std::uint16_t> port;
  };
  std::vector<Entry> entries_;
};

// The address in a Via host, if it is an IP literal (IPv6 without brackets).
std::optional<asio::ip::address> addressOf(std::string_view host);

}  // namespace p2psip::transport
