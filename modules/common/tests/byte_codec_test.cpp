// SPDX-License-Identifier: Apache-2.0
#include "p2psip/common/byte_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

namespace p2psip {
namespace {

bool mentions(const Error& error, const std::string& text) {
  return error.detail.find(text) != std::string::npos;
}

TEST(ByteWriter, WritesIntegersBigEndian) {
  ByteWriter out;
  out.u8(0x01);
  out.u16(0x0203);
  out.u32(0x04050607);
  out.u64(0x08090a0b0c0d0e0fULL);
  EXPECT_EQ(out.bytes(),
            std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"));
  EXPECT_EQ(out.size(), 15u);
}

TEST(ByteWriter, PrefixesStringsWithTheirLength) {
  ByteWriter out;
  EXPECT_TRUE(out.str16("abc"));
  EXPECT_TRUE(out.str32(""));
  EXPECT_EQ(out.bytes(), std::string("\x00\x03"
                                     "abc\x00\x00\x00\x00",
                                     9));
}

TEST(ByteWriter, RefusesAStr16LongerThanItsLengthField) {
  ByteWriter out;
  EXPECT_TRUE(out.str16(std::string(0xffff, 'x')));
  const std::size_t before = out.size();
  EXPECT_FALSE(out.str16(std::string(0x10000, 'x')));
  EXPECT_EQ(out.size(), before);  // nothing half-written
}

TEST(ByteReader, ReadsBackWhatTheWriterWrote) {
  ByteWriter out;
  out.u8(0xfe);
  out.u16(0xbeef);
  out.u32(0xdeadbeef);
  out.u64(0xfedcba9876543210ULL);
  out.str16("hello");
  out.str32(std::string("\0bin\0", 5));
  out.raw("xyz");
  const std::string bytes = std::move(out).bytes();

  ByteReader in(bytes);
  EXPECT_EQ(*in.u8("a"), 0xfe);
  EXPECT_EQ(*in.u16("b"), 0xbeef);
  EXPECT_EQ(*in.u32("c"), 0xdeadbeefu);
  EXPECT_EQ(*in.u64("d"), 0xfedcba9876543210ULL);
  EXPECT_EQ(*in.str16(16, "e"), "hello");
  EXPECT_EQ(*in.str32(16, "f"), std::string_view("\0bin\0", 5));
  EXPECT_EQ(in.remaining(), 3u);
  EXPECT_FALSE(in.atEnd());
  EXPECT_EQ(*in.raw(3, "g"), "xyz");
  EXPECT_TRUE(in.atEnd());
  EXPECT_EQ(in.position(), bytes.size());
  EXPECT_TRUE(in.expectEnd("record"));
}

TEST(ByteReader, ATruncatedFieldIsAParseErrorNamingIt) {
  for (std::size_t n = 0; n < 8; ++n) {
    const std::string input(n, '\0');
    ByteReader in(input);
    auto v = in.u64("sequence number");
    ASSERT_FALSE(v);
    EXPECT_EQ(v.error().code, ErrorCode::ParseError);
    EXPECT_TRUE(mentions(v.error(), "sequence number")) << v.error().detail;
    EXPECT_EQ(in.position(), 0u);  // a failed read consumes nothing
  }
  const std::string input(
      "\x00\x05"
      "abcd",
      6);
  ByteReader in(input);
  auto s = in.str16(100, "contact");
  ASSERT_FALSE(s);
  EXPECT_TRUE(mentions(s.error(), "input ends inside contact")) << s.error().detail;
}

TEST(ByteReader, ALengthOverTheLimitIsRefusedBeforeReadingTheBytes) {
  ByteWriter out;
  out.str16("0123456789");
  ByteReader in(out.bytes());
  auto s = in.str16(9, "display name");
  ASSERT_FALSE(s);
  EXPECT_TRUE(mentions(s.error(), "display name is 10 bytes, over the limit of 9"))
      << s.error().detail;

  ByteReader exact(out.bytes());
  EXPECT_EQ(*exact.str16(10, "display name"), "0123456789");
}

TEST(ByteReader, AHostileLengthFieldIsRefusedWithoutAllocating) {
  ByteWriter out;
  out.u32(0xffffffffu);
  out.raw("abc");
  ByteReader in(out.bytes());
  auto s = in.str32(0xffffffffu, "body");
  ASSERT_FALSE(s);
  EXPECT_TRUE(mentions(s.error(), "input ends inside body")) << s.error().detail;
}

TEST(ByteReader, CannotBeBuiltOnATemporaryString) {
  static_assert(!std::is_constructible_v<ByteReader, std::string>);
  static_assert(std::is_constructible_v<ByteReader, const std::string&>);
  static_assert(std::is_constructible_v<ByteReader, std::string_view>);
  static_assert(std::is_constructible_v<ByteReader, const char*>);
}

TEST(ByteReader, RawPastTheEndFails) {
  ByteReader in("abc");
  EXPECT_FALSE(in.raw(4, "tail"));
  EXPECT_EQ(*in.raw(3, "tail"), "abc");
  EXPECT_FALSE(in.raw(1, "tail"));
  EXPECT_EQ(*in.raw(0, "nothing"), "");
}

TEST(ByteReader, ExpectEndCountsTrailingBytes) {
  ByteReader in("abcd");
  ASSERT_TRUE(in.u8("first"));
  auto end = in.expectEnd("the record");
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().code, ErrorCode::ParseError);
  EXPECT_TRUE(mentions(end.error(), "3 trailing bytes after the record")) << end.error().detail;
}

}  // namespace
}  // namespace p2psip
