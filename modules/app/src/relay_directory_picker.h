// SPDX-License-Identifier: Apache-2.0
// RelayDirectoryPicker: the media anchor's RelayPicker over the overlay's relay records
// (overlay::RelayDirectory): the relay with the most free capacity, other than this peer. Lives in
// app/ because anchor and overlay do not know each other. Signalling loop only.
#pragma once

#include "p2psip/anchor/media_anchor.h"
#include "p2psip/overlay/relay_directory.h"

namespace p2psip::app {

class RelayDirectoryPicker final : public anchor::RelayPicker {
 public:
  RelayDirectoryPicker(overlay::RelayDirectory& relays, identity::NodeId self)
      : relays_(relays), self_(self) {}

  void pick(std::function<void(Result<anchor::RelayPeer>)> done) override {
    relays_.findRelays(1, self_,
                       [done = std::move(done)](Result<std::vector<overlay::RelayRecord>> found) {
                         if (!found) {
                           done(tl::unexpected(found.error()));
                           return;
                         }
                         if (found->empty()) {
                           done(makeError(ErrorCode::NotFound, "no relay record in the overlay"));
                           return;
                         }
                         const auto& r = found->front();
                         done(anchor::RelayPeer{r.node.toHex(), r.peerLink, r.mediaAddress});
                       });
  }

 private:
  overlay::RelayDirectory& relays_;
  identity::NodeId self_;
};

}  // namespace p2psip::app
