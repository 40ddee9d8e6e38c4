// SPDX-License-Identifier: Apache-2.0
// RelayDirectoryPicker: the media anchor's RelayPicker over the overlay's relay records
// (overlay::RelayDirectory), other than this peer. Lives in app/ because anchor and overlay do not
// know each other. Signalling loop only.
//
// A relay lookup walks DHT buckets and can take seconds in an overlay with peers behind NATs, and
// a call needing a third relay waits for it before its INVITE leaves. So the picker keeps the
// relays it found for `cacheLifetime`, hands them out in turn (spreading calls over them), looks
// again in the background once half the lifetime has passed, and forgets a relay the anchor
// reports as failing. warm() looks ahead of the first call.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "p2psip/anchor/media_anchor.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/overlay/relay_directory.h"

namespace p2psip::app {

class RelayDirectoryPicker final : public anchor::RelayPicker {
 public:
  RelayDirectoryPicker(overlay::RelayDirectory& relays, identity::NodeId self, TimerService& timers,
                       Duration cacheLifetime = std::chrono::seconds(60))
      : relays_(relays), self_(self), timers_(timers), lifetime_(cacheLifetime) {}

  void pick(std::function<void(Result<anchor::RelayPeer>)> done) override {
    const Duration age = timers_.now() - foundAt_;
    if (!cached_.empty() && age < lifetime_) {
      done(cached_[next_++ % cached_.size()]);
      if (age >= lifetime_ / 2) lookUp();
      return;
    }
    waiting_.push_back(std::move(done));
    lookUp();
  }

  void forget(const anchor::RelayPeer& relay) override {
    std::erase_if(cached_, [&](const anchor::RelayPeer& r) { return r.node == relay.node; });
  }

  // Looks for relays now, so that the first call finds them known.
  void warm() { lookUp(); }

 private:
  // How many relays a lookup asks for: one when a call waits (the first answer will do), a few
  // in the background (to spread calls; a find that wants more than exist walks every bucket).
  static constexpr std::size_t kWantedWhenWaiting = 1;
  static constexpr std::size_t kWantedInBackground = 3;

  void lookUp() {
    if (looking_) return;
    looking_ = true;
    std::weak_ptr<RelayDirectoryPicker*> alive = alive_;
    relays_.findRelays(
        waiting_.empty() ? kWantedInBackground : kWantedWhenWaiting, self_,
        [this, alive](Result<std::vector<overlay::RelayRecord>> found) {
          if (alive.expired()) return;
          looking_ = false;
          if (found && !found->empty()) {
            cached_.clear();
            for (const auto& r : *found) {
              cached_.push_back(anchor::RelayPeer{r.node.toHex(), r.peerLink, r.mediaAddress});
            }
            foundAt_ = timers_.now();
          }
          auto waiting = std::move(waiting_);
          waiting_.clear();
          for (auto& done : waiting) {
            if (!cached_.empty()) {
              done(cached_[next_++ % cached_.size()]);
            } else if (!found) {
              done(tl::unexpected(found.error()));
            } else {
              done(makeError(ErrorCode::NotFound, "no relay record in the overlay"));
            }
          }
        });
  }

  overlay::RelayDirectory& relays_;
  identity::NodeId self_;
  TimerService& timers_;
  Duration lifetime_;
  std::vector<anchor::RelayPeer> cached_;
  TimePoint foundAt_{};
  std::size_t next_ = 0;
  bool looking_ = false;
  std::vector<std::function<void(Result<anchor::RelayPeer>)>> waiting_;
  std::shared_ptr<RelayDirectoryPicker*> alive_ = std::make_shared<RelayDirectoryPicker*>(this);
};

}  // namespace p2psip::app
