// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "p2psip/dht/open_dht_lookup_service.h"

namespace p2psip::dht {
namespace {

using namespace std::chrono_literals;

DhtConfig withBootstrap(std::string entry) {
  DhtConfig config;
  config.bootstrap = {std::move(entry)};
  return config;
}

void expectRefused(const DhtConfig& config, std::string_view mentioning) {
  const auto result = validate(config);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::InvalidArgument);
  EXPECT_NE(result.error().detail.find(mentioning), std::string::npos) << result.error().detail;
}

TEST(DhtConfig, DefaultsAreValid) {
  EXPECT_TRUE(validate(DhtConfig{}).has_value());
}

TEST(DhtConfig, AcceptsIpLiteralBootstrapEntries) {
  DhtConfig config;
  config.bootstrap = {"192.0.2.1:4222", "[2001:db8::1]:4222", "127.0.0.1:1"};
  config.bindAddress = "::1";
  config.port = 0;
  EXPECT_TRUE(validate(config).has_value());
}

TEST(DhtConfig, RefusesHostnamesSoTheResolverIsNeverUsed) {
  expectRefused(withBootstrap("bootstrap.jami.net:4222"), "bootstrap.jami.net:4222");
  expectRefused(withBootstrap("localhost:4222"), "localhost:4222");
}

TEST(DhtConfig, RefusesBootstrapEntriesWithoutAUsablePort) {
  expectRefused(withBootstrap("192.0.2.1"), "192.0.2.1");
  expectRefused(withBootstrap("192.0.2.1:0"), "192.0.2.1:0");
  expectRefused(withBootstrap("192.0.2.1:65536"), "192.0.2.1:65536");
  expectRefused(withBootstrap("192.0.2.1:-1"), "192.0.2.1:-1");
  expectRefused(withBootstrap("2001:db8::1:4222"), "2001:db8::1:4222");  // needs brackets
  expectRefused(withBootstrap("[2001:db8::1]"), "[2001:db8::1]");
  expectRefused(withBootstrap(""), "bootstrap");
}

TEST(DhtConfig, RefusesUnreachableBootstrapAddresses) {
  expectRefused(withBootstrap("0.0.0.0:4222"), "0.0.0.0:4222");
  expectRefused(withBootstrap("[::]:4222"), "[::]:4222");
  expectRefused(withBootstrap("224.0.0.1:4222"), "224.0.0.1:4222");
}

TEST(DhtConfig, RefusesABindAddressThatIsNotALiteral) {
  DhtConfig config;
  config.bindAddress = "localhost";
  expectRefused(config, "bindAddress");
}

TEST(DhtConfig, RefusesBadSizesAndDurations) {
  DhtConfig config;
  config.network.clear();
  expectRefused(config, "network");

  config = DhtConfig{};
  config.maxValueBytes = 0;
  expectRefused(config, "maxValueBytes");
  config.maxValueBytes = 1024 * 1024;
  expectRefused(config, "maxValueBytes");

  config = DhtConfig{};
  config.maxLifetime = 0s;
  expectRefused(config, "maxLifetime");
  config.maxLifetime = 2h;  // longer than the longest lifetime class
  expectRefused(config, "maxLifetime");

  config = DhtConfig{};
  config.removedLifetime = -1s;
  expectRefused(config, "removedLifetime");
  config.removedLifetime = config.maxLifetime + 1s;
  expectRefused(config, "removedLifetime");

  config = DhtConfig{};
  config.bootstrapRetry = 10ms;
  expectRefused(config, "bootstrapRetry");

  config = DhtConfig{};
  config.maxStoreBytes = 64 * 1024;
  expectRefused(config, "maxStoreBytes");

  config = DhtConfig{};
  config.maxRequestsPerSecond = 0;  // would mean OpenDHT's default, not "none"
  expectRefused(config, "maxRequestsPerSecond");
  config = DhtConfig{};
  config.maxPeerRequestsPerSecond = config.maxRequestsPerSecond + 1;
  expectRefused(config, "maxPeerRequestsPerSecond");
}

TEST(DhtConfig, TheDefaultStoreHoldsTheRecordsOfTheDefaultBindingLimit) {
  // OpenDHT's own 64 MiB would be outgrown near 100,000 users (3 replicas of a ~500-byte signed
  // record, each with its storage overhead), after which every put rescans the whole store.
  const DhtConfig config;
  const std::size_t users = 1'000'000;  // BindingStoreConfig::maxBindings
  EXPECT_GE(config.maxStoreBytes, users * config.replicas * 600);
}

}  // namespace
}  // namespace p2psip::dht
