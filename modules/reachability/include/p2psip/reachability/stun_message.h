// SPDX-License-Identifier: Apache-2.0
// STUN messages: the RFC 5389 header and the attributes a Binding transaction needs, plus the NAT
// behaviour discovery attributes of RFC 5780 (CHANGE-REQUEST, RESPONSE-ORIGIN, OTHER-ADDRESS).
// Pure: no I/O, no clock, no logging, so decodeStun() can be fuzzed on its own.
//
// decodeStun() takes bytes straight off the network. It never throws, never reads outside its
// input, and does work bounded by the input size and StunDecodeLimits. It checks what RFC 5389
// §7.3 asks of every received message: the two leading zero bits, the magic cookie, a length that
// is a multiple of four and matches the datagram (§6), well-formed attributes (§15), and
// FINGERPRINT when present (§15.5). Unknown comprehension-optional attributes (0x8000-0xFFFF) are
// skipped; unknown comprehension-required ones (0x0000-0x7FFF) are listed in
// `unknownRequired` so that a server can answer 420 (§7.3.1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::reachability {

// RFC 5389 §6: the fixed value in every STUN header that tells it from RFC 3489 and other traffic.
inline constexpr std::uint32_t kMagicCookie = 0x2112A442;
inline constexpr std::size_t kStunHeaderSize = 20;
// RFC 5389 §18.4: the Binding method, the only one this codec's users speak.
inline constexpr std::uint16_t kBindingMethod = 0x001;

// Attribute types (RFC 5389 §18.2, RFC 5780 §9.1).
namespace attribute {
inline constexpr std::uint16_t kMappedAddress = 0x0001;
inline constexpr std::uint16_t kChangeRequest = 0x0003;  // RFC 5780 §7.2
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kUnknownAttributes = 0x000A;
inline constexpr std::uint16_t kRealm = 0x0014;
inline constexpr std::uint16_t kNonce = 0x0015;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kPadding = 0x0026;       // RFC 5780 §7.6
inline constexpr std::uint16_t kResponsePort = 0x0027;  // RFC 5780 §7.5 (not supported)
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kFingerprint = 0x8028;
inline constexpr std::uint16_t kResponseOrigin = 0x802B;  // RFC 5780 §7.3
inline constexpr std::uint16_t kOtherAddress = 0x802C;    // RFC 5780 §7.4
// p2psip's own, comprehension-optional (RFC 5389 §18.2: 0x8000-0xFFFF), so a reflector that does
// not know them answers the Binding as usual and the prober learns "unknown". CONNECT-BACK (in a
// request, 4 bytes: port, then 2 reserved): "open a TCP connection to my source IP at this port
// and tell me whether it was accepted". CONNECT-RESULT (in the answer, 4 bytes: 0 accepted, 1
// not accepted within the reflector's timeout, 2 refused by the reflector's limits).
inline constexpr std::uint16_t kConnectBack = 0xC0C1;
inline constexpr std::uint16_t kConnectResult = 0xC0C2;
}  // namespace attribute

// The message class, RFC 5389 §6 (bits C1 and C0 of the message type).
enum class StunClass : std::uint8_t { Request, Indication, SuccessResponse, ErrorResponse };

// The 96-bit transaction ID (RFC 5389 §6). Clients pick it uniformly at random, so it also
// authenticates a response against off-path spoofing.
using TransactionId = std::array<std::uint8_t, 12>;

// RFC 5780 §7.2: ask the server to answer from its other IP address and/or port.
struct ChangeRequest {
  bool changeIp = false;
  bool changePort = false;
  friend bool operator==(const ChangeRequest&, const ChangeRequest&) = default;
};

// RFC 5389 §15.6. `code` is 300-699; `reason` is at most 763 bytes of UTF-8.
// CONNECT-RESULT values.
enum class ConnectResult : std::uint8_t { Accepted = 0, NotAccepted = 1, NotTried = 2 };

struct StunErrorCode {
  std::uint16_t code = 0;
  std::string reason;
  friend bool operator==(const StunErrorCode&, const StunErrorCode&) = default;
};

// One STUN message as this module understands it. Absent attributes are empty optionals.
// The first occurrence of an attribute wins (RFC 5389 §15: later duplicates may be ignored).
struct StunMessage {
  StunClass messageClass = StunClass::Request;
  std::uint16_t method = kBindingMethod;  // 12 bits
  TransactionId transactionId{};
  std::optional<net::Endpoint> xorMappedAddress;  // RFC 5389 §15.2
  std::optional<net::Endpoint> mappedAddress;     // RFC 5389 §15.1, from pre-XOR servers
  std::optional<ChangeRequest> changeRequest;     // RFC 5780 §7.2
  std::optional<net::Endpoint> responseOrigin;    // RFC 5780 §7.3
  std::optional<net::Endpoint> otherAddress;      // RFC 5780 §7.4
  std::optional<StunErrorCode> errorCode;         // RFC 5389 §15.6
  std::optional<std::uint16_t> connectBackPort;   // CONNECT-BACK (port 1-65535)
  std::optional<ConnectResult> connectResult;     // CONNECT-RESULT
  // The UNKNOWN-ATTRIBUTES attribute of a 420 response (RFC 5389 §15.9).
  std::vector<std::uint16_t> unknownAttributes;
  // Decode only: comprehension-required attribute types in this message that the codec does not
  // know (at most StunDecodeLimits::maxListedAttributes of them). Never encoded.
  std::vector<std::uint16_t> unknownRequired;
  // Decode: a FINGERPRINT was present (and matched, or decoding fails). Encode: append one.
  bool fingerprint = false;
};

struct StunDecodeLimits {
  // Attributes examined per message; a message with more is refused, so a datagram of 16,000
  // four-byte attributes costs no more than a normal one.
  std::size_t maxAttributes = 32;
  // Entries kept in unknownRequired and unknownAttributes; more are dropped, not an error.
  std::size_t maxListedAttributes = 16;
};

// ParseError with a sentence naming the first problem found. Takes a whole UDP datagram.
Result<StunMessage> decodeStun(std::string_view datagram, const StunDecodeLimits& limits = {});

// The wire form. Cannot fail: a reason phrase is cut to 127 bytes (RFC 5389 §15.6 asks for fewer
// than 128 characters) and UNKNOWN-ATTRIBUTES to 16 entries, so the message stays small.
std::string encodeStun(const StunMessage& message);

// Cheap test of the fixed header fields (RFC 5389 §7.3, RFC 7983 §7): two zero bits, a length
// that fits, and the magic cookie. For demultiplexing STUN from other traffic on one port.
bool looksLikeStun(std::string_view datagram);

// The message type field (RFC 5389 §6): method bits interleaved with the class bits.
std::uint16_t stunMessageType(StunClass messageClass, std::uint16_t method);

}  // namespace p2psip::reachability
