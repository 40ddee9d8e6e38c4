// SPDX-License-Identifier: Apache-2.0
// sip-options-listener: the SIP core's demo program. Listens on UDP and TCP (default
// 127.0.0.1:5060), answers OPTIONS with 200, and shows the parser, transport and transaction layers
// working with real SIP clients. SIGINT/SIGTERM stop it cleanly.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "options_responder.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/transport/transport_layer.h"

using namespace p2psip;

namespace {

struct ListenSpec {
  transport::Protocol protocol;
  net::Endpoint endpoint;
};

// "udp:127.0.0.1:5060", "tcp:[::1]:5060"
std::optional<ListenSpec> parseListen(const std::string& text) {
  auto colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  std::string proto = text.substr(0, colon);
  ListenSpec spec{};
  if (proto == "udp")
    spec.protocol = transport::Protocol::Udp;
  else if (proto == "tcp")
    spec.protocol = transport::Protocol::Tcp;
  else
    return std::nullopt;
  auto ep = net::Endpoint::parse(text.substr(colon + 1));
  if (!ep) return std::nullopt;
  spec.endpoint = *ep;
  return spec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"p2psip SIP core demo: answers OPTIONS over UDP and TCP"};
  std::vector<std::string> listen;
  std::string logLevel = "info";
  cli.add_option("--listen", listen,
                 "udp|tcp:ADDR:PORT, repeatable (default udp and tcp on 127.0.0.1:5060)");
  cli.add_option("--log-level", logLevel, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  CLI11_PARSE(cli, argc, argv);
  if (listen.empty()) listen = {"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"};

  auto log = spdlog::stdout_color_st("options-listener");
  log->set_level(spdlog::level::from_str(logLevel));
  std::vector<ListenSpec> specs;
  for (const auto& l : listen) {
    auto spec = parseListen(l);
    if (!spec) {
      std::fprintf(stderr, "sip-options-listener: --listen '%s' is not udp|tcp:ADDR:PORT\n",
                   l.c_str());
      return 2;
    }
    specs.push_back(*spec);
  }

  net::EventLoop loop;
  net::AsioTimerService timers(loop);
  MetricsRegistry metrics;
  transport::TransportConfig transportConfig;
  for (const auto& s : specs) transportConfig.sentBy.push_back(s.endpoint.toString());
  transport::TransportLayer transportLayer(loop, timers, metrics, Logger(log), transportConfig);
  tools::OptionsResponder responder;
  transaction::TransactionLayer transactions(
      transportLayer, timers, responder, transaction::TransactionConfig{}, metrics, Logger(log));
  responder.attach(transactions);
  transportLayer.setInboundHandler(transactions);

  for (const auto& s : specs) {
    auto bound = transportLayer.addListener(s.protocol, s.endpoint);
    if (!bound) {
      std::fprintf(stderr, "sip-options-listener: cannot listen on %s %s: %s\n",
                   std::string(transport::toString(s.protocol)).c_str(),
                   s.endpoint.toString().c_str(), bound.error().detail.c_str());
      return 1;
    }
    std::printf("listening on %s %s\n", std::string(transport::toString(s.protocol)).c_str(),
                bound->toString().c_str());
  }
  std::printf("send OPTIONS to sip:ping@%s to see a 200 (Ctrl-C stops)\n",
              specs.front().endpoint.toString().c_str());
  std::fflush(stdout);

  asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&](const std::error_code&, int) {
    log->info("stopping: {} OPTIONS answered", responder.optionsAnswered());
    loop.stop();
  });
  loop.run();
  return 0;
}
