// SPDX-License-Identifier: Apache-2.0
// The node's self-signed X.509 v3 certificate (RFC 5280). Peers do not chain it to a CA: TLS
// peers accept any certificate and compare the hash of its key with the NodeId they expected,
// so the certificate only has to carry the key in a form every TLS 1.3 stack accepts.
// Private to identity/.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "openssl_handles.h"
#include "p2psip/common/result.h"
#include "p2psip/identity/node_identity.h"

namespace p2psip::identity {

// Issuer = subject = CN=`commonName`; random 16-byte serial; valid from a minute ago (clock
// skew between peers) for `validity`.
Result<X509Ptr> makeSelfSignedCertificate(EVP_PKEY& key, KeyType type, std::string_view commonName,
                                          std::chrono::hours validity);

// Our certificates are under 2 KB of PEM; a file far larger is not one of them.
inline constexpr std::size_t kMaxCertificatePemBytes = 64 * 1024;

Result<std::string> certificateDerOf(X509& certificate);
Result<std::string> certificatePemOf(X509& certificate);
// `source` names the file in errors.
Result<X509Ptr> parseCertificatePem(std::string_view pem, std::string_view source);

}  // namespace p2psip::identity
