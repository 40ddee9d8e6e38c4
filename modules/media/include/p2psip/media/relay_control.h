// SPDX-License-Identifier: Apache-2.0
// The relay control protocol (docs/relay-control-protocol.md): how a peer asks another peer that
// offers relaying to allocate, connect, report on and release relay streams, over an
// authenticated peer link. This header is the message model and its binary codec; the server
// side that executes requests is RelayService (relay_service.h).
//
// Every frame is self-delimiting: a fixed 12-byte header (first byte 0x00, so it can never be
// mistaken for SIP text, which starts with a letter or CR/LF) and a TLV body of at most
// kMaxFrameSize - kHeaderSize bytes. The codec is pure (no I/O, no logging), never throws on
// input and never allocates more than the bytes it has already checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/result.h"
#include "p2psip/media/stream.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::media::control {

// Framing constants. The header layout is the same in every version of the protocol, so a
// receiver can always delimit a frame and answer "unsupported version" with the request id.
inline constexpr std::uint8_t kFirstByte = 0x00;   // never the first byte of SIP (letter, CR, LF)
inline constexpr std::uint8_t kSecondByte = 0x52;  // 'R': relay control
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxFrameSize = 4096;  // header included
inline constexpr std::uint8_t kVersionMajor = 1;
inline constexpr std::uint8_t kVersionMinor = 0;

// Per-message bounds: the decoder refuses more, the encoder writes no more (see encode()).
inline constexpr std::size_t kMaxStreamsPerAllocate = 8;  // one per m= line
inline constexpr std::size_t kMaxHandlesPerRequest = 16;  // a full StatsReport fits one frame
inline constexpr std::size_t kMaxReasonBytes = 256;
inline constexpr std::size_t kMaxSupportedVersions = 8;
inline constexpr std::uint32_t kMaxClockRate = 1'000'000;  // well above 90 kHz video

// Wire values of the Error message's code. A received code outside this list is kept as its
// number (the enum holds any 16-bit value) and treated as a failure by the requester.
enum class ErrorCode : std::uint16_t {
  BadRequest = 1,          // malformed frame, unknown message type, field out of range
  UnsupportedVersion = 2,  // major version not spoken here; the reply lists those that are
  NotAuthorised = 3,       // the peer is not one this relay serves
  QuotaExceeded = 4,       // the peer holds its quota of streams already
  Capacity = 5,            // no ports, stream capacity or address of that family: try another
  UnknownStream = 6,       // not a stream of this peer (never existed, released, timed out)
  Internal = 7,            // an unexpected failure on the relay
};
const char* toString(ErrorCode code);

enum class AddressFamily : std::uint8_t { V4 = 4, V6 = 6 };

struct Version {
  std::uint8_t major = kVersionMajor;
  std::uint8_t minor = kVersionMinor;
  friend bool operator==(const Version&, const Version&) = default;
};

// ---- Requests ----

// One stream to relay: both legs are bound on the relay's address of `family`.
struct StreamRequest {
  AddressFamily family = AddressFamily::V4;
  // Latch hints: the IP the requester expects side A's (B's) media to come from, e.g. its own
  // public address. Without one, that leg latches onto the first valid RTP source.
  std::optional<asio::ip::address> expectedSourceA{};
  std::optional<asio::ip::address> expectedSourceB{};
  std::uint32_t clockRate = 8000;  // of the media line, for jitter (1..kMaxClockRate)
  friend bool operator==(const StreamRequest&, const StreamRequest&) = default;
};

struct Allocate {
  std::vector<StreamRequest> streams;  // 1..kMaxStreamsPerAllocate
  friend bool operator==(const Allocate&, const Allocate&) = default;
};

// Where the relay sends to `side` until that leg latches (RelayEngine::setRemote).
struct Connect {
  std::uint64_t stream = 0;
  Side side = Side::A;
  net::Endpoint remote{};
  friend bool operator==(const Connect&, const Connect&) = default;
};

struct Release {
  std::vector<std::uint64_t> streams;  // 1..kMaxHandlesPerRequest, no duplicates
  friend bool operator==(const Release&, const Release&) = default;
};

struct Stats {
  std::vector<std::uint64_t> streams;  // 1..kMaxHandlesPerRequest, no duplicates
  friend bool operator==(const Stats&, const Stats&) = default;
};

// ---- Responses ----

struct AllocatedStreamInfo {
  std::uint64_t stream = 0;  // opaque handle for Connect/Release/Stats
  net::Endpoint sideA{};     // RTP; RTCP is port + 1
  net::Endpoint sideB{};
  friend bool operator==(const AllocatedStreamInfo&, const AllocatedStreamInfo&) = default;
};

struct Allocated {
  std::vector<AllocatedStreamInfo> streams;  // in the order of the Allocate, 1..8
  friend bool operator==(const Allocated&, const Allocated&) = default;
};

struct Ok {
  friend bool operator==(const Ok&, const Ok&) = default;
};

// Media received on one leg and relayed out of the other.
struct DirectionReport {
  std::uint64_t packets = 0;  // RTP forwarded
  std::uint64_t bytes = 0;
  std::uint64_t rtcpPackets = 0;
  std::uint64_t rtcpBytes = 0;
  std::int64_t lost = 0;       // RFC 3550 A.3 cumulative (negative with duplicates)
  std::uint32_t jitterUs = 0;  // RFC 3550 A.8 interarrival jitter
  bool latched = false;        // the receiving leg has latched onto its source
  friend bool operator==(const DirectionReport&, const DirectionReport&) = default;
};

struct StreamReport {
  std::uint64_t stream = 0;
  DirectionReport aToB;  // received on side A's leg, sent out of side B's
  DirectionReport bToA;
  friend bool operator==(const StreamReport&, const StreamReport&) = default;
};

struct StatsReport {
  std::vector<StreamReport> streams;  // 1..kMaxHandlesPerRequest, in the order asked
  friend bool operator==(const StatsReport&, const StatsReport&) = default;
};

// The wire message "Error" (named ErrorReply here so it does not hide p2psip::Error).
struct ErrorReply {
  ErrorCode code = ErrorCode::BadRequest;
  std::string reason;                  // human-readable, at most kMaxReasonBytes
  std::vector<Version> supported;      // with UnsupportedVersion: what this side speaks
  std::vector<std::uint64_t> streams;  // with UnknownStream: the handles that were unknown
  friend bool operator==(const ErrorReply&, const ErrorReply&) = default;
};

using Message =
    std::variant<Allocate, Connect, Release, Stats, Allocated, Ok, StatsReport, ErrorReply>;

// Requests carry a requester-chosen id; the response carries the same id.
struct Frame {
  std::uint32_t requestId = 0;
  Message message;
  friend bool operator==(const Frame&, const Frame&) = default;
};

// Requests have a type below 0x80, responses at or above it. A response is never answered.
bool isRequest(const Message& message);
const char* messageName(const Message& message);  // "Allocate", "Error", ...

// The fixed header, readable from any version's frame.
struct FrameHeader {
  Version version;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;  // reserved: sent as 0, ignored on receipt
  std::uint32_t requestId = 0;
  std::uint16_t bodyLength = 0;
};

// ---- Decoding outcomes ----

// The buffer holds the start of a frame: wait until it holds `frameSize` bytes in total (the
// header size while the header itself is incomplete).
struct NeedMoreBytes {
  std::size_t frameSize = kHeaderSize;
};

// A whole, well-delimited frame that cannot be used: unsupported major version, unknown message
// type, malformed body. The stream stays in sync (skip `Decoded::consumed` bytes); a server
// answers a rejected request with Error{code, reason} under `requestId`.
struct Rejected {
  std::uint32_t requestId = 0;
  std::uint8_t type = 0;  // the header's message type
  ErrorCode code = ErrorCode::BadRequest;
  std::string reason;
  bool isRequest() const { return type < 0x80; }
};

struct Decoded {
  std::variant<NeedMoreBytes, Frame, Rejected> outcome;
  std::size_t consumed = 0;  // bytes of the input this frame used; 0 with NeedMoreBytes
};

// Decodes the frame at the start of `bytes` (which may hold a partial frame, or more than one).
// A ParseError means the bytes are not relay control framing at all (first bytes are not
// 0x00 'R', or the header declares more than kMaxFrameSize): the stream cannot be resynchronised
// and the link should drop it. Everything else is a Decoded outcome.
Result<Decoded> decodeFrame(std::string_view bytes);

// The header alone: nullopt while fewer than kHeaderSize bytes are there; ParseError as above.
Result<std::optional<FrameHeader>> decodeHeader(std::string_view bytes);

// True when `bytes` starts like a relay control frame rather than SIP: a demultiplexer's test.
bool startsControlFrame(std::string_view bytes);

// Encodes one frame with this side's version. Never fails: lists longer than the bounds above
// are cut to them and the reason to kMaxReasonBytes (at a UTF-8 character boundary), so a frame
// is always at most kMaxFrameSize bytes. For every frame within the bounds,
// decodeFrame(encode(f)) yields f again (IPv6 scope ids are not carried).
std::string encode(const Frame& frame);

}  // namespace p2psip::media::control
