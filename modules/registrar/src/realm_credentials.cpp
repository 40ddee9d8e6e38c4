// SPDX-License-Identifier: Apache-2.0
#include "realm_credentials.h"

#include <cctype>

namespace p2psip::registrar {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}
bool isHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

Result<RealmCredentials> RealmCredentials::parse(std::string_view realm, std::string_view text) {
  RealmCredentials out;
  std::size_t lineNumber = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++lineNumber;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const char* problem) {
      return makeError(ErrorCode::ParseError,
                       "credentials line " + std::to_string(lineNumber) + ": " + problem);
    };
    // user:realm:HA1 — the user has no ':' (htdigest refuses it); the realm may.
    const std::size_t first = line.find(':');
    const std::size_t last = line.rfind(':');
    if (first == std::string_view::npos || first == last) {
      return fail("expected user:realm:HA1");
    }
    const std::string_view user = line.substr(0, first);
    const std::string_view lineRealm = line.substr(first + 1, last - first - 1);
    const std::string_view ha1 = line.substr(last + 1);
    if (user.empty()) return fail("empty user name");
    if (!isHex(ha1) || (ha1.size() != 32 && ha1.size() != 64)) {
      return fail("HA1 must be 32 (MD5) or 64 (SHA-256) hex digits");
    }
    if (lineRealm != realm) continue;  // another realm's users share the file
    auto& entry = out.users_[std::string(user)];
    std::string& slot = ha1.size() == 32 ? entry.md5 : entry.sha256;
    if (!slot.empty()) return fail("second HA1 of the same algorithm for this user and realm");
    slot = lower(ha1);
  }
  return out;
}

std::optional<std::string_view> RealmCredentials::ha1(std::string_view user,
                                                      DigestAlgorithm algorithm) const {
  auto it = users_.find(std::string(user));
  if (it == users_.end()) return std::nullopt;
  const std::string& value = algorithm == DigestAlgorithm::Md5 ? it->second.md5 : it->second.sha256;
  if (value.empty()) return std::nullopt;
  return std::string_view(value);
}

}  // namespace p2psip::registrar
