// SPDX-License-Identifier: Apache-2.0
#include "p2psip/app/control_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "p2psip/net/event_loop.h"

namespace p2psip::app {
namespace {

std::string tempSocketPath() {
  return "/tmp/p2psip-ctl-test-" + std::to_string(::getpid()) + ".sock";
}

// The client blocks, so it runs on a thread while the loop serves.
template <typename F>
auto whileServing(net::EventLoop& loop, F&& client) {
  decltype(client()) result;
  bool done = false;
  std::thread t([&] {
    result = client();
    loop.post([&] { done = true; });
  });
  loop.runUntil([&] { return done; }, std::chrono::seconds(10));
  t.join();
  return result;
}

TEST(ControlServer, AnswersOneCommandPerConnection) {
  net::EventLoop loop;
  ControlServer server(loop, Logger(),
                       [](std::string_view cmd) { return "you said " + std::string(cmd) + "\n"; });
  std::string path = tempSocketPath();
  ASSERT_TRUE(server.listen(path));
  auto answer = whileServing(loop, [&] { return queryControlSocket(path, "bindings"); });
  ASSERT_TRUE(answer) << answer.error().detail;
  EXPECT_EQ(*answer, "you said bindings\n");
  server.close();
  EXPECT_NE(::access(path.c_str(), F_OK), 0);  // the socket file is removed
}

TEST(ControlServer, OverlongCommandIsRefusedAndTheServerKeepsServing) {
  net::EventLoop loop;
  ControlServer server(loop, Logger(), [](std::string_view) { return std::string("ok\n"); });
  std::string path = tempSocketPath();
  ASSERT_TRUE(server.listen(path));
  auto longAnswer =
      whileServing(loop, [&] { return queryControlSocket(path, std::string(10000, 'x')); });
  ASSERT_TRUE(longAnswer);
  EXPECT_EQ(longAnswer->rfind("error:", 0), 0u) << *longAnswer;
  auto next = whileServing(loop, [&] { return queryControlSocket(path, "status"); });
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, "ok\n");
}

TEST(ControlServer, ClientSaysClearlyWhenNoDaemonIsThere) {
  auto answer = queryControlSocket("/tmp/p2psip-no-daemon-here.sock", "status");
  ASSERT_FALSE(answer);
  EXPECT_NE(answer.error().detail.find("is the daemon running"), std::string::npos);
}

}  // namespace
}  // namespace p2psip::app
