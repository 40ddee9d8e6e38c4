// SPDX-License-Identifier: Apache-2.0
#include "p2psip/anchor/media_path.h"

namespace p2psip::anchor {

std::string_view toString(NatClass nat) {
  switch (nat) {
    case NatClass::Unknown:
      return "unknown";
    case NatClass::Public:
      return "public";
    case NatClass::FullCone:
      return "full-cone";
    case NatClass::RestrictedCone:
      return "restricted-cone";
    case NatClass::Symmetric:
      return "symmetric";
  }
  return "unknown";
}

std::optional<NatClass> natClassFromString(std::string_view text) {
  for (auto c : {NatClass::Unknown, NatClass::Public, NatClass::FullCone, NatClass::RestrictedCone,
                 NatClass::Symmetric}) {
    if (toString(c) == text) return c;
  }
  return std::nullopt;
}

std::string_view toString(MediaPath path) {
  switch (path) {
    case MediaPath::Local:
      return "local";
    case MediaPath::Direct:
      return "direct";
    case MediaPath::Punched:
      return "hole-punched";
    case MediaPath::Relayed:
      return "relayed";
  }
  return "direct";
}

std::optional<MediaPath> mediaPathFromString(std::string_view text) {
  for (auto p : {MediaPath::Local, MediaPath::Direct, MediaPath::Punched, MediaPath::Relayed}) {
    if (toString(p) == text) return p;
  }
  return std::nullopt;
}

MediaPath choosePath(NatClass local, NatClass remote) {
  auto open = [](NatClass c) {
    // Inbound media reaches it without its relay sending first (Public, FullCone), or we do not
    // know better.
    return c == NatClass::Public || c == NatClass::FullCone || c == NatClass::Unknown;
  };
  // One open side: the other side's relay sends to it first, which opens its own NAT's mapping,
  // and the open side latches onto where the packets come from (RFC 7362).
  if (open(local) || open(remote)) return MediaPath::Direct;
  // RFC 4787 §4.1: with endpoint-independent mapping on both sides each relay's public mapping is
  // the one it was told about, so both sending at once opens both filters (RFC 5128 §3.3).
  if (local == NatClass::RestrictedCone && remote == NatClass::RestrictedCone) {
    return MediaPath::Punched;
  }
  // A symmetric mapping cannot be predicted for a peer that filters: only a public relay works.
  return MediaPath::Relayed;
}

}  // namespace p2psip::anchor
