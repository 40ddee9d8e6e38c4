// SPDX-License-Identifier: Apache-2.0
// The node's key and certificate files must work for the overlay's TLS links. net::TlsContext
// loads them with SSL_CTX_use_certificate_chain_file and SSL_CTX_use_PrivateKey_file and asks
// for the peer's certificate in both roles; this test does the same with OpenSSL directly
// (identity must not depend on net) and runs a TLS 1.3 handshake over an in-memory BIO pair.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "p2psip/identity/node_identity.h"
#include "shared_identities.h"
#include "temp_directory.h"

namespace p2psip::identity {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

enum class Trust { AnyCertificate, PinnedPeerCertificate };

// Mirrors net::TlsContext::fromFiles for PeerVerification::AnyCertificate, or pins the peer's
// self-signed certificate as the only trust anchor.
SslCtxPtr contextFor(const NodeIdentity& self, const NodeIdentity& peer, Trust trust) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  EXPECT_TRUE(ctx);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_use_certificate_chain_file(ctx.get(), self.certificateFile().c_str()), 1);
  EXPECT_EQ(SSL_CTX_use_PrivateKey_file(ctx.get(), self.privateKeyFile().c_str(), SSL_FILETYPE_PEM),
            1);
  EXPECT_EQ(SSL_CTX_check_private_key(ctx.get()), 1);
  if (trust == Trust::AnyCertificate) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       [](int, X509_STORE_CTX*) { return 1; });
  } else {
    EXPECT_EQ(SSL_CTX_load_verify_locations(ctx.get(), peer.certificateFile().c_str(), nullptr), 1);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// Drives both ends until both finish, or one fails; true when the handshake completed.
bool handshake(SSL& client, SSL& server) {
  bool clientDone = false;
  bool serverDone = false;
  for (int round = 0; round < 20 && !(clientDone && serverDone); ++round) {
    for (auto [ssl, done] : {std::pair{&client, &clientDone}, std::pair{&server, &serverDone}}) {
      if (*done) continue;
      const int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      const int error = SSL_get_error(ssl, rc);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        ADD_FAILURE() << "handshake failed: " << ERR_error_string(ERR_get_error(), nullptr);
        return false;
      }
    }
  }
  return clientDone && serverDone;
}

std::optional<NodeId> peerNodeId(const SSL& ssl) {
  std::unique_ptr<X509, decltype(&X509_free)> cert(SSL_get1_peer_certificate(&ssl), &X509_free);
  if (!cert) return std::nullopt;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), nullptr);
  std::string spki(static_cast<std::size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(spki.data());
  i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &out);
  return NodeId::ofPublicKey(spki);
}

class TlsHandshakeTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(TlsHandshakeTest, TwoNodesAuthenticateEachOtherOverTls13WithTheirIdentityFiles) {
  TempDirectory tmp;
  IdentityConfig config;
  config.keyType = GetParam();
  config.directory = tmp.file("client");
  auto clientIdentity = NodeIdentity::loadOrCreate(config);
  config.directory = tmp.file("server");
  auto serverIdentity = NodeIdentity::loadOrCreate(config);
  ASSERT_TRUE(clientIdentity && serverIdentity);

  for (const Trust trust : {Trust::AnyCertificate, Trust::PinnedPeerCertificate}) {
    SCOPED_TRACE(trust == Trust::AnyCertificate ? "any certificate" : "pinned certificate");
    SslCtxPtr clientCtx = contextFor(*clientIdentity, *serverIdentity, trust);
    SslCtxPtr serverCtx = contextFor(*serverIdentity, *clientIdentity, trust);
    SslPtr client(SSL_new(clientCtx.get()));
    SslPtr server(SSL_new(serverCtx.get()));
    ASSERT_TRUE(client && server);
    BIO* clientBio = nullptr;
    BIO* serverBio = nullptr;
    ASSERT_EQ(BIO_new_bio_pair(&clientBio, 0, &serverBio, 0), 1);
    SSL_set_bio(client.get(), clientBio, clientBio);  // each SSL now owns its end
    SSL_set_bio(server.get(), serverBio, serverBio);
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(server.get());

    ASSERT_TRUE(handshake(*client, *server));
    EXPECT_EQ(SSL_version(client.get()), TLS1_3_VERSION);
    // Accepted by the callback, the certificate is still reported as self-signed; pinned, it
    // verifies as its own trust anchor.
    const long expected =
        trust == Trust::AnyCertificate ? X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT : X509_V_OK;
    EXPECT_EQ(SSL_get_verify_result(client.get()), expected);
    EXPECT_EQ(SSL_get_verify_result(server.get()), expected);
    // Each side learns the other's NodeId from the certificate it was shown.
    EXPECT_EQ(peerNodeId(*client), serverIdentity->nodeId());
    EXPECT_EQ(peerNodeId(*server), clientIdentity->nodeId());
  }
}

INSTANTIATE_TEST_SUITE_P(EveryKeyType, TlsHandshakeTest, ::testing::ValuesIn(kAllKeyTypes),
                         keyTypeTestName);

}  // namespace
}  // namespace p2psip::identity
