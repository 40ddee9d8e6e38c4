// SPDX-License-Identifier: Apache-2.0
// DigestAuthenticator: HTTP digest authentication of SIP requests (RFC 3261 §22.4, RFC 2617 with
// qop=auth, RFC 8760 SHA-256 and MD5), per realm, with credentials loaded from htdigest-form files.
//
// Nonces are stateless to verify: issue time and serial number signed with HMAC-SHA256 under a
// per-process random key, so a restart invalidates them and no table is needed to accept one. The
// only state is a bounded table of the highest nonce-count seen per nonce, which refuses replays.
// Owned by the registrar; not thread-safe: call on the signalling loop.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/sip/message.h"

namespace p2psip::registrar {

enum class DigestAlgorithm : std::uint8_t { Md5, Sha256 };

struct DigestConfig {
  Duration nonceLifetime = std::chrono::minutes(5);
  std::size_t maxTrackedNonces = 65536;
  // Challenge order (RFC 8760 §2.4: most preferred first). Some clients (sipp, older phones) only
  // read the first WWW-Authenticate; deployments with such clients put MD5 first.
  std::vector<DigestAlgorithm> algorithms{DigestAlgorithm::Sha256, DigestAlgorithm::Md5};
};

// What verify() concluded about a request's credentials.
struct DigestOutcome {
  enum class Kind : std::uint8_t {
    Authenticated,  // `username` proved knowledge of its password
    Challenge,      // answer 401 with challenges(realm, stale)
    Malformed,      // answer 400 naming `reason`
  };
  Kind kind = Kind::Challenge;
  std::string username;  // Authenticated only
  bool stale = false;    // Challenge: correct credentials on an expired nonce (RFC 2617 §3.2.1)
  std::string reason;    // why, for logs and reason phrases
};

class DigestAuthenticator {
 public:
  // Draws the nonce key from OpenSSL's RAND_bytes; throws std::runtime_error if that fails
  // (startup only). `timers` must outlive the authenticator.
  DigestAuthenticator(const DigestConfig& config, TimerService& timers);
  ~DigestAuthenticator();
  DigestAuthenticator(const DigestAuthenticator&) = delete;
  DigestAuthenticator& operator=(const DigestAuthenticator&) = delete;

  // Loads the users of `realm` from an htdigest-form file: "user:realm:HA1" per line, where a
  // 32-hex-digit HA1 is MD5 and (our extension) a 64-hex-digit HA1 on another line for the same
  // user and realm is SHA-256. Lines of other realms are ignored; '#' starts a comment. Returns the
  // number of users loaded. Replaces what an earlier call loaded for the realm.
  Result<std::size_t> loadCredentials(std::string_view realm, const std::string& path);
  // The same from text, for tests and for callers that read the file themselves.
  Result<std::size_t> loadCredentialsText(std::string_view realm, std::string_view text);

  bool hasRealm(std::string_view realm) const;
  bool isKnownUser(std::string_view realm, std::string_view user) const;

  // WWW-Authenticate values for a new challenge in `realm`, one per configured algorithm in order
  // (RFC 8760 §2.4), qop="auth", one fresh nonce, stale=true when asked.
  std::vector<std::string> challenges(std::string_view realm, bool stale);

  // Checks the Authorization credentials of `request` for `realm` (RFC 2617 §3.2.2): nonce
  // signature and age, response digest, digest-uri against the Request-URI, and nonce-count
  // replay. A credential is only consumed (its nc remembered) when it is accepted.
  DigestOutcome verify(const sip::Message& request, std::string_view realm);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex digest of `data` (for tests and tools that build credentials).
std::string digestHex(DigestAlgorithm algorithm, std::string_view data);

}  // namespace p2psip::registrar
