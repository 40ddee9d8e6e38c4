// SPDX-License-Identifier: Apache-2.0
// Typed values of the remaining headers a proxy and registrar read (RFC 3261 §20 and extensions).
// All are views into the message text; parsing never allocates.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/method.h"
#include "p2psip/sip/name_addr.h"
#include "p2psip/sip/params.h"

namespace p2psip::sip {

// CSeq: 1*DIGIT LWS Method (RFC 3261 §20.16). The number must be below 2**31 (§8.1.1.5).
struct CSeq {
  std::uint32_t number = 0;
  Method method = Method::Extension;
  std::string_view methodText;
};
Result<CSeq> parseCSeq(std::string_view text);

// Non-negative decimal that fits the given maximum (Max-Forwards ≤ 255, Expires ≤ 2**32-1, ...).
Result<std::uint32_t> parseUnsigned(std::string_view text, std::uint32_t maximum);

// One Contact value: '*' or a NameAddr with expires and q (RFC 3261 §20.10, §10.2.1.2).
struct ContactValue {
  bool star = false;
  NameAddr address;  // unset when star
  std::optional<std::uint32_t> expires() const;
  // q-value in thousandths (q=0.5 -> 500); std::nullopt when absent. 1000 is the highest.
  std::optional<std::uint16_t> q() const;
  // Parses a qvalue text ("0.5" -> 500); std::nullopt when malformed or above 1.
  static std::optional<std::uint16_t> qFromText(std::string_view text);
};
Result<ContactValue> parseContact(std::string_view text);

// Content-Type / Accept media range: type "/" subtype *(;param) (RFC 3261 §20.15).
struct MediaType {
  std::string_view type;
  std::string_view subtype;
  ParamList params;
};
Result<MediaType> parseMediaType(std::string_view text);

// Authorization / Proxy-Authorization credentials and WWW-/Proxy-Authenticate challenges
// (RFC 3261 §22, §25.1; RFC 8760). A scheme followed by comma-separated auth-params; an unknown
// scheme with unusual params still parses (RFC 4475 §3.3.7).
struct AuthParams {
  std::string_view scheme;
  std::string_view paramsText;  // after the scheme
  // Value of a parameter with quotes removed (escapes are not resolved: digest values have none).
  std::optional<std::string_view> find(std::string_view name) const;
};
Result<AuthParams> parseAuthParams(std::string_view text);
// Authentication-Info (RFC 3261 §20.6, RFC 8760): the same auth-params but without a scheme.
// The result's scheme is empty.
Result<AuthParams> parseAuthenticationInfo(std::string_view text);

// Event (RFC 6665 §8.2.1): event-type *( ;param ).
struct EventValue {
  std::string_view type;
  ParamList params;
};
Result<EventValue> parseEvent(std::string_view text);

// Subscription-State (RFC 6665 §8.2.3): active / pending / terminated plus expires, reason, ...
struct SubscriptionStateValue {
  std::string_view state;
  ParamList params;
  std::optional<std::uint32_t> expires() const;
};
Result<SubscriptionStateValue> parseSubscriptionState(std::string_view text);

// Retry-After: delta-seconds [ comment ] *( ;param ) (RFC 3261 §20.33).
struct RetryAfterValue {
  std::uint32_t seconds = 0;
  std::string_view comment;
  ParamList params;
};
Result<RetryAfterValue> parseRetryAfter(std::string_view text);

// Warning: 3DIGIT SP warn-agent SP warn-text (RFC 3261 §20.43). Codes are exactly three digits.
struct WarningValue {
  std::uint16_t code = 0;
  std::string_view agent;
  std::string_view text;  // quoted-string, quotes kept
};
Result<WarningValue> parseWarning(std::string_view text);

// A single token (option-tags in Supported/Require/Proxy-Require/Unsupported, methods in Allow).
bool isToken(std::string_view text);

// Date (RFC 3261 §20.17): rfc1123-date, which must say GMT.
bool isValidSipDate(std::string_view text);

}  // namespace p2psip::sip
