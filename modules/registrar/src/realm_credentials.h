// SPDX-License-Identifier: Apache-2.0
// RealmCredentials: the HA1 values of one realm's users, read from an htdigest-form file
// ("user:realm:HA1", as Apache's htdigest writes, RFC 2617 §3.2.2.2 A1 = user:realm:password).
// A 32-hex-digit HA1 is MD5; a 64-hex-digit HA1 on its own line is SHA-256 (RFC 8760 §3), our
// extension since htdigest only writes MD5. Storing HA1 means no password is ever on disk.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "p2psip/common/result.h"
#include "p2psip/registrar/digest_authenticator.h"

namespace p2psip::registrar {

class RealmCredentials {
 public:
  // Parses `text`, keeping the lines of `realm`. ParseError names the line and the problem.
  static Result<RealmCredentials> parse(std::string_view realm, std::string_view text);

  // The lower-case hex HA1 of `user` for `algorithm`, if the file has one.
  std::optional<std::string_view> ha1(std::string_view user, DigestAlgorithm algorithm) const;
  bool hasUser(std::string_view user) const { return users_.count(std::string(user)) != 0; }
  std::size_t userCount() const { return users_.size(); }

 private:
  struct Ha1 {
    std::string md5;     // empty when the file has none
    std::string sha256;  // empty when the file has none
  };
  std::unordered_map<std::string, Ha1> users_;
};

}  // namespace p2psip::registrar
