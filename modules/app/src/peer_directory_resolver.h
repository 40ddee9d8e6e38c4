// SPDX-License-Identifier: Apache-2.0
// PeerDirectoryResolver: the location service's PeerResolver over the overlay's PeerDirectory.
// It lives in app/ because location and overlay do not know each other (docs/architecture.md).
#pragma once

#include "p2psip/location/overlay_location_service.h"
#include "p2psip/overlay/peer_directory.h"

namespace p2psip::app {

class PeerDirectoryResolver final : public location::PeerResolver {
 public:
  explicit PeerDirectoryResolver(overlay::PeerDirectory& directory) : directory_(directory) {}

  void resolve(const identity::NodeId& node,
               std::function<void(Result<location::PeerContact>)> done) override {
    directory_.find(node, [node, done = std::move(done)](Result<overlay::PeerRecord> record) {
      if (!record) {
        done(tl::unexpected(record.error()));
        return;
      }
      const auto* link = record->linkEndpoint();
      if (link == nullptr) {
        done(makeError(ErrorCode::NotFound,
                       "peer " + node.shortHex() + " accepts no TLS peer links"));
        return;
      }
      done(location::PeerContact{node, link->endpoint});
    });
  }

 private:
  overlay::PeerDirectory& directory_;
};

}  // namespace p2psip::app
