// SPDX-License-Identifier: Apache-2.0
// Header names known to the stack. Lookup is case-insensitive and understands the compact forms
// of RFC 3261 §7.3.3 (and RFC 3265/3515/3841 additions). Unknown headers are HeaderId::Unknown and
// are kept byte-exact.
#pragma once

#include <cstdint>
#include <string_view>

namespace p2psip::sip {

enum class HeaderId : std::uint8_t {
  Unknown,
  Via,
  From,
  To,
  CallId,
  CSeq,
  MaxForwards,
  Contact,
  Route,
  RecordRoute,
  Path,
  Expires,
  MinExpires,
  ContentType,
  ContentLength,
  ContentEncoding,
  ContentDisposition,
  Supported,
  Require,
  ProxyRequire,
  Unsupported,
  Allow,
  Accept,
  AcceptEncoding,
  AcceptLanguage,
  Authorization,
  ProxyAuthorization,
  WwwAuthenticate,
  ProxyAuthenticate,
  AuthenticationInfo,
  Event,
  AllowEvents,
  SubscriptionState,
  RetryAfter,
  Warning,
  UserAgent,
  Server,
  Subject,
  Date,
  Timestamp,
  ReferTo,
  ReferredBy,
  Rseq,
  Rack,
  Priority,
  Organization,
  CallInfo,
  AlertInfo,
  ErrorInfo,
  InReplyTo,
  ReplyTo,
  MimeVersion,
  SessionExpires,
  MinSe,
  Reason,
  Flowtimer,
  PAssertedIdentity,
  Privacy,
  kCount
};

// Case-insensitive; accepts compact forms ("v", "f", "i", "m", "l", ...).
HeaderId headerIdFromName(std::string_view name);
// The canonical long name used when the stack writes a header ("Via", "Call-ID", ...).
std::string_view canonicalName(HeaderId id);
// True for headers whose grammar is a comma-separated list (RFC 3261 §7.3.1), so that several
// values may share one line. Single-valued headers (Call-ID, CSeq, From, To, Max-Forwards,
// Content-Length, ...) must appear at most once.
bool isListHeader(HeaderId id);
// Headers a request must not carry twice (RFC 3261 §7.3.1, RFC 4475 §3.3.8).
bool isSingletonHeader(HeaderId id);

}  // namespace p2psip::sip
