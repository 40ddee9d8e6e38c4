// SPDX-License-Identifier: Apache-2.0
// Loop detection by branch hash (RFC 3261 §16.6 step 8, checked in §16.3 step 4). The proxy puts a
// hash of the routing-relevant fields of the request it received into the branch of the Via it
// adds. When a request arrives carrying one of our own Vias whose hash equals the hash of this
// request, it is the same request coming round again unchanged: a loop (482). A different hash is
// a spiral (the request came back with a new Request-URI or Route set) and is legitimate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "p2psip/sip/message.h"

namespace p2psip::proxy {

class OwnAddresses;

struct LoopHash {
  // §16.6 step 8 lists To tag, From tag, Call-ID, CSeq number, Request-URI, the top Via, and the
  // Proxy-Require, Proxy-Authorization and Route values. We leave out the top Via: on a loop that
  // passes through other proxies, the request returns with *their* Via on top, so including it
  // would make every loop look like a spiral and only Max-Forwards would end it.
  static std::uint64_t of(const sip::Message& request);

  // Our branch: the magic cookie, a marker, the hash, then the (unique) rest of `uniqueBranch`
  // from TransactionLayer::newBranch().
  static std::string branch(std::uint64_t hash, std::string_view uniqueBranch);
  // The hash in a branch we wrote; nullopt for anyone else's branch.
  static std::optional<std::uint64_t> fromBranch(std::string_view branch);
  // True when a Via of `request` is ours and carries `hash`.
  static bool isLooping(const sip::Message& request, std::uint64_t hash, const OwnAddresses& own);
};

}  // namespace p2psip::proxy
