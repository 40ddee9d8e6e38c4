// SPDX-License-Identifier: Apache-2.0
// How media crosses the overlay between two peers' relays, and how the path is chosen from what
// each peer learned about its NAT (reachability). Peers tell each other their class in the SDP
// they exchange (a=x-p2psip-nat), and the answering peer tells the offering one which path it
// chose (a=x-p2psip-path); phones never see either attribute.
#pragma once

#include <optional>
#include <string_view>

namespace p2psip::anchor {

// What a peer knows about the NAT in front of it (RFC 4787 terms): Public (no NAT: its observed
// address is its own), FullCone (endpoint-independent mapping and filtering), RestrictedCone
// (endpoint-independent mapping, address- or port-dependent filtering), Symmetric (the mapping
// depends on the destination). Unknown until measured.
enum class NatClass : unsigned char { Unknown, Public, FullCone, RestrictedCone, Symmetric };

enum class MediaPath : unsigned char {
  Local,    // no overlay hop: both phones are this peer's
  Direct,   // relay to relay; a NATed side's relay sends first and the other latches onto it
  Punched,  // both behind cone NATs: both relays send to each other's public mapping at once
  Relayed,  // through a third peer's relay (a symmetric NAT on one side, a filtering NAT or
            // another symmetric one on the other)
};

std::string_view toString(NatClass nat);
std::optional<NatClass> natClassFromString(std::string_view text);
std::string_view toString(MediaPath path);
std::optional<MediaPath> mediaPathFromString(std::string_view text);

// The answering peer's choice. Unknown counts as open (the pre-measurement behaviour): a wrong
// guess costs the call's media, which the relay's inactivity timeout then cleans up.
MediaPath choosePath(NatClass local, NatClass remote);

}  // namespace p2psip::anchor
