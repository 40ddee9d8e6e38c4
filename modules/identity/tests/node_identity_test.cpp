// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/node_identity.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "shared_identities.h"
#include "temp_directory.h"

namespace p2psip::identity {
namespace {

namespace fs = std::filesystem;

unsigned modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<unsigned>(st.st_mode) & 07777u;
}

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

IdentityConfig configIn(const TempDirectory& dir, KeyType type = KeyType::Ed25519) {
  IdentityConfig config;
  config.directory = dir.file("data");
  config.keyType = type;
  return config;
}

bool mentions(const Error& error, const std::string& text) {
  return error.detail.find(text) != std::string::npos;
}

TEST(NodeIdentity, FirstStartCreatesAPrivateDirectoryKeyAndCertificate) {
  TempDirectory tmp;
  IdentityConfig config = configIn(tmp);
  config.directory = tmp.file("nested/data");
  auto identity = NodeIdentity::loadOrCreate(config);
  ASSERT_TRUE(identity) << identity.error().detail;

  EXPECT_EQ(identity->privateKeyFile(), tmp.file("nested/data/node.key"));
  EXPECT_EQ(identity->certificateFile(), tmp.file("nested/data/node.crt"));
  EXPECT_EQ(modeOf(config.directory), 0700u);
  EXPECT_EQ(modeOf(identity->privateKeyFile()), 0600u);
  EXPECT_EQ(modeOf(identity->certificateFile()), 0644u);
  EXPECT_EQ(readText(identity->privateKeyFile()), identity->privateKeyPem());
  EXPECT_EQ(readText(identity->certificateFile()), identity->certificatePem());
  EXPECT_EQ(identity->privateKeyPem().rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  EXPECT_EQ(identity->keyType(), KeyType::Ed25519);
  EXPECT_EQ(identity->nodeId(), NodeId::ofPublicKey(identity->publicKeyDer()));
  // No temporary file is left next to the real ones.
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(config.directory)) ++files;
  EXPECT_EQ(files, 2u);
}

TEST(NodeIdentity, AnExistingDirectoryKeepsItsMode) {
  TempDirectory tmp;
  IdentityConfig config = configIn(tmp);
  config.directory = tmp.path().string();
  fs::permissions(tmp.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec);
  ASSERT_TRUE(NodeIdentity::loadOrCreate(config));
  EXPECT_EQ(modeOf(config.directory), 0750u);
}

TEST(NodeIdentity, LoadingTwiceGivesTheSameNodeIdAndCertificate) {
  TempDirectory tmp;
  auto first = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(first) << first.error().detail;
  auto second = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(second) << second.error().detail;
  EXPECT_EQ(second->nodeId(), first->nodeId());
  EXPECT_EQ(second->certificateDer(), first->certificateDer());
  EXPECT_EQ(second->publicKeyDer(), first->publicKeyDer());

  // What the reloaded key signs, the first one's public key verifies.
  auto signature = second->sign("hello");
  ASSERT_TRUE(signature);
  EXPECT_TRUE(verifySignature(first->publicKeyDer(), "hello", *signature));
}

TEST(NodeIdentity, AnExistingIdentityKeepsItsKeyTypeWhateverTheConfigSays) {
  TempDirectory tmp;
  ASSERT_TRUE(NodeIdentity::loadOrCreate(configIn(tmp, KeyType::EcdsaP256)));
  auto loaded = NodeIdentity::loadOrCreate(configIn(tmp, KeyType::Ed25519));
  ASSERT_TRUE(loaded) << loaded.error().detail;
  EXPECT_EQ(loaded->keyType(), KeyType::EcdsaP256);
}

TEST(NodeIdentity, AKeyWithoutItsCertificateIsAnErrorNamingTheMissingFile) {
  TempDirectory tmp;
  auto created = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(created);
  const std::string keyPem = readText(created->privateKeyFile());
  fs::remove(created->certificateFile());

  auto loaded = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(mentions(loaded.error(), created->certificateFile())) << loaded.error().detail;
  // The key was neither replaced nor accompanied by a fresh certificate.
  EXPECT_EQ(readText(created->privateKeyFile()), keyPem);
  EXPECT_FALSE(fs::exists(created->certificateFile()));
}

TEST(NodeIdentity, ACertificateWithoutItsKeyIsAnErrorNamingTheMissingFile) {
  TempDirectory tmp;
  auto created = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(created);
  fs::remove(created->privateKeyFile());
  auto loaded = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(mentions(loaded.error(), created->privateKeyFile())) << loaded.error().detail;
}

TEST(NodeIdentity, AKeyAndACertificateThatDoNotMatchAreRefused) {
  TempDirectory a;
  TempDirectory b;
  auto first = NodeIdentity::loadOrCreate(configIn(a));
  auto second = NodeIdentity::loadOrCreate(configIn(b));
  ASSERT_TRUE(first && second);
  fs::copy_file(second->certificateFile(), first->certificateFile(),
                fs::copy_options::overwrite_existing);
  auto loaded = NodeIdentity::loadOrCreate(configIn(a));
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::InvalidArgument);
  EXPECT_TRUE(mentions(loaded.error(), "does not match")) << loaded.error().detail;
  EXPECT_TRUE(mentions(loaded.error(), first->certificateFile())) << loaded.error().detail;
  EXPECT_TRUE(mentions(loaded.error(), first->privateKeyFile())) << loaded.error().detail;
}

TEST(NodeIdentity, AKeyFileOthersCanReadIsRefusedWithAClearSentence) {
  TempDirectory tmp;
  auto created = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(created);
  for (const unsigned mode : {0644u, 0640u, 0604u, 0620u}) {
    fs::permissions(created->privateKeyFile(), static_cast<fs::perms>(mode));
    auto loaded = NodeIdentity::loadOrCreate(configIn(tmp));
    ASSERT_FALSE(loaded) << std::oct << mode;
    EXPECT_EQ(loaded.error().code, ErrorCode::InvalidArgument);
    EXPECT_TRUE(mentions(loaded.error(), created->privateKeyFile())) << loaded.error().detail;
    EXPECT_TRUE(mentions(loaded.error(), "group or others")) << loaded.error().detail;
    EXPECT_TRUE(mentions(loaded.error(), "chmod 600")) << loaded.error().detail;
  }
  fs::permissions(created->privateKeyFile(), fs::perms::owner_read);  // 0400 is fine
  EXPECT_TRUE(NodeIdentity::loadOrCreate(configIn(tmp)));
}

TEST(NodeIdentity, AKeyFileThatIsNotAKeyNamesTheFile) {
  TempDirectory tmp;
  auto created = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(created);
  std::ofstream(created->privateKeyFile(), std::ios::trunc) << "not a key\n";
  auto loaded = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(mentions(loaded.error(), created->privateKeyFile())) << loaded.error().detail;
}

TEST(NodeIdentity, ACertificateFileThatIsNotACertificateNamesTheFile) {
  TempDirectory tmp;
  auto created = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_TRUE(created);
  std::ofstream(created->certificateFile(), std::ios::trunc) << created->privateKeyPem();
  auto loaded = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(mentions(loaded.error(), created->certificateFile())) << loaded.error().detail;
}

TEST(NodeIdentity, ADirectoryPathThatIsAFileIsAnError) {
  TempDirectory tmp;
  std::ofstream(tmp.file("data")) << "x";
  auto loaded = NodeIdentity::loadOrCreate(configIn(tmp));
  ASSERT_FALSE(loaded);
  EXPECT_TRUE(mentions(loaded.error(), tmp.file("data"))) << loaded.error().detail;
}

TEST(NodeIdentity, TheCertificateIsASelfSignedV3CertificateForTheKey) {
  TempDirectory tmp;
  IdentityConfig config = configIn(tmp);
  config.commonName = "peer-7";
  config.certificateValidity = std::chrono::hours(48);
  for (const KeyType type : kAllKeyTypes) {
    SCOPED_TRACE(std::string(toString(type)));
    config.directory = tmp.file(std::string(toString(type)));
    config.keyType = type;
    auto identity = NodeIdentity::loadOrCreate(config);
    ASSERT_TRUE(identity) << identity.error().detail;

    const auto* p = reinterpret_cast<const unsigned char*>(identity->certificateDer().data());
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        d2i_X509(nullptr, &p, static_cast<long>(identity->certificateDer().size())), &X509_free);
    ASSERT_TRUE(cert);
    EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
    EXPECT_EQ(X509_verify(cert.get(), X509_get0_pubkey(cert.get())), 1);  // self-signed
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())),
              0);
    char cn[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
    EXPECT_STREQ(cn, "peer-7");

    // Valid now, and no longer than asked.
    time_t now = time(nullptr);
    EXPECT_LE(X509_cmp_time(X509_get0_notBefore(cert.get()), &now), 0);
    time_t later = now + 47 * 3600;
    EXPECT_GT(X509_cmp_time(X509_get0_notAfter(cert.get()), &later), 0);
    later = now + 49 * 3600;
    EXPECT_LT(X509_cmp_time(X509_get0_notAfter(cert.get()), &later), 0);

    // The certificate carries exactly the key the NodeId hashes.
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), nullptr);
    std::string spki(static_cast<std::size_t>(len), '\0');
    auto* out = reinterpret_cast<unsigned char*>(spki.data());
    i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &out);
    EXPECT_EQ(spki, identity->publicKeyDer());
    EXPECT_EQ(NodeId::ofPublicKey(spki), identity->nodeId());
  }
}

TEST(NodeIdentity, TwoCertificatesHaveDifferentSerialNumbers) {
  const auto serialOf = [](const NodeIdentity& identity) {
    const auto* p = reinterpret_cast<const unsigned char*>(identity.certificateDer().data());
    std::unique_ptr<X509, decltype(&X509_free)> cert(
        d2i_X509(nullptr, &p, static_cast<long>(identity.certificateDer().size())), &X509_free);
    const ASN1_INTEGER* serial = X509_get0_serialNumber(cert.get());
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(serial)),
                       static_cast<std::size_t>(ASN1_STRING_length(serial)));
  };
  const std::string a = serialOf(sharedIdentity(KeyType::Ed25519, 0));
  const std::string b = serialOf(sharedIdentity(KeyType::Ed25519, 1));
  EXPECT_EQ(a.size(), 16u);
  EXPECT_NE(a, b);
}

TEST(IdentityConfig, ValidationNamesTheBadField) {
  IdentityConfig config;
  config.directory = "/var/lib/p2psip";
  EXPECT_TRUE(validate(config));
  IdentityConfig bad = config;
  bad.directory.clear();
  EXPECT_FALSE(validate(bad));
  bad = config;
  bad.certificateValidity = std::chrono::hours(0);
  EXPECT_FALSE(validate(bad));
  bad = config;
  bad.commonName = std::string(65, 'x');
  ASSERT_FALSE(validate(bad));
  EXPECT_TRUE(mentions(validate(bad).error(), "commonName"));
}

TEST(KeyType, SpellingsRoundTrip) {
  for (const KeyType type : kAllKeyTypes) {
    auto parsed = parseKeyType(toString(type));
    ASSERT_TRUE(parsed) << toString(type);
    EXPECT_EQ(*parsed, type);
  }
  EXPECT_EQ(toString(KeyType::EcdsaP256), "ecdsa-p256");
  EXPECT_FALSE(parseKeyType("rsa"));
  EXPECT_FALSE(parseKeyType("ED25519"));
}

class SignatureTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(SignatureTest, WhatTheNodeSignsVerifiesWithItsPublicKey) {
  const NodeIdentity& node = sharedIdentity(GetParam());
  EXPECT_EQ(node.keyType(), GetParam());
  auto signature = node.sign("sip:alice@example.com");
  ASSERT_TRUE(signature) << signature.error().detail;
  auto ok = verifySignature(node.publicKeyDer(), "sip:alice@example.com", *signature);
  EXPECT_TRUE(ok) << ok.error().detail;
  EXPECT_TRUE(verifySignature(node.publicKeyDer(), "", *node.sign("")));
}

TEST_P(SignatureTest, SignatureHasTheSizeOfItsScheme) {
  auto signature = sharedIdentity(GetParam()).sign("x");
  ASSERT_TRUE(signature);
  switch (GetParam()) {
    case KeyType::Ed25519:
      EXPECT_EQ(signature->size(), 64u);  // RFC 8032 §5.1.6
      break;
    case KeyType::EcdsaP256:
      EXPECT_LE(signature->size(), 72u);  // DER SEQUENCE of two INTEGERs up to 33 bytes
      EXPECT_EQ(static_cast<unsigned char>((*signature)[0]), 0x30);
      break;
    case KeyType::Rsa2048:
      EXPECT_EQ(signature->size(), 256u);
      break;
    case KeyType::Rsa4096:
      EXPECT_EQ(signature->size(), 512u);
      break;
  }
}

TEST_P(SignatureTest, TamperedDataDoesNotVerify) {
  const NodeIdentity& node = sharedIdentity(GetParam());
  auto signature = node.sign("expires=3600");
  ASSERT_TRUE(signature);
  auto bad = verifySignature(node.publicKeyDer(), "expires=3601", *signature);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::ParseError);
  EXPECT_FALSE(verifySignature(node.publicKeyDer(), "expires=3600 ", *signature));
}

TEST_P(SignatureTest, TamperedSignatureDoesNotVerify) {
  const NodeIdentity& node = sharedIdentity(GetParam());
  auto signature = node.sign("expires=3600");
  ASSERT_TRUE(signature);
  for (std::size_t i = 0; i < signature->size(); ++i) {
    std::string bad = *signature;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(verifySignature(node.publicKeyDer(), "expires=3600", bad)) << "byte " << i;
  }
  EXPECT_FALSE(verifySignature(node.publicKeyDer(), "expires=3600", ""));
  EXPECT_FALSE(verifySignature(node.publicKeyDer(), "expires=3600", signature->substr(1)));
  EXPECT_FALSE(verifySignature(node.publicKeyDer(), "expires=3600", *signature + "x"));
}

// RFC 8017 §8.1.2 step 1. A PSS signature is random, so about one in 200 starts with a zero octet;
// without the length check that one still verified with its first octet cut off.
TEST(RsaSignature, ASignatureCutShortOfItsLeadingZeroDoesNotVerify) {
  const NodeIdentity& node = sharedIdentity(KeyType::Rsa2048);
  std::string leadingZero;
  for (int attempt = 0; attempt < 5000 && leadingZero.empty(); ++attempt) {
    auto signature = node.sign("expires=3600");
    ASSERT_TRUE(signature);
    if ((*signature)[0] == '\0') leadingZero = *signature;
  }
  ASSERT_FALSE(leadingZero.empty()) << "no signature with a leading zero octet in 5000";
  EXPECT_TRUE(verifySignature(node.publicKeyDer(), "expires=3600", leadingZero));
  auto cut = verifySignature(node.publicKeyDer(), "expires=3600", leadingZero.substr(1));
  ASSERT_FALSE(cut);
  EXPECT_EQ(cut.error().code, ErrorCode::ParseError);
}

TEST_P(SignatureTest, AnotherKeyDoesNotVerify) {
  auto signature = sharedIdentity(GetParam(), 0).sign("expires=3600");
  ASSERT_TRUE(signature);
  EXPECT_FALSE(
      verifySignature(sharedIdentity(GetParam(), 1).publicKeyDer(), "expires=3600", *signature));
}

TEST_P(SignatureTest, AKeyWithTrailingBytesIsRefused) {
  // Otherwise one key would hash to as many NodeIds as there are suffixes.
  const NodeIdentity& node = sharedIdentity(GetParam());
  auto signature = node.sign("x");
  ASSERT_TRUE(signature);
  auto bad = verifySignature(node.publicKeyDer() + std::string(1, '\0'), "x", *signature);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::InvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(EveryKeyType, SignatureTest, ::testing::ValuesIn(kAllKeyTypes),
                         keyTypeTestName);

std::string spkiOf(EVP_PKEY* key) {
  const int len = i2d_PUBKEY(key, nullptr);
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  i2d_PUBKEY(key, &out);
  return der;
}

// Ed25519 is signed and checked by libsodium, the keys live in OpenSSL: the signatures must be the
// RFC 8032 ones both libraries make, so a peer on another build verifies ours and we verify its.
TEST(Ed25519Interop, OpenSslVerifiesWhatTheNodeSignsAndTheNodeVerifiesWhatOpenSslSigns) {
  const NodeIdentity& node = sharedIdentity(KeyType::Ed25519);
  const std::string data = "user record for sip:alice@p2p.test";
  auto ours = node.sign(data);
  ASSERT_TRUE(ours) << ours.error().detail;

  const auto* der = reinterpret_cast<const unsigned char*>(node.publicKeyDer().data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> publicKey(
      d2i_PUBKEY(nullptr, &der, static_cast<long>(node.publicKeyDer().size())), EVP_PKEY_free);
  ASSERT_NE(publicKey, nullptr);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> verify(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_EQ(EVP_DigestVerifyInit(verify.get(), nullptr, nullptr, nullptr, publicKey.get()), 1);
  EXPECT_EQ(EVP_DigestVerify(verify.get(), reinterpret_cast<const unsigned char*>(ours->data()),
                             ours->size(), reinterpret_cast<const unsigned char*>(data.data()),
                             data.size()),
            1);

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(node.privateKeyPem().data(), static_cast<int>(node.privateKeyPem().size())),
      BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> privateKey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  ASSERT_NE(privateKey, nullptr);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sign(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  ASSERT_EQ(EVP_DigestSignInit(sign.get(), nullptr, nullptr, nullptr, privateKey.get()), 1);
  std::string theirs(64, '\0');
  std::size_t length = theirs.size();
  ASSERT_EQ(EVP_DigestSign(sign.get(), reinterpret_cast<unsigned char*>(theirs.data()), &length,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  // Ed25519 is deterministic (RFC 8032 §5.1.6): the same key and data give the same bytes.
  EXPECT_EQ(theirs, *ours);
  auto ok = verifySignature(node.publicKeyDer(), data, theirs);
  EXPECT_TRUE(ok) << ok.error().detail;
  theirs[10] = static_cast<char>(theirs[10] ^ 0x01);
  EXPECT_FALSE(verifySignature(node.publicKeyDer(), data, theirs));
  EXPECT_FALSE(verifySignature(node.publicKeyDer(), data, theirs.substr(0, 63)));
}

TEST(VerifySignature, KeysOfUnsupportedTypesAreInvalidArguments) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ed448(
      EVP_PKEY_Q_keygen(nullptr, nullptr, "ED448"), &EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> p384(EVP_EC_gen("P-384"), &EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> rsa1024(EVP_RSA_gen(1024), &EVP_PKEY_free);
  ASSERT_TRUE(ed448 && p384 && rsa1024);
  for (EVP_PKEY* key : {ed448.get(), p384.get(), rsa1024.get()}) {
    auto result = verifySignature(spkiOf(key), "x", std::string(64, '\0'));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument) << result.error().detail;
  }
  auto garbage = verifySignature("not a key", "x", "y");
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::InvalidArgument);
  EXPECT_FALSE(verifySignature("", "x", "y"));
}

TEST(VerifySignature, AP256KeyIsAcceptedOnlyAsANamedCurveWithAnUncompressedPoint) {
  const NodeIdentity& node = sharedIdentity(KeyType::EcdsaP256);
  auto signature = node.sign("x");
  ASSERT_TRUE(signature);
  // The same key with its point compressed is a valid SubjectPublicKeyInfo, but a second
  // encoding, hence a second NodeId, of one key.
  const auto* p = reinterpret_cast<const unsigned char*>(node.publicKeyDer().data());
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      d2i_PUBKEY(nullptr, &p, static_cast<long>(node.publicKeyDer().size())), &EVP_PKEY_free);
  ASSERT_TRUE(key);
  ASSERT_EQ(EVP_PKEY_set_utf8_string_param(key.get(), "point-format", "compressed"), 1);
  const std::string compressed = spkiOf(key.get());
  ASSERT_EQ(compressed.size(), 59u);
  auto result = verifySignature(compressed, "x", *signature);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument) << result.error().detail;

  // A point that is not on the curve is refused as a key, not just as a bad signature.
  std::string offCurve = node.publicKeyDer();
  offCurve.back() = static_cast<char>(offCurve.back() ^ 0x01);
  auto off = verifySignature(offCurve, "x", *signature);
  ASSERT_FALSE(off);
  EXPECT_EQ(off.error().code, ErrorCode::InvalidArgument) << off.error().detail;
}

TEST(VerifySignature, TheKeysWeGenerateAreInTheFormIdentitiesAreParsedFrom) {
  for (const KeyType type : kAllKeyTypes) {
    const NodeIdentity& node = sharedIdentity(type);
    // publicKeyDer() is what i2d_PUBKEY writes, and verifySignature accepts exactly that.
    const auto* p = reinterpret_cast<const unsigned char*>(node.publicKeyDer().data());
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        d2i_PUBKEY(nullptr, &p, static_cast<long>(node.publicKeyDer().size())), &EVP_PKEY_free);
    ASSERT_TRUE(key);
    EXPECT_EQ(spkiOf(key.get()), node.publicKeyDer());
    EXPECT_TRUE(verifySignature(node.publicKeyDer(), "x", *node.sign("x"))) << toString(type);
  }
  EXPECT_EQ(sharedIdentity(KeyType::Ed25519).publicKeyDer().size(), 44u);
  EXPECT_EQ(sharedIdentity(KeyType::EcdsaP256).publicKeyDer().size(), 91u);
}

}  // namespace
}  // namespace p2psip::identity
