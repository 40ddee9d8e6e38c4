// SPDX-License-Identifier: Apache-2.0
#include "p2psip/app/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/signal_set.hpp>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "p2psip/anchor/media_anchor.h"
#include "p2psip/anchor/relay_control_client.h"
#include "p2psip/app/control_server.h"
#include "p2psip/dht/open_dht_lookup_service.h"
#include "p2psip/identity/node_identity.h"
#include "p2psip/identity/record_signer.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/location/location_service.h"
#include "p2psip/location/overlay_location_service.h"
#include "p2psip/location/user_record_publisher.h"
#include "p2psip/media/relay_engine.h"
#include "p2psip/media/relay_service.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/net/tls_context.h"
#include "p2psip/overlay/peer_directory.h"
#include "p2psip/overlay/relay_directory.h"
#include "p2psip/proxy/proxy_core.h"
#include "p2psip/reachability/prober.h"
#include "p2psip/reachability/reflector.h"
#include "p2psip/registrar/registrar.h"
#include "p2psip/sip/aor.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transport/transport_layer.h"
#include "peer_directory_resolver.h"
#include "peer_frame_dispatch.h"
#include "relay_directory_picker.h"
#include "transaction_user_gate.h"

namespace p2psip::app {

namespace {

std::string lowerProtocol(transport::Protocol p) {
  std::string s(transport::toString(p));
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Hands REGISTERs the proxy does not forward to the registrar (the proxy cannot see registrar).
class RegistrarSink final : public proxy::RequestSink {
 public:
  explicit RegistrarSink(registrar::Registrar& registrar) : registrar_(registrar) {}
  void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& flow) override {
    registrar_.onRegister(id, std::move(request), flow);
  }

 private:
  registrar::Registrar& registrar_;
};

sip::LocalDomains makeDomains(const DaemonConfig& c) {
  std::vector<std::string> hosts;
  for (const auto& l : c.listen) hosts.push_back(net::addressToString(l.endpoint.address));
  if (c.peerListen) hosts.push_back(net::addressToString(c.peerListen->address));
  return sip::LocalDomains(c.domains, hosts);
}

template <typename T>
T orThrow(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().detail);
  return std::move(*r);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

asio::ip::address addressOf(const std::string& text) {
  return asio::ip::make_address(text);  // finalize() checked it
}

media::RelayConfig relayConfigFor(const DaemonConfig& c) {
  media::RelayConfig r;
  r.portMin = c.relayPortMin;
  r.portMax = c.relayPortMax;
  r.addresses = {addressOf(c.mediaPhoneAddress)};
  if (addressOf(c.mediaOverlayAddress) != r.addresses.front()) {
    r.addresses.push_back(addressOf(c.mediaOverlayAddress));
  }
  r.inactivityTimeout = c.mediaInactivityTimeout;
  r.maxStreams = c.maxMediaStreams;
  r.workerThreads = c.mediaThreads;
  r.ioBackend = c.mediaIo == "epoll" ? media::IoBackend::Epoll : media::IoBackend::IoUring;
  // Bursts of a few hundred streams' packets arrive together after a scheduling hiccup.
  r.socketBufferBytes = 256 * 1024;
  if (auto ok = media::validate(r); !ok) throw std::runtime_error(ok.error().detail);
  return r;
}

overlay::Reachability toOverlayReachability(reachability::NatClass nat) {
  switch (nat) {
    case reachability::NatClass::Public:
      return overlay::Reachability::Public;
    case reachability::NatClass::FullCone:
      return overlay::Reachability::FullCone;
    case reachability::NatClass::RestrictedCone:
      return overlay::Reachability::RestrictedCone;
    case reachability::NatClass::Symmetric:
      return overlay::Reachability::Symmetric;
    case reachability::NatClass::Unknown:
      break;
  }
  return overlay::Reachability::Unknown;
}

anchor::NatClass toAnchorNat(reachability::NatClass nat) {
  switch (nat) {
    case reachability::NatClass::Public:
      return anchor::NatClass::Public;
    case reachability::NatClass::FullCone:
      return anchor::NatClass::FullCone;
    case reachability::NatClass::RestrictedCone:
      return anchor::NatClass::RestrictedCone;
    case reachability::NatClass::Symmetric:
      return anchor::NatClass::Symmetric;
    case reachability::NatClass::Unknown:
      break;
  }
  return anchor::NatClass::Unknown;
}

identity::NodeIdentity loadIdentity(const DaemonConfig& c) {
  identity::IdentityConfig config;
  config.directory = c.dataDir + "/identity";
  config.keyType = orThrow(identity::parseKeyType(c.identityKeyType));
  return orThrow(identity::NodeIdentity::loadOrCreate(config));
}

}  // namespace

class Daemon::Impl {
 public:
  Impl(const DaemonConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        log_(std::move(log)),
        timers_(loop_),
        domains_(makeDomains(config)),
        identity_(loadIdentity(config)),
        signals_(loop_.context(), SIGINT, SIGTERM) {
    for (const auto& l : config_.listen) {
      if (l.endpoint.address.is_unspecified()) {
        throw std::runtime_error("listen address " + toString(l) +
                                 " is a wildcard; give the specific address phones will use");
      }
    }
    std::error_code ec;
    std::filesystem::create_directories(config_.dataDir, ec);
    if (ec)
      throw std::runtime_error("cannot create data directory " + config_.dataDir + ": " +
                               ec.message());

    bool tls = std::any_of(config_.listen.begin(), config_.listen.end(), [](const ListenSpec& l) {
      return l.protocol == transport::Protocol::Tls;
    });
    if (tls) {
      net::TlsConfig tlsConfig;
      tlsConfig.certificateChainFile = config_.tlsCertificate;
      tlsConfig.privateKeyFile = config_.tlsPrivateKey;
      tlsConfig.caFile = config_.tlsCa;
      tls_ = orThrow(net::TlsContext::fromFiles(tlsConfig));
    }

    // Peer links: mutual TLS with node certificates; the key, not a CA, says who a peer is.
    net::TlsConfig peerTlsConfig;
    peerTlsConfig.certificateChainFile = identity_.certificateFile();
    peerTlsConfig.privateKeyFile = identity_.privateKeyFile();
    peerTlsConfig.verifyPeer = net::PeerVerification::AnyCertificate;
    peerTls_ = orThrow(net::TlsContext::fromFiles(peerTlsConfig));

    transport::TransportConfig transportConfig;
    transportConfig.idleTimeout = config_.idleTimeout;
    transportConfig.connectTimeout = config_.peerConnectTimeout;
    transportConfig.sentBy.push_back(config_.peerListen->toString());
    transportConfig.peerLinkSource = config_.peerListen->address;
    // RFC 5626 §4.4.1 CRLF pings on the links we open: a peer behind a NAT keeps its rendezvous
    // link (and the NAT binding under it) alive with them; 25 s stays under common NAT timeouts.
    transportConfig.keepAlive.pingInterval = std::chrono::seconds(25);
    transportConfig.maxConnections = config_.maxConnections;
    for (const auto& l : config_.listen) transportConfig.sentBy.push_back(l.endpoint.toString());
    if (auto r = transport::validate(transportConfig); !r)
      throw std::runtime_error(r.error().detail);
    transport_ = std::make_unique<transport::TransportLayer>(loop_, timers_, metrics_, Logger(log_),
                                                             transportConfig, tls_);

    transaction::TransactionConfig transactionConfig;
    transactionConfig.maxTransactions = config_.maxTransactions;
    transactions_ = std::make_unique<transaction::TransactionLayer>(
        *transport_, timers_, gate_, transactionConfig, metrics_, Logger(log_));
    transport_->setInboundHandler(*transactions_);
    transport_->setPeerLinkTls(peerTls_);

    location::BindingStoreConfig storeConfig;
    storeConfig.maxBindings = config_.maxBindings;
    storeConfig.maxBindingsPerAor = config_.maxBindingsPerAor;
    if (auto r = location::validate(storeConfig); !r) throw std::runtime_error(r.error().detail);
    bindings_ = std::make_unique<location::BindingStore>(storeConfig, timers_);

    registrar::RegistrarConfig registrarConfig;
    registrarConfig.defaultExpires = config_.defaultExpires;
    registrarConfig.minExpires = config_.minExpires;
    registrarConfig.maxExpires = config_.maxExpires;
    registrarConfig.digestAlgorithms.clear();
    for (const auto& a : config_.digestAlgorithms) {
      registrarConfig.digestAlgorithms.push_back(a == "MD5" ? registrar::DigestAlgorithm::Md5
                                                            : registrar::DigestAlgorithm::Sha256);
    }
    for (const auto& [domain, file] : config_.credentialsFiles) {
      registrarConfig.authentication.push_back(registrar::DomainCredentials{domain, file});
    }
    registrar_ = std::make_unique<registrar::Registrar>(
        registrarConfig, domains_, *bindings_, *transactions_, timers_, metrics_, Logger(log_));
    dht::DhtConfig dhtConfig;
    dhtConfig.port = config_.dhtPort;
    dhtConfig.bindAddress = config_.dhtBind.empty()
                                ? net::addressToString(config_.peerListen->address)
                                : config_.dhtBind;
    dhtConfig.bootstrap = config_.bootstrap;
    dhtConfig.network = config_.overlayNetwork;
    if (auto r = dht::validate(dhtConfig); !r) throw std::runtime_error(r.error().detail);
    dht_ = std::make_unique<dht::OpenDhtLookupService>(dhtConfig, loop_, metrics_, Logger(log_));

    overlay::PeerDirectoryConfig directoryConfig;
    directoryConfig.recordLifetime = config_.userRecordLifetime;
    directory_ = std::make_unique<overlay::PeerDirectory>(
        directoryConfig, *dht_, identity_, timers_, &systemWallClock, metrics_, Logger(log_));
    resolver_ = std::make_unique<PeerDirectoryResolver>(*directory_);
    relays_ = std::make_unique<overlay::RelayDirectory>(overlay::RelayDirectoryConfig{}, *dht_,
                                                        identity_, timers_, &systemWallClock,
                                                        metrics_, Logger(log_));
    picker_ = std::make_unique<RelayDirectoryPicker>(*relays_, identity_.nodeId(), timers_);
    location_ = std::make_unique<location::OverlayLocationService>(
        location::OverlayLocationConfig{}, *bindings_,
        [this](std::string_view aor) { return registrar_->isKnownUser(aor); }, *dht_, *resolver_,
        identity_.nodeId(), timers_, &systemWallClock, metrics_, Logger(log_));
    location::UserRecordPublisherConfig publisherConfig;
    publisherConfig.recordLifetime = config_.userRecordLifetime;
    // Signing stays off the signalling loop (docs/adr/0003); results come back through post().
    signer_ = std::make_unique<identity::ThreadedRecordSigner>(
        identity_, [this](std::function<void()> fn) { loop_.post(std::move(fn)); });
    publisher_ = std::make_unique<location::UserRecordPublisher>(
        publisherConfig, *bindings_, *dht_, identity_, *signer_, timers_, &systemWallClock,
        metrics_, Logger(log_));
    sink_ = std::make_unique<RegistrarSink>(*registrar_);

    // The relay runs whenever calls use it or other peers may; its threads start in start().
    if (config_.mediaMode == "relay" || config_.offerRelay) {
      relay_ = std::make_unique<media::RelayEngine>(
          relayConfigFor(config_), [this](std::function<void()> fn) { loop_.post(std::move(fn)); },
          metrics_, Logger(log_));
    }
    // The relay control protocol: our requests to other peers' relays, and (--relay) theirs to
    // ours, over the peer links (docs/relay-control-protocol.md).
    relayClient_ = std::make_unique<anchor::RelayControlClient>(
        [this](std::string frame, const transport::Target& to) {
          return transport_->sendPeerFrame(std::move(frame), to);
        },
        timers_, std::chrono::seconds(3), metrics_, Logger(log_));
    if (config_.offerRelay) {
      media::RelayServiceConfig serviceConfig;
      serviceConfig.addresses = {addressOf(config_.mediaOverlayAddress)};
      serviceConfig.maxStreams = std::max<std::size_t>(1, config_.maxMediaStreams / 2);
      if (auto ok = media::validate(serviceConfig); !ok)
        throw std::runtime_error(ok.error().detail);
      relayService_ = std::make_unique<media::RelayService>(
          *relay_, serviceConfig, [](std::string_view) { return true; }, metrics_, Logger(log_));
    }
    frames_ = std::make_unique<PeerFrameDispatch>(*transport_, *directory_, relayService_.get(),
                                                  *relayClient_, metrics_, Logger(log_));
    transport_->setPeerFrameHandler(*frames_);
    frames_->onLinkClosed([this](const std::string& peer) {
      if (rendezvous_ && rendezvous_->node == peer) {
        log_->info("the link to our rendezvous {} closed; finding one again", peer.substr(0, 8));
        rendezvous_.reset();
        publishPeerRecord();
        timers_.schedule(std::chrono::seconds(1), [this] { ensureRendezvous(); });
      }
    });
    if (config_.mediaMode == "relay") {
      anchor::AnchorConfig anchorConfig;
      anchorConfig.phoneAddress = addressOf(config_.mediaPhoneAddress);
      anchorConfig.overlayAddress = addressOf(config_.mediaOverlayAddress);
      anchorConfig.relayAddresses = relayConfigFor(config_).addresses;
      anchorConfig.maxSessions = config_.maxMediaStreams;
      anchorConfig.punchCheck = config_.mediaPunchCheck;
      anchor_ = std::make_unique<anchor::MediaAnchor>(*relay_, anchorConfig, metrics_, Logger(log_),
                                                      relayClient_.get(), picker_.get());
    }
    if (relay_) {
      relay_->onTimeout([this](media::StreamId id) {
        if (relayService_ && relayService_->onStreamTimedOut(id)) return;
        if (anchor_) anchor_->onStreamTimedOut(id);
      });
    }

    proxy::ProxyConfig proxyConfig;
    for (const auto& l : config_.listen) {
      proxyConfig.addresses.push_back(proxy::ProxyAddress{
          l.protocol, net::addressToString(l.endpoint.address), l.endpoint.port});
    }
    proxyConfig.addresses.push_back(proxy::ProxyAddress{
        transport::Protocol::Tls, net::addressToString(config_.peerListen->address),
        config_.peerListen->port, true, identity_.nodeId().toHex()});
    proxyConfig.maxConcurrentRequests = config_.maxConcurrentRequests;
    proxyConfig.overloadRetryAfterSeconds = static_cast<std::uint32_t>(config_.retryAfter.count());
    proxy_ = std::make_unique<proxy::ProxyCore>(*transactions_, *location_, domains_, proxyConfig,
                                                *sink_, metrics_, Logger(log_), anchor_.get());
    gate_.attach(*transactions_, *proxy_);

    control_ = std::make_unique<ControlServer>(
        loop_, Logger(log_), [this](std::string_view command) { return control(command); });
  }

  Result<void> start() {
    for (const auto& l : config_.listen) {
      auto bound = transport_->addListener(l.protocol, l.endpoint);
      if (!bound) {
        return makeError(ErrorCode::TransportError,
                         "cannot listen on " + toString(l) + ": " + bound.error().detail);
      }
    }
    if (auto bound = transport_->addListener(transport::Protocol::Tls, *config_.peerListen,
                                             transport::ListenerRole::PeerLinks);
        !bound) {
      return makeError(ErrorCode::TransportError, "cannot listen for peer links on " +
                                                      config_.peerListen->toString() + ": " +
                                                      bound.error().detail);
    }
    if (relay_) {
      if (auto r = relay_->start(); !r) {
        return makeError(ErrorCode::TransportError,
                         "cannot start the media relay: " + r.error().detail);
      }
    }
    if (auto r = dht_->start(); !r) {
      return makeError(ErrorCode::TransportError, "cannot start the DHT node on UDP port " +
                                                      std::to_string(config_.dhtPort) + ": " +
                                                      r.error().detail);
    }
    // Our STUN reflector answers other peers on the peer-link port (UDP); a peer that cannot bind
    // it (another on the same address) still works, it only does not help others measure.
    reachability::ReflectorConfig reflectorConfig;
    reflectorConfig.primary = *config_.peerListen;
    reflector_ = std::make_unique<reachability::Reflector>(loop_, timers_, metrics_,
                                                           reflectorConfig, Logger(log_));
    if (auto r = reflector_->start(); !r) {
      log_->warn("no STUN reflector for other peers: {}", r.error().detail);
      reflector_.reset();
    }
    timers_.schedule(std::chrono::milliseconds(500), [this] { probeReachability(); });
    directory_->publish({overlay::PeerEndpoint{overlay::LinkTransport::Tls, *config_.peerListen}},
                        config_.offerRelay ? overlay::kCapabilityRelay : 0u);
    log_->info("node {} in overlay '{}': DHT on UDP {}, peer links on tls:{}, {}",
               identity_.nodeId().toHex(), config_.overlayNetwork, dht_->boundPort(),
               config_.peerListen->toString(),
               config_.bootstrap.empty() ? std::string("starting a new overlay")
                                         : "bootstrapping from " + join(config_.bootstrap));
    if (auto r = control_->listen(config_.controlSocket); !r) return r;
    signals_.async_wait([this](const std::error_code& ec, int signal) {
      if (ec) return;
      log_->info("received signal {}, shutting down", signal);
      beginShutdown();
    });
    started_ = timers_.now();
    return {};
  }

  void run() { loop_.run(); }
  asio::io_context& loopContext() { return loop_.context(); }

  void beginShutdown() {
    if (gate_.draining()) return;
    gate_.close(config_.retryAfter);
    shutdownDeadline_ = timers_.now() + config_.shutdownGrace;
    // Leave the overlay cleanly: our users and our peer record go at once, not at expiry.
    const Duration withdrawBound =
        std::min<Duration>(config_.shutdownGrace, std::chrono::seconds(3));
    publisher_->withdrawAll(withdrawBound, [this] { usersWithdrawn_ = true; });
    directory_->withdraw(withdrawBound, [this] { peerWithdrawn_ = true; });
    if (relays_->stats().offering) relays_->withdraw(withdrawBound, [] {});
    checkShutdown();
  }

  std::string banner() const {
    std::ostringstream s;
    s << "p2psipd is serving ";
    for (std::size_t i = 0; i < config_.domains.size(); ++i)
      s << (i ? ", " : "") << config_.domains[i];
    s << ".\nPoint phones' registrar and outbound proxy at";
    for (const auto& l : config_.listen)
      s << " " << lowerProtocol(l.protocol) << ":" << l.endpoint.toString();
    s << "\nand register them as sip:USER@" << config_.domains.front() << ".\n";
    s << "Overlay node " << identity_.nodeId().toHex() << ": DHT on UDP " << config_.dhtPort
      << ", peer links on tls:" << config_.peerListen->toString() << ", "
      << (config_.bootstrap.empty() ? std::string("a new overlay (others join with --bootstrap ") +
                                          net::addressToString(config_.peerListen->address) + ":" +
                                          std::to_string(config_.dhtPort) + ")"
                                    : "joining via " + join(config_.bootstrap))
      << ".\n";
    s << "Media: " << (config_.mediaMode == "relay" ? "through this peer's relay" : "direct")
      << (relay_ ? ", relay ports " + std::to_string(config_.relayPortMin) + "-" +
                       std::to_string(config_.relayPortMax) + " on " + config_.mediaPhoneAddress +
                       (config_.mediaOverlayAddress != config_.mediaPhoneAddress
                            ? " and " + config_.mediaOverlayAddress
                            : std::string())
                 : std::string())
      << (config_.offerRelay ? ", relaying for other peers" : "") << ".\n";
    s << "Control socket: " << config_.controlSocket << " (p2psipctl --control-socket "
      << config_.controlSocket << " status)\n";
    return s.str();
  }

  std::string control(std::string_view command) {
    std::ostringstream out;
    if (command == "status") {
      auto seconds =
          std::chrono::duration_cast<std::chrono::seconds>(timers_.now() - started_).count();
      out << "state: " << (gate_.draining() ? "draining" : "running") << "\n";
      out << "uptime_seconds: " << seconds << "\n";
      out << "domains:";
      for (const auto& d : config_.domains) out << " " << d;
      out << "\nlisteners:";
      for (const auto& l : transport_->listeners())
        out << " " << lowerProtocol(l.protocol) << ":" << l.local.toString();
      out << "\naors: " << bindings_->aorCount() << "\nbindings: " << bindings_->size()
          << "\ntransactions: " << transactions_->size()
          << "\nrequests_in_flight: " << proxy_->activeRequests()
          << "\nconnections: " << transport_->stats().connections << "\n";
      out << "media: " << config_.mediaMode << (config_.offerRelay ? " (relay offered)" : "")
          << "\n";
      if (relay_) {
        out << "relay_io: " << media::toString(relay_->ioBackend())
            << "\nrelay_streams: " << relay_->active()
            << "\nrelay_free_port_pairs: " << relay_->freePortPairs() << "\n";
      }
      if (anchor_) out << "media_sessions: " << anchor_->sessions() << "\n";
      if (relayService_) {
        out << "relayed_for_peers: " << relayService_->totalStreams()
            << "\nrelay_client_peers: " << relayService_->peers() << "\n";
      }
    } else if (command == "bindings") {
      const TimePoint now = timers_.now();
      auto all = bindings_->snapshot(100000);
      out << all.size() << " bindings\n";
      for (const auto& b : all) {
        auto left = std::chrono::duration_cast<std::chrono::seconds>(b.expires - now).count();
        out << b.aor << " contact=<" << b.contactUri << "> expires_in=" << left
            << " q=" << b.q / 1000 << "." << (b.q % 1000) / 100
            << " flow=" << lowerProtocol(static_cast<transport::Protocol>(b.flow.transport)) << ":"
            << b.flow.remote.toString();
        if (b.flow.connection != 0) out << " connection=" << b.flow.connection;
        if (!b.instanceId.empty()) out << " instance=" << b.instanceId << " reg-id=" << b.regId;
        if (b.outbound) out << " outbound";
        for (const auto& p : b.path) out << " path=" << p;
        out << "\n";
      }
    } else if (command == "transactions") {
      auto txns = transactions_->snapshot();
      out << txns.size() << " transactions\n";
      for (const auto& t : txns) {
        out << t.id << " " << transaction::toString(t.kind) << " " << t.method << " " << t.state
            << " branch=" << t.branch << " call-id=" << t.callId << "\n";
      }
      auto requests = proxy_->snapshot();
      out << requests.size() << " proxied requests\n";
      for (const auto& r : requests) {
        out << r.id << " " << r.method << " " << r.state << " " << r.requestUri
            << " branches=" << r.branches << " pending=" << r.pendingBranches
            << (r.cancelled ? " cancelled" : "") << " call-id=" << r.callId << "\n";
      }
    } else if (command == "counters") {
      for (const auto& [name, value] : metrics_.snapshot()) out << name << " " << value << "\n";
      out << "p2psip_app_refused_while_draining_total " << gate_.refusedWhileDraining() << "\n";
    } else if (command == "overlay") {
      const auto dhtStats = dht_->stats();
      const auto dir = directory_->stats();
      const auto cache = location_->stats();
      out << "node_id: " << identity_.nodeId().toHex() << "\n";
      out << "key_type: " << identity::toString(identity_.keyType()) << "\n";
      out << "network: " << config_.overlayNetwork << "\n";
      out << "dht_port: " << dht_->boundPort() << "\n";
      out << "bootstrap:";
      for (const auto& b : config_.bootstrap) out << " " << b;
      out << "\npeer_listen: tls:" << config_.peerListen->toString() << "\n";
      out << "dht_nodes: " << dhtStats.nodes << "\ndht_stored_values: " << dhtStats.storedValues
          << "\ndht_held_values: " << dhtStats.heldValues << "\ndht_listens: " << dhtStats.listens
          << "\n";
      out << "nat: "
          << (reachability_ ? anchor::toString(toAnchorNat(reachability_->natClass))
                            : std::string_view("unmeasured"))
          << "\n";
      if (reachability_ && !reachability_->observed.empty()) {
        out << "reflexive: " << reachability_->observed.front().toString() << "\n";
      }
      out << "inbound_links: "
          << (reachability_ ? reachability::toString(reachability_->inboundLinks) : "unmeasured")
          << "\n";
      out << "rendezvous: " << (rendezvous_ ? rendezvous_->node.substr(0, 16) : "none") << "\n";
      out << "relay_offered: " << (relays_->stats().offering ? "yes" : "no") << "\n";
      out << "reflector: " << (reflector_ ? reflector_->primaryEndpoint().toString() : "none")
          << "\n";
      out << "peer_record_published: " << (dir.published ? "yes" : "no")
          << "\npeer_record_sequence: " << dir.sequence << "\n";
      out << "user_records: " << publisher_->size() << "\n";
      out << "user_records_held: " << publisher_->held() << "\n";
      out << "cached_users: " << cache.cachedUsers << "\ncached_peers: " << dir.cachedPeers << "\n";
    } else if (command == "records") {
      auto records = publisher_->snapshot(100000);
      out << records.size() << " user records\n";
      for (const auto& r : records) {
        out << r.aor << " sequence=" << r.sequence << " stored=" << (r.stored ? "yes" : "no")
            << "\n";
      }
    } else if (command == "peers") {
      auto peers = directory_->known();
      out << peers.size() << " peers\n";
      for (const auto& p : peers) {
        out << p.node.toHex();
        for (const auto& e : p.endpoints) {
          out << " " << (e.transport == overlay::LinkTransport::Tls ? "tls:" : "other:")
              << e.endpoint.toString();
        }
        out << " capabilities=" << p.capabilities << " sequence=" << p.sequence << "\n";
      }
    } else if (command.rfind("lookup ", 0) == 0) {
      const std::string aor(command.substr(7));
      auto lines = location_->describe(aor);
      out << lines.size() << " cached records for " << aor << "\n";
      for (const auto& l : lines) out << l << "\n";
    } else if (command == "streams") {
      describeStreams(out);
    } else if (command == "help") {
      out << "commands: status, bindings, transactions, counters, overlay, records, peers, "
             "lookup AOR, streams\n";
    } else {
      out << "error: unknown command (try: help)\n";
    }
    return out.str();
  }

 private:
  // Measures our NAT against other peers' reflectors (modules/reachability) and tells the media
  // anchor; again every 10 minutes (NAT mappings and addresses change), and soon after a failure.
  void probeReachability() {
    if (config_.reflectors.empty() || gate_.draining()) return;
    reachability::ProberConfig probe;
    probe.local = net::Endpoint{config_.peerListen->address, 0};
    for (const auto& r : config_.reflectors) {
      auto e = net::Endpoint::parse(r);
      if (e && *e != *config_.peerListen && e->address.is_v4() == probe.local.address.is_v4()) {
        probe.reflectors.push_back(*e);
      }
    }
    if (probe.reflectors.empty()) return;
    probe.connectBackPort = config_.peerListen->port;  // can other peers open links to us?
    prober_ = std::make_unique<reachability::Prober>(loop_, timers_, metrics_, probe, Logger(log_));
    auto started = prober_->start([this](const reachability::Reachability& result) {
      reachability_ = result;
      const bool known = result.natClass != reachability::NatClass::Unknown;
      log_->info("reachability: {}{}{}", anchor::toString(toAnchorNat(result.natClass)),
                 result.observed.empty() ? std::string()
                                         : ", seen as " + result.observed.front().toString(),
                 result.notes.empty() ? std::string() : " (" + result.notes.front() + ")");
      onReachability(result);
      timers_.schedule(known ? std::chrono::minutes(10) : std::chrono::seconds(5),
                       [this] { probeReachability(); });
    });
    if (!started) log_->warn("cannot measure reachability: {}", started.error().detail);
  }

  void onReachability(const reachability::Reachability& result) {
    std::optional<asio::ip::address> reflexive;
    if (result.natted && !result.observed.empty()) reflexive = result.observed.front().address;
    if (anchor_) {
      anchor_->setReachability(toAnchorNat(result.natClass), reflexive);
      // A peer that is not public may need a third relay for its calls: find one now.
      if (picker_ && result.natClass != reachability::NatClass::Public) picker_->warm();
    }
    // A peer that others cannot open links to (a reflector's connect-back failed, or, when no
    // reflector could say, a NAT or firewall was measured) is reached through a rendezvous.
    const bool measured = result.inboundLinks != reachability::InboundLinks::Unknown ||
                          result.natClass != reachability::NatClass::Unknown;
    needsRendezvous_ = measured && !result.acceptsInboundLinks();
    // A relay behind a NAT is no use to others: only a measured public peer offers relaying.
    if (relayService_ && result.natClass == reachability::NatClass::Public &&
        !relays_->stats().offering) {
      auto offered = relays_->publish(overlay::RelayOffer{
          *config_.peerListen, addressOf(config_.mediaOverlayAddress), relayCapacity()});
      if (!offered) log_->warn("cannot offer relaying: {}", offered.error().detail);
      scheduleCapacityUpdates();
    }
    if (needsRendezvous_) {
      ensureRendezvous();
    } else if (rendezvous_) {
      rendezvous_.reset();
    }
    publishPeerRecord();
  }

  std::uint32_t relayCapacity() const {
    if (!relayService_) return 0;
    const std::size_t limit = std::max<std::size_t>(1, config_.maxMediaStreams / 2);
    const std::size_t used = relayService_->totalStreams();
    return static_cast<std::uint32_t>(used >= limit ? 0 : limit - used);
  }

  void scheduleCapacityUpdates() {
    timers_.schedule(std::chrono::seconds(10), [this] {
      if (gate_.draining()) return;
      relays_->updateCapacity(relayCapacity());
      scheduleCapacityUpdates();
    });
  }

  void publishPeerRecord() {
    overlay::PeerPublication p;
    net::Endpoint link = *config_.peerListen;
    // Behind a NAT that forwards our peer-link port (a reflector connected back through it),
    // others reach us at the public address.
    if (reachability_ && reachability_->natted && !reachability_->observed.empty() &&
        reachability_->inboundLinks == reachability::InboundLinks::Accepted) {
      link.address = reachability_->observed.front().address;
    }
    p.endpoints = {overlay::PeerEndpoint{overlay::LinkTransport::Tls, link}};
    p.capabilities = config_.offerRelay ? overlay::kCapabilityRelay : 0u;
    if (reachability_) {
      p.reachability = toOverlayReachability(reachability_->natClass);
      if (reachability_->natted && !reachability_->observed.empty()) {
        p.reflexiveAddress = reachability_->observed.front().address;
      }
    }
    if (rendezvous_) {
      if (auto node = identity::NodeId::fromHex(rendezvous_->node)) p.rendezvous = *node;
    }
    if (auto r = directory_->publish(std::move(p)); !r) {
      log_->warn("cannot publish our peer record: {}", r.error().detail);
    }
  }

  // A peer that cannot take inbound links (behind a NAT) keeps one open to a relay peer (public
  // by construction) and publishes it as its rendezvous: callers route through it, and it
  // forwards over our link (RFC 5626's idea, between peers).
  void ensureRendezvous() {
    if (!needsRendezvous_ || rendezvous_ || findingRendezvous_ || gate_.draining()) return;
    findingRendezvous_ = true;
    relays_->findRelays(
        1, identity_.nodeId(), [this](Result<std::vector<overlay::RelayRecord>> found) {
          findingRendezvous_ = false;
          if (!found || found->empty()) {
            log_->info("no rendezvous peer yet ({}); trying again",
                       found ? "no relay record" : found.error().detail);
            timers_.schedule(std::chrono::seconds(3), [this] { ensureRendezvous(); });
            return;
          }
          const auto& r = found->front();
          rendezvous_ = anchor::RelayPeer{r.node.toHex(), r.peerLink, r.mediaAddress};
          openRendezvousLink();
          publishPeerRecord();
        });
  }

  void openRendezvousLink() {
    if (!rendezvous_) return;
    // Any request opens the link; an OPTIONS to the peer itself is answered there (§11.2) and its
    // 200 is dropped here as a stray. The pings keep the link up from then on.
    const std::string id = std::to_string(++rendezvousProbes_);
    const std::string host = net::addressToString(rendezvous_->link.address);
    std::string text = "OPTIONS sip:" + rendezvous_->link.toString() +
                       ";transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS " +
                       config_.peerListen->toString() + ";branch=z9hG4bK-rendezvous-" + id +
                       "\r\nMax-Forwards: 70\r\nFrom: <sip:" + identity_.nodeId().toHex() + "@" +
                       config_.peerListen->toString() + ">;tag=rdv" + id + "\r\nTo: <sip:" + host +
                       ">\r\nCall-ID: rendezvous-" + id + "-" +
                       identity_.nodeId().toHex().substr(0, 16) + "\r\nCSeq: 1 OPTIONS\r\n" +
                       "Content-Length: 0\r\n\r\n";
    auto message = sip::parseOwnText(std::move(text));
    if (!message) return;
    transport::Target to;
    to.protocol = transport::Protocol::Tls;
    to.endpoint = rendezvous_->link;
    to.peerIdentity = rendezvous_->node;
    if (auto sent = transport_->send(*message, to); !sent) {
      log_->info("cannot open the link to rendezvous {}: {}", rendezvous_->node.substr(0, 8),
                 sent.error().detail);
    } else {
      log_->info("reachable through rendezvous peer {} at {}", rendezvous_->node.substr(0, 8),
                 rendezvous_->link.toString());
    }
  }

  // One line per relay stream with its counters (RFC 3550 A.3 loss, A.8 jitter), by call.
  void describeStreams(std::ostream& out) const {
    if (!relay_) {
      out << "0 streams (media direct, relay off)\n";
      return;
    }
    auto describeDirection = [&out](const char* name, const media::DirectionStats& d) {
      out << " " << name << "_packets=" << d.packets << " " << name << "_bytes=" << d.bytes << " "
          << name << "_rtcp=" << d.rtcpPackets << " " << name << "_lost=" << d.lost << " " << name
          << "_jitter_ms=" << d.jitterMs << " " << name << "_dropped=" << d.dropped;
    };
    auto describeStream = [&](const media::StreamStats& s) {
      out << " a=" << s.a.local.toString() << "<->"
          << (s.a.remote ? s.a.remote->toString() : std::string("?"))
          << (s.a.latched ? "(latched)" : "") << " b=" << s.b.local.toString() << "<->"
          << (s.b.remote ? s.b.remote->toString() : std::string("?"))
          << (s.b.latched ? "(latched)" : "");
      describeDirection("a_to_b", s.aToB);
      describeDirection("b_to_a", s.bToA);
    };
    out << relay_->active() << " streams\n";
    if (!anchor_) return;
    for (const auto& session : anchor_->snapshot()) {
      for (const auto& stream : session.streams) {
        out << "call-id=" << session.callId << " m=" << stream.mediaIndex << " " << stream.media
            << (session.confirmed ? " confirmed" : " early")
            << " path=" << anchor::toString(session.path);
        if (session.punchFailed) out << " punch=failed";
        if (!session.relayNode.empty()) out << " relay=" << session.relayNode.substr(0, 16);
        if (stream.stats) describeStream(*stream.stats);
        out << "\n";
      }
    }
  }

  bool quiet() {
    if (!usersWithdrawn_ || !peerWithdrawn_) return false;
    // Finished means no request waits for an answer: every transaction is past its final response.
    if (proxy_->activeRequests() > 0) return false;
    for (const auto& t : transactions_->snapshot()) {
      if (t.state == "Calling" || t.state == "Trying" || t.state == "Proceeding") return false;
    }
    return true;
  }

  void checkShutdown() {
    if (quiet() || timers_.now() >= shutdownDeadline_) {
      log_->info("stopping: {} transactions left", transactions_->size());
      control_->close();
      loop_.stop();
      return;
    }
    timers_.schedule(std::chrono::milliseconds(100), [this] { checkShutdown(); });
  }

  DaemonConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  net::EventLoop loop_;
  net::AsioTimerService timers_;
  MetricsRegistry metrics_;
  sip::LocalDomains domains_;
  identity::NodeIdentity identity_;
  std::shared_ptr<net::TlsContext> tls_;
  std::shared_ptr<net::TlsContext> peerTls_;
  std::unique_ptr<transport::TransportLayer> transport_;
  TransactionUserGate gate_;
  std::unique_ptr<transaction::TransactionLayer> transactions_;
  std::unique_ptr<location::BindingStore> bindings_;
  std::unique_ptr<registrar::Registrar> registrar_;
  std::unique_ptr<dht::OpenDhtLookupService> dht_;
  std::unique_ptr<overlay::PeerDirectory> directory_;
  std::unique_ptr<PeerDirectoryResolver> resolver_;
  std::unique_ptr<overlay::RelayDirectory> relays_;
  std::unique_ptr<RelayDirectoryPicker> picker_;
  std::unique_ptr<location::OverlayLocationService> location_;
  std::unique_ptr<identity::ThreadedRecordSigner> signer_;
  std::unique_ptr<location::UserRecordPublisher> publisher_;
  std::unique_ptr<RegistrarSink> sink_;
  std::unique_ptr<media::RelayEngine> relay_;          // null when neither calls nor peers use it
  std::unique_ptr<media::RelayService> relayService_;  // --relay: other peers' streams
  std::unique_ptr<anchor::RelayControlClient> relayClient_;
  std::unique_ptr<PeerFrameDispatch> frames_;
  std::unique_ptr<anchor::MediaAnchor> anchor_;  // null with --media direct
  std::unique_ptr<reachability::Reflector> reflector_;
  std::unique_ptr<reachability::Prober> prober_;
  std::optional<reachability::Reachability> reachability_;  // the last measurement
  bool needsRendezvous_ = false;  // others cannot open links to us: keep one to a rendezvous
  std::optional<anchor::RelayPeer> rendezvous_;  // the peer that takes our inbound signalling
  bool findingRendezvous_ = false;
  std::uint64_t rendezvousProbes_ = 0;
  std::unique_ptr<proxy::ProxyCore> proxy_;
  std::unique_ptr<ControlServer> control_;
  asio::signal_set signals_;
  TimePoint started_{};
  TimePoint shutdownDeadline_{};
  bool usersWithdrawn_ = false;
  bool peerWithdrawn_ = false;
};

Daemon::Daemon(const DaemonConfig& config, std::shared_ptr<spdlog::logger> logger)
    : impl_(std::make_unique<Impl>(config, std::move(logger))) {}
Daemon::~Daemon() = default;
Result<void> Daemon::start() {
  return impl_->start();
}
void Daemon::run() {
  impl_->run();
}
void Daemon::requestShutdown() {
  // Any thread: hop onto the loop, which owns all state.
  Impl* impl = impl_.get();
  asio::post(impl->loopContext(), [impl] { impl->beginShutdown(); });
}
std::string Daemon::control(std::string_view command) {
  return impl_->control(command);
}
std::string Daemon::banner() const {
  return impl_->banner();
}

}  // namespace p2psip::app
