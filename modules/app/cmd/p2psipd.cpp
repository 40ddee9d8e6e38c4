// SPDX-License-Identifier: Apache-2.0
// p2psipd: the p2psip peer daemon. Exit status: 0 after a clean shutdown (SIGTERM/SIGINT),
// 2 for a bad command line or configuration, 1 when it cannot start (an address in use, ...).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#if defined(P2PSIP_WITH_MIMALLOC)
#include <mimalloc.h>
#endif

#include "p2psip/app/daemon.h"
#include "p2psip/app/daemon_config.h"

int main(int argc, char** argv) {
  p2psip::app::CommandLine cl = p2psip::app::parseCommandLine(argc, argv);
  if (cl.exitNow) {
    std::fputs(cl.message.c_str(), cl.exitCode == 0 ? stdout : stderr);
    return cl.exitCode;
  }
  auto log = spdlog::stderr_color_st("p2psipd");
  log->set_level(spdlog::level::from_str(cl.config.logLevel));
  log->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  try {
    p2psip::app::Daemon daemon(cl.config, log);
    if (auto started = daemon.start(); !started) {
      std::fprintf(stderr, "p2psipd: %s\n", started.error().detail.c_str());
      return 1;
    }
    std::fputs(daemon.banner().c_str(), stdout);
    std::fflush(stdout);
#if defined(P2PSIP_WITH_MIMALLOC)
    // Operators comparing memory figures need to know which allocator they look at.
    log->info("memory allocator: mimalloc {}.{}.{}", mi_version() / 100, mi_version() / 10 % 10,
              mi_version() % 10);
#else
    log->info("memory allocator: the C library's malloc");
#endif
    daemon.run();
  } catch (const std::exception& e) {
    // Start-up only (conventions §3.4 item 3): one clear sentence, non-zero status.
    std::fprintf(stderr, "p2psipd: %s\n", e.what());
    return 2;
  }
  log->info("stopped");
  return 0;
}
