// SPDX-License-Identifier: Apache-2.0
// NameAddr: the value of From, To, Contact, Route, Record-Route, Path, Reply-To and similar
// headers: either name-addr ("Display" <uri>;params) or addr-spec (uri;params), RFC 3261 §20.10.
// In the addr-spec form, ';' parameters belong to the header, not the URI (RFC 4475 §3.3.12), and
// a URI containing ',', ';' or '?' must be in angle brackets (§20, RFC 4475 §3.1.2.13).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"
#include "p2psip/sip/params.h"
#include "p2psip/sip/uri.h"

namespace p2psip::sip {

struct NameAddr {
  std::string_view text;         // the whole value as written
  std::string_view displayName;  // as written: a quoted-string keeps its quotes; empty if none
  bool angleBrackets = false;    // name-addr form
  Uri uri;
  ParamList params;  // header parameters (tag, expires, q, lr is a URI param, ...)

  std::optional<std::string_view> tag() const { return params.find("tag"); }
  // Display name with quotes removed and quoted-pairs resolved.
  std::string displayNameText() const;
};

Result<NameAddr> parseNameAddr(std::string_view text);

}  // namespace p2psip::sip
