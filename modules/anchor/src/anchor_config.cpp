// SPDX-License-Identifier: Apache-2.0
#include "p2psip/anchor/anchor_config.h"

#include <algorithm>
#include <string>

namespace p2psip::anchor {

Result<void> AnchorConfig::validate() const {
  auto has = [this](const asio::ip::address& a) {
    return std::find(relayAddresses.begin(), relayAddresses.end(), a) != relayAddresses.end();
  };
  if (phoneAddress.is_unspecified()) {
    return makeError(ErrorCode::InvalidArgument, "media phone address must be a concrete address");
  }
  if (overlayAddress.is_unspecified()) {
    return makeError(ErrorCode::InvalidArgument,
                     "media overlay address must be a concrete address");
  }
  if (!has(phoneAddress) || !has(overlayAddress)) {
    return makeError(ErrorCode::InvalidArgument,
                     "the relay must have port pairs on the phone and overlay addresses");
  }
  if (maxSessions == 0) {
    return makeError(ErrorCode::InvalidArgument, "media max sessions must be at least 1");
  }
  if (maxStreamsPerSession == 0 || maxStreamsPerSession > 64) {
    return makeError(ErrorCode::InvalidArgument, "media streams per call must be between 1 and 64");
  }
  if (lateOfferStreams == 0 || lateOfferStreams > maxStreamsPerSession) {
    return makeError(ErrorCode::InvalidArgument,
                     "media late-offer streams must be between 1 and the streams per call");
  }
  if (punchCheck < std::chrono::milliseconds(100) || punchCheck > std::chrono::seconds(30)) {
    return makeError(ErrorCode::InvalidArgument,
                     "media punch check must be between 100 ms and 30 s");
  }
  return {};
}

}  // namespace p2psip::anchor
