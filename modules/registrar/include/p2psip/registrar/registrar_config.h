// SPDX-License-Identifier: Apache-2.0
// RegistrarConfig: the tunables of the registrar (RFC 3261 §10.3) and of its optional digest
// authentication (RFC 3261 §22.4, RFC 8760). Passed by const& at construction; validated once.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/registrar/digest_authenticator.h"

namespace p2psip::registrar {

// A domain whose REGISTERs must carry digest credentials. The domain is also the realm.
struct DomainCredentials {
  std::string domain;           // one of the domains we serve (sip::LocalDomains)
  std::string credentialsFile;  // htdigest form "user:realm:HA1", see the module README
};

struct RegistrarConfig {
  // Lifetime given to a contact with neither an expires parameter nor an Expires header.
  std::chrono::seconds defaultExpires{3600};
  // Shorter non-zero requests are refused with 423 and Min-Expires (§10.3 step 7, §20.23).
  std::chrono::seconds minExpires{60};
  // Longer requests are shortened to this (§10.3 step 7: the registrar MAY shorten).
  std::chrono::seconds maxExpires{86400};
  // Domains that require authentication, each with its credentials; the others register freely.
  std::vector<DomainCredentials> authentication;
  // How long a nonce is honoured; older ones get 401 with stale=true (RFC 2617 §3.2.1).
  std::chrono::seconds nonceLifetime{300};
  // Challenge order, most preferred first (RFC 8760 §2.4); see DigestConfig::algorithms.
  std::vector<DigestAlgorithm> digestAlgorithms{DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
  // Nonces whose highest nonce-count is remembered for replay refusal (bounded memory).
  std::size_t maxTrackedNonces = 65536;
  // Retry-After of the 503 answered when the binding store is full (§21.5.4).
  std::chrono::seconds retryAfter{30};
  // RFC 5626 §4.4.1 / §6 Flow-Timer: keep-alive interval asked of outbound UAs, per transport.
  std::chrono::seconds flowTimerDatagram{25};  // UDP (STUN keep-alives)
  std::chrono::seconds flowTimerStream{115};   // TCP, TLS (CRLF keep-alives)

  // Checks ranges and consistency; the message names the offending field.
  Result<void> validate() const;
};

}  // namespace p2psip::registrar
