// SPDX-License-Identifier: Apache-2.0
#include "p2psip/app/daemon_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace p2psip::app {
namespace {

CommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "p2psipd");
  return parseCommandLine(static_cast<int>(args.size()), args.data());
}

std::string writeTemp(const std::string& text) {
  char name[] = "/tmp/p2psipd-config-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  std::FILE* f = fdopen(fd, "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return name;
}

TEST(DaemonConfig, DefaultsListenOnLoopbackUdpAndTcp5060AndServeOneDomain) {
  CommandLine cl = parse({});
  ASSERT_FALSE(cl.exitNow) << cl.message;
  ASSERT_EQ(cl.config.listen.size(), 2u);
  EXPECT_EQ(toString(cl.config.listen[0]), "udp:127.0.0.1:5060");
  EXPECT_EQ(toString(cl.config.listen[1]), "tcp:127.0.0.1:5060");
  EXPECT_EQ(cl.config.domains, std::vector<std::string>{"localhost"});
  EXPECT_EQ(cl.config.controlSocket, "/var/lib/p2psip/control.sock");
}

TEST(DaemonConfig, FlagsOverrideTheConfigFile) {
  std::string path = writeTemp(R"(
[sip]
listen = ["udp:127.0.0.1:5070"]
domains = ["file.test"]
[daemon]
log_level = "debug"
data_dir = "/tmp/from-file"
[registrar]
min_expires = 30
)");
  CommandLine cl =
      parse({"--config", path.c_str(), "--domain", "flag.test", "--domain", "second.test",
             "--listen", "tcp:[::1]:5080", "--control-socket", "/tmp/ctl.sock"});
  std::remove(path.c_str());
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.domains, (std::vector<std::string>{"flag.test", "second.test"}));
  ASSERT_EQ(cl.config.listen.size(), 1u);
  EXPECT_EQ(toString(cl.config.listen[0]), "tcp:[::1]:5080");
  EXPECT_EQ(cl.config.logLevel, "debug");  // from the file, not overridden
  EXPECT_EQ(cl.config.dataDir, "/tmp/from-file");
  EXPECT_EQ(cl.config.controlSocket, "/tmp/ctl.sock");
  EXPECT_EQ(cl.config.minExpires.count(), 30);
}

TEST(DaemonConfig, BadSettingsExitNonZeroWithOneSentenceNamingThem) {
  struct Case {
    std::vector<const char*> args;
    const char* mentions;
  };
  for (const Case& c :
       std::vector<Case>{{{"--listen", "sctp:127.0.0.1:5060"}, "udp:, tcp: or tls:"},
                         {{"--listen", "udp:localhost:5060"}, "IP address"},
                         {{"--log-level", "loud"}, "log-level"},
                         {{"--domain", "bad domain"}, "domain"},
                         {{"--listen", "tls:127.0.0.1:5061"}, "tls-certificate"},
                         {{"--no-such-flag"}, "no-such-flag"}}) {
    CommandLine cl = parse(c.args);
    EXPECT_TRUE(cl.exitNow) << c.mentions;
    EXPECT_NE(cl.exitCode, 0) << c.mentions;
    EXPECT_NE(cl.message.find(c.mentions), std::string::npos) << cl.message;
  }
}

TEST(DaemonConfig, MalformedOrUnknownConfigFileIsRefusedWithItsLine) {
  std::string bad = writeTemp("[sip]\nlisten = [\"udp:127.0.0.1:5060\"\n");
  CommandLine cl = parse({"--config", bad.c_str()});
  std::remove(bad.c_str());
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.message.find("line"), std::string::npos) << cl.message;
  std::string unknown = writeTemp("[sipp]\nx = 1\n");
  cl = parse({"--config", unknown.c_str()});
  std::remove(unknown.c_str());
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.message.find("unknown section 'sipp'"), std::string::npos) << cl.message;
  cl = parse({"--config", "/nonexistent/p2psipd.toml"});
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.exitCode, 0);
}

TEST(DaemonConfig, InconsistentExpiryIsRefused) {
  std::string path = writeTemp("[registrar]\nmin_expires = 7200\n");
  CommandLine cl = parse({"--config", path.c_str()});
  std::remove(path.c_str());
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.message.find("min-expires"), std::string::npos);
}

}  // namespace
}  // namespace p2psip::app

namespace p2psip::app {
namespace {

TEST(OverlayConfig, DefaultsStartANewOverlayOnTheFirstListenAddress) {
  CommandLine cl = parse({});
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.dhtPort, 4222);
  EXPECT_TRUE(cl.config.bootstrap.empty());
  ASSERT_TRUE(cl.config.peerListen);
  EXPECT_EQ(cl.config.peerListen->toString(), "127.0.0.1:5071");
  EXPECT_EQ(cl.config.identityKeyType, "ed25519");
}

TEST(OverlayConfig, FlagsOverrideTheOverlaySectionOfTheFile) {
  std::string path = writeTemp(R"(
[overlay]
dht_port = 4300
bootstrap = ["198.18.0.9:4222"]
peer_listen = "198.18.0.1:6000"
identity_key_type = "ecdsa-p256"
record_lifetime_seconds = 120
)");
  CommandLine cl = parse({"--config", path.c_str(), "--dht-port", "4400", "--bootstrap",
                          "198.18.0.2:4222", "--bootstrap", "[2001:db8::2]:4222"});
  std::remove(path.c_str());
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.dhtPort, 4400);
  EXPECT_EQ(cl.config.bootstrap,
            (std::vector<std::string>{"198.18.0.2:4222", "[2001:db8::2]:4222"}));
  EXPECT_EQ(cl.config.peerListen->toString(), "198.18.0.1:6000");  // from the file
  EXPECT_EQ(cl.config.identityKeyType, "ecdsa-p256");
  EXPECT_EQ(cl.config.userRecordLifetime.count(), 120);
  cl = parse({"--peer-listen", "198.18.0.3:5071"});
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.peerListen->toString(), "198.18.0.3:5071");
}

TEST(OverlayConfig, BadOverlaySettingsAreRefusedWithOneSentence) {
  struct Case {
    std::vector<const char*> args;
    const char* mentions;
  };
  for (const Case& c : std::vector<Case>{
           {{"--bootstrap", "dht.example.org:4222"}, "names are not resolved"},
           {{"--bootstrap", "198.18.0.2"}, "bootstrap"},
           {{"--peer-listen", "0.0.0.0:5071"}, "specific address"},
           {{"--peer-listen", "127.0.0.1:5060"}, "give it its own port"},
           {{"--peer-listen", "nowhere"}, "peer-listen"},
           {{"--dht-port", "70000"}, "dht-port"},
       }) {
    CommandLine cl = parse(c.args);
    EXPECT_TRUE(cl.exitNow) << c.mentions;
    EXPECT_NE(cl.exitCode, 0) << c.mentions;
    EXPECT_NE(cl.message.find(c.mentions), std::string::npos) << cl.message;
  }
}

TEST(MediaConfig, DefaultsRelayEveryCallOnTheListenAndPeerLinkAddresses) {
  CommandLine cl = parse({"--peer-listen", "198.18.0.3:5071"});
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.mediaMode, "relay");
  EXPECT_FALSE(cl.config.offerRelay);
  EXPECT_EQ(cl.config.relayPortMin, 30000);
  EXPECT_EQ(cl.config.relayPortMax, 39999);
  EXPECT_EQ(cl.config.mediaPhoneAddress, "127.0.0.1");
  EXPECT_EQ(cl.config.mediaOverlayAddress, "198.18.0.3");
}

TEST(MediaConfig, FlagsOverrideTheMediaSectionOfTheFile) {
  std::string path = writeTemp(R"(
[media]
mode = "direct"
relay_ports = "20000-20999"
relay = true
phone_address = "127.0.0.1"
overlay_address = "198.18.0.7"
inactivity_timeout_seconds = 30
punch_check_seconds = 4
io = "epoll"
max_streams = 100
threads = 2
)");
  CommandLine cl = parse({"--config", path.c_str()});
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.mediaMode, "direct");
  EXPECT_TRUE(cl.config.offerRelay);
  EXPECT_EQ(cl.config.relayPortMin, 20000);
  EXPECT_EQ(cl.config.relayPortMax, 20999);
  EXPECT_EQ(cl.config.mediaOverlayAddress, "198.18.0.7");
  EXPECT_EQ(cl.config.mediaInactivityTimeout.count(), 30);
  EXPECT_EQ(cl.config.mediaPunchCheck.count(), 4);
  EXPECT_EQ(cl.config.mediaIo, "epoll");
  EXPECT_EQ(cl.config.maxMediaStreams, 100u);
  EXPECT_EQ(cl.config.mediaThreads, 2u);
  cl = parse({"--config", path.c_str(), "--media", "relay", "--relay-ports", "40000-40099"});
  std::remove(path.c_str());
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_EQ(cl.config.mediaMode, "relay");
  EXPECT_EQ(cl.config.relayPortMin, 40000);
  EXPECT_EQ(cl.config.relayPortMax, 40099);
  cl = parse({"--relay"});
  ASSERT_FALSE(cl.exitNow) << cl.message;
  EXPECT_TRUE(cl.config.offerRelay);
}

TEST(MediaConfig, BadMediaSettingsAreRefusedWithOneSentence) {
  struct Case {
    std::vector<const char*> args;
    const char* mentions;
  };
  for (const Case& c : std::vector<Case>{
           {{"--media", "sometimes"}, "is not relay or direct"},
           {{"--relay-ports", "30001-30100"}, "even port"},
           {{"--relay-ports", "30000"}, "MIN-MAX"},
           {{"--relay-ports", "40000-30000"}, "MIN < MAX"},
           {{"--relay-ports", "0-100"}, "MIN < MAX"},
           {{"--relay-ports", "30000-70000"}, "65535"},
           {{"--relay-ports", "a-b"}, "MIN-MAX"},
       }) {
    CommandLine cl = parse(c.args);
    EXPECT_TRUE(cl.exitNow) << c.mentions;
    EXPECT_NE(cl.exitCode, 0) << c.mentions;
    EXPECT_NE(cl.message.find(c.mentions), std::string::npos) << cl.message;
  }
  std::string path = writeTemp("[media]\noverlay_address = \"0.0.0.0\"\n");
  CommandLine cl = parse({"--config", path.c_str()});
  std::remove(path.c_str());
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.message.find("specific IP address"), std::string::npos) << cl.message;
  path = writeTemp("[media]\nio = \"select\"\n");
  cl = parse({"--config", path.c_str()});
  std::remove(path.c_str());
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.message.find("not io_uring or epoll"), std::string::npos) << cl.message;
  path = writeTemp("[media]\npunch_check_seconds = 0\n");
  cl = parse({"--config", path.c_str()});
  std::remove(path.c_str());
  EXPECT_TRUE(cl.exitNow);
  EXPECT_NE(cl.message.find("punch check"), std::string::npos) << cl.message;
}

}  // namespace
}  // namespace p2psip::app
