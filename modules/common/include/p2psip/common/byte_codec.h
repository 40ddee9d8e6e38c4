// SPDX-License-Identifier: Apache-2.0
// ByteWriter / ByteReader: the big-endian, length-prefixed encoding of overlay records and
// peer-protocol frames. The reader never reads past its input and never allocates more than the
// length it has already checked against the remaining bytes, so a hostile length field costs
// nothing. Errors name the field being read.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "p2psip/common/result.h"

namespace p2psip {

class ByteWriter {
 public:
  void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void raw(std::string_view bytes) { out_.append(bytes); }
  // A string with a 16-bit length (fails past 65535 bytes: callers bound their fields first).
  bool str16(std::string_view s) {
    if (s.size() > 0xffff) return false;
    u16(static_cast<std::uint16_t>(s.size()));
    raw(s);
    return true;
  }
  bool str32(std::string_view s) {
    if (s.size() > 0xffffffffULL) return false;
    u32(static_cast<std::uint32_t>(s.size()));
    raw(s);
    return true;
  }
  const std::string& bytes() const& { return out_; }
  std::string bytes() && { return std::move(out_); }
  std::size_t size() const { return out_.size(); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  // The reader only views its input, so a temporary string would dangle: refuse one.
  template <typename T>
  requires std::is_same_v<T, std::string>
  explicit ByteReader(T&&) = delete;

  Result<std::uint8_t> u8(std::string_view field) {
    auto v = get(1, field);
    if (!v) return tl::unexpected(v.error());
    return static_cast<std::uint8_t>(*v);
  }
  Result<std::uint16_t> u16(std::string_view field) {
    auto v = get(2, field);
    if (!v) return tl::unexpected(v.error());
    return static_cast<std::uint16_t>(*v);
  }
  Result<std::uint32_t> u32(std::string_view field) {
    auto v = get(4, field);
    if (!v) return tl::unexpected(v.error());
    return static_cast<std::uint32_t>(*v);
  }
  Result<std::uint64_t> u64(std::string_view field) { return get(8, field); }
  // `n` raw bytes, as a view into the input.
  Result<std::string_view> raw(std::size_t n, std::string_view field) {
    if (n > in_.size() - pos_) return truncated(field);
    std::string_view out = in_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  // A 16- or 32-bit length, checked against `max` and the bytes left, then the bytes.
  Result<std::string_view> str16(std::size_t max, std::string_view field) {
    auto n = u16(field);
    if (!n) return tl::unexpected(n.error());
    return bounded(*n, max, field);
  }
  Result<std::string_view> str32(std::size_t max, std::string_view field) {
    auto n = u32(field);
    if (!n) return tl::unexpected(n.error());
    return bounded(*n, max, field);
  }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::size_t position() const { return pos_; }
  bool atEnd() const { return pos_ == in_.size(); }
  // ParseError unless every byte was consumed.
  Result<void> expectEnd(std::string_view what) const {
    if (atEnd()) return {};
    return makeError(ErrorCode::ParseError,
                     std::to_string(remaining()) + " trailing bytes after " + std::string(what));
  }

 private:
  Result<std::uint64_t> get(int n, std::string_view field) {
    if (static_cast<std::size_t>(n) > in_.size() - pos_) return truncated(field);
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<std::uint8_t>(in_[pos_ + i]);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  Result<std::string_view> bounded(std::size_t n, std::size_t max, std::string_view field) {
    if (n > max) {
      return makeError(ErrorCode::ParseError, std::string(field) + " is " + std::to_string(n) +
                                                  " bytes, over the limit of " +
                                                  std::to_string(max));
    }
    return raw(n, field);
  }
  tl::unexpected<Error> truncated(std::string_view field) const {
    return makeError(ErrorCode::ParseError, "input ends inside " + std::string(field));
  }

  std::string_view in_;
  std::size_t pos_ = 0;
};

}  // namespace p2psip
