// SPDX-License-Identifier: Apache-2.0
#include "register_request.h"

#include <algorithm>
#include <cctype>

#include "p2psip/sip/case_insensitive.h"
#include "p2psip/sip/headers.h"
#include "p2psip/sip/name_addr.h"

namespace p2psip::registrar {

namespace {

tl::unexpected<Rejection> reject(std::uint16_t status, std::string reason) {
  return tl::unexpected<Rejection>(Rejection{status, std::move(reason)});
}

bool hasOptionTag(const sip::Message& request, std::string_view tag) {
  bool found = false;
  request.forEachValue(sip::HeaderId::Supported, [&](std::string_view value) {
    found = sip::equalsIgnoringCase(value, tag);
    return !found;
  });
  return found;
}

std::string_view unquote(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') return v.substr(1, v.size() - 2);
  return v;
}

// RFC 5626 §4: +sip.instance and reg-id. reg-id = 1*DIGIT from 1 to 2**31-1 (§4.2).
Result<void, Rejection> readOutboundParams(const sip::ContactValue& contact,
                                           RequestedContact& out) {
  if (auto instance = contact.address.params.find("+sip.instance")) {
    out.instanceId = std::string(unquote(*instance));
    if (out.instanceId.empty()) return reject(400, "Contact +sip.instance is empty");
  }
  if (auto regId = contact.address.params.find("reg-id")) {
    auto value = sip::parseUnsigned(*regId, 0x7fffffffu);
    if (!value || *value == 0)
      return reject(400, "Contact reg-id is not a number from 1 to 2**31-1");
    // Without an instance-id a reg-id means nothing (RFC 5626 §6 treats such a Contact by the
    // RFC 3261 rules), so it is not kept.
    if (!out.instanceId.empty()) out.regId = *value;
  }
  return {};
}

}  // namespace

bool RegisterRequest::usesOutbound() const {
  return std::any_of(contacts.begin(), contacts.end(),
                     [](const RequestedContact& c) { return c.outbound; });
}

Result<RegisterRequest, Rejection> RegisterRequest::read(const sip::Message& request,
                                                         const ExpiryRules& rules) {
  RegisterRequest out;
  out.supportsPath = hasOptionTag(request, "path");
  out.supportsOutbound = hasOptionTag(request, "outbound");

  std::optional<std::uint32_t> headerExpires;
  if (const auto* expires = request.find(sip::HeaderId::Expires)) {
    auto value = sip::parseUnsigned(expires->value, 0xffffffffu);
    if (!value) return reject(400, "Expires is not a number of seconds below 2**32");
    headerExpires = *value;
  }

  std::vector<sip::ContactValue> values;
  std::optional<Rejection> problem;
  request.forEachValue(sip::HeaderId::Contact, [&](std::string_view item) {
    auto contact = sip::parseContact(item);
    if (!contact) {
      problem = Rejection{400, "malformed Contact: " + contact.error().detail};
      return false;
    }
    values.push_back(*contact);
    return true;
  });
  if (problem) return tl::unexpected(*problem);

  const bool anyStar =
      std::any_of(values.begin(), values.end(), [](const sip::ContactValue& c) { return c.star; });
  if (anyStar) {
    // §10.2.2 / §10.3 step 6: "*" only alone and only with Expires: 0.
    if (values.size() != 1) return reject(400, "Contact * must be the only Contact");
    if (headerExpires != 0u) return reject(400, "Contact * requires Expires: 0");
    out.wildcard = true;
    return out;
  }

  for (const auto& value : values) {
    RequestedContact contact;
    contact.uri = value.address.uri;
    if (auto params = readOutboundParams(value, contact); !params) {
      return tl::unexpected(params.error());
    }
    // §10.3 step 7: the expires parameter, else the Expires header, else the local default.
    std::uint32_t expires = static_cast<std::uint32_t>(rules.defaultExpires.count());
    if (auto param = value.expires()) {
      expires = *param;
    } else if (headerExpires) {
      expires = *headerExpires;
    }
    if (expires != 0 && expires < rules.minExpires.count()) {
      return reject(423, "Interval Too Brief");
    }
    contact.expires = static_cast<std::uint32_t>(
        std::min<std::int64_t>(expires, static_cast<std::int64_t>(rules.maxExpires.count())));
    contact.q = value.q().value_or(1000);
    contact.outbound = out.supportsOutbound && contact.regId != 0 && contact.expires != 0;
    // The same URI twice in one request: the later value wins, as if sent in order.
    std::erase_if(out.contacts, [&](const RequestedContact& earlier) {
      return sip::equivalent(earlier.uri, contact.uri);
    });
    out.contacts.push_back(std::move(contact));
  }

  const auto outboundCount = std::count_if(out.contacts.begin(), out.contacts.end(),
                                           [](const RequestedContact& c) { return c.outbound; });
  if (outboundCount > 1) {
    // RFC 5626 §6: one flow per REGISTER; several reg-id Contacts would share one flow.
    return reject(400, "more than one Contact with reg-id");
  }

  request.forEachValue(sip::HeaderId::Path, [&](std::string_view item) {
    out.path.emplace_back(item);
    return true;
  });
  if (out.usesOutbound() && !out.path.empty()) {
    // RFC 5626 §6: outbound needs every hop on the flow; the first Path must carry "ob".
    auto first = sip::parseNameAddr(out.path.front());
    if (!first || !first->uri.params.has("ob")) {
      return reject(439, "First Hop Lacks Outbound Support");
    }
  }
  return out;
}

}  // namespace p2psip::registrar
