// SPDX-License-Identifier: Apache-2.0
// ControlServer: the daemon's local control socket (a UNIX stream socket), through which p2psipctl
// asks for bindings, transactions in flight and counters. One request line per connection, one
// text answer, then the server closes. Input is bounded (line length, concurrent clients, time),
// because the socket is an input from outside the process like any other.
// Runs on the signalling loop; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "p2psip/common/logger.h"
#include "p2psip/common/result.h"

namespace p2psip::net {
class EventLoop;
}

namespace p2psip::app {

class ControlServer {
 public:
  // Answers one command line (without its newline). Runs on the loop.
  using CommandHandler = std::function<std::string(std::string_view command)>;

  ControlServer(net::EventLoop& loop, Logger logger, CommandHandler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds the socket (removing a stale one left by a crashed daemon) with mode 0600.
  Result<void> listen(const std::string& path);
  // Stops accepting and removes the socket file.
  void close();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared with in-flight asio handlers, which may outlive close()
};

// Sends `command` to the daemon's control socket and returns its answer (used by p2psipctl).
Result<std::string> queryControlSocket(const std::string& path, std::string_view command);

}  // namespace p2psip::app
