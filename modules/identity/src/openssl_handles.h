// SPDX-License-Identifier: Apache-2.0
// RAII owners for the OpenSSL objects this module uses, so no path frees by hand, and the
// draining of OpenSSL's thread-local error queue into one sentence. Private to identity/.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

namespace p2psip::identity {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct EvpMdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Empties the calling thread's OpenSSL error queue and returns its entries as one sentence
// ("unknown OpenSSL error" when empty). Every failure path calls it, so a stale entry never
// shows up in someone else's error message.
std::string openSslErrors();

}  // namespace p2psip::identity
