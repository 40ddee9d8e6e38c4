// SPDX-License-Identifier: Apache-2.0
#include "p2psip/sip/header_id.h"

#include <array>
#include <cstdint>

#include "header_name_hash.h"
#include "scanner.h"

namespace p2psip::sip {
namespace {

struct NameEntry {
  std::string_view lower;
  HeaderId id;
};

// Long names and the compact forms of RFC 3261 §7.3.3 / §20 and extension RFCs.
constexpr NameEntry kNames[] = {
    {"via", HeaderId::Via},
    {"v", HeaderId::Via},
    {"from", HeaderId::From},
    {"f", HeaderId::From},
    {"to", HeaderId::To},
    {"t", HeaderId::To},
    {"call-id", HeaderId::CallId},
    {"i", HeaderId::CallId},
    {"cseq", HeaderId::CSeq},
    {"max-forwards", HeaderId::MaxForwards},
    {"contact", HeaderId::Contact},
    {"m", HeaderId::Contact},
    {"route", HeaderId::Route},
    {"record-route", HeaderId::RecordRoute},
    {"path", HeaderId::Path},
    {"expires", HeaderId::Expires},
    {"min-expires", HeaderId::MinExpires},
    {"content-type", HeaderId::ContentType},
    {"c", HeaderId::ContentType},
    {"content-length", HeaderId::ContentLength},
    {"l", HeaderId::ContentLength},
    {"content-encoding", HeaderId::ContentEncoding},
    {"e", HeaderId::ContentEncoding},
    {"content-disposition", HeaderId::ContentDisposition},
    {"supported", HeaderId::Supported},
    {"k", HeaderId::Supported},
    {"require", HeaderId::Require},
    {"proxy-require", HeaderId::ProxyRequire},
    {"unsupported", HeaderId::Unsupported},
    {"allow", HeaderId::Allow},
    {"accept", HeaderId::Accept},
    {"accept-encoding", HeaderId::AcceptEncoding},
    {"accept-language", HeaderId::AcceptLanguage},
    {"authorization", HeaderId::Authorization},
    {"proxy-authorization", HeaderId::ProxyAuthorization},
    {"www-authenticate", HeaderId::WwwAuthenticate},
    {"proxy-authenticate", HeaderId::ProxyAuthenticate},
    {"authentication-info", HeaderId::AuthenticationInfo},
    {"event", HeaderId::Event},
    {"o", HeaderId::Event},
    {"allow-events", HeaderId::AllowEvents},
    {"u", HeaderId::AllowEvents},
    {"subscription-state", HeaderId::SubscriptionState},
    {"retry-after", HeaderId::RetryAfter},
    {"warning", HeaderId::Warning},
    {"user-agent", HeaderId::UserAgent},
    {"server", HeaderId::Server},
    {"subject", HeaderId::Subject},
    {"s", HeaderId::Subject},
    {"date", HeaderId::Date},
    {"timestamp", HeaderId::Timestamp},
    {"refer-to", HeaderId::ReferTo},
    {"r", HeaderId::ReferTo},
    {"referred-by", HeaderId::ReferredBy},
    {"b", HeaderId::ReferredBy},
    {"rseq", HeaderId::Rseq},
    {"rack", HeaderId::Rack},
    {"priority", HeaderId::Priority},
    {"organization", HeaderId::Organization},
    {"call-info", HeaderId::CallInfo},
    {"alert-info", HeaderId::AlertInfo},
    {"error-info", HeaderId::ErrorInfo},
    {"in-reply-to", HeaderId::InReplyTo},
    {"reply-to", HeaderId::ReplyTo},
    {"mime-version", HeaderId::MimeVersion},
    {"session-expires", HeaderId::SessionExpires},
    {"x", HeaderId::SessionExpires},
    {"min-se", HeaderId::MinSe},
    {"reason", HeaderId::Reason},
    {"flow-timer", HeaderId::Flowtimer},
    {"p-asserted-identity", HeaderId::PAssertedIdentity},
    {"privacy", HeaderId::Privacy},
};

constexpr std::size_t kTableSize = 256;  // power of two, well above 2x the entries

constexpr detail::HeaderNameKey keyOf(std::string_view name) {
  detail::HeaderNameKey k;
  for (char c : name) k.add(c);
  return k;
}

constexpr std::size_t slotOf(const detail::HeaderNameKey& k) {
  return (k.hash() >> 56) & (kTableSize - 1);
}

struct Slot {
  detail::HeaderNameKey key;
  HeaderId id = HeaderId::Unknown;
};

constexpr std::array<Slot, kTableSize> buildTable() {
  std::array<Slot, kTableSize> t{};
  for (const auto& e : kNames) {
    std::size_t i = slotOf(keyOf(e.lower));
    while (t[i].id != HeaderId::Unknown) i = (i + 1) & (kTableSize - 1);
    t[i] = Slot{keyOf(e.lower), e.id};
  }
  return t;
}

constexpr std::array<Slot, kTableSize> kTable = buildTable();

constexpr std::array<std::string_view, static_cast<std::size_t>(HeaderId::kCount)> kCanonical = {
    "",
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Contact",
    "Route",
    "Record-Route",
    "Path",
    "Expires",
    "Min-Expires",
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Content-Disposition",
    "Supported",
    "Require",
    "Proxy-Require",
    "Unsupported",
    "Allow",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Authorization",
    "Proxy-Authorization",
    "WWW-Authenticate",
    "Proxy-Authenticate",
    "Authentication-Info",
    "Event",
    "Allow-Events",
    "Subscription-State",
    "Retry-After",
    "Warning",
    "User-Agent",
    "Server",
    "Subject",
    "Date",
    "Timestamp",
    "Refer-To",
    "Referred-By",
    "RSeq",
    "RAck",
    "Priority",
    "Organization",
    "Call-Info",
    "Alert-Info",
    "Error-Info",
    "In-Reply-To",
    "Reply-To",
    "MIME-Version",
    "Session-Expires",
    "Min-SE",
    "Reason",
    "Flow-Timer",
    "P-Asserted-Identity",
    "Privacy",
};

}  // namespace

HeaderId detail::headerIdFromKey(const HeaderNameKey& key) {
  if (key.length == 0 || key.length > kMaxKnownHeaderName) return HeaderId::Unknown;
  std::size_t i = slotOf(key);
  while (kTable[i].id != HeaderId::Unknown) {
    if (kTable[i].key == key) return kTable[i].id;
    i = (i + 1) & (kTableSize - 1);
  }
  return HeaderId::Unknown;
}

HeaderId headerIdFromName(std::string_view name) {
  if (name.size() > detail::kMaxKnownHeaderName) return HeaderId::Unknown;
  detail::HeaderNameKey k;
  for (char c : name) {
    // Only token characters can name a header; anything else would alias after case folding.
    if (!detail::isTokenChar(c)) return HeaderId::Unknown;
    k.add(c);
  }
  return detail::headerIdFromKey(k);
}

std::string_view canonicalName(HeaderId id) {
  auto i = static_cast<std::size_t>(id);
  return i < kCanonical.size() ? kCanonical[i] : std::string_view{};
}

bool isListHeader(HeaderId id) {
  switch (id) {
    case HeaderId::Via:
    case HeaderId::Contact:
    case HeaderId::Route:
    case HeaderId::RecordRoute:
    case HeaderId::Path:
    case HeaderId::Supported:
    case HeaderId::Require:
    case HeaderId::ProxyRequire:
    case HeaderId::Unsupported:
    case HeaderId::Allow:
    case HeaderId::Accept:
    case HeaderId::AcceptEncoding:
    case HeaderId::AcceptLanguage:
    case HeaderId::AllowEvents:
    case HeaderId::ContentEncoding:
    case HeaderId::Warning:
    case HeaderId::CallInfo:
    case HeaderId::AlertInfo:
    case HeaderId::ErrorInfo:
    case HeaderId::InReplyTo:
    case HeaderId::Reason:
    case HeaderId::PAssertedIdentity:
    case HeaderId::Privacy:
      return true;
    default:
      return false;
  }
}

bool isSingletonHeader(HeaderId id) {
  switch (id) {
    case HeaderId::From:
    case HeaderId::To:
    case HeaderId::CallId:
    case HeaderId::CSeq:
    case HeaderId::MaxForwards:
    case HeaderId::ContentLength:
    case HeaderId::ContentType:
    case HeaderId::Expires:
    case HeaderId::MinExpires:
    case HeaderId::Date:
    case HeaderId::Event:
    case HeaderId::SubscriptionState:
    case HeaderId::RetryAfter:
    case HeaderId::Rseq:
    case HeaderId::Rack:
    case HeaderId::ReferTo:
      return true;
    default:
      return false;
  }
}

}  // namespace p2psip::sip
