// SPDX-License-Identifier: Apache-2.0
// p2psipctl: asks a running p2psipd over its control socket.
//   p2psipctl [--control-socket PATH | --data-dir DIR] COMMAND [ARG]
//   COMMAND: status, bindings, transactions, counters, overlay, records, peers, lookup AOR,
//            streams
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "p2psip/app/control_server.h"

int main(int argc, char** argv) {
  CLI::App cli{"p2psipctl: query a running p2psipd"};
  std::string socketPath;
  std::string dataDir = "/var/lib/p2psip";
  std::string command;
  std::string argument;
  cli.add_option("--control-socket", socketPath,
                 "the daemon's control socket (default <data-dir>/control.sock)");
  cli.add_option("--data-dir", dataDir, "the daemon's data directory");
  cli.add_option(
         "command", command,
         "status, bindings, transactions, counters, overlay, records, peers, lookup or streams")
      ->required()
      ->check(CLI::IsMember({"bindings", "transactions", "counters", "status", "overlay", "records",
                             "peers", "lookup", "streams", "help"}));
  cli.add_option("argument", argument, "the AOR for lookup");
  CLI11_PARSE(cli, argc, argv);
  if (command == "lookup") {
    if (argument.empty() || argument.find_first_of("\r\n") != std::string::npos) {
      std::fprintf(stderr, "p2psipctl: lookup needs one AOR, e.g. sip:bob@p2p.test\n");
      return 2;
    }
    command += " " + argument;
  }
  if (socketPath.empty()) socketPath = dataDir + "/control.sock";
  auto answer = p2psip::app::queryControlSocket(socketPath, command);
  if (!answer) {
    std::fprintf(stderr, "p2psipctl: %s\n", answer.error().detail.c_str());
    return 1;
  }
  std::fwrite(answer->data(), 1, answer->size(), stdout);
  return answer->rfind("error:", 0) == 0 ? 1 : 0;
}
