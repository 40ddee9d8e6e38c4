// SPDX-License-Identifier: Apache-2.0
// DaemonConfig: everything p2psipd is told, from its TOML file and then its command line (flags
// win). app/ parses and validates it once (conventions §3.4 item 10) and hands each module its own
// typed struct; nothing below app/ ever sees a string key.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/transport/transport.h"

namespace p2psip::app {

struct ListenSpec {
  transport::Protocol protocol = transport::Protocol::Udp;
  net::Endpoint endpoint{};
};

// "udp:127.0.0.1:5060", "tcp:[::1]:5060", "tls:0.0.0.0:5061"
Result<ListenSpec> parseListenSpec(std::string_view text);
std::string toString(const ListenSpec& spec);

struct DaemonConfig {
  std::vector<ListenSpec> listen;    // default: UDP and TCP on 127.0.0.1:5060
  std::vector<std::string> domains;  // first = default domain; default: "localhost"
  std::string dataDir = "/var/lib/p2psip";
  std::string controlSocket;              // default: <dataDir>/control.sock
  std::string logLevel = "info";          // trace, debug, info, warn, error, off
  std::chrono::seconds shutdownGrace{5};  // SIGTERM: time allowed for pending transactions

  // registrar (RFC 3261 §10.3)
  std::chrono::seconds defaultExpires{3600};
  std::chrono::seconds minExpires{60};
  std::chrono::seconds maxExpires{86400};
  std::size_t maxBindings = 1'000'000;
  std::size_t maxBindingsPerAor = 16;
  std::map<std::string, std::string>
      credentialsFiles;  // domain -> htdigest file; digest auth when set
  std::vector<std::string> digestAlgorithms{"SHA-256", "MD5"};  // challenge order (RFC 8760 §2.4)

  // proxy (RFC 3261 §16)
  std::size_t maxConcurrentRequests = 100'000;
  std::chrono::seconds retryAfter{5};       // in 503 answers under overload
  std::size_t maxTransactions = 1'000'000;  // RFC 6026 keeps ~3 per call for 32 s

  // transport
  std::chrono::seconds idleTimeout{300};
  std::size_t maxConnections = 4096;
  std::string tlsCertificate;  // PEM files, needed for tls: listeners
  std::string tlsPrivateKey;
  std::string tlsCa;

  // overlay (issue 4): the DHT node, peer links and node identity
  std::uint16_t dhtPort = 4222;        // UDP; 0 picks a free port
  std::string dhtBind;                 // default: the peer-link address
  std::vector<std::string> bootstrap;  // "ADDR:PORT" of peers already in the overlay; empty = new
  std::string overlayNetwork = "p2psip";    // overlays with other names never mix
  std::optional<net::Endpoint> peerListen;  // TLS peer links; default: first listen address:5071
  std::string identityKeyType = "ed25519";  // for a new identity: ed25519, ecdsa-p256, rsa-2048
  std::chrono::seconds userRecordLifetime{600};  // DHT lifetime of user and peer records
  std::chrono::seconds peerConnectTimeout{4};    // a peer that does not answer: next record / 480
  // STUN reflectors of other peers ("ADDR:PORT", UDP) that tell us our NAT class; default: each
  // bootstrap address at the default peer-link port. Ours answers on the peer-link port (UDP).
  std::vector<std::string> reflectors;

  // media (issue 5): the RTP relay (the seed's "RTP port") and how calls use it
  std::string mediaMode = "relay";  // relay: calls' media goes through our relay; direct: untouched
  std::uint16_t relayPortMin = 30000;  // RTP/RTCP port pairs, on each relay address
  std::uint16_t relayPortMax = 39999;
  bool offerRelay = false;          // --relay: relay media for other peers' calls too
  std::string mediaPhoneAddress;    // legs facing phones; default: the first listen address
  std::string mediaOverlayAddress;  // legs facing other peers; default: the peer-link address
  std::chrono::seconds mediaInactivityTimeout{60};  // a stream silent this long is released
  // A hole-punched path silent this long moves to its fallback relay (anchor::AnchorConfig).
  std::chrono::seconds mediaPunchCheck{2};
  std::size_t maxMediaStreams = 4000;  // relay streams at once (one per m= line)
  std::size_t mediaThreads = 1;        // packet-forwarding threads
  std::string mediaIo = "io_uring";    // how they move packets: io_uring, or epoll
};

// "30000-39999": the relay's port range.
Result<std::pair<std::uint16_t, std::uint16_t>> parsePortRange(std::string_view text);

// Fills in the defaults that depend on other fields (listeners, domains, control socket) and checks
// everything. The error is one sentence naming the offending setting.
Result<void> finalize(DaemonConfig& config);

// Reads a TOML configuration file into `config` (fields it does not mention keep their values).
Result<void> applyConfigFile(const std::string& path, DaemonConfig& config);

// What the command line asked for: run with a configuration, or exit at once (help, version, or a
// usage error) with a message and a status.
struct CommandLine {
  bool exitNow = false;
  int exitCode = 0;
  std::string message;
  DaemonConfig config;
};

// Parses p2psipd's flags (--config FILE, --listen, --domain, --data-dir, --control-socket,
// --log-level and the rest), reading the --config file first so that flags override it.
CommandLine parseCommandLine(int argc, const char* const* argv);

}  // namespace p2psip::app
