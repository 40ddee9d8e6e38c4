// SPDX-License-Identifier: Apache-2.0
#include "p2psip/media/relay_control.h"

#include <algorithm>
#include <bitset>
#include <cstring>
#include <type_traits>

#include "p2psip/common/byte_codec.h"
#include "p2psip/common/overloaded.h"

namespace p2psip::media::control {
namespace {

// Message types (header byte 4). Requests below 0x80, responses from 0x80.
enum Type : std::uint8_t {
  kAllocate = 0x01,
  kConnect = 0x02,
  kRelease = 0x03,
  kStats = 0x04,
  kOk = 0x80,
  kAllocated = 0x81,
  kStatsReport = 0x82,
  kError = 0x83,
};

// TLV types. One number space for the whole protocol (easier to read in a capture), but each
// container only knows its own: anything else in it is skipped, like an unknown type.
enum Tlv : std::uint8_t {
  kStreamRequest = 0x01,  // group, in Allocate
  kFamily = 0x02,         // u8: 4 or 6
  kExpectedSourceA = 0x03,
  kExpectedSourceB = 0x04,
  kClockRate = 0x05,     // u32
  kStreamHandle = 0x10,  // u64
  kSide = 0x11,          // u8: 0 = A, 1 = B
  kRemote = 0x12,        // endpoint
  kAllocatedStream = 0x20,
  kEndpointA = 0x21,
  kEndpointB = 0x22,
  kStreamReport = 0x30,
  kAToB = 0x31,
  kBToA = 0x32,
  kPackets = 0x33,
  kBytes = 0x34,
  kRtcpPackets = 0x35,
  kRtcpBytes = 0x36,
  kLost = 0x37,      // i64, two's complement
  kJitterUs = 0x38,  // u32
  kLatched = 0x39,   // u8: 0 or 1
  kErrorCode = 0x40,
  kReason = 0x41,
  kSupportedVersion = 0x42,  // u8 major, u8 minor
};

template <typename T>
tl::unexpected<p2psip::Error> fail(const Result<T>& r) {
  return tl::unexpected(r.error());
}

tl::unexpected<p2psip::Error> bad(std::string detail) {
  return makeError(p2psip::ErrorCode::ParseError, std::move(detail));
}

// ---- Writing ----

class TlvWriter {
 public:
  void u8(Tlv type, std::uint8_t v) {
    head(type, 1);
    out_.u8(v);
  }
  void u16(Tlv type, std::uint16_t v) {
    head(type, 2);
    out_.u16(v);
  }
  void u32(Tlv type, std::uint32_t v) {
    head(type, 4);
    out_.u32(v);
  }
  void u64(Tlv type, std::uint64_t v) {
    head(type, 8);
    out_.u64(v);
  }
  void bytes(Tlv type, std::string_view v) {
    head(type, v.size());
    out_.raw(v);
  }
  void address(Tlv type, const asio::ip::address& a) { bytes(type, addressBytes(a)); }
  void endpoint(Tlv type, const net::Endpoint& e) {
    std::string v = addressBytes(e.address);
    v.push_back(static_cast<char>(e.port >> 8));
    v.push_back(static_cast<char>(e.port & 0xff));
    bytes(type, v);
  }
  void group(Tlv type, const TlvWriter& inner) { bytes(type, inner.out_.bytes()); }
  const std::string& data() const { return out_.bytes(); }

 private:
  // Every value written is bounded far below 64 KiB by the per-message limits.
  void head(Tlv type, std::size_t length) {
    out_.u8(type);
    out_.u16(static_cast<std::uint16_t>(length));
  }
  static std::string addressBytes(const asio::ip::address& a) {
    if (a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }
    const auto b = a.to_v6().to_bytes();
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  ByteWriter out_;
};

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string_view truncateUtf8(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t n = max;
  while (n > 0 && (static_cast<std::uint8_t>(text[n]) & 0xc0) == 0x80) --n;
  return text.substr(0, n);
}

template <typename T>
std::size_t bounded(const std::vector<T>& list, std::size_t max) {
  return std::min(list.size(), max);
}

void writeDirection(TlvWriter& out, Tlv type, const DirectionReport& d) {
  TlvWriter g;
  g.u64(kPackets, d.packets);
  g.u64(kBytes, d.bytes);
  g.u64(kRtcpPackets, d.rtcpPackets);
  g.u64(kRtcpBytes, d.rtcpBytes);
  g.u64(kLost, static_cast<std::uint64_t>(d.lost));
  g.u32(kJitterUs, d.jitterUs);
  g.u8(kLatched, d.latched ? 1 : 0);
  out.group(type, g);
}

std::uint8_t writeBody(TlvWriter& out, const Message& message) {
  return std::visit(
      Overloaded{
          [&](const Allocate& m) -> std::uint8_t {
            for (std::size_t i = 0; i < bounded(m.streams, kMaxStreamsPerAllocate); ++i) {
              const StreamRequest& s = m.streams[i];
              TlvWriter g;
              g.u8(kFamily, static_cast<std::uint8_t>(s.family));
              if (s.expectedSourceA) g.address(kExpectedSourceA, *s.expectedSourceA);
              if (s.expectedSourceB) g.address(kExpectedSourceB, *s.expectedSourceB);
              g.u32(kClockRate, s.clockRate);
              out.group(kStreamRequest, g);
            }
            return kAllocate;
          },
          [&](const Connect& m) -> std::uint8_t {
            out.u64(kStreamHandle, m.stream);
            out.u8(kSide, static_cast<std::uint8_t>(m.side));
            out.endpoint(kRemote, m.remote);
            return kConnect;
          },
          [&](const Release& m) -> std::uint8_t {
            for (std::size_t i = 0; i < bounded(m.streams, kMaxHandlesPerRequest); ++i) {
              out.u64(kStreamHandle, m.streams[i]);
            }
            return kRelease;
          },
          [&](const Stats& m) -> std::uint8_t {
            for (std::size_t i = 0; i < bounded(m.streams, kMaxHandlesPerRequest); ++i) {
              out.u64(kStreamHandle, m.streams[i]);
            }
            return kStats;
          },
          [&](const Allocated& m) -> std::uint8_t {
            for (std::size_t i = 0; i < bounded(m.streams, kMaxStreamsPerAllocate); ++i) {
              const AllocatedStreamInfo& s = m.streams[i];
              TlvWriter g;
              g.u64(kStreamHandle, s.stream);
              g.endpoint(kEndpointA, s.sideA);
              g.endpoint(kEndpointB, s.sideB);
              out.group(kAllocatedStream, g);
            }
            return kAllocated;
          },
          [&](const Ok&) -> std::uint8_t { return kOk; },
          [&](const StatsReport& m) -> std::uint8_t {
            for (std::size_t i = 0; i < bounded(m.streams, kMaxHandlesPerRequest); ++i) {
              const StreamReport& s = m.streams[i];
              TlvWriter g;
              g.u64(kStreamHandle, s.stream);
              writeDirection(g, kAToB, s.aToB);
              writeDirection(g, kBToA, s.bToA);
              out.group(kStreamReport, g);
            }
            return kStatsReport;
          },
          [&](const ErrorReply& m) -> std::uint8_t {
            out.u16(kErrorCode, static_cast<std::uint16_t>(m.code));
            if (!m.reason.empty()) out.bytes(kReason, truncateUtf8(m.reason, kMaxReasonBytes));
            for (std::size_t i = 0; i < bounded(m.supported, kMaxSupportedVersions); ++i) {
              const char v[2] = {static_cast<char>(m.supported[i].major),
                                 static_cast<char>(m.supported[i].minor)};
              out.bytes(kSupportedVersion, std::string_view(v, 2));
            }
            for (std::size_t i = 0; i < bounded(m.streams, kMaxHandlesPerRequest); ++i) {
              out.u64(kStreamHandle, m.streams[i]);
            }
            return kError;
          },
      },
      message);
}

// ---- Reading ----

struct Field {
  std::uint8_t type = 0;
  std::string_view value;
};

// Walks the TLVs of one container. Remembers which types it has seen so that a field that may
// appear once is refused the second time (two Side fields have no sensible meaning).
class TlvReader {
 public:
  TlvReader(std::string_view bytes, const char* container) : in_(bytes), container_(container) {}
  bool atEnd() const { return in_.atEnd(); }
  Result<Field> next() {
    auto type = in_.u8("TLV type");
    if (!type) return fail(type);
    auto length = in_.u16("TLV length");
    if (!length) return fail(length);
    auto value = in_.raw(*length, "TLV value");
    if (!value) {
      return bad(std::string(container_) + ": field " + std::to_string(*type) + " of " +
                 std::to_string(*length) + " bytes runs past the end");
    }
    return Field{*type, *value};
  }
  // Call for fields that may appear at most once.
  Result<void> once(const Field& f, const char* name) {
    if (seen_.test(f.type)) return bad(std::string(container_) + ": " + name + " twice");
    seen_.set(f.type);
    return {};
  }
  bool seen(Tlv type) const { return seen_.test(type); }
  Result<void> require(Tlv type, const char* name) const {
    if (seen_.test(type)) return {};
    return bad(std::string(container_) + ": no " + name);
  }

 private:
  ByteReader in_;
  const char* container_;
  std::bitset<256> seen_;
};

Result<std::uint64_t> fixed(const Field& f, std::size_t size, const char* name) {
  if (f.value.size() != size) {
    return bad(std::string(name) + " is " + std::to_string(f.value.size()) + " bytes, not " +
               std::to_string(size));
  }
  std::uint64_t v = 0;
  for (char c : f.value) v = (v << 8) | static_cast<std::uint8_t>(c);
  return v;
}

asio::ip::address addressFrom(std::string_view bytes) {
  if (bytes.size() == 4) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), bytes.data(), 4);
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), bytes.data(), 16);
  return asio::ip::address_v6(b);
}

Result<asio::ip::address> address(const Field& f, const char* name) {
  if (f.value.size() != 4 && f.value.size() != 16) {
    return bad(std::string(name) + " is neither an IPv4 nor an IPv6 address");
  }
  return addressFrom(f.value);
}

Result<net::Endpoint> endpoint(const Field& f, const char* name) {
  if (f.value.size() != 6 && f.value.size() != 18) {
    return bad(std::string(name) + " is neither an IPv4 nor an IPv6 endpoint");
  }
  const std::size_t n = f.value.size() - 2;
  net::Endpoint e;
  e.address = addressFrom(f.value.substr(0, n));
  e.port = static_cast<std::uint16_t>((static_cast<std::uint8_t>(f.value[n]) << 8) |
                                      static_cast<std::uint8_t>(f.value[n + 1]));
  return e;
}

// Reads a required-once fixed-size integer field into `out`.
template <typename T>
Result<void> readInt(TlvReader& r, const Field& f, const char* name, T& out) {
  if (auto ok = r.once(f, name); !ok) return ok;
  auto v = fixed(f, sizeof(T), name);
  if (!v) return fail(v);
  out = static_cast<T>(*v);
  return {};
}

Result<void> readHandle(std::vector<std::uint64_t>& handles, const Field& f, std::size_t max) {
  auto v = fixed(f, 8, "stream handle");
  if (!v) return fail(v);
  if (handles.size() == max) {
    return bad("more than " + std::to_string(max) + " stream handles");
  }
  if (std::find(handles.begin(), handles.end(), *v) != handles.end()) {
    return bad("stream handle " + std::to_string(*v) + " listed twice");
  }
  handles.push_back(*v);
  return {};
}

bool familyOf(const asio::ip::address& a, AddressFamily family) {
  return a.is_v4() == (family == AddressFamily::V4);
}

Result<StreamRequest> readStreamRequest(std::string_view bytes) {
  StreamRequest s;
  TlvReader r(bytes, "stream request");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    Result<void> ok;
    switch (f->type) {
      case kFamily: {
        std::uint8_t family = 0;
        ok = readInt(r, *f, "address family", family);
        if (ok && family != 4 && family != 6) ok = bad("address family is neither 4 nor 6");
        if (ok) s.family = static_cast<AddressFamily>(family);
        break;
      }
      case kExpectedSourceA:
      case kExpectedSourceB: {
        const bool a = f->type == kExpectedSourceA;
        const char* name = a ? "expected source A" : "expected source B";
        ok = r.once(*f, name);
        if (!ok) break;
        auto ip = address(*f, name);
        if (!ip) return fail(ip);
        (a ? s.expectedSourceA : s.expectedSourceB) = *ip;
        break;
      }
      case kClockRate:
        ok = readInt(r, *f, "clock rate", s.clockRate);
        if (ok && (s.clockRate == 0 || s.clockRate > kMaxClockRate)) {
          ok = bad("clock rate " + std::to_string(s.clockRate) + " out of range");
        }
        break;
      default:
        break;  // unknown: forward compatibility
    }
    if (!ok) return fail(ok);
  }
  if (auto ok = r.require(kFamily, "address family"); !ok) return fail(ok);
  for (const auto& hint : {s.expectedSourceA, s.expectedSourceB}) {
    if (hint && !familyOf(*hint, s.family)) {
      return bad("stream request: an expected source is not of the stream's family");
    }
  }
  return s;
}

Result<Allocate> readAllocate(std::string_view body) {
  Allocate m;
  TlvReader r(body, "Allocate");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    if (f->type != kStreamRequest) continue;
    if (m.streams.size() == kMaxStreamsPerAllocate) {
      return bad("Allocate: more than " + std::to_string(kMaxStreamsPerAllocate) + " streams");
    }
    auto s = readStreamRequest(f->value);
    if (!s) return fail(s);
    m.streams.push_back(*s);
  }
  if (m.streams.empty()) return bad("Allocate: no stream");
  return m;
}

Result<Connect> readConnect(std::string_view body) {
  Connect m;
  TlvReader r(body, "Connect");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    Result<void> ok;
    switch (f->type) {
      case kStreamHandle:
        ok = readInt(r, *f, "stream handle", m.stream);
        break;
      case kSide: {
        std::uint8_t side = 0;
        ok = readInt(r, *f, "side", side);
        if (ok && side > 1) ok = bad("side is neither A (0) nor B (1)");
        if (ok) m.side = static_cast<Side>(side);
        break;
      }
      case kRemote: {
        ok = r.once(*f, "remote");
        if (!ok) break;
        auto e = endpoint(*f, "remote");
        if (!e) return fail(e);
        m.remote = *e;
        break;
      }
      default:
        break;
    }
    if (!ok) return fail(ok);
  }
  for (auto [type, name] : {std::pair{kStreamHandle, "stream handle"}, std::pair{kSide, "side"},
                            std::pair{kRemote, "remote"}}) {
    if (auto ok = r.require(type, name); !ok) return fail(ok);
  }
  return m;
}

Result<std::vector<std::uint64_t>> readHandles(std::string_view body, const char* container) {
  std::vector<std::uint64_t> handles;
  TlvReader r(body, container);
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    if (f->type != kStreamHandle) continue;
    if (auto ok = readHandle(handles, *f, kMaxHandlesPerRequest); !ok) return fail(ok);
  }
  if (handles.empty()) return bad(std::string(container) + ": no stream handle");
  return handles;
}

Result<AllocatedStreamInfo> readAllocatedStream(std::string_view bytes) {
  AllocatedStreamInfo s;
  TlvReader r(bytes, "allocated stream");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    Result<void> ok;
    if (f->type == kStreamHandle) {
      ok = readInt(r, *f, "stream handle", s.stream);
    } else if (f->type == kEndpointA || f->type == kEndpointB) {
      const bool a = f->type == kEndpointA;
      const char* name = a ? "endpoint A" : "endpoint B";
      ok = r.once(*f, name);
      if (!ok) return fail(ok);
      auto e = endpoint(*f, name);
      if (!e) return fail(e);
      (a ? s.sideA : s.sideB) = *e;
    }
    if (!ok) return fail(ok);
  }
  for (auto [type, name] :
       {std::pair{kStreamHandle, "stream handle"}, std::pair{kEndpointA, "endpoint A"},
        std::pair{kEndpointB, "endpoint B"}}) {
    if (auto ok = r.require(type, name); !ok) return fail(ok);
  }
  return s;
}

Result<Allocated> readAllocated(std::string_view body) {
  Allocated m;
  TlvReader r(body, "Allocated");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    if (f->type != kAllocatedStream) continue;
    if (m.streams.size() == kMaxStreamsPerAllocate) return bad("Allocated: too many streams");
    auto s = readAllocatedStream(f->value);
    if (!s) return fail(s);
    m.streams.push_back(*s);
  }
  if (m.streams.empty()) return bad("Allocated: no stream");
  return m;
}

Result<DirectionReport> readDirection(std::string_view bytes) {
  DirectionReport d;
  TlvReader r(bytes, "direction report");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    Result<void> ok;
    switch (f->type) {
      case kPackets:
        ok = readInt(r, *f, "packets", d.packets);
        break;
      case kBytes:
        ok = readInt(r, *f, "bytes", d.bytes);
        break;
      case kRtcpPackets:
        ok = readInt(r, *f, "RTCP packets", d.rtcpPackets);
        break;
      case kRtcpBytes:
        ok = readInt(r, *f, "RTCP bytes", d.rtcpBytes);
        break;
      case kLost: {
        std::uint64_t lost = 0;
        ok = readInt(r, *f, "lost", lost);
        // Two's complement on the wire; the conversion is well defined in C++20.
        d.lost = static_cast<std::int64_t>(lost);
        break;
      }
      case kJitterUs:
        ok = readInt(r, *f, "jitter", d.jitterUs);
        break;
      case kLatched: {
        std::uint8_t latched = 0;
        ok = readInt(r, *f, "latched", latched);
        if (ok && latched > 1) ok = bad("latched is neither 0 nor 1");
        d.latched = latched == 1;
        break;
      }
      default:
        break;
    }
    if (!ok) return fail(ok);
  }
  for (auto [type, name] :
       {std::pair{kPackets, "packets"}, std::pair{kBytes, "bytes"},
        std::pair{kRtcpPackets, "RTCP packets"}, std::pair{kRtcpBytes, "RTCP bytes"},
        std::pair{kLost, "lost"}, std::pair{kJitterUs, "jitter"}, std::pair{kLatched, "latched"}}) {
    if (auto ok = r.require(type, name); !ok) return fail(ok);
  }
  return d;
}

Result<StreamReport> readStreamReport(std::string_view bytes) {
  StreamReport s;
  TlvReader r(bytes, "stream report");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    Result<void> ok;
    if (f->type == kStreamHandle) {
      ok = readInt(r, *f, "stream handle", s.stream);
    } else if (f->type == kAToB || f->type == kBToA) {
      const bool aToB = f->type == kAToB;
      ok = r.once(*f, aToB ? "A to B" : "B to A");
      if (!ok) return fail(ok);
      auto d = readDirection(f->value);
      if (!d) return fail(d);
      (aToB ? s.aToB : s.bToA) = *d;
    }
    if (!ok) return fail(ok);
  }
  for (auto [type, name] : {std::pair{kStreamHandle, "stream handle"}, std::pair{kAToB, "A to B"},
                            std::pair{kBToA, "B to A"}}) {
    if (auto ok = r.require(type, name); !ok) return fail(ok);
  }
  return s;
}

Result<StatsReport> readStatsReport(std::string_view body) {
  StatsReport m;
  TlvReader r(body, "StatsReport");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    if (f->type != kStreamReport) continue;
    if (m.streams.size() == kMaxHandlesPerRequest) return bad("StatsReport: too many streams");
    auto s = readStreamReport(f->value);
    if (!s) return fail(s);
    m.streams.push_back(*s);
  }
  if (m.streams.empty()) return bad("StatsReport: no stream");
  return m;
}

Result<ErrorReply> readError(std::string_view body) {
  ErrorReply m;
  TlvReader r(body, "Error");
  while (!r.atEnd()) {
    auto f = r.next();
    if (!f) return fail(f);
    Result<void> ok;
    switch (f->type) {
      case kErrorCode: {
        std::uint16_t code = 0;
        ok = readInt(r, *f, "error code", code);
        m.code = static_cast<ErrorCode>(code);
        break;
      }
      case kReason:
        ok = r.once(*f, "reason");
        if (ok && f->value.size() > kMaxReasonBytes) ok = bad("Error: reason too long");
        if (ok) m.reason = std::string(f->value);
        break;
      case kSupportedVersion:
        if (f->value.size() != 2) {
          ok = bad("Error: supported version is not 2 bytes");
        } else if (m.supported.size() == kMaxSupportedVersions) {
          ok = bad("Error: too many supported versions");
        } else {
          m.supported.push_back(Version{static_cast<std::uint8_t>(f->value[0]),
                                        static_cast<std::uint8_t>(f->value[1])});
        }
        break;
      case kStreamHandle:
        ok = readHandle(m.streams, *f, kMaxHandlesPerRequest);
        break;
      default:
        break;
    }
    if (!ok) return fail(ok);
  }
  if (auto ok = r.require(kErrorCode, "error code"); !ok) return fail(ok);
  return m;
}

template <typename T>
Result<Message> asMessage(Result<T> r) {
  if (!r) return fail(r);
  return Message(std::move(*r));
}

Result<Message> readBody(std::uint8_t type, std::string_view body) {
  switch (type) {
    case kAllocate:
      return asMessage(readAllocate(body));
    case kConnect:
      return asMessage(readConnect(body));
    case kRelease: {
      auto h = readHandles(body, "Release");
      if (!h) return fail(h);
      return Message(Release{std::move(*h)});
    }
    case kStats: {
      auto h = readHandles(body, "Stats");
      if (!h) return fail(h);
      return Message(Stats{std::move(*h)});
    }
    case kOk:
      return Message(Ok{});  // any TLV in it is from a later version: ignored
    case kAllocated:
      return asMessage(readAllocated(body));
    case kStatsReport:
      return asMessage(readStatsReport(body));
    case kError:
      return asMessage(readError(body));
    default:
      return bad("unknown message type " + std::to_string(type));
  }
}

}  // namespace

const char* toString(ErrorCode code) {
  switch (code) {
    case ErrorCode::BadRequest:
      return "bad request";
    case ErrorCode::UnsupportedVersion:
      return "unsupported version";
    case ErrorCode::NotAuthorised:
      return "not authorised";
    case ErrorCode::QuotaExceeded:
      return "quota exceeded";
    case ErrorCode::Capacity:
      return "no capacity";
    case ErrorCode::UnknownStream:
      return "unknown stream";
    case ErrorCode::Internal:
      return "internal error";
  }
  return "unknown error code";
}

bool isRequest(const Message& message) {
  return std::holds_alternative<Allocate>(message) || std::holds_alternative<Connect>(message) ||
         std::holds_alternative<Release>(message) || std::holds_alternative<Stats>(message);
}

const char* messageName(const Message& message) {
  static constexpr const char* kNames[] = {"Allocate",  "Connect", "Release",     "Stats",
                                           "Allocated", "Ok",      "StatsReport", "Error"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[message.index()];
}

bool startsControlFrame(std::string_view bytes) {
  return !bytes.empty() && static_cast<std::uint8_t>(bytes[0]) == kFirstByte;
}

Result<std::optional<FrameHeader>> decodeHeader(std::string_view bytes) {
  // The magic is checked on whatever has arrived, so SIP text is recognised from its first byte.
  if (!bytes.empty() && static_cast<std::uint8_t>(bytes[0]) != kFirstByte) {
    return bad("not a relay control frame: first byte " +
               std::to_string(static_cast<std::uint8_t>(bytes[0])));
  }
  if (bytes.size() >= 2 && static_cast<std::uint8_t>(bytes[1]) != kSecondByte) {
    return bad("not a relay control frame: second byte " +
               std::to_string(static_cast<std::uint8_t>(bytes[1])));
  }
  if (bytes.size() < kHeaderSize) return std::optional<FrameHeader>{};
  ByteReader in(bytes.substr(2, kHeaderSize - 2));
  FrameHeader h;
  // The reader cannot fail here: exactly the 10 bytes below are there.
  h.version.major = in.u8("major version").value_or(0);
  h.version.minor = in.u8("minor version").value_or(0);
  h.type = in.u8("message type").value_or(0);
  h.flags = in.u8("flags").value_or(0);
  h.requestId = in.u32("request id").value_or(0);
  h.bodyLength = in.u16("body length").value_or(0);
  if (h.bodyLength > kMaxFrameSize - kHeaderSize) {
    return bad("relay control frame declares a body of " + std::to_string(h.bodyLength) +
               " bytes, over the limit of " + std::to_string(kMaxFrameSize - kHeaderSize));
  }
  return std::optional<FrameHeader>(h);
}

Result<Decoded> decodeFrame(std::string_view bytes) {
  auto header = decodeHeader(bytes);
  if (!header) return fail(header);
  if (!*header) return Decoded{NeedMoreBytes{kHeaderSize}, 0};
  const FrameHeader& h = **header;
  const std::size_t size = kHeaderSize + h.bodyLength;
  if (bytes.size() < size) return Decoded{NeedMoreBytes{size}, 0};
  if (h.version.major != kVersionMajor) {
    return Decoded{Rejected{h.requestId, h.type, ErrorCode::UnsupportedVersion,
                            "version " + std::to_string(h.version.major) + "." +
                                std::to_string(h.version.minor) + " is not supported"},
                   size};
  }
  auto message = readBody(h.type, bytes.substr(kHeaderSize, h.bodyLength));
  if (!message) {
    return Decoded{Rejected{h.requestId, h.type, ErrorCode::BadRequest, message.error().detail},
                   size};
  }
  return Decoded{Frame{h.requestId, std::move(*message)}, size};
}

std::string encode(const Frame& frame) {
  TlvWriter body;
  const std::uint8_t type = writeBody(body, frame.message);
  ByteWriter out;
  out.u8(kFirstByte);
  out.u8(kSecondByte);
  out.u8(kVersionMajor);
  out.u8(kVersionMinor);
  out.u8(type);
  out.u8(0);  // flags
  out.u32(frame.requestId);
  // The bounds keep every body under kMaxFrameSize - kHeaderSize (the largest, a StatsReport of
  // kMaxHandlesPerRequest streams, is 2,432 bytes), so the length fits and the frame is legal.
  out.u16(static_cast<std::uint16_t>(body.data().size()));
  out.raw(body.data());
  return std::move(out).bytes();
}

}  // namespace p2psip::media::control
