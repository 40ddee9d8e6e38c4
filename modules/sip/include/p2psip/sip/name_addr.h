// SPDX-License-Identifier: Apache-2.0
// NameAddr: the value of From, To, Contact, Route, Record-Route, Path, Reply-To and similar
// headers: either name-addr ("Display" <uri>;params) or addr-spec (uri;params), RFC 3261 §20.10.
// In the addr-spec form, ';' parameters belong to the header, not the URI (RFC 4475 §3.3.12), and
// a URI containing ',', ';' or '?' must be in angle brackets (§20, RFC 4475 §3.1.2.13).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

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

// A name-addr checked once, to be written into many messages without parsing it each time: a
// proxy's own Record-Route value (§16.6 step 4), which is the same for every request it forwards
// over one listener.
class CheckedNameAddr {
 public:
  static Result<CheckedNameAddr> make(std::string_view text);
  std::string_view text() const { return text_; }

 private:
  explicit CheckedNameAddr(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

}  // namespace p2psip::sip
