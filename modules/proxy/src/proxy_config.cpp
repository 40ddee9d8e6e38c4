// SPDX-License-Identifier: Apache-2.0
#include "p2psip/proxy/proxy_config.h"

#include "p2psip/sip/headers.h"

namespace p2psip::proxy {
namespace {

Result<void> checkTokens(const std::vector<std::string>& tokens, const char* field) {
  for (const auto& token : tokens) {
    if (!sip::isToken(token)) {
      return makeError(ErrorCode::InvalidArgument,
                       std::string("proxy.") + field + ": \"" + token + "\" is not a token");
    }
  }
  return {};
}

}  // namespace

Result<void> ProxyConfig::validate() const {
  if (addresses.empty()) {
    return makeError(ErrorCode::InvalidArgument,
                     "proxy.addresses: at least one address is needed for Via and Record-Route");
  }
  for (const auto& address : addresses) {
    if (address.host.empty()) {
      return makeError(ErrorCode::InvalidArgument, "proxy.addresses: empty host");
    }
    if (address.port == 0) {
      return makeError(ErrorCode::InvalidArgument,
                       "proxy.addresses: port 0 cannot be written in a Via or Record-Route");
    }
  }
  if (maxConcurrentRequests == 0) {
    return makeError(ErrorCode::InvalidArgument, "proxy.maxConcurrentRequests must be positive");
  }
  if (overloadRetryAfterSeconds == 0) {
    // §20.33: a zero Retry-After would invite an immediate retry into the same overload.
    return makeError(ErrorCode::InvalidArgument,
                     "proxy.overloadRetryAfterSeconds must be positive");
  }
  if (auto ok = checkTokens(allow, "allow"); !ok) return ok;
  if (auto ok = checkTokens(supported, "supported"); !ok) return ok;
  for (const auto& type : accept) {
    if (!sip::parseMediaType(type)) {
      return makeError(ErrorCode::InvalidArgument,
                       "proxy.accept: \"" + type + "\" is not a media type");
    }
  }
  return {};
}

}  // namespace p2psip::proxy
