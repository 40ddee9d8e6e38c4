// SPDX-License-Identifier: Apache-2.0
// The OpenSSL EVP primitives digest authentication needs: MD5 / SHA-256 (RFC 8760 §3), HMAC-SHA256
// for nonce signatures, random bytes for keys, and hex text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "p2psip/registrar/digest_authenticator.h"

namespace p2psip::registrar {

using Hmac = std::array<std::uint8_t, 32>;

// HMAC-SHA256 of `data` under `key`.
Hmac hmacSha256(std::string_view key, std::string_view data);
// Fills `out` from OpenSSL's CSPRNG; false if it is not seeded.
bool randomBytes(std::uint8_t* out, std::size_t size);
std::string toHex(const std::uint8_t* data, std::size_t size);
// Length in hex digits of an HA1 / response for the algorithm: 32 (MD5) or 64 (SHA-256).
std::size_t hexLength(DigestAlgorithm algorithm);
// Constant-time comparison of equal-length strings (no early exit on the first difference).
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace p2psip::registrar
