// SPDX-License-Identifier: Apache-2.0
// The relay control codec: every message round trips, frames arrive in pieces or back to back,
// and whatever a peer sends (truncated, oversized, garbage, another version, fields from a later
// version) is either decoded, rejected under its request id, or refused as not our framing.
#include "p2psip/media/relay_control.h"

#include <gtest/gtest.h>

#include <random>

namespace p2psip::media::control {
namespace {

asio::ip::address ip(const char* text) {
  return asio::ip::make_address(text);
}

net::Endpoint ep(const char* address, std::uint16_t port) {
  return net::Endpoint{ip(address), port};
}

// Hand-built wire pieces, for what encode() never writes.
std::string tlv(std::uint8_t type, std::string_view value) {
  std::string out;
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(value.size() >> 8));
  out.push_back(static_cast<char>(value.size() & 0xff));
  out.append(value);
  return out;
}

std::string be(std::uint64_t v, int bytes) {
  std::string out;
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

std::string frame(std::uint8_t type, std::string_view body, std::uint32_t requestId = 7,
                  std::uint8_t major = 1, std::uint8_t minor = 0, std::uint8_t flags = 0) {
  std::string out{'\0', 'R'};
  out.push_back(static_cast<char>(major));
  out.push_back(static_cast<char>(minor));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out += be(requestId, 4) + be(body.size(), 2);
  out.append(body);
  return out;
}

std::string handle(std::uint64_t h) {
  return tlv(0x10, be(h, 8));
}

std::vector<Frame> everyMessage() {
  DirectionReport busy{.packets = 1'000'000,
                       .bytes = 172'000'000,
                       .rtcpPackets = 200,
                       .rtcpBytes = 16'000,
                       .lost = -3,  // duplicates
                       .jitterUs = 2'500,
                       .latched = true};
  return {
      {1, Allocate{{StreamRequest{}}}},
      {2, Allocate{{StreamRequest{.family = AddressFamily::V4,
                                  .expectedSourceA = ip("198.51.100.7"),
                                  .expectedSourceB = ip("203.0.113.9"),
                                  .clockRate = 48000},
                    StreamRequest{.family = AddressFamily::V6,
                                  .expectedSourceB = ip("2001:db8::5"),
                                  .clockRate = 90000}}}},
      {3,
       Connect{
           .stream = 0xfedcba9876543210ULL, .side = Side::B, .remote = ep("203.0.113.9", 40000)}},
      {4, Connect{.stream = 1, .side = Side::A, .remote = ep("2001:db8::1", 5004)}},
      {5, Release{{1, 2, 0xffffffffffffffffULL}}},
      {6, Stats{{42}}},
      {7, Allocated{{AllocatedStreamInfo{9, ep("192.0.2.1", 30000), ep("192.0.2.1", 30002)},
                     AllocatedStreamInfo{10, ep("2001:db8::2", 30004), ep("2001:db8::2", 30006)}}}},
      {8, Ok{}},
      {9, StatsReport{{StreamReport{42, busy, DirectionReport{}},
                       StreamReport{43, DirectionReport{}, busy}}}},
      {10, ErrorReply{ErrorCode::QuotaExceeded, "the peer holds 64 streams", {}, {}}},
      {11, ErrorReply{ErrorCode::UnsupportedVersion, "", {Version{1, 0}, Version{1, 3}}, {}}},
      {12, ErrorReply{ErrorCode::UnknownStream, "not yours", {}, {5, 6}}},
      {0xffffffff, ErrorReply{static_cast<ErrorCode>(999), "from a later version", {}, {}}},
  };
}

Frame decodeOk(std::string_view bytes) {
  auto decoded = decodeFrame(bytes);
  EXPECT_TRUE(decoded) << decoded.error().detail;
  if (!decoded) return {};
  EXPECT_EQ(decoded->consumed, bytes.size());
  const auto* frame = std::get_if<Frame>(&decoded->outcome);
  if (frame == nullptr) {
    const auto* rejected = std::get_if<Rejected>(&decoded->outcome);
    ADD_FAILURE() << "not decoded: " << (rejected ? rejected->reason : "needs more bytes");
    return {};
  }
  return *frame;
}

Rejected rejectedOf(std::string_view bytes) {
  auto decoded = decodeFrame(bytes);
  EXPECT_TRUE(decoded) << decoded.error().detail;
  if (!decoded) return {};
  EXPECT_EQ(decoded->consumed, bytes.size());
  const auto* rejected = std::get_if<Rejected>(&decoded->outcome);
  if (rejected == nullptr) {
    ADD_FAILURE() << "expected a rejection";
    return {};
  }
  return *rejected;
}

TEST(RelayControlCodecTest, EveryMessageRoundTrips) {
  for (const Frame& f : everyMessage()) {
    SCOPED_TRACE(messageName(f.message));
    const std::string bytes = encode(f);
    EXPECT_LE(bytes.size(), kMaxFrameSize);
    EXPECT_EQ(decodeOk(bytes), f);
  }
}

TEST(RelayControlCodecTest, RequestsAndResponsesAreTold) {
  EXPECT_TRUE(isRequest(Allocate{}));
  EXPECT_TRUE(isRequest(Connect{}));
  EXPECT_TRUE(isRequest(Release{}));
  EXPECT_TRUE(isRequest(Stats{}));
  EXPECT_FALSE(isRequest(Allocated{}));
  EXPECT_FALSE(isRequest(Ok{}));
  EXPECT_FALSE(isRequest(StatsReport{}));
  EXPECT_FALSE(isRequest(ErrorReply{}));
  EXPECT_STREQ(messageName(ErrorReply{}), "Error");
  EXPECT_STREQ(toString(ErrorCode::Capacity), "no capacity");
}

TEST(RelayControlCodecTest, TheHeaderIsTheDocumentedOne) {
  const std::string bytes = encode(Frame{0x01020304, Release{{5}}});
  ASSERT_EQ(bytes.size(), kHeaderSize + 11);
  EXPECT_EQ(bytes.substr(0, kHeaderSize), std::string("\0R\1\0\3\0\1\2\3\4\0\x0b", 12));
  EXPECT_EQ(bytes.substr(kHeaderSize), handle(5));
  auto header = decodeHeader(bytes);
  ASSERT_TRUE(header && *header);
  EXPECT_EQ((*header)->requestId, 0x01020304U);
  EXPECT_EQ((*header)->type, 0x03);
  EXPECT_EQ((*header)->bodyLength, 11);
}

TEST(RelayControlCodecTest, SipTextIsNeverTakenForAFrame) {
  for (std::string_view sip :
       {"INVITE sip:bob@example.com SIP/2.0\r\n", "SIP/2.0 200 OK\r\n", "\r\n\r\n", "\n"}) {
    EXPECT_FALSE(startsControlFrame(sip));
    auto decoded = decodeFrame(sip);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, p2psip::ErrorCode::ParseError);
  }
  EXPECT_TRUE(startsControlFrame(encode(Frame{1, Ok{}})));
  // The first byte alone is enough to tell.
  EXPECT_FALSE(decodeFrame(std::string_view("I", 1)));
  EXPECT_FALSE(decodeFrame(std::string_view("\0S", 2)));  // right first byte, wrong magic
}

TEST(RelayControlCodecTest, APartialFrameAsksForMoreBytes) {
  for (const Frame& f : everyMessage()) {
    const std::string bytes = encode(f);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto decoded = decodeFrame(std::string_view(bytes).substr(0, n));
      ASSERT_TRUE(decoded) << n;
      const auto* more = std::get_if<NeedMoreBytes>(&decoded->outcome);
      ASSERT_NE(more, nullptr) << n;
      EXPECT_EQ(more->frameSize, n < kHeaderSize ? kHeaderSize : bytes.size());
      EXPECT_EQ(decoded->consumed, 0U);
    }
  }
}

TEST(RelayControlCodecTest, FramesBackToBackAreTakenOneAtATime) {
  const auto frames = everyMessage();
  std::string stream;
  for (const auto& f : frames) stream += encode(f);
  std::string_view rest = stream;
  for (const auto& f : frames) {
    auto decoded = decodeFrame(rest);
    ASSERT_TRUE(decoded);
    const auto* got = std::get_if<Frame>(&decoded->outcome);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, f);
    rest.remove_prefix(decoded->consumed);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(RelayControlCodecTest, ADeclaredLengthOverTheLimitIsNotOurFraming) {
  const std::string body(kMaxFrameSize - kHeaderSize + 1, '\0');
  auto decoded = decodeFrame(frame(0x80, body).substr(0, kHeaderSize));  // header suffices
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().detail.find("over the limit"), std::string::npos);

  // Exactly the limit is fine: an Ok padded with a field from some later version.
  const std::string padding = tlv(0x7f, std::string(kMaxFrameSize - kHeaderSize - 3, 'x'));
  const std::string largest = frame(0x80, padding);
  ASSERT_EQ(largest.size(), kMaxFrameSize);
  EXPECT_EQ(decodeOk(largest), (Frame{7, Ok{}}));
}

TEST(RelayControlCodecTest, AnotherMajorVersionIsRejectedUnderItsRequestId) {
  const auto rejected = rejectedOf(frame(0x01, "anything, in a layout we cannot know", 99, 2, 0));
  EXPECT_EQ(rejected.code, ErrorCode::UnsupportedVersion);
  EXPECT_EQ(rejected.requestId, 99U);
  EXPECT_TRUE(rejected.isRequest());
  EXPECT_NE(rejected.reason.find("2.0"), std::string::npos);
  // A later minor version of ours is spoken: only fields may have been added.
  EXPECT_EQ(decodeOk(frame(0x03, handle(5), 3, 1, 9)), (Frame{3, Release{{5}}}));
}

TEST(RelayControlCodecTest, UnknownFieldsAndFlagsAreIgnored) {
  const std::string stream = tlv(0x02, "\x04") + tlv(0x66, "future") + tlv(0x05, be(16000, 4));
  const std::string body = tlv(0x70, "") + tlv(0x01, stream) + tlv(0xee, std::string(300, 'z'));
  const Frame expected{7, Allocate{{StreamRequest{.clockRate = 16000}}}};
  EXPECT_EQ(decodeOk(frame(0x01, body)), expected);
  EXPECT_EQ(decodeOk(frame(0x01, body, 7, 1, 0, 0xff)), expected);  // flags are reserved
  // A field known elsewhere is unknown in a container that does not use it.
  EXPECT_EQ(decodeOk(frame(0x03, handle(5) + tlv(0x11, "\x01"))), (Frame{7, Release{{5}}}));
  EXPECT_EQ(decodeOk(frame(0x80, tlv(0x10, be(1, 8)))), (Frame{7, Ok{}}));
}

TEST(RelayControlCodecTest, MalformedBodiesAreBadRequests) {
  const std::string v4 = tlv(0x02, "\x04");
  const std::string connect = handle(1) + tlv(0x11, std::string(1, '\0')) +
                              tlv(0x12, std::string("\xc0\x00\x02\x01\x9c\x40", 6));
  std::string nine;
  for (int i = 0; i < 9; ++i) nine += tlv(0x01, v4);
  std::string seventeen;
  for (int i = 0; i < 17; ++i) seventeen += handle(static_cast<std::uint64_t>(i));
  ASSERT_TRUE(std::holds_alternative<Frame>(decodeFrame(frame(0x02, connect))->outcome));

  const std::pair<std::uint8_t, std::string> cases[] = {
      {0x01, ""},                                                   // no stream
      {0x01, nine},                                                 // too many streams
      {0x01, tlv(0x01, "")},                                        // no family
      {0x01, tlv(0x01, tlv(0x02, "\x05"))},                         // family 5
      {0x01, tlv(0x01, tlv(0x02, "\x04\x04"))},                     // family of 2 bytes
      {0x01, tlv(0x01, v4 + v4)},                                   // family twice
      {0x01, tlv(0x01, v4 + tlv(0x03, std::string(16, '\1')))},     // IPv6 hint, IPv4 stream
      {0x01, tlv(0x01, v4 + tlv(0x04, "\1\2\3"))},                  // 3-byte address
      {0x01, tlv(0x01, v4 + tlv(0x05, be(0, 4)))},                  // clock rate 0
      {0x01, tlv(0x01, v4 + tlv(0x05, be(kMaxClockRate + 1, 4)))},  // clock rate too high
      {0x01, std::string("\x01\x00\x09\x02\x00", 5)},               // TLV past the end
      {0x01, std::string("\x01\x00", 2)},                           // TLV header cut short
      {0x02, handle(1) + tlv(0x12, std::string("\xc0\x00\x02\x01\x9c\x40", 6))},  // no side
      {0x02, connect + tlv(0x11, "\x01")},                                        // side twice
      {0x02, handle(1) + tlv(0x11, "\x02") + tlv(0x12, std::string(6, '\1'))},    // side 2
      {0x02, handle(1) + tlv(0x11, "\x01") + tlv(0x12, std::string(7, '\1'))},    // bad endpoint
      {0x02, tlv(0x10, be(1, 4)) + tlv(0x11, "\x01") + tlv(0x12, std::string(6, '\1'))},
      {0x03, ""},                                                      // no handle
      {0x03, seventeen},                                               // too many handles
      {0x03, handle(3) + handle(3)},                                   // a handle twice
      {0x04, tlv(0x13, "")},                                           // only unknown fields
      {0x81, tlv(0x20, handle(1) + tlv(0x21, std::string(6, '\1')))},  // no endpoint B
      {0x82, tlv(0x30, handle(1))},                                    // no directions
      {0x83, tlv(0x41, "no code")},                                    // no code
      {0x83, tlv(0x40, be(1, 2)) + tlv(0x41, std::string(kMaxReasonBytes + 1, 'r'))},
      {0x83, tlv(0x40, be(1, 2)) + tlv(0x42, "\x01")},  // 1-byte version
      {0x05, ""},                                       // unknown request type
      {0x90, ""},                                       // unknown response type
  };
  for (const auto& [type, body] : cases) {
    SCOPED_TRACE(::testing::Message() << "type " << int(type) << ", body of " << body.size());
    const auto rejected = rejectedOf(frame(type, body, 1234));
    EXPECT_EQ(rejected.code, ErrorCode::BadRequest);
    EXPECT_EQ(rejected.requestId, 1234U);
    EXPECT_EQ(rejected.type, type);
    EXPECT_EQ(rejected.isRequest(), type < 0x80);
    EXPECT_FALSE(rejected.reason.empty());
  }
}

TEST(RelayControlCodecTest, TheEncoderKeepsToTheBounds) {
  Allocate many;
  many.streams.resize(kMaxStreamsPerAllocate + 3);
  auto allocate = decodeOk(encode(Frame{1, many}));
  EXPECT_EQ(std::get<Allocate>(allocate.message).streams.size(), kMaxStreamsPerAllocate);

  // A reason over the limit is cut at a character boundary ("é" is two bytes).
  std::string reason;
  while (reason.size() < kMaxReasonBytes + 10) reason += "\xc3\xa9";
  reason = "x" + reason;
  auto error = decodeOk(encode(Frame{2, ErrorReply{ErrorCode::Internal, reason, {}, {}}}));
  const std::string& cut = std::get<ErrorReply>(error.message).reason;
  EXPECT_EQ(cut.size(), kMaxReasonBytes - 1);
  EXPECT_EQ(reason.compare(0, cut.size(), cut), 0);

  // The largest frames of each kind fit in kMaxFrameSize.
  const DirectionReport full{~0ULL, ~0ULL, ~0ULL, ~0ULL, -1, ~0U, true};
  StatsReport report;
  Release release;
  for (std::uint64_t i = 0; i < kMaxHandlesPerRequest; ++i) {
    report.streams.push_back({i, full, full});
    release.streams.push_back(i);
  }
  Allocated allocated;
  allocated.streams.assign(kMaxStreamsPerAllocate,
                           {1, ep("2001:db8::1", 65534), ep("2001:db8::1", 65532)});
  ErrorReply fullError{ErrorCode::UnknownStream, std::string(kMaxReasonBytes, 'r'),
                       std::vector<Version>(kMaxSupportedVersions), release.streams};
  for (const Message& m :
       {Message(report), Message(allocated), Message(fullError), Message(release)}) {
    const std::string bytes = encode(Frame{3, m});
    EXPECT_LE(bytes.size(), kMaxFrameSize) << messageName(m);
    EXPECT_EQ(decodeOk(bytes), (Frame{3, m}));
  }
}

TEST(RelayControlCodecTest, RandomBytesNeverBreakTheDecoder) {
  std::mt19937 random(20240601);
  const auto frames = everyMessage();
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      // A valid frame with a few bytes flipped or cut: gets past the framing checks.
      bytes = encode(frames[random() % frames.size()]);
      for (int flips = 1 + random() % 4; flips > 0; --flips) {
        bytes[random() % bytes.size()] = static_cast<char>(random());
      }
      bytes.resize(random() % (bytes.size() + 1));
    } else {
      bytes = std::string("\0R", 2);
      for (std::size_t n = random() % 64; n > 0; --n) bytes.push_back(static_cast<char>(random()));
    }
    auto decoded = decodeFrame(bytes);
    if (!decoded) continue;
    EXPECT_LE(decoded->consumed, bytes.size());
    if (const auto* f = std::get_if<Frame>(&decoded->outcome)) {
      EXPECT_EQ(decodeOk(encode(*f)), *f);  // whatever decodes, re-encodes to itself
    }
  }
}

}  // namespace
}  // namespace p2psip::media::control
