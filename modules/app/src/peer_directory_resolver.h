// SPDX-License-Identifier: Apache-2.0
// PeerDirectoryResolver: the location service's PeerResolver over the overlay's PeerDirectory.
// It lives in app/ because location and overlay do not know each other (docs/architecture.md).
// A peer whose record names a rendezvous (it accepts no inbound peer links) is resolved together
// with its rendezvous, so the location service can route through it; a rendezvous must itself be
// reachable, so one that names a rendezvous of its own is refused (no chains, no loops).
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "p2psip/location/overlay_location_service.h"
#include "p2psip/overlay/peer_directory.h"

namespace p2psip::app {

class PeerDirectoryResolver final : public location::PeerResolver {
 public:
  explicit PeerDirectoryResolver(overlay::PeerDirectory& directory) : directory_(directory) {}

  void resolve(const identity::NodeId& node,
               std::function<void(Result<location::PeerContact>)> done) override {
    // The callbacks hold the directory, not this resolver: the directory runs them, so it is
    // alive then, whatever the order the daemon tears things down in.
    overlay::PeerDirectory* directory = &directory_;
    directory_.find(node, [directory, node,
                           done = std::move(done)](Result<overlay::PeerRecord> record) mutable {
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
      location::PeerContact contact{node, link->endpoint};
      contact.nat = std::string(overlay::toString(record->reachability));
      // Behind a NAT its relay's packets come from the reflexive address; on a public address,
      // from the address it listens on.
      if (record->reflexiveAddress) {
        contact.publicAddress = record->reflexiveAddress;
      } else if (record->reachability == overlay::Reachability::Public) {
        contact.publicAddress = link->endpoint.address;
      }
      if (!record->rendezvous) {
        done(std::move(contact));
        return;
      }
      resolveRendezvous(*directory, std::move(contact), *record->rendezvous, std::move(done));
    });
  }

 private:
  // The peer's link endpoint may be private: only the rendezvous needs to be reachable, and the
  // peer's URI in the Route set tells the rendezvous which of its links to forward over.
  static void resolveRendezvous(overlay::PeerDirectory& directory, location::PeerContact contact,
                                const identity::NodeId& rendezvous,
                                std::function<void(Result<location::PeerContact>)> done) {
    directory.find(rendezvous, [contact = std::move(contact), rendezvous,
                                done = std::move(done)](Result<overlay::PeerRecord> record) {
      const std::string names = "peer " + contact.node.shortHex() +
                                " is reachable only through its rendezvous " +
                                rendezvous.shortHex() + ", ";
      if (!record) {
        done(makeError(ErrorCode::NotFound,
                       names + "which cannot be found: " + record.error().detail));
        return;
      }
      const auto* link = record->linkEndpoint();
      if (link == nullptr) {
        done(makeError(ErrorCode::NotFound, names + "which accepts no TLS peer links"));
        return;
      }
      if (record->rendezvous) {
        done(makeError(ErrorCode::NotFound, names + "which is itself behind a rendezvous"));
        return;
      }
      location::PeerContact through = contact;
      through.via = location::Rendezvous{rendezvous, link->endpoint};
      done(std::move(through));
    });
  }

  overlay::PeerDirectory& directory_;
};

}  // namespace p2psip::app
