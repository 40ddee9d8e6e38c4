// SPDX-License-Identifier: Apache-2.0
// Daemon: the composition root of p2psipd (conventions §3.2, L6). It builds every module from the
// validated DaemonConfig, in dependency order, wires the upward interfaces, and owns the one
// signalling event loop they all run on. Nothing else in the project sees all modules.
//
// Lifecycle: construct (throws std::runtime_error with one sentence on a bad setting), start()
// (binds listeners and the control socket; an error names the address), run() until a shutdown
// completes. Shutdown (SIGTERM/SIGINT) is graceful: new requests get 503 with Retry-After, pending
// transactions get up to `shutdownGrace` to finish, then the loop stops and run() returns.
#pragma once

#include <memory>
#include <string>

#include "p2psip/app/daemon_config.h"
#include "p2psip/common/result.h"

namespace spdlog {
class logger;
}

namespace p2psip::app {

class Daemon {
 public:
  Daemon(const DaemonConfig& config, std::shared_ptr<spdlog::logger> logger);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Binds every listener and the control socket. The error names what could not be bound.
  Result<void> start();
  // Runs the signalling loop until shutdown completes (SIGTERM/SIGINT, or requestShutdown()).
  void run();
  // Starts the graceful shutdown; safe to call from any thread.
  void requestShutdown();
  // The answer to one control-socket command (used by the control server; public for tests).
  std::string control(std::string_view command);
  // Where phones should register, as printed at start-up.
  std::string banner() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::app
