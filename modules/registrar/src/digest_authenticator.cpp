// SPDX-License-Identifier: Apache-2.0
#include "p2psip/registrar/digest_authenticator.h"
#include "p2psip/sip/case_insensitive.h"

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "digest_hash.h"
#include "nonce_count_table.h"
#include "nonce_signer.h"
#include "p2psip/sip/headers.h"
#include "realm_credentials.h"

namespace p2psip::registrar {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// nc-value = 8LHEX (RFC 2617 §3.2.2); zero is not a count.
std::optional<std::uint32_t> parseNonceCount(std::string_view text) {
  if (text.size() != 8) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : text) {
    const int d = std::isdigit(static_cast<unsigned char>(c))
                      ? c - '0'
                      : (std::isxdigit(static_cast<unsigned char>(c))
                             ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                             : -1);
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<std::uint32_t>(d);
  }
  if (v == 0) return std::nullopt;
  return v;
}

DigestOutcome challenge(std::string reason, bool stale = false) {
  return DigestOutcome{DigestOutcome::Kind::Challenge, {}, stale, std::move(reason)};
}
DigestOutcome malformed(std::string reason) {
  return DigestOutcome{DigestOutcome::Kind::Malformed, {}, false, std::move(reason)};
}

// The credentials a request offers for one realm, chosen among its Authorization headers.
struct OfferedCredentials {
  sip::AuthParams params;
  DigestAlgorithm algorithm = DigestAlgorithm::Md5;
};

}  // namespace

class DigestAuthenticator::Impl {
 public:
  Impl(const DigestConfig& config, TimerService& timers)
      : config_(config), timers_(timers), counts_(config.maxTrackedNonces, config.nonceLifetime) {}

  Result<std::size_t> load(std::string_view realm, std::string_view text) {
    auto parsed = RealmCredentials::parse(realm, text);
    if (!parsed) return tl::unexpected(parsed.error());
    const std::size_t users = parsed->userCount();
    realms_.insert_or_assign(std::string(realm), std::move(*parsed));
    return users;
  }

  bool hasRealm(std::string_view realm) const { return realms_.count(std::string(realm)) != 0; }

  bool isKnownUser(std::string_view realm, std::string_view user) const {
    auto it = realms_.find(std::string(realm));
    return it != realms_.end() && it->second.hasUser(user);
  }

  std::vector<std::string> challenges(std::string_view realm, bool stale) {
    const std::string nonce = signer_.issue(timers_.now(), realm);
    std::vector<std::string> out;
    // RFC 8760 §2.4: one challenge per algorithm, the preferred one first.
    for (DigestAlgorithm a : config_.algorithms) {
      const char* algorithm = a == DigestAlgorithm::Sha256 ? "SHA-256" : "MD5";
      std::string value = "Digest realm=\"";
      value += realm;
      value += "\", nonce=\"" + nonce + "\", algorithm=" + algorithm + ", qop=\"auth\"";
      if (stale) value += ", stale=true";
      out.push_back(std::move(value));
    }
    return out;
  }

  DigestOutcome verify(const sip::Message& request, std::string_view realm) {
    auto realmIt = realms_.find(std::string(realm));
    if (realmIt == realms_.end()) return challenge("no credentials configured for the realm");

    std::optional<OfferedCredentials> offered;
    for (const auto& header : request.headers()) {
      if (header.id != sip::HeaderId::Authorization) continue;
      auto params = sip::parseAuthParams(header.value);
      if (!params) return malformed("malformed Authorization header");
      if (!sip::equalsIgnoringCase(params->scheme, "Digest")) continue;
      if (params->find("realm") != realm) continue;
      auto algorithmText = params->find("algorithm");
      DigestAlgorithm algorithm;
      if (!algorithmText || sip::equalsIgnoringCase(*algorithmText, "MD5")) {
        algorithm = DigestAlgorithm::Md5;  // RFC 2617 §3.2.2: absent means MD5
      } else if (sip::equalsIgnoringCase(*algorithmText, "SHA-256")) {
        algorithm = DigestAlgorithm::Sha256;
      } else {
        continue;  // e.g. MD5-sess or SHA-512-256: not offered, so not accepted
      }
      // RFC 8760 §2.4: prefer the strongest algorithm the client answered with.
      if (!offered || algorithm == DigestAlgorithm::Sha256) {
        offered = OfferedCredentials{*params, algorithm};
      }
    }
    if (!offered) return challenge("no credentials for the realm");
    return check(request, realm, realmIt->second, *offered);
  }

 private:
  DigestOutcome check(const sip::Message& request, std::string_view realm,
                      const RealmCredentials& credentials, const OfferedCredentials& offered) {
    const sip::AuthParams& p = offered.params;
    auto username = p.find("username");
    auto nonce = p.find("nonce");
    auto uri = p.find("uri");
    auto response = p.find("response");
    if (!username || username->empty()) return malformed("Authorization lacks username");
    if (!nonce) return malformed("Authorization lacks nonce");
    if (!uri) return malformed("Authorization lacks uri");
    if (!response) return malformed("Authorization lacks response");
    // We challenge with qop="auth" only, and nc is what replay refusal needs (RFC 2617 §3.2.2).
    auto qop = p.find("qop");
    if (!qop || !sip::equalsIgnoringCase(*qop, "auth"))
      return malformed("Authorization must use qop=auth");
    auto ncText = p.find("nc");
    auto cnonce = p.find("cnonce");
    if (!ncText || !cnonce || cnonce->empty()) {
      return malformed("Authorization with qop=auth needs nc and cnonce");
    }
    auto nc = parseNonceCount(*ncText);
    if (!nc) return malformed("Authorization nc is not 8 hex digits above zero");
    // RFC 2617 §3.2.2.5: the digest-uri must name the Request-URI, so that credentials captured
    // for one request cannot be replayed against another resource.
    if (*uri != request.requestUri().text) {
      return malformed("Authorization uri does not match the Request-URI");
    }
    if (response->size() != hexLength(offered.algorithm)) {
      return malformed("Authorization response has the wrong length for its algorithm");
    }

    auto contents = signer_.open(*nonce, realm);
    if (!contents) return challenge("nonce not issued here");
    auto ha1 = credentials.ha1(*username, offered.algorithm);
    if (!ha1) return challenge("unknown user or wrong password");

    // RFC 2617 §3.2.2.1 with qop=auth: KD(HA1, nonce:nc:cnonce:qop:H(A2)), A2 = Method:digest-uri.
    std::string a2 = std::string(request.methodText()) + ":" + std::string(*uri);
    std::string kd = std::string(*ha1) + ":" + std::string(*nonce) + ":" + std::string(*ncText) +
                     ":" + std::string(*cnonce) + ":" + std::string(*qop) + ":" +
                     digestHex(offered.algorithm, a2);
    const std::string expected = digestHex(offered.algorithm, kd);
    if (!constantTimeEquals(expected, lower(*response))) {
      return challenge("unknown user or wrong password");
    }

    const TimePoint now = timers_.now();
    // Correct credentials on an old nonce: stale=true lets the UA retry without asking its user
    // (RFC 2617 §3.2.1).
    if (now - contents->issued > config_.nonceLifetime || contents->issued > now) {
      return challenge("nonce expired", true);
    }
    switch (counts_.accept(contents->serial, contents->issued, *nc, now)) {
      case NonceCountTable::Verdict::Replayed:
        return challenge("nonce count replayed");
      case NonceCountTable::Verdict::Forgotten:
        return challenge("nonce no longer tracked", true);
      case NonceCountTable::Verdict::Accepted:
        break;
    }
    return DigestOutcome{DigestOutcome::Kind::Authenticated, std::string(*username), false, {}};
  }

  DigestConfig config_;
  TimerService& timers_;
  NonceSigner signer_;
  NonceCountTable counts_;
  std::map<std::string, RealmCredentials, std::less<>> realms_;
};

DigestAuthenticator::DigestAuthenticator(const DigestConfig& config, TimerService& timers)
    : impl_(std::make_unique<Impl>(config, timers)) {}
DigestAuthenticator::~DigestAuthenticator() = default;

Result<std::size_t> DigestAuthenticator::loadCredentials(std::string_view realm,
                                                         const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return makeError(ErrorCode::NotFound, "cannot open credentials file " + path);
  std::ostringstream text;
  text << file.rdbuf();
  auto loaded = impl_->load(realm, text.str());
  if (!loaded) return makeError(loaded.error().code, path + ": " + loaded.error().detail);
  return loaded;
}

Result<std::size_t> DigestAuthenticator::loadCredentialsText(std::string_view realm,
                                                             std::string_view text) {
  return impl_->load(realm, text);
}

bool DigestAuthenticator::hasRealm(std::string_view realm) const {
  return impl_->hasRealm(realm);
}
bool DigestAuthenticator::isKnownUser(std::string_view realm, std::string_view user) const {
  return impl_->isKnownUser(realm, user);
}
std::vector<std::string> DigestAuthenticator::challenges(std::string_view realm, bool stale) {
  return impl_->challenges(realm, stale);
}
DigestOutcome DigestAuthenticator::verify(const sip::Message& request, std::string_view realm) {
  return impl_->verify(request, realm);
}

}  // namespace p2psip::registrar
