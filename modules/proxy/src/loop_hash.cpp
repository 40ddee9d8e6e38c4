// SPDX-License-Identifier: Apache-2.0
#include "loop_hash.h"

#include <charconv>
#include <cstdio>
#include <utility>

#include "own_addresses.h"
#include "p2psip/common/hex.h"

namespace p2psip::proxy {
namespace {

constexpr std::string_view kMarker = "z9hG4bK-lh";  // magic cookie + "loop hash"
constexpr std::size_t kHashDigits = 16;

// Deterministic across processes, builds and byte orders, unlike std::hash, so two peers running
// different builds could even recognise each other's hashes. Eight bytes per step (read
// little-endian whatever the host): byte-at-a-time FNV-1a over the Request-URI, tags, Call-ID and
// Routes was 2 % of a proxied call's user CPU. Accidental collisions are what matter here (a
// false 482); the multiply-xorshift steps spread every input bit over the whole word.
struct WordHash {
  std::uint64_t value = 0x9e3779b97f4a7c15ULL;
  void add(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) mix(load(p + i, 8));
    // The last word carries the field's length, so ("ab","c") differs from ("a","bc").
    mix(load(p + i, text.size() - i) ^ (static_cast<std::uint64_t>(text.size()) << 56));
  }

 private:
  static std::uint64_t load(const unsigned char* p, std::size_t n) {
    std::uint64_t word = 0;
    for (std::size_t k = 0; k < n; ++k) word |= static_cast<std::uint64_t>(p[k]) << (8 * k);
    return word;
  }
  void mix(std::uint64_t word) {
    value = (value ^ word) * 0xff51afd7ed558ccdULL;
    value ^= value >> 29;
  }
};

}  // namespace

std::uint64_t LoopHash::of(const sip::Message& request) {
  WordHash h;
  h.add(request.requestUri().text);
  h.add(request.to().tag().value_or(""));
  h.add(request.from().tag().value_or(""));
  h.add(request.callId());
  h.add(std::to_string(request.cseq().number));
  for (auto id :
       {sip::HeaderId::ProxyRequire, sip::HeaderId::ProxyAuthorization, sip::HeaderId::Route}) {
    request.forEachValue(id, [&](std::string_view value) {
      h.add(value);
      return true;
    });
  }
  return h.value;
}

std::string LoopHash::branch(std::uint64_t hash, std::string_view uniqueBranch) {
  std::string out(kMarker);
  out.reserve(kMarker.size() + kHashDigits + 1 + uniqueBranch.size());
  appendHex(out, hash, kHashDigits);
  out += '-';
  out += uniqueBranch.substr(std::min(uniqueBranch.size(), sip::kMagicCookie.size()));
  return out;
}

std::optional<std::uint64_t> LoopHash::fromBranch(std::string_view branch) {
  if (branch.size() < kMarker.size() + kHashDigits || branch.substr(0, kMarker.size()) != kMarker)
    return std::nullopt;
  const auto digits = branch.substr(kMarker.size(), kHashDigits);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

bool LoopHash::isLooping(const sip::Message& request, std::uint64_t hash, const OwnAddresses& own) {
  // §16.3 step 4: a Via we wrote, with this request's hash. Only a Via whose text carries our
  // branch marker can be one, so the others are not parsed; the top one is parsed already.
  auto oursWithThisHash = [&](const sip::Via& via) {
    if (!own.isOwnSentBy(via)) return false;
    const auto ours = fromBranch(via.branch().value_or(""));
    return ours && *ours == hash;
  };
  bool looping = false;
  bool top = true;
  request.forEachValue(sip::HeaderId::Via, [&](std::string_view text) {
    const bool first = std::exchange(top, false);
    if (text.find(kMarker) == std::string_view::npos) return true;
    if (first) {
      looping = oursWithThisHash(request.topVia());
    } else if (auto via = sip::parseVia(text)) {
      looping = oursWithThisHash(*via);
    }
    return !looping;
  });
  return looping;
}

}  // namespace p2psip::proxy
