// SPDX-License-Identifier: Apache-2.0
#include "p2psip/registrar/registrar.h"
#include "p2psip/sip/case_insensitive.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <utility>

#include "digest_hash.h"
#include "p2psip/registrar/digest_authenticator.h"
#include "p2psip/sip/parser.h"
#include "register_request.h"

namespace p2psip::registrar {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The option tags this registrar understands (§10.3 step 2, §8.2.2.3).
bool isSupportedOptionTag(std::string_view tag) {
  return sip::equalsIgnoringCase(tag, "path") || sip::equalsIgnoringCase(tag, "outbound");
}

location::Flow toLocationFlow(const transport::Flow& flow) {
  location::Flow out;
  switch (flow.protocol) {
    case transport::Protocol::Udp:
      out.transport = location::FlowTransport::Udp;
      break;
    case transport::Protocol::Tcp:
      out.transport = location::FlowTransport::Tcp;
      break;
    case transport::Protocol::Tls:
      out.transport = location::FlowTransport::Tls;
      break;
  }
  out.local = flow.local;
  out.remote = flow.remote;
  out.connection = flow.connection;
  return out;
}

// rfc1123-date in GMT (§20.17).
std::string httpDate(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<std::size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return buffer;
}

// q in thousandths as a qvalue (§25.1): 500 -> "0.5", 1000 -> "1".
std::string qText(std::uint16_t q) {
  if (q >= 1000) return "1";
  std::string out = "0.";
  out += static_cast<char>('0' + q / 100);
  out += static_cast<char>('0' + q / 10 % 10);
  out += static_cast<char>('0' + q % 10);
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  return out;
}

// A Contact value of the 200 (§10.3 step 8): the binding with the seconds it has left.
std::string contactValue(const location::ContactBinding& binding, TimePoint now) {
  auto left = std::chrono::duration_cast<std::chrono::seconds>(binding.expires - now);
  if (now + left < binding.expires) ++left;  // round up: a live binding never shows 0
  std::string out = "<" + binding.contactUri + ">;expires=" + std::to_string(left.count());
  if (binding.q != 1000) out += ";q=" + qText(binding.q);
  if (!binding.instanceId.empty()) out += ";+sip.instance=\"" + binding.instanceId + "\"";
  if (binding.regId != 0) out += ";reg-id=" + std::to_string(binding.regId);
  return out;
}

struct RegistrarMetrics {
  explicit RegistrarMetrics(MetricsRegistry& registry)
      : requests(registry.counter("p2psip_registrar_requests_total")),
        accepted(registry.counter("p2psip_registrar_accepted_total")),
        rejected(registry.counter("p2psip_registrar_rejected_total")),
        challenges(registry.counter("p2psip_registrar_challenges_total")),
        bindings(registry.gauge("p2psip_registrar_bindings")) {}
  Counter& requests;    // REGISTERs received
  Counter& accepted;    // answered 200
  Counter& rejected;    // answered 4xx-6xx other than 401
  Counter& challenges;  // answered 401
  Gauge& bindings;      // bindings in the store after the last change
};

// Extra header lines for a response: (name, value) pairs added in order.
using ExtraHeaders = std::vector<std::pair<std::string, std::string>>;

}  // namespace

class Registrar::Impl {
 public:
  Impl(const RegistrarConfig& config, const sip::LocalDomains& domains,
       location::BindingStore& store, transaction::TransactionLayer& transactions,
       TimerService& timers, MetricsRegistry& metrics, Logger logger, WallClock wallClock)
      : config_(config),
        domains_(domains),
        store_(store),
        transactions_(transactions),
        timers_(timers),
        metrics_(metrics),
        logger_(std::move(logger)),
        wallClock_(wallClock ? std::move(wallClock)
                             : WallClock([] { return std::chrono::system_clock::now(); })),
        authenticator_(
            DigestConfig{config.nonceLifetime, config.maxTrackedNonces, config.digestAlgorithms},
            timers) {
    if (auto valid = config.validate(); !valid) {
      throw std::invalid_argument("registrar: " + valid.error().detail);
    }
    for (const auto& entry : config.authentication) {
      const std::string realm = lower(entry.domain);
      if (!domains_.isDomain(realm)) {
        throw std::invalid_argument("registrar: authentication for " + entry.domain +
                                    ", which is not a domain we serve");
      }
      auto users = authenticator_.loadCredentials(realm, entry.credentialsFile);
      if (!users) throw std::invalid_argument("registrar: " + users.error().detail);
      logger_.info("registrar: realm {} requires authentication, {} users from {}", realm, *users,
                   entry.credentialsFile);
    }
    std::array<std::uint8_t, 4> prefix{};
    randomBytes(prefix.data(), prefix.size());  // a fixed prefix is harmless if this fails
    tagPrefix_ = toHex(prefix.data(), prefix.size());
  }

  void onRegister(transaction::ServerTransactionId id, sip::Message&& request,
                  const transport::Flow& flow) {
    metrics_.requests.inc();
    if (request.method() != sip::Method::Register) {
      return reject(id, request, 405, "Method Not Allowed", {{"Allow", "REGISTER"}});
    }
    // §10.3 step 1: the Request-URI names the domain whose bindings change. §21.4.5: 404 is the
    // answer for a domain the recipient does not handle (403 would suggest that credentials or
    // policy could change the outcome, which they cannot).
    const sip::Uri& target = request.requestUri();
    if (!target.isSip()) return reject(id, request, 416, "Unsupported URI Scheme");
    if (!domains_.isLocal(target.host)) return reject(id, request, 404, "Domain not served here");
    const std::string domain =
        domains_.isDomain(target.host) ? lower(target.host) : domains_.defaultDomain();

    // Step 2: Require as a UAS does (§8.2.2.3): 420 listing what we do not support.
    std::string unsupported;
    request.forEachValue(sip::HeaderId::Require, [&](std::string_view tag) {
      if (!isSupportedOptionTag(tag)) {
        if (!unsupported.empty()) unsupported += ", ";
        unsupported += tag;
      }
      return true;
    });
    if (!unsupported.empty()) {
      return reject(id, request, 420, "Bad Extension", {{"Unsupported", unsupported}});
    }

    // Step 3: authenticate (§22.4), when the domain asks for it. The realm is the domain.
    std::optional<std::string> user;
    if (authenticator_.hasRealm(domain)) {
      auto outcome = authenticator_.verify(request, domain);
      switch (outcome.kind) {
        case DigestOutcome::Kind::Malformed:
          return reject(id, request, 400, outcome.reason);
        case DigestOutcome::Kind::Challenge:
          return challenge(id, request, domain, outcome);
        case DigestOutcome::Kind::Authenticated:
          user = std::move(outcome.username);
          break;
      }
    }

    // Step 5's AOR, needed by step 4: To, canonicalised; it must belong to the Request-URI's
    // domain (own addresses count as the default domain).
    std::optional<std::string> aor = domains_.canonicalAor(request.to().uri);
    if (aor && aor->substr(aor->rfind('@') + 1) != domain) aor.reset();
    // Step 4: an authenticated user may change only its own registrations.
    if (user && (!aor || *aor != "sip:" + *user + "@" + domain)) {
      return reject(id, request, 403, "Forbidden: credentials do not match the To address");
    }
    if (!aor) return reject(id, request, 404, "Address-of-record not served here");

    // Steps 6 and 7: read everything first, then apply all or nothing.
    auto wanted = RegisterRequest::read(
        request, ExpiryRules{config_.defaultExpires, config_.minExpires, config_.maxExpires});
    if (!wanted) {
      ExtraHeaders extra;
      if (wanted.error().status == 423) {
        extra.emplace_back("Min-Expires", std::to_string(config_.minExpires.count()));
      }
      return reject(id, request, wanted.error().status, wanted.error().reason, std::move(extra),
                    *aor);
    }
    if (auto applied = apply(*aor, *wanted, request, flow); !applied) {
      ExtraHeaders extra;
      if (applied.error().status == 503) {
        extra.emplace_back("Retry-After", std::to_string(config_.retryAfter.count()));
      }
      return reject(id, request, applied.error().status, applied.error().reason, std::move(extra),
                    *aor);
    }
    metrics_.bindings.set(static_cast<std::int64_t>(store_.size()));
    accept(id, request, *aor, *wanted, flow);
  }

  bool isKnownUser(std::string_view aor) const {
    if (aor.substr(0, 4) != "sip:") return false;
    const std::size_t at = aor.rfind('@');
    if (at == std::string_view::npos || at < 4) return false;
    return authenticator_.isKnownUser(aor.substr(at + 1), aor.substr(4, at - 4));
  }

 private:
  // §10.3 step 7: compare with the current bindings, then commit in one store update.
  Result<void, Rejection> apply(const std::string& aor, const RegisterRequest& wanted,
                                const sip::Message& request, const transport::Flow& flow) {
    const auto existing = store_.find(aor);
    // A binding may change only through a different Call-ID or a higher CSeq of the same one;
    // anything else is an old or reordered request, and "the request fails" (500, nothing
    // changes).
    auto outOfOrder = [&](const location::ContactBinding& binding) {
      return binding.callId == request.callId() && request.cseq().number <= binding.cseq;
    };
    auto refuse = [] {
      return tl::unexpected<Rejection>(
          Rejection{500,
                    "Server Internal Error: CSeq not higher than the binding's for this "
                    "Call-ID"});
    };

    std::vector<std::string> removals;
    std::vector<location::ContactBinding> upserts;
    if (wanted.wildcard) {
      // Step 6: "*" removes every binding, each subject to the same ordering rule.
      for (const auto& binding : existing) {
        if (outOfOrder(binding)) return refuse();
        removals.push_back(binding.contactUri);
      }
    } else {
      const TimePoint now = timers_.now();
      for (const auto& contact : wanted.contacts) {
        for (const auto& binding : existing) {
          if (!sameBinding(binding, contact)) continue;
          if (outOfOrder(binding)) return refuse();
          removals.push_back(binding.contactUri);
        }
        if (contact.expires == 0) continue;  // a removal only
        location::ContactBinding binding;
        binding.aor = aor;
        binding.contactUri = std::string(contact.uri.text);
        binding.instanceId = contact.instanceId;
        binding.regId = contact.outbound ? contact.regId : 0;
        binding.path = wanted.path;
        binding.q = contact.q;
        binding.expires = now + std::chrono::seconds(contact.expires);
        binding.callId = std::string(request.callId());
        binding.cseq = request.cseq().number;
        binding.flow = toLocationFlow(flow);
        binding.outbound = contact.outbound;
        upserts.push_back(std::move(binding));
      }
    }
    if (removals.empty() && upserts.empty()) return {};
    auto updated = store_.update(aor, removals, std::move(upserts));
    if (!updated) {
      if (updated.error().code == ErrorCode::LimitExceeded) {
        return tl::unexpected<Rejection>(
            Rejection{503, "Service Unavailable: " + updated.error().detail});
      }
      return tl::unexpected<Rejection>(
          Rejection{500, "Server Internal Error: " + updated.error().detail});
    }
    return {};
  }

  // §10.3 step 7: a binding matches by URI equivalence (§19.1.4), or for RFC 5626 by instance-id
  // and reg-id whatever its URI.
  static bool sameBinding(const location::ContactBinding& binding,
                          const RequestedContact& contact) {
    if (contact.outbound && binding.instanceId == contact.instanceId &&
        binding.regId == contact.regId) {
      return true;
    }
    auto uri = sip::parseUri(binding.contactUri);
    return uri ? sip::equivalent(*uri, contact.uri) : binding.contactUri == contact.uri.text;
  }

  // Step 8: 200 listing every current binding with its remaining lifetime.
  void accept(transaction::ServerTransactionId id, const sip::Message& request,
              const std::string& aor, const RegisterRequest& wanted, const transport::Flow& flow) {
    auto response = sip::makeResponse(request, 200, "OK", nextTag());
    const TimePoint now = timers_.now();
    const auto bindings = store_.find(aor);
    for (const auto& binding : bindings) response.addHeader("Contact", contactValue(binding, now));
    response.addHeader("Date", date());
    // RFC 3327 §5.3: echo Path, in order, to a UA that said it supports path.
    if (wanted.supportsPath) {
      for (const auto& path : wanted.path) response.addHeader("Path", path);
    }
    // RFC 5626 §6: confirm outbound and ask for keep-alives at the flow's rate.
    if (wanted.usesOutbound()) {
      response.addHeader("Require", "outbound");
      const auto interval = flow.protocol == transport::Protocol::Udp ? config_.flowTimerDatagram
                                                                      : config_.flowTimerStream;
      response.addHeader("Flow-Timer", std::to_string(interval.count()));
    }
    response.addHeader("Supported", "path, outbound");
    metrics_.accepted.inc();
    logger_.info("REGISTER {} accepted: {} binding(s) call_id={} branch={}", aor, bindings.size(),
                 request.callId(), request.branch().value_or(""));
    send(id, std::move(response));
  }

  void challenge(transaction::ServerTransactionId id, const sip::Message& request,
                 const std::string& realm, const DigestOutcome& outcome) {
    auto response = sip::makeResponse(request, 401, "Unauthorized", nextTag());
    for (const auto& value : authenticator_.challenges(realm, outcome.stale)) {
      response.addHeader("WWW-Authenticate", value);
    }
    metrics_.challenges.inc();
    logger_.info("REGISTER in {} challenged ({}{}) call_id={} branch={}", realm, outcome.reason,
                 outcome.stale ? ", stale" : "", request.callId(), request.branch().value_or(""));
    send(id, std::move(response));
  }

  void reject(transaction::ServerTransactionId id, const sip::Message& request,
              std::uint16_t status, std::string_view reason, ExtraHeaders extra = {},
              std::string_view aor = {}) {
    auto response = sip::makeResponse(request, status, reason, nextTag());
    for (const auto& [name, value] : extra) response.addHeader(name, value);
    metrics_.rejected.inc();
    logger_.info("REGISTER {} rejected {} {} call_id={} branch={}",
                 aor.empty() ? request.requestUri().text : aor, status, reason, request.callId(),
                 request.branch().value_or(""));
    send(id, std::move(response));
  }

  void send(transaction::ServerTransactionId id, sip::Message&& response) {
    const std::string callId(response.callId());
    if (auto sent = transactions_.respond(id, std::move(response)); !sent) {
      // The transaction ended (transport failure); the UA will retry its REGISTER.
      logger_.warn("REGISTER response not sent: {} call_id={}", sent.error().detail, callId);
    }
  }

  // §8.2.6.2: a final response outside a dialog carries a To tag of our choosing.
  std::string nextTag() { return tagPrefix_ + std::to_string(++tagCounter_); }

  RegistrarConfig config_;
  sip::LocalDomains domains_;
  location::BindingStore& store_;
  transaction::TransactionLayer& transactions_;
  TimerService& timers_;
  RegistrarMetrics metrics_;
  Logger logger_;
  WallClock wallClock_;
  // The Date text changes once a second; a registrar answering thousands of REGISTERs a second
  // formats it once (§10.3 step 8 asks for Date in every 200).
  std::time_t dateSecond_ = -1;
  std::string dateText_;

  const std::string& date() {
    const auto when = wallClock_();
    const std::time_t second = std::chrono::system_clock::to_time_t(when);
    if (second != dateSecond_) {
      dateSecond_ = second;
      dateText_ = httpDate(when);
    }
    return dateText_;
  }
  DigestAuthenticator authenticator_;
  std::string tagPrefix_;
  std::uint64_t tagCounter_ = 0;
};

Registrar::Registrar(const RegistrarConfig& config, const sip::LocalDomains& domains,
                     location::BindingStore& store, transaction::TransactionLayer& transactions,
                     TimerService& timers, MetricsRegistry& metrics, Logger logger,
                     WallClock wallClock)
    : impl_(std::make_unique<Impl>(config, domains, store, transactions, timers, metrics,
                                   std::move(logger), std::move(wallClock))) {}
Registrar::~Registrar() = default;

void Registrar::onRegister(transaction::ServerTransactionId id, sip::Message&& request,
                           const transport::Flow& flow) {
  impl_->onRegister(id, std::move(request), flow);
}

bool Registrar::isKnownUser(std::string_view aor) const {
  return impl_->isKnownUser(aor);
}

}  // namespace p2psip::registrar
