// SPDX-License-Identifier: Apache-2.0
#include "p2psip/app/daemon.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/signal_set.hpp>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "p2psip/app/control_server.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/location/location_service.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/net/tls_context.h"
#include "p2psip/proxy/proxy_core.h"
#include "p2psip/registrar/registrar.h"
#include "p2psip/sip/aor.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transport/transport_layer.h"
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
  return sip::LocalDomains(c.domains, hosts);
}

template <typename T>
T orThrow(Result<T> r) {
  if (!r) throw std::runtime_error(r.error().detail);
  return std::move(*r);
}

}  // namespace

class Daemon::Impl {
 public:
  Impl(const DaemonConfig& config, std::shared_ptr<spdlog::logger> log)
      : config_(config),
        log_(std::move(log)),
        timers_(loop_),
        domains_(makeDomains(config)),
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

    transport::TransportConfig transportConfig;
    transportConfig.idleTimeout = config_.idleTimeout;
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
    location_ = std::make_unique<location::LocalLocationService>(
        *bindings_, [this](std::string_view aor) { return registrar_->isKnownUser(aor); });
    sink_ = std::make_unique<RegistrarSink>(*registrar_);

    proxy::ProxyConfig proxyConfig;
    for (const auto& l : config_.listen) {
      proxyConfig.addresses.push_back(proxy::ProxyAddress{
          l.protocol, net::addressToString(l.endpoint.address), l.endpoint.port});
    }
    proxyConfig.maxConcurrentRequests = config_.maxConcurrentRequests;
    proxyConfig.overloadRetryAfterSeconds = static_cast<std::uint32_t>(config_.retryAfter.count());
    proxy_ = std::make_unique<proxy::ProxyCore>(*transactions_, *location_, domains_, proxyConfig,
                                                *sink_, metrics_, Logger(log_));
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
    } else if (command == "help") {
      out << "commands: status, bindings, transactions, counters\n";
    } else {
      out << "error: unknown command (try: status, bindings, transactions, counters)\n";
    }
    return out.str();
  }

 private:
  bool quiet() {
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
  std::shared_ptr<net::TlsContext> tls_;
  std::unique_ptr<transport::TransportLayer> transport_;
  TransactionUserGate gate_;
  std::unique_ptr<transaction::TransactionLayer> transactions_;
  std::unique_ptr<location::BindingStore> bindings_;
  std::unique_ptr<registrar::Registrar> registrar_;
  std::unique_ptr<location::LocalLocationService> location_;
  std::unique_ptr<RegistrarSink> sink_;
  std::unique_ptr<proxy::ProxyCore> proxy_;
  std::unique_ptr<ControlServer> control_;
  asio::signal_set signals_;
  TimePoint started_{};
  TimePoint shutdownDeadline_{};
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
