// SPDX-License-Identifier: Apache-2.0
#include "openssl_handles.h"

#include <openssl/err.h>

namespace p2psip::identity {

std::string openSslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? std::string("unknown OpenSSL error") : out;
}

}  // namespace p2psip::identity
