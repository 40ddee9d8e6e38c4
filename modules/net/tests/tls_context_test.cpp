// SPDX-License-Identifier: Apache-2.0
#include "p2psip/net/tls_context.h"

#include <gtest/gtest.h>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "p2psip/net/event_loop.h"

using namespace std::chrono_literals;

namespace p2psip::net {
namespace {

namespace fs = std::filesystem;

// Writes a throwaway self-signed identity into a private temporary directory.
class TempIdentity {
 public:
  explicit TempIdentity(const std::string& name) {
    std::string tmpl = (fs::temp_directory_path() / "p2psip-tls-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    auto identity = makeSelfSignedIdentity(name, std::chrono::hours(24));
    EXPECT_TRUE(identity);
    pem_ = *identity;
    write(certFile(), pem_.certificatePem);
    write(keyFile(), pem_.privateKeyPem);
  }
  ~TempIdentity() { fs::remove_all(dir_); }
  std::string certFile() const { return (dir_ / "cert.pem").string(); }
  std::string keyFile() const { return (dir_ / "key.pem").string(); }
  const PemIdentity& pem() const { return pem_; }
  TlsConfig config(PeerVerification mode) const {
    return TlsConfig{certFile(), keyFile(), {}, mode};
  }

 private:
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  fs::path dir_;
  PemIdentity pem_;
};

TEST(TlsContext, LoadsCertificateAndKeyFromPemFiles) {
  TempIdentity id("peer-a");
  auto ctx = TlsContext::fromFiles(id.config(PeerVerification::AnyCertificate));
  ASSERT_TRUE(ctx) << ctx.error().detail;
  EXPECT_EQ((*ctx)->verifyPeer(), PeerVerification::AnyCertificate);
}

TEST(TlsContext, ReportsAMissingFileByName) {
  TempIdentity id("peer-a");
  TlsConfig config = id.config(PeerVerification::None);
  config.certificateChainFile = "/nonexistent/cert.pem";
  auto ctx = TlsContext::fromFiles(config);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().detail.find("/nonexistent/cert.pem"), std::string::npos);
}

TEST(TlsContext, RefusesAKeyThatDoesNotMatchTheCertificate) {
  TempIdentity a("peer-a");
  TempIdentity b("peer-b");
  TlsConfig config{a.certFile(), b.keyFile(), {}, PeerVerification::None};
  auto ctx = TlsContext::fromFiles(config);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().detail.find(b.keyFile()), std::string::npos) << ctx.error().detail;
}

TEST(TlsContext, TrustedCaWithoutCaFileIsInvalid) {
  TempIdentity id("peer-a");
  EXPECT_FALSE(validate(id.config(PeerVerification::TrustedCa)));
  EXPECT_TRUE(validate(id.config(PeerVerification::AnyCertificate)));
  EXPECT_FALSE(validate(TlsConfig{}));
}

TEST(TlsContext, SubjectPublicKeyInfoIsStableAndDistinctPerKey) {
  auto a = makeSelfSignedIdentity("a", std::chrono::hours(1));
  ASSERT_TRUE(a);
  EXPECT_NE(a->certificatePem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(a->privateKeyPem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_FALSE(subjectPublicKeyInfoDer("not a certificate"));
}

// Both sides use AnyCertificate with unrelated self-signed certificates: the handshake succeeds
// and each side sees exactly the certificate the other loaded (what the app hashes).
TEST(TlsContext, AnyCertificateModeCompletesMutualHandshakeAndExposesPeerCertificates) {
  TempIdentity serverId("server");
  TempIdentity clientId("client");
  auto serverCtx = TlsContext::fromFiles(serverId.config(PeerVerification::AnyCertificate));
  auto clientCtx = TlsContext::fromFiles(clientId.config(PeerVerification::AnyCertificate));
  ASSERT_TRUE(serverCtx && clientCtx);

  EventLoop loop;
  using Stream = asio::ssl::stream<asio::ip::tcp::socket>;
  asio::ip::tcp::acceptor acceptor(loop.context(), {asio::ip::make_address("127.0.0.1"), 0});
  Stream server(loop.context(), (*serverCtx)->native());
  Stream client(loop.context(), (*clientCtx)->native());
  std::optional<asio::error_code> serverDone;
  std::optional<asio::error_code> clientDone;

  acceptor.async_accept(server.next_layer(), [&](const asio::error_code& ec) {
    ASSERT_FALSE(ec);
    server.async_handshake(Stream::server, [&](const asio::error_code& e) { serverDone = e; });
  });
  client.next_layer().async_connect(acceptor.local_endpoint(), [&](const asio::error_code& ec) {
    ASSERT_FALSE(ec);
    client.async_handshake(Stream::client, [&](const asio::error_code& e) { clientDone = e; });
  });
  ASSERT_TRUE(loop.runUntil([&] { return serverDone && clientDone; }, 10s));
  EXPECT_FALSE(*serverDone) << serverDone->message();
  EXPECT_FALSE(*clientDone) << clientDone->message();

  auto seenByServer = peerCertificateDer(server.native_handle());
  auto seenByClient = peerCertificateDer(client.native_handle());
  ASSERT_TRUE(seenByServer && seenByClient);
  EXPECT_NE(*seenByServer, *seenByClient);
  auto serverSpki = subjectPublicKeyInfoDer(*seenByClient);
  auto clientSpki = subjectPublicKeyInfoDer(*seenByServer);
  ASSERT_TRUE(serverSpki && clientSpki);
  EXPECT_NE(*serverSpki, *clientSpki);
}

// Without AnyCertificate the client refuses a self-signed server it cannot chain to a CA.
TEST(TlsContext, TrustedCaModeRefusesAnUnknownSelfSignedPeer) {
  TempIdentity serverId("server");
  TempIdentity clientId("client");
  TempIdentity unrelatedCa("ca");
  auto serverCtx = TlsContext::fromFiles(serverId.config(PeerVerification::None));
  TlsConfig clientConfig = clientId.config(PeerVerification::TrustedCa);
  clientConfig.caFile = unrelatedCa.certFile();
  auto clientCtx = TlsContext::fromFiles(clientConfig);
  ASSERT_TRUE(serverCtx && clientCtx);

  EventLoop loop;
  using Stream = asio::ssl::stream<asio::ip::tcp::socket>;
  asio::ip::tcp::acceptor acceptor(loop.context(), {asio::ip::make_address("127.0.0.1"), 0});
  Stream server(loop.context(), (*serverCtx)->native());
  Stream client(loop.context(), (*clientCtx)->native());
  std::optional<asio::error_code> clientDone;
  acceptor.async_accept(server.next_layer(), [&](const asio::error_code& ec) {
    if (!ec) server.async_handshake(Stream::server, [](const asio::error_code&) {});
  });
  client.next_layer().async_connect(acceptor.local_endpoint(), [&](const asio::error_code& ec) {
    ASSERT_FALSE(ec);
    client.async_handshake(Stream::client, [&](const asio::error_code& e) { clientDone = e; });
  });
  ASSERT_TRUE(loop.runUntil([&] { return clientDone.has_value(); }, 10s));
  EXPECT_TRUE(*clientDone);
}

}  // namespace
}  // namespace p2psip::net
