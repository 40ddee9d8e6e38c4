// SPDX-License-Identifier: Apache-2.0
// Bounds that SessionDescription::parse() enforces before and while it reads untrusted bytes, so
// that a hostile or broken peer cannot make the process spend unbounded memory or time.
#pragma once

#include <cstddef>

namespace p2psip::sdp {

// Passed by value into parse(); a deployment that needs other bounds builds its own from config.
// Every limit is checked before the work it protects, and a violation is ErrorCode::LimitExceeded.
struct ParseLimits {
  std::size_t maxBodySize = 64 * 1024;  // bytes of the whole body, checked before anything else
  std::size_t maxLines = 2048;        // lines, counted while splitting (stops at the first excess)
  std::size_t maxMediaSections = 64;  // m= lines; WebRTC bundles with many m-sections stay under
  std::size_t maxLineLength = 4096;   // bytes of one line without its line ending
};

}  // namespace p2psip::sdp
