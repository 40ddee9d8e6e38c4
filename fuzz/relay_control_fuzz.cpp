// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the relay control protocol codec (media::control::decodeFrame), the bytes a
// peer sends over a peer link to a relay. Each input is a byte stream: frames are decoded one
// after the other, as a link would, until one is incomplete or the framing is lost. Properties:
// no crash, no unbounded allocation, a frame never consumes more than it was given or more than
// kMaxFrameSize, and every decoded frame re-encodes to bytes that decode to the same frame
// (and that are byte-for-byte stable when encoded again).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "p2psip/media/relay_control.h"

namespace {

namespace control = p2psip::media::control;

void check(bool condition) {
  if (!condition) std::abort();
}

void roundTrip(const control::Frame& frame) {
  const std::string bytes = control::encode(frame);
  check(bytes.size() <= control::kMaxFrameSize);
  check(control::startsControlFrame(bytes));
  auto again = control::decodeFrame(bytes);
  check(again.has_value());
  check(again->consumed == bytes.size());
  const auto* decoded = std::get_if<control::Frame>(&again->outcome);
  check(decoded != nullptr && *decoded == frame);
  check(control::encode(*decoded) == bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    auto decoded = control::decodeFrame(rest);
    if (!decoded) return 0;  // not our framing: a link would drop the stream here
    if (std::holds_alternative<control::NeedMoreBytes>(decoded->outcome)) {
      const auto& more = std::get<control::NeedMoreBytes>(decoded->outcome);
      check(more.frameSize > rest.size() && more.frameSize <= control::kMaxFrameSize);
      check(decoded->consumed == 0);
      return 0;
    }
    check(decoded->consumed >= control::kHeaderSize && decoded->consumed <= rest.size() &&
          decoded->consumed <= control::kMaxFrameSize);
    if (const auto* frame = std::get_if<control::Frame>(&decoded->outcome)) roundTrip(*frame);
    rest.remove_prefix(decoded->consumed);
  }
  return 0;
}
