// SPDX-License-Identifier: Apache-2.0
#include "p2psip/app/daemon_config.h"

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <optional>
#include <sstream>
#include <tuple>

namespace p2psip::app {

namespace {
tl::unexpected<Error> configError(std::string sentence) {
  return makeError(ErrorCode::InvalidArgument, std::move(sentence));
}
}  // namespace

Result<ListenSpec> parseListenSpec(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return configError("listen address '" + std::string(text) + "' is not udp|tcp|tls:ADDR:PORT");
  }
  std::string_view proto = text.substr(0, colon);
  ListenSpec spec;
  if (proto == "udp") {
    spec.protocol = transport::Protocol::Udp;
  } else if (proto == "tcp") {
    spec.protocol = transport::Protocol::Tcp;
  } else if (proto == "tls") {
    spec.protocol = transport::Protocol::Tls;
  } else {
    return configError("listen address '" + std::string(text) +
                       "' must start with udp:, tcp: or tls:");
  }
  auto endpoint = net::Endpoint::parse(text.substr(colon + 1));
  if (!endpoint) {
    return configError("listen address '" + std::string(text) + "' needs an IP address and port (" +
                       endpoint.error().detail + ")");
  }
  spec.endpoint = *endpoint;
  return spec;
}

Result<std::pair<std::uint16_t, std::uint16_t>> parsePortRange(std::string_view text) {
  auto dash = text.find('-');
  auto number = [](std::string_view digits) -> std::optional<std::uint32_t> {
    if (digits.empty() || digits.size() > 5) return std::nullopt;
    std::uint32_t v = 0;
    for (char ch : digits) {
      if (ch < '0' || ch > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint32_t>(ch - '0');
    }
    return v;
  };
  if (dash == std::string_view::npos) {
    return configError("relay-ports '" + std::string(text) + "' is not MIN-MAX");
  }
  auto low = number(text.substr(0, dash));
  auto high = number(text.substr(dash + 1));
  if (!low || !high || *low == 0 || *high > 65535 || *low >= *high) {
    return configError("relay-ports '" + std::string(text) +
                       "' must be MIN-MAX with 0 < MIN < MAX <= 65535");
  }
  return std::pair<std::uint16_t, std::uint16_t>{static_cast<std::uint16_t>(*low),
                                                 static_cast<std::uint16_t>(*high)};
}

std::string toString(const ListenSpec& spec) {
  std::string p(transport::toString(spec.protocol));
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return p + ":" + spec.endpoint.toString();
}

Result<void> finalize(DaemonConfig& c) {
  if (c.listen.empty()) {
    auto loopback = *net::Endpoint::parse("127.0.0.1:5060");
    c.listen = {ListenSpec{transport::Protocol::Udp, loopback},
                ListenSpec{transport::Protocol::Tcp, loopback}};
  }
  if (c.domains.empty()) c.domains = {"localhost"};
  for (const auto& d : c.domains) {
    if (d.empty() || d.find_first_of(" \t:;@<>\"") != std::string::npos) {
      return configError("domain '" + d + "' is not a valid host name");
    }
  }
  if (c.dataDir.empty()) return configError("data-dir must not be empty");
  if (c.controlSocket.empty()) c.controlSocket = c.dataDir + "/control.sock";
  static constexpr const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
  bool levelOk = false;
  for (const char* l : kLevels) levelOk = levelOk || c.logLevel == l;
  if (!levelOk)
    return configError("log-level '" + c.logLevel +
                       "' is not one of trace, debug, info, warn, error, off");
  if (c.minExpires.count() <= 0) return configError("min-expires must be positive");
  if (c.minExpires > c.defaultExpires || c.defaultExpires > c.maxExpires) {
    return configError(
        "expiry settings must satisfy min-expires <= default-expires <= max-expires");
  }
  if (c.maxBindings == 0 || c.maxBindingsPerAor == 0)
    return configError("binding limits must be positive");
  if (c.maxConcurrentRequests == 0 || c.maxTransactions == 0)
    return configError("request limits must be positive");
  if (c.shutdownGrace.count() < 0) return configError("shutdown-grace must not be negative");
  bool tls = false;
  for (const auto& l : c.listen) tls = tls || l.protocol == transport::Protocol::Tls;
  if (tls && (c.tlsCertificate.empty() || c.tlsPrivateKey.empty())) {
    return configError("a tls: listener needs tls-certificate and tls-private-key");
  }
  if (c.digestAlgorithms.empty())
    return configError("auth.algorithms must name SHA-256, MD5 or both");
  for (const auto& a : c.digestAlgorithms) {
    if (a != "SHA-256" && a != "MD5")
      return configError("auth.algorithms: '" + a + "' is not SHA-256 or MD5");
  }
  if (!c.peerListen) {
    c.peerListen = net::Endpoint{c.listen.front().endpoint.address, 5071};
  }
  if (c.peerListen->port == 0 || c.peerListen->address.is_unspecified()) {
    return configError("peer-listen " + c.peerListen->toString() +
                       " needs a specific address and port: peers find it in our peer record");
  }
  for (const auto& l : c.listen) {
    if (l.endpoint == *c.peerListen) {
      return configError("peer-listen " + c.peerListen->toString() +
                         " is also a SIP listen address; give it its own port");
    }
  }
  for (const auto& b : c.bootstrap) {
    auto e = net::Endpoint::parse(b);
    if (!e || e->port == 0) {
      return configError("bootstrap '" + b +
                         "' must be an IP address and port (names are not resolved)");
    }
  }
  if (c.reflectors.empty()) {
    for (const auto& b : c.bootstrap) {
      c.reflectors.push_back(net::Endpoint{net::Endpoint::parse(b)->address, 5071}.toString());
    }
  }
  for (const auto& r : c.reflectors) {
    auto e = net::Endpoint::parse(r);
    if (!e || e->port == 0) {
      return configError("reflector '" + r + "' must be an IP address and port");
    }
  }
  if (c.identityKeyType != "ed25519" && c.identityKeyType != "ecdsa-p256" &&
      c.identityKeyType != "rsa-2048" && c.identityKeyType != "rsa-4096") {
    return configError("identity key type '" + c.identityKeyType +
                       "' is not ed25519, ecdsa-p256, rsa-2048 or rsa-4096");
  }
  if (c.userRecordLifetime < std::chrono::seconds(10)) {
    return configError("overlay record lifetime must be at least 10 seconds");
  }
  if (c.peerConnectTimeout.count() <= 0)
    return configError("peer connect timeout must be positive");
  if (c.mediaMode != "relay" && c.mediaMode != "direct") {
    return configError("media mode '" + c.mediaMode + "' is not relay or direct");
  }
  if (c.relayPortMin % 2 != 0) {
    return configError("relay-ports must start on an even port (RTP even, RTCP odd: RFC 3550 §11)");
  }
  if (c.relayPortMin >= c.relayPortMax || c.relayPortMax - c.relayPortMin < 1) {
    return configError("relay-ports must name at least one RTP/RTCP port pair");
  }
  if (c.mediaPhoneAddress.empty()) {
    c.mediaPhoneAddress = net::addressToString(c.listen.front().endpoint.address);
  }
  if (c.mediaOverlayAddress.empty()) {
    c.mediaOverlayAddress = net::addressToString(c.peerListen->address);
  }
  for (const auto* address : {&c.mediaPhoneAddress, &c.mediaOverlayAddress}) {
    asio::error_code ec;
    auto parsed = asio::ip::make_address(*address, ec);
    if (ec || parsed.is_unspecified()) {
      return configError("media address '" + *address + "' must be a specific IP address");
    }
  }
  if (c.mediaInactivityTimeout.count() <= 0) {
    return configError("media inactivity timeout must be positive");
  }
  if (c.mediaPunchCheck.count() < 1 || c.mediaPunchCheck.count() > 30) {
    return configError("media punch check must be between 1 and 30 seconds");
  }
  if (c.maxMediaStreams == 0) return configError("media max streams must be positive");
  if (c.mediaIo != "io_uring" && c.mediaIo != "epoll") {
    return configError("media io '" + c.mediaIo + "' is not io_uring or epoll");
  }
  if (c.mediaThreads == 0 || c.mediaThreads > 64) {
    return configError("media threads must be between 1 and 64");
  }
  for (const auto& [domain, file] : c.credentialsFiles) {
    bool served = false;
    for (const auto& d : c.domains) served = served || d == domain;
    if (!served)
      return configError("credentials are given for domain '" + domain + "', which is not served");
  }
  return {};
}

namespace {

template <typename T>
Result<void> readInteger(const toml::table& t, std::string_view key, T& out,
                         const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return {};
  auto v = n->value<std::int64_t>();
  if (!v || *v < 0)
    return configError(where + "." + std::string(key) + " must be a non-negative integer");
  out = static_cast<T>(*v);
  return {};
}

Result<void> readSeconds(const toml::table& t, std::string_view key, std::chrono::seconds& out,
                         const std::string& where) {
  std::int64_t v = out.count();
  auto r = readInteger(t, key, v, where);
  if (r) out = std::chrono::seconds(v);
  return r;
}

Result<void> readString(const toml::table& t, std::string_view key, std::string& out,
                        const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return {};
  auto v = n->value<std::string>();
  if (!v) return configError(where + "." + std::string(key) + " must be a string");
  out = *v;
  return {};
}

Result<void> readStrings(const toml::table& t, std::string_view key, std::vector<std::string>& out,
                         const std::string& where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return {};
  const toml::array* a = n->as_array();
  if (a == nullptr)
    return configError(where + "." + std::string(key) + " must be an array of strings");
  out.clear();
  for (const auto& e : *a) {
    auto v = e.value<std::string>();
    if (!v) return configError(where + "." + std::string(key) + " must be an array of strings");
    out.push_back(*v);
  }
  return {};
}

#define P2PSIP_TRY(expr)                  \
  do {                                    \
    if (auto r_ = (expr); !r_) return r_; \
  } while (false)

}  // namespace

Result<void> applyConfigFile(const std::string& path, DaemonConfig& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream s;
    s << "configuration file " << path << " line " << e.source().begin.line << ": "
      << e.description();
    return configError(s.str());
  }
  static constexpr std::string_view kSections[] = {
      "sip", "daemon", "registrar", "auth", "proxy", "transport", "tls", "overlay", "media"};
  for (const auto& [key, node] : root) {
    bool known = false;
    for (auto s : kSections) known = known || key.str() == s;
    if (!known || !node.is_table()) {
      return configError("configuration file " + path + " has an unknown section '" +
                         std::string(key.str()) + "'");
    }
  }
  auto section = [&](std::string_view name) -> const toml::table& {
    static const toml::table kEmpty;
    const toml::table* t = root.get_as<toml::table>(name);
    return t ? *t : kEmpty;
  };
  const toml::table& sip = section("sip");
  std::vector<std::string> listen;
  P2PSIP_TRY(readStrings(sip, "listen", listen, "sip"));
  for (const auto& l : listen) {
    auto spec = parseListenSpec(l);
    if (!spec) return tl::unexpected(spec.error());
    c.listen.push_back(*spec);
  }
  P2PSIP_TRY(readStrings(sip, "domains", c.domains, "sip"));
  const toml::table& daemon = section("daemon");
  P2PSIP_TRY(readString(daemon, "data_dir", c.dataDir, "daemon"));
  P2PSIP_TRY(readString(daemon, "control_socket", c.controlSocket, "daemon"));
  P2PSIP_TRY(readString(daemon, "log_level", c.logLevel, "daemon"));
  P2PSIP_TRY(readSeconds(daemon, "shutdown_grace_seconds", c.shutdownGrace, "daemon"));
  const toml::table& reg = section("registrar");
  P2PSIP_TRY(readSeconds(reg, "default_expires", c.defaultExpires, "registrar"));
  P2PSIP_TRY(readSeconds(reg, "min_expires", c.minExpires, "registrar"));
  P2PSIP_TRY(readSeconds(reg, "max_expires", c.maxExpires, "registrar"));
  P2PSIP_TRY(readInteger(reg, "max_bindings", c.maxBindings, "registrar"));
  P2PSIP_TRY(readInteger(reg, "max_bindings_per_aor", c.maxBindingsPerAor, "registrar"));
  P2PSIP_TRY(readStrings(section("auth"), "algorithms", c.digestAlgorithms, "auth"));
  if (const toml::table* creds = section("auth").get_as<toml::table>("credentials")) {
    for (const auto& [domain, file] : *creds) {
      auto v = file.value<std::string>();
      if (!v)
        return configError("auth.credentials." + std::string(domain.str()) +
                           " must be a file name");
      c.credentialsFiles[std::string(domain.str())] = *v;
    }
  }
  const toml::table& proxy = section("proxy");
  P2PSIP_TRY(readInteger(proxy, "max_concurrent_requests", c.maxConcurrentRequests, "proxy"));
  P2PSIP_TRY(readInteger(proxy, "max_transactions", c.maxTransactions, "proxy"));
  P2PSIP_TRY(readSeconds(proxy, "retry_after_seconds", c.retryAfter, "proxy"));
  const toml::table& tr = section("transport");
  P2PSIP_TRY(readSeconds(tr, "idle_timeout_seconds", c.idleTimeout, "transport"));
  P2PSIP_TRY(readInteger(tr, "max_connections", c.maxConnections, "transport"));
  const toml::table& tls = section("tls");
  P2PSIP_TRY(readString(tls, "certificate", c.tlsCertificate, "tls"));
  P2PSIP_TRY(readString(tls, "private_key", c.tlsPrivateKey, "tls"));
  P2PSIP_TRY(readString(tls, "ca", c.tlsCa, "tls"));
  const toml::table& overlay = section("overlay");
  std::int64_t dhtPort = c.dhtPort;
  P2PSIP_TRY(readInteger(overlay, "dht_port", dhtPort, "overlay"));
  if (dhtPort > 65535) return configError("overlay.dht_port must be at most 65535");
  c.dhtPort = static_cast<std::uint16_t>(dhtPort);
  P2PSIP_TRY(readString(overlay, "dht_bind", c.dhtBind, "overlay"));
  P2PSIP_TRY(readStrings(overlay, "bootstrap", c.bootstrap, "overlay"));
  P2PSIP_TRY(readStrings(overlay, "reflectors", c.reflectors, "overlay"));
  P2PSIP_TRY(readString(overlay, "network", c.overlayNetwork, "overlay"));
  std::string peerListen;
  P2PSIP_TRY(readString(overlay, "peer_listen", peerListen, "overlay"));
  if (!peerListen.empty()) {
    auto e = net::Endpoint::parse(peerListen);
    if (!e) return configError("overlay.peer_listen '" + peerListen + "' is not ADDR:PORT");
    c.peerListen = *e;
  }
  P2PSIP_TRY(readString(overlay, "identity_key_type", c.identityKeyType, "overlay"));
  P2PSIP_TRY(readSeconds(overlay, "record_lifetime_seconds", c.userRecordLifetime, "overlay"));
  P2PSIP_TRY(readSeconds(overlay, "peer_connect_timeout_seconds", c.peerConnectTimeout, "overlay"));
  const toml::table& media = section("media");
  P2PSIP_TRY(readString(media, "mode", c.mediaMode, "media"));
  std::string ports;
  P2PSIP_TRY(readString(media, "relay_ports", ports, "media"));
  if (!ports.empty()) {
    auto range = parsePortRange(ports);
    if (!range) return tl::unexpected(range.error());
    std::tie(c.relayPortMin, c.relayPortMax) = *range;
  }
  if (const toml::node* relay = media.get("relay")) {
    auto v = relay->value<bool>();
    if (!v) return configError("media.relay must be true or false");
    c.offerRelay = *v;
  }
  P2PSIP_TRY(readString(media, "phone_address", c.mediaPhoneAddress, "media"));
  P2PSIP_TRY(readString(media, "overlay_address", c.mediaOverlayAddress, "media"));
  P2PSIP_TRY(readSeconds(media, "inactivity_timeout_seconds", c.mediaInactivityTimeout, "media"));
  P2PSIP_TRY(readSeconds(media, "punch_check_seconds", c.mediaPunchCheck, "media"));
  P2PSIP_TRY(readInteger(media, "max_streams", c.maxMediaStreams, "media"));
  P2PSIP_TRY(readInteger(media, "threads", c.mediaThreads, "media"));
  P2PSIP_TRY(readString(media, "io", c.mediaIo, "media"));
  return {};
}

CommandLine parseCommandLine(int argc, const char* const* argv) {
  CommandLine out;
  CLI::App cli{"p2psipd: the p2psip peer daemon (registrar and stateful proxy for SIP phones)"};
  std::string configFile;
  std::vector<std::string> listen;
  std::vector<std::string> domains;
  std::string dataDir, controlSocket, logLevel;
  std::optional<std::uint16_t> dhtPort;
  std::vector<std::string> bootstrap;
  std::vector<std::string> reflectors;
  std::string peerListen;
  std::string relayPorts, mediaMode;
  bool offerRelay = false;
  cli.add_option("--config", configFile, "TOML configuration file; flags override it");
  cli.add_option("--listen", listen, "udp|tcp|tls:ADDR:PORT to listen on; repeatable");
  cli.add_option("--domain", domains,
                 "a domain this peer serves; repeatable, the first is the default");
  cli.add_option("--data-dir", dataDir, "directory for the peer's state");
  cli.add_option("--control-socket", controlSocket, "UNIX socket for p2psipctl");
  cli.add_option("--log-level", logLevel, "trace, debug, info, warn, error or off");
  cli.add_option("--dht-port", dhtPort, "UDP port of the overlay's DHT node (default 4222)");
  cli.add_option("--bootstrap", bootstrap,
                 "ADDR:PORT of a DHT node already in the overlay; repeatable; none = new overlay");
  cli.add_option("--reflector", reflectors,
                 "ADDR:PORT of another peer's STUN reflector (UDP), to learn our NAT; repeatable "
                 "(default: the bootstrap addresses at port 5071)");
  cli.add_option("--peer-listen", peerListen,
                 "ADDR:PORT for TLS peer links (default: first listen address, port 5071)");
  cli.add_option(
      "--relay-ports", relayPorts,
      "MIN-MAX UDP ports of the media relay, on each relay address (default 30000-39999)");
  cli.add_flag("--relay", offerRelay, "relay media for other peers' calls, too");
  cli.add_option("--media", mediaMode,
                 "relay: calls' media goes through this peer's relay (default); direct: SDP "
                 "untouched");
  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out.exitNow = true;
    out.message = cli.help();
    return out;
  } catch (const CLI::ParseError& e) {
    // One sentence on one line, like every other start-up error.
    out.exitNow = true;
    out.exitCode = 2;
    std::string what = e.what();
    for (char& ch : what) {
      if (ch == '\n') ch = ' ';
    }
    out.message = "p2psipd: " + what + " (see --help)\n";
    return out;
  }
  if (!configFile.empty()) {
    if (auto r = applyConfigFile(configFile, out.config); !r) {
      out.exitNow = true;
      out.exitCode = 2;
      out.message = "p2psipd: " + r.error().detail + "\n";
      return out;
    }
  }
  if (!listen.empty()) {
    out.config.listen.clear();
    for (const auto& l : listen) {
      auto spec = parseListenSpec(l);
      if (!spec) {
        out.exitNow = true;
        out.exitCode = 2;
        out.message = "p2psipd: " + spec.error().detail + "\n";
        return out;
      }
      out.config.listen.push_back(*spec);
    }
  }
  if (!domains.empty()) out.config.domains = domains;
  if (!dataDir.empty()) out.config.dataDir = dataDir;
  if (!controlSocket.empty()) out.config.controlSocket = controlSocket;
  if (!logLevel.empty()) out.config.logLevel = logLevel;
  if (dhtPort) out.config.dhtPort = *dhtPort;
  if (!bootstrap.empty()) out.config.bootstrap = bootstrap;
  if (!reflectors.empty()) out.config.reflectors = reflectors;
  if (!peerListen.empty()) {
    auto e = net::Endpoint::parse(peerListen);
    if (!e) {
      out.exitNow = true;
      out.exitCode = 2;
      out.message = "p2psipd: peer-listen '" + peerListen + "' is not ADDR:PORT\n";
      return out;
    }
    out.config.peerListen = *e;
  }
  if (!relayPorts.empty()) {
    auto range = parsePortRange(relayPorts);
    if (!range) {
      out.exitNow = true;
      out.exitCode = 2;
      out.message = "p2psipd: " + range.error().detail + "\n";
      return out;
    }
    std::tie(out.config.relayPortMin, out.config.relayPortMax) = *range;
  }
  if (offerRelay) out.config.offerRelay = true;
  if (!mediaMode.empty()) out.config.mediaMode = mediaMode;
  if (auto r = finalize(out.config); !r) {
    out.exitNow = true;
    out.exitCode = 2;
    out.message = "p2psipd: " + r.error().detail + "\n";
  }
  return out;
}

}  // namespace p2psip::app
