// SPDX-License-Identifier: Apache-2.0
#include "certificate.h"

#include <array>
#include <memory>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace p2psip::identity {
namespace {

struct BignumFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct X509ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};

Result<X509Ptr> certificateError(const std::string& what) {
  return makeError(ErrorCode::Unavailable,
                   "identity: cannot make the certificate (" + what + "): " + openSslErrors());
}

// RFC 5280 §4.1.2.2: a positive integer of at most 20 octets, unique per issuer. Random bytes
// make it unique without state; the top bits are fixed so the value is positive and non-zero.
bool setRandomSerial(X509& cert) {
  std::array<unsigned char, 16> serial{};
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) return false;
  serial[0] = static_cast<unsigned char>((serial[0] & 0x7f) | 0x40);
  std::unique_ptr<BIGNUM, BignumFree> bn(
      BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(&cert)) != nullptr;
}

bool setValidity(X509& cert, std::chrono::hours validity) {
  // X509_time_adj_ex takes days and seconds separately, so long validities never overflow.
  const long days = static_cast<long>(validity.count() / 24);
  const long seconds = static_cast<long>((validity.count() % 24) * 3600);
  return X509_gmtime_adj(X509_getm_notBefore(&cert), -60) != nullptr &&
         X509_time_adj_ex(X509_getm_notAfter(&cert), static_cast<int>(days), seconds, nullptr) !=
             nullptr;
}

bool addExtension(X509& cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, &cert, &cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, X509ExtensionFree> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(&cert, ext.get(), -1) == 1;
}

}  // namespace

Result<X509Ptr> makeSelfSignedCertificate(EVP_PKEY& key, KeyType type, std::string_view commonName,
                                          std::chrono::hours validity) {
  ERR_clear_error();
  X509Ptr cert(X509_new());
  if (!cert) return certificateError("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return certificateError("version");
  if (!setRandomSerial(*cert)) return certificateError("serial number");
  if (!setValidity(*cert, validity)) return certificateError("validity");
  if (X509_set_pubkey(cert.get(), &key) != 1) return certificateError("public key");

  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn(commonName);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return certificateError("subject name");
  }

  // An end-entity certificate used by both ends of a link (RFC 5280 §4.2.1.9, §4.2.1.12).
  // No keyUsage: without it the key may sign anything (RFC 5280 §4.2.1.3), which a key that
  // signs both TLS handshakes and overlay records needs, whatever TLS key exchange is chosen.
  if (!addExtension(*cert, NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(*cert, NID_subject_key_identifier, "hash") ||
      !addExtension(*cert, NID_ext_key_usage, "serverAuth,clientAuth")) {
    return certificateError("extensions");
  }

  // Ed25519 signs the certificate with no separate digest (RFC 8410 §6); the others use
  // SHA-256 (for RSA this is PKCS#1 v1.5, which TLS 1.3 accepts in certificates, RFC 8446
  // §4.2.3).
  const EVP_MD* digest = type == KeyType::Ed25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), &key, digest) <= 0) return certificateError("signature");
  return cert;
}

Result<std::string> certificateDerOf(X509& certificate) {
  const int len = i2d_X509(&certificate, nullptr);
  if (len <= 0) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: cannot encode the certificate: " + openSslErrors());
  }
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_X509(&certificate, &out) != len) {
    return makeError(ErrorCode::InvalidArgument,
                     "identity: cannot encode the certificate: " + openSslErrors());
  }
  return der;
}

Result<std::string> certificatePemOf(X509& certificate) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), &certificate) != 1) {
    return makeError(ErrorCode::Unavailable,
                     "identity: cannot encode the certificate as PEM: " + openSslErrors());
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) {
    return makeError(ErrorCode::Unavailable, "identity: empty certificate PEM");
  }
  return std::string(data, static_cast<std::size_t>(len));
}

Result<X509Ptr> parseCertificatePem(std::string_view pem, std::string_view source) {
  ERR_clear_error();
  if (pem.size() > kMaxCertificatePemBytes) {
    return makeError(ErrorCode::LimitExceeded, std::string(source) + " is larger than " +
                                                   std::to_string(kMaxCertificatePemBytes) +
                                                   " bytes");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  auto noPassphrase = [](char*, int, int, void*) { return 0; };
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, noPassphrase, nullptr) : nullptr);
  if (!cert) {
    return makeError(
        ErrorCode::InvalidArgument,
        std::string(source) + ": no PEM certificate could be read: " + openSslErrors());
  }
  return cert;
}

}  // namespace p2psip::identity
