// SPDX-License-Identifier: Apache-2.0
// p2psip-reflect: runs one reachability::Reflector (STUN Binding, RFC 5389, with RFC 5780
// change-port answers) until SIGINT or SIGTERM, then prints its metrics. Used by the NAT
// integration test (tests/integration/reachability_nat_test.sh) and to try a deployment by hand.
//
// Output, one line each: "listening primary ADDR:PORT alternate ADDR:PORT" once bound, and after
// the signal "metric NAME VALUE" per metric. Exit 0 after a clean stop, 1 when binding fails,
// 2 on bad arguments.
#include <csignal>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <asio/signal_set.hpp>

#include "p2psip/common/metrics.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/reachability/reflector.h"

using namespace p2psip;

int main(int argc, char** argv) {
  CLI::App app{"p2psip-reflect: a STUN Binding reflector with a change-port alternate socket"};
  std::string listen;
  reachability::ReflectorConfig config;
  app.add_option("--listen", listen, "primary transport address, ADDR:PORT (port 0: any)")
      ->required();
  app.add_option("--alternate-port", config.alternatePort,
                 "alternate port on the same address (default: primary port + 1)");
  app.add_option("--rate", config.rateLimit.perSourceRate, "requests per second per source");
  app.add_option("--burst", config.rateLimit.perSourceBurst, "burst per source");
  app.add_option("--max-sources", config.rateLimit.maxSources, "rate-limit table size");
  CLI11_PARSE(app, argc, argv);

  auto primary = net::Endpoint::parse(listen);
  if (!primary) {
    std::cerr << "p2psip-reflect: --listen: " << primary.error().detail << "\n";
    return 2;
  }
  config.primary = *primary;
  if (auto ok = reachability::validate(config); !ok) {
    std::cerr << "p2psip-reflect: " << ok.error().detail << "\n";
    return 2;
  }

  net::EventLoop loop;
  net::AsioTimerService timers(loop);
  MetricsRegistry metrics;
  reachability::Reflector reflector(loop, timers, metrics, config);
  if (auto ok = reflector.start(); !ok) {
    std::cerr << "p2psip-reflect: " << ok.error().detail << "\n";
    return 1;
  }
  std::cout << "listening primary " << reflector.primaryEndpoint().toString() << " alternate "
            << reflector.alternateEndpoint().toString() << std::endl;

  asio::signal_set signals(loop.context(), SIGINT, SIGTERM);
  signals.async_wait([&loop](const asio::error_code&, int) { loop.stop(); });
  loop.run();
  reflector.stop();
  for (const auto& [name, value] : metrics.snapshot()) {
    std::cout << "metric " << name << " " << value << "\n";
  }
  std::cout << std::flush;
  return 0;
}
