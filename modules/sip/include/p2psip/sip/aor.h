// SPDX-License-Identifier: Apache-2.0
// Addresses-of-record (RFC 3261 §10.3 step 5): the canonical key under which a user registers and
// is looked up, and the set of domains and addresses a peer answers for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/sip/uri.h"

namespace p2psip::sip {

// The domains a peer serves and the addresses it listens on. A URI whose host is one of our own
// listening addresses is addressed to the default domain, so sip:bob@127.0.0.1 and
// sip:bob@p2p.test are the same user on a peer serving p2p.test on 127.0.0.1. Immutable after
// construction; cheap to copy.
class LocalDomains {
 public:
  // `domains` must not be empty; the first one is the default. `ownHosts` are IP literals or names
  // (IPv6 without brackets) the peer listens on or is reachable as.
  LocalDomains(std::vector<std::string> domains, std::vector<std::string> ownHosts);

  const std::string& defaultDomain() const { return domains_.front(); }
  const std::vector<std::string>& domains() const { return domains_; }
  bool isDomain(std::string_view host) const;
  bool isOwnHost(std::string_view host) const;
  // A domain we serve or one of our own addresses.
  bool isLocal(std::string_view host) const { return isDomain(host) || isOwnHost(host); }

  // §10.3 step 5: "sip:" + unescaped user + "@" + lower-cased domain, URI parameters and headers
  // dropped, sips folded into sip, own addresses replaced by the default domain. std::nullopt for
  // URIs that are not SIP/SIPS, have no user part, or name a domain we do not serve.
  std::optional<std::string> canonicalAor(const Uri& uri) const;

 private:
  std::vector<std::string> domains_;   // lower-cased
  std::vector<std::string> ownHosts_;  // lower-cased
};

}  // namespace p2psip::sip
