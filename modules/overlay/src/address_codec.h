// SPDX-License-Identifier: Apache-2.0
// The IP address encoding shared by the overlay's records: u8 length (4 for IPv4, 16 for IPv6),
// then the address bytes in network order. Optional addresses use length 0 for "absent". The IPv6
// zone (scope id) is never encoded: it means nothing on another host.
#pragma once

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include <asio/ip/address.hpp>

#include "p2psip/common/byte_codec.h"
#include "p2psip/common/result.h"

namespace p2psip::overlay::detail {

inline void writeAddress(ByteWriter& out, const asio::ip::address& address) {
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    out.u8(4);
    out.raw(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  } else {
    const auto bytes = address.to_v6().to_bytes();
    out.u8(16);
    out.raw(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  }
}

inline void writeOptionalAddress(ByteWriter& out, const std::optional<asio::ip::address>& address) {
  if (!address) {
    out.u8(0);
    return;
  }
  writeAddress(out, *address);
}

// Reads an address whose length byte was already read as `length` (4 or 16).
inline Result<asio::ip::address> readAddressBytes(ByteReader& in, std::uint8_t length,
                                                  std::string_view field) {
  if (length != 4 && length != 16) {
    return makeError(ErrorCode::ParseError, std::string(field) + " is neither IPv4 nor IPv6");
  }
  auto raw = in.raw(length, field);
  if (!raw) return tl::unexpected(raw.error());
  if (length == 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), raw->data(), b.size());
    return asio::ip::address(asio::ip::address_v4(b));
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), raw->data(), b.size());
  return asio::ip::address(asio::ip::address_v6(b));
}

inline Result<asio::ip::address> readAddress(ByteReader& in, std::string_view field) {
  auto length = in.u8(field);
  if (!length) return tl::unexpected(length.error());
  return readAddressBytes(in, *length, field);
}

inline Result<std::optional<asio::ip::address>> readOptionalAddress(ByteReader& in,
                                                                    std::string_view field) {
  auto length = in.u8(field);
  if (!length) return tl::unexpected(length.error());
  if (*length == 0) return std::optional<asio::ip::address>{};
  auto address = readAddressBytes(in, *length, field);
  if (!address) return tl::unexpected(address.error());
  return std::optional<asio::ip::address>(*address);
}

}  // namespace p2psip::overlay::detail
