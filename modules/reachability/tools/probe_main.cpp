// SPDX-License-Identifier: Apache-2.0
// p2psip-probe: runs one reachability::Prober against the given reflectors and prints what it
// learned. Used by the NAT integration test (tests/integration/reachability_nat_test.sh).
//
// Output, one line each:
//   local ADDR:PORT
//   binding REFLECTOR mapped ADDR:PORT|- from ADDR:PORT|- error CODE|- transmissions N
//   change-port REFLECTOR mapped ... (same fields)
//   observed ADDR:PORT                      (per distinct reflexive address)
//   natted yes|no
//   mapping endpoint-independent|address-dependent|unknown
//   filtering open|filtered|unknown
//   class Public|FullCone|RestrictedCone|Symmetric|Unknown
//   note TEXT                               (why something is unknown)
// Exit 0 when the probe completed (whatever the class), 1 when it could not start, 2 on bad
// arguments. It always ends within the RFC 5389 §7.2.1 schedule plus a margin.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "p2psip/common/metrics.h"
#include "p2psip/net/asio_timer_service.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/net/event_loop.h"
#include "p2psip/reachability/prober.h"

using namespace p2psip;

namespace {

std::string orDash(const std::optional<net::Endpoint>& e) {
  return e ? e->toString() : "-";
}

void print(const reachability::Reachability& r) {
  std::cout << "local " << r.local.toString() << "\n";
  for (const auto& o : r.outcomes) {
    std::cout << (o.changePort ? "change-port " : "binding ") << o.reflector.toString()
              << " mapped " << orDash(o.mapped) << " from " << orDash(o.answeredFrom) << " error "
              << (o.errorCode ? std::to_string(*o.errorCode) : "-") << " transmissions "
              << o.transmissions << "\n";
  }
  for (const auto& e : r.observed) std::cout << "observed " << e.toString() << "\n";
  std::cout << "natted " << (r.natted ? "yes" : "no") << "\n";
  std::cout << "mapping " << reachability::toString(r.mapping) << "\n";
  std::cout << "filtering " << reachability::toString(r.filtering) << "\n";
  std::cout << "class " << reachability::toString(r.natClass) << "\n";
  for (const auto& n : r.notes) std::cout << "note " << n << "\n";
  std::cout << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"p2psip-probe: learn our reflexive address and NAT class from reflectors"};
  std::string local;
  std::vector<std::string> reflectors;
  int rtoMs = 100;
  reachability::ProberConfig config;
  app.add_option("--local", local, "our address, ADDR:PORT (port 0: any)")->required();
  app.add_option("--reflector", reflectors,
                 "a reflector's primary ADDR:PORT (repeat; the first "
                 "also gets the change-port request)")
      ->required();
  app.add_option("--rto-ms", rtoMs, "initial retransmission timeout (RFC 5389 §7.2.1)");
  app.add_option("--transmissions", config.maxTransmissions, "requests per transaction (Rc)");
  app.add_option("--final-wait", config.finalWaitFactor, "final wait in RTOs (Rm)");
  CLI11_PARSE(app, argc, argv);

  auto localEndpoint = net::Endpoint::parse(local);
  if (!localEndpoint) {
    std::cerr << "p2psip-probe: --local: " << localEndpoint.error().detail << "\n";
    return 2;
  }
  config.local = *localEndpoint;
  for (const auto& text : reflectors) {
    auto r = net::Endpoint::parse(text);
    if (!r) {
      std::cerr << "p2psip-probe: --reflector: " << r.error().detail << "\n";
      return 2;
    }
    config.reflectors.push_back(*r);
  }
  config.initialRto = std::chrono::milliseconds(rtoMs);
  if (auto ok = reachability::validate(config); !ok) {
    std::cerr << "p2psip-probe: " << ok.error().detail << "\n";
    return 2;
  }

  net::EventLoop loop;
  net::AsioTimerService timers(loop);
  MetricsRegistry metrics;
  reachability::Prober prober(loop, timers, metrics, config);
  bool completed = false;
  auto started = prober.start([&](const reachability::Reachability& r) {
    print(r);
    completed = true;
  });
  if (!started) {
    std::cerr << "p2psip-probe: " << started.error().detail << "\n";
    return 1;
  }
  // The prober bounds itself; the margin only guards against a bug turning into a hang.
  const Duration bound = reachability::worstCaseDuration(config) + std::chrono::seconds(5);
  if (!loop.runUntil([&] { return completed; }, bound)) {
    std::cerr << "p2psip-probe: no result within "
              << std::chrono::ceil<std::chrono::seconds>(bound).count() << " s\n";
    return 1;
  }
  return 0;
}
