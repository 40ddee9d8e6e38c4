// SPDX-License-Identifier: Apache-2.0
#include "p2psip/dht/lookup_service.h"

namespace p2psip::dht {

std::string_view toString(Namespace ns) {
  switch (ns) {
    case Namespace::User:
      return "user";
    case Namespace::Peer:
      return "peer";
    case Namespace::Relay:
      return "relay";
    case Namespace::Gateway:
      return "gateway";
  }
  return "unknown";
}

std::string LookupKey::toString() const {
  const std::string_view prefix = dht::toString(ns);
  std::string text;
  text.reserve(prefix.size() + 1 + name.size());
  text.append(prefix).append(":").append(name);
  return text;
}

}  // namespace p2psip::dht
