// SPDX-License-Identifier: Apache-2.0
#include "p2psip/reachability/stun_message.h"

#include <algorithm>

#include "p2psip/common/byte_codec.h"

namespace p2psip::reachability {
namespace {

// RFC 5389 §15.5: FINGERPRINT is CRC-32 (ITU V.42, the one of zlib and Ethernet) XOR this.
constexpr std::uint32_t kFingerprintXor = 0x5354554e;
// RFC 5389 §15.6: a reason phrase of fewer than 128 characters; we only write ASCII ones.
constexpr std::size_t kMaxReasonBytesOut = 127;
// ... and read at most 763 bytes of one.
constexpr std::size_t kMaxReasonBytesIn = 763;
constexpr std::size_t kMaxUnknownAttributesOut = 16;
constexpr std::uint8_t kFamilyIpv4 = 0x01;  // RFC 5389 §15.1
constexpr std::uint8_t kFamilyIpv6 = 0x02;
// RFC 5780 §7.2: the flags in the last byte of CHANGE-REQUEST.
constexpr std::uint32_t kChangeIpFlag = 0x04;
constexpr std::uint32_t kChangePortFlag = 0x02;

constexpr std::array<std::uint32_t, 256> makeCrcTable() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    table[i] = c;
  }
  return table;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = makeCrcTable();

std::uint32_t crc32(std::string_view bytes) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (char ch : bytes) c = kCrcTable[(c ^ static_cast<std::uint8_t>(ch)) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

tl::unexpected<Error> malformed(std::string detail) {
  return makeError(ErrorCode::ParseError, "STUN: " + std::move(detail));
}

constexpr std::string_view kHexDigits = "0123456789abcdef";

std::string hex16(std::uint16_t v) {
  std::string out = "0x";
  for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHexDigits[(v >> shift) & 0xF]);
  return out;
}

// The bytes an address is XORed with (RFC 5389 §15.2): the cookie, then the transaction ID.
std::array<std::uint8_t, 16> xorPad(const TransactionId& id) {
  std::array<std::uint8_t, 16> pad{};
  pad[0] = static_cast<std::uint8_t>(kMagicCookie >> 24);
  pad[1] = static_cast<std::uint8_t>(kMagicCookie >> 16);
  pad[2] = static_cast<std::uint8_t>(kMagicCookie >> 8);
  pad[3] = static_cast<std::uint8_t>(kMagicCookie);
  std::copy(id.begin(), id.end(), pad.begin() + 4);
  return pad;
}

// MAPPED-ADDRESS layout (RFC 5389 §15.1), XORed when `id` is given (§15.2).
Result<net::Endpoint> decodeAddress(std::string_view value, const TransactionId* id,
                                    std::string_view name) {
  ByteReader r(value);
  auto reserved = r.u8(name);  // "MUST be set to 0 and MUST be ignored by receivers"
  auto family = r.u8(name);
  auto port = r.u16(name);
  if (!reserved || !family || !port) return malformed(std::string(name) + " is truncated");
  const std::size_t addressSize = *family == kFamilyIpv4 ? 4 : *family == kFamilyIpv6 ? 16 : 0;
  if (addressSize == 0) {
    return malformed(std::string(name) + " has unknown address family " + std::to_string(*family));
  }
  if (r.remaining() != addressSize) {
    return malformed(std::string(name) + " is " + std::to_string(value.size()) +
                     " bytes, expected " + std::to_string(4 + addressSize));
  }
  auto raw = r.raw(addressSize, name);
  if (!raw) return tl::unexpected(raw.error());
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < addressSize; ++i) bytes[i] = static_cast<std::uint8_t>((*raw)[i]);
  std::uint16_t p = *port;
  if (id != nullptr) {
    const auto pad = xorPad(*id);
    for (std::size_t i = 0; i < addressSize; ++i) bytes[i] ^= pad[i];
    p ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
  }
  net::Endpoint out;
  out.port = p;
  if (addressSize == 4) {
    out.address = asio::ip::address_v4(
        asio::ip::address_v4::bytes_type{bytes[0], bytes[1], bytes[2], bytes[3]});
  } else {
    asio::ip::address_v6::bytes_type b6{};
    std::copy(bytes.begin(), bytes.end(), b6.begin());
    out.address = asio::ip::address_v6(b6);
  }
  return out;
}

void encodeAddress(ByteWriter& w, std::uint16_t type, const net::Endpoint& endpoint,
                   const TransactionId* id) {
  std::array<std::uint8_t, 16> bytes{};
  std::size_t size = 4;
  std::uint8_t family = kFamilyIpv4;
  if (endpoint.address.is_v6()) {
    const auto b6 = endpoint.address.to_v6().to_bytes();
    std::copy(b6.begin(), b6.end(), bytes.begin());
    size = 16;
    family = kFamilyIpv6;
  } else {
    const auto b4 = endpoint.address.to_v4().to_bytes();
    std::copy(b4.begin(), b4.end(), bytes.begin());
  }
  std::uint16_t port = endpoint.port;
  if (id != nullptr) {
    const auto pad = xorPad(*id);
    for (std::size_t i = 0; i < size; ++i) bytes[i] ^= pad[i];
    port ^= static_cast<std::uint16_t>(kMagicCookie >> 16);
  }
  w.u16(type);
  w.u16(static_cast<std::uint16_t>(4 + size));
  w.u8(0);
  w.u8(family);
  w.u16(port);
  for (std::size_t i = 0; i < size; ++i) w.u8(bytes[i]);
}

// Attribute values are padded to a multiple of four bytes (RFC 5389 §15).
void pad(ByteWriter& w, std::size_t valueSize) {
  for (std::size_t i = valueSize; i % 4 != 0; ++i) w.u8(0);
}

Result<void> decodeErrorCode(std::string_view value, StunMessage& out) {
  ByteReader r(value);
  auto head = r.u32("ERROR-CODE");
  if (!head) return malformed("ERROR-CODE is shorter than 4 bytes");
  const std::uint32_t cls = (*head >> 8) & 0x7;
  const std::uint32_t number = *head & 0xFF;
  // RFC 5389 §15.6: class 3-6, number 0-99.
  if (cls < 3 || cls > 6 || number > 99) {
    return malformed("ERROR-CODE " + std::to_string(cls * 100 + number) + " is out of range");
  }
  if (r.remaining() > kMaxReasonBytesIn) return malformed("ERROR-CODE reason is too long");
  out.errorCode =
      StunErrorCode{static_cast<std::uint16_t>(cls * 100 + number), std::string(value.substr(4))};
  return {};
}

Result<void> decodeUnknownAttributes(std::string_view value, StunMessage& out,
                                     const StunDecodeLimits& limits) {
  if (value.size() % 2 != 0) return malformed("UNKNOWN-ATTRIBUTES has an odd length");
  ByteReader r(value);
  while (!r.atEnd()) {
    auto type = r.u16("UNKNOWN-ATTRIBUTES");
    if (!type) return tl::unexpected(type.error());
    if (out.unknownAttributes.size() < limits.maxListedAttributes) {
      out.unknownAttributes.push_back(*type);
    }
  }
  return {};
}

bool isComprehensionRequired(std::uint16_t type) {
  return type < 0x8000;  // RFC 5389 §15
}

// Types we know but whose content we do not use: authentication (this module runs without
// credentials, RFC 5389 §10 leaves it to the usage) and PADDING (RFC 5780 §7.6).
bool isKnownAndIgnored(std::uint16_t type) {
  return type == attribute::kUsername || type == attribute::kMessageIntegrity ||
         type == attribute::kRealm || type == attribute::kNonce || type == attribute::kPadding;
}

}  // namespace

std::uint16_t stunMessageType(StunClass messageClass, std::uint16_t method) {
  // RFC 5389 §6: M11..M7 C1 M6..M4 C0 M3..M0.
  const auto cls = static_cast<std::uint16_t>(messageClass);
  return static_cast<std::uint16_t>(((method & 0xF80) << 2) | ((method & 0x070) << 1) |
                                    (method & 0x00F) | ((cls & 0x2) << 7) | ((cls & 0x1) << 4));
}

bool looksLikeStun(std::string_view datagram) {
  if (datagram.size() < kStunHeaderSize) return false;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(datagram[i]); };
  if ((byte(0) & 0xC0) != 0) return false;
  const std::size_t length = (std::size_t{byte(2)} << 8) | byte(3);
  if (length % 4 != 0 || length != datagram.size() - kStunHeaderSize) return false;
  const std::uint32_t cookie = (std::uint32_t{byte(4)} << 24) | (std::uint32_t{byte(5)} << 16) |
                               (std::uint32_t{byte(6)} << 8) | byte(7);
  return cookie == kMagicCookie;
}

Result<StunMessage> decodeStun(std::string_view datagram, const StunDecodeLimits& limits) {
  ByteReader r(datagram);
  auto type = r.u16("message type");
  auto length = r.u16("message length");
  auto cookie = r.u32("magic cookie");
  auto id = r.raw(12, "transaction ID");
  if (!type || !length || !cookie || !id) {
    return malformed("datagram of " + std::to_string(datagram.size()) +
                     " bytes is shorter than the 20-byte header");
  }
  // RFC 5389 §6: the two most significant bits are zero (tells STUN from RTP and others).
  if ((*type & 0xC000) != 0) return malformed("the two leading bits of the type are not zero");
  if (*cookie != kMagicCookie) return malformed("wrong magic cookie");
  if (*length % 4 != 0) return malformed("message length is not a multiple of 4");
  // Over UDP the datagram is the message: the length must account for every byte after the
  // header, neither more (truncated) nor less (trailing bytes).
  if (*length != r.remaining()) {
    return malformed("message length " + std::to_string(*length) + " but " +
                     std::to_string(r.remaining()) + " bytes follow the header");
  }

  StunMessage msg;
  msg.method = static_cast<std::uint16_t>((*type & 0x000F) | ((*type & 0x00E0) >> 1) |
                                          ((*type & 0x3E00) >> 2));
  msg.messageClass = static_cast<StunClass>(((*type >> 4) & 0x1) | ((*type >> 7) & 0x2));
  std::copy(id->begin(), id->end(), msg.transactionId.begin());

  bool afterIntegrity = false;
  std::size_t count = 0;
  while (!r.atEnd()) {
    const std::size_t attributeStart = r.position();
    if (++count > limits.maxAttributes) {
      return malformed("more than " + std::to_string(limits.maxAttributes) + " attributes");
    }
    auto attrType = r.u16("attribute type");
    auto attrLength = r.u16("attribute length");
    if (!attrType || !attrLength) return malformed("attribute header is truncated");
    auto value = r.raw(*attrLength, "attribute value");
    if (!value) {
      return malformed("attribute " + hex16(*attrType) + " of " + std::to_string(*attrLength) +
                       " bytes runs past the end of the message");
    }
    const std::size_t padding = (4 - *attrLength % 4) % 4;
    if (!r.raw(padding, "attribute padding")) {
      return malformed("attribute " + hex16(*attrType) + " is missing its padding");
    }

    if (*attrType == attribute::kFingerprint) {
      // RFC 5389 §15.5: the last attribute, a CRC over everything before it.
      if (*attrLength != 4) return malformed("FINGERPRINT is not 4 bytes");
      if (!r.atEnd()) return malformed("attributes follow FINGERPRINT");
      ByteReader fr(*value);
      const std::uint32_t expected = *fr.u32("FINGERPRINT");
      if ((crc32(datagram.substr(0, attributeStart)) ^ kFingerprintXor) != expected) {
        return malformed("FINGERPRINT does not match");
      }
      msg.fingerprint = true;
      break;
    }
    // RFC 5389 §15.4: attributes after MESSAGE-INTEGRITY, other than FINGERPRINT, are ignored.
    if (afterIntegrity) continue;

    switch (*attrType) {
      case attribute::kXorMappedAddress:
      case attribute::kMappedAddress:
      case attribute::kResponseOrigin:
      case attribute::kOtherAddress: {
        const bool xored = *attrType == attribute::kXorMappedAddress;
        const char* name = xored                                     ? "XOR-MAPPED-ADDRESS"
                           : *attrType == attribute::kMappedAddress  ? "MAPPED-ADDRESS"
                           : *attrType == attribute::kResponseOrigin ? "RESPONSE-ORIGIN"
                                                                     : "OTHER-ADDRESS";
        auto endpoint = decodeAddress(*value, xored ? &msg.transactionId : nullptr, name);
        if (!endpoint) return tl::unexpected(endpoint.error());
        auto& slot = xored                                     ? msg.xorMappedAddress
                     : *attrType == attribute::kMappedAddress  ? msg.mappedAddress
                     : *attrType == attribute::kResponseOrigin ? msg.responseOrigin
                                                               : msg.otherAddress;
        if (!slot) slot = *endpoint;
        break;
      }
      case attribute::kChangeRequest: {
        if (*attrLength != 4) return malformed("CHANGE-REQUEST is not 4 bytes");
        ByteReader cr(*value);
        const std::uint32_t flags = *cr.u32("CHANGE-REQUEST");
        if (!msg.changeRequest) {
          msg.changeRequest =
              ChangeRequest{(flags & kChangeIpFlag) != 0, (flags & kChangePortFlag) != 0};
        }
        break;
      }
      case attribute::kConnectBack: {
        if (*attrLength != 4) return malformed("CONNECT-BACK is not 4 bytes");
        ByteReader cb(*value);
        const std::uint16_t port = *cb.u16("CONNECT-BACK");
        if (port == 0) return malformed("CONNECT-BACK names port 0");
        if (!msg.connectBackPort) msg.connectBackPort = port;
        break;
      }
      case attribute::kConnectResult: {
        if (*attrLength != 4) return malformed("CONNECT-RESULT is not 4 bytes");
        ByteReader cr(*value);
        const std::uint32_t result = *cr.u32("CONNECT-RESULT");
        if (result > 2) return malformed("CONNECT-RESULT has an unknown value");
        if (!msg.connectResult) msg.connectResult = static_cast<ConnectResult>(result);
        break;
      }
      case attribute::kErrorCode:
        if (!msg.errorCode) {
          if (auto ok = decodeErrorCode(*value, msg); !ok) return tl::unexpected(ok.error());
        }
        break;
      case attribute::kUnknownAttributes:
        if (msg.unknownAttributes.empty()) {
          if (auto ok = decodeUnknownAttributes(*value, msg, limits); !ok) {
            return tl::unexpected(ok.error());
          }
        }
        break;
      case attribute::kMessageIntegrity:
        afterIntegrity = true;
        break;
      default:
        if (isKnownAndIgnored(*attrType) || !isComprehensionRequired(*attrType)) break;
        if (msg.unknownRequired.size() < limits.maxListedAttributes &&
            std::find(msg.unknownRequired.begin(), msg.unknownRequired.end(), *attrType) ==
                msg.unknownRequired.end()) {
          msg.unknownRequired.push_back(*attrType);
        }
        break;
    }
  }
  // RFC 5389 §7.3 (error responses): an ERROR-CODE is what makes one meaningful.
  if (msg.messageClass == StunClass::ErrorResponse && !msg.errorCode) {
    return malformed("error response without ERROR-CODE");
  }
  return msg;
}

std::string encodeStun(const StunMessage& message) {
  ByteWriter body;
  const TransactionId& id = message.transactionId;
  if (message.xorMappedAddress) {
    encodeAddress(body, attribute::kXorMappedAddress, *message.xorMappedAddress, &id);
  }
  if (message.mappedAddress) {
    encodeAddress(body, attribute::kMappedAddress, *message.mappedAddress, nullptr);
  }
  if (message.connectBackPort) {
    body.u16(attribute::kConnectBack);
    body.u16(4);
    body.u16(*message.connectBackPort);
    body.u16(0);
  }
  if (message.connectResult) {
    body.u16(attribute::kConnectResult);
    body.u16(4);
    body.u32(static_cast<std::uint32_t>(*message.connectResult));
  }
  if (message.changeRequest) {
    body.u16(attribute::kChangeRequest);
    body.u16(4);
    body.u32((message.changeRequest->changeIp ? kChangeIpFlag : 0) |
             (message.changeRequest->changePort ? kChangePortFlag : 0));
  }
  if (message.responseOrigin) {
    encodeAddress(body, attribute::kResponseOrigin, *message.responseOrigin, nullptr);
  }
  if (message.otherAddress) {
    encodeAddress(body, attribute::kOtherAddress, *message.otherAddress, nullptr);
  }
  if (message.errorCode) {
    const std::string_view reason =
        std::string_view(message.errorCode->reason).substr(0, kMaxReasonBytesOut);
    const std::uint16_t code = message.errorCode->code;
    body.u16(attribute::kErrorCode);
    body.u16(static_cast<std::uint16_t>(4 + reason.size()));
    body.u32(static_cast<std::uint32_t>((((code / 100) & 0x7) << 8) | (code % 100)));
    body.raw(reason);
    pad(body, reason.size());
  }
  if (!message.unknownAttributes.empty()) {
    const std::size_t n = std::min(message.unknownAttributes.size(), kMaxUnknownAttributesOut);
    body.u16(attribute::kUnknownAttributes);
    body.u16(static_cast<std::uint16_t>(2 * n));
    for (std::size_t i = 0; i < n; ++i) body.u16(message.unknownAttributes[i]);
    pad(body, 2 * n);
  }

  const std::size_t fingerprintSize = message.fingerprint ? 8 : 0;
  ByteWriter out;
  out.u16(stunMessageType(message.messageClass, message.method));
  out.u16(static_cast<std::uint16_t>(body.size() + fingerprintSize));
  out.u32(kMagicCookie);
  for (std::uint8_t b : id) out.u8(b);
  out.raw(body.bytes());
  if (message.fingerprint) {
    // RFC 5389 §15.5: the CRC covers the header, whose length already counts FINGERPRINT.
    const std::uint32_t crc = crc32(out.bytes()) ^ kFingerprintXor;
    out.u16(attribute::kFingerprint);
    out.u16(4);
    out.u32(crc);
  }
  return std::move(out).bytes();
}

}  // namespace p2psip::reachability
