// SPDX-License-Identifier: Apache-2.0
#include "p2psip/app/control_server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include "p2psip/net/event_loop.h"

namespace p2psip::app {

namespace {
constexpr std::size_t kMaxCommand = 256;
constexpr std::size_t kMaxClients = 16;
constexpr auto kClientTimeout = std::chrono::seconds(5);
}  // namespace

class ControlServer::Impl : public std::enable_shared_from_this<ControlServer::Impl> {
 public:
  Impl(net::EventLoop& loop, Logger logger, CommandHandler handler)
      : loop_(loop),
        logger_(std::move(logger)),
        handler_(std::move(handler)),
        acceptor_(loop.context()) {}

  Result<void> listen(const std::string& path) {
    ::unlink(path.c_str());  // a socket left by a crashed daemon; bind would fail on it
    std::error_code ec;
    asio::local::stream_protocol::endpoint ep(path);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) ::chmod(path.c_str(), 0600);  // the control socket is for the operator only
    if (!ec) acceptor_.listen(8, ec);
    if (ec)
      return makeError(ErrorCode::TransportError,
                       "cannot open control socket " + path + ": " + ec.message());
    path_ = path;
    accept();
    return {};
  }

  void close() {
    std::error_code ec;
    acceptor_.close(ec);
    if (!path_.empty()) ::unlink(path_.c_str());
    path_.clear();
    handler_ = nullptr;
  }

 private:
  struct Client {
    explicit Client(asio::io_context& io) : socket(io), timer(io) {}
    asio::local::stream_protocol::socket socket;
    asio::steady_timer timer;
    std::string input;
    std::string output;
  };

  void accept() {
    acceptor_.async_accept(
        [self = shared_from_this()](std::error_code ec, asio::local::stream_protocol::socket s) {
          if (ec) return;  // closed
          if (self->clients_ >= kMaxClients) {
            self->logger_.warn("control socket: too many clients, refusing one");
          } else {
            self->serve(std::move(s));
          }
          self->accept();
        });
  }

  void serve(asio::local::stream_protocol::socket socket) {
    auto client = std::make_shared<Client>(loop_.context());
    client->socket = std::move(socket);
    ++clients_;
    client->timer.expires_after(kClientTimeout);
    client->timer.async_wait([client](std::error_code ec) {
      if (!ec) client->socket.close();  // a client that never finishes its line
    });
    asio::async_read_until(client->socket, asio::dynamic_buffer(client->input, kMaxCommand), '\n',
                           [self = shared_from_this(), client](std::error_code ec, std::size_t n) {
                             self->onCommand(client, ec, n);
                           });
  }

  void onCommand(const std::shared_ptr<Client>& client, std::error_code ec, std::size_t n) {
    if (ec || !handler_) {
      finish(client, ec == asio::error::not_found ? "error: command longer than 256 bytes\n" : "");
      return;
    }
    std::string_view command(client->input.data(), n);
    while (!command.empty() && (command.back() == '\n' || command.back() == '\r'))
      command.remove_suffix(1);
    finish(client, handler_(command));
  }

  void finish(const std::shared_ptr<Client>& client, std::string answer) {
    client->output = std::move(answer);
    asio::async_write(client->socket, asio::buffer(client->output),
                      [self = shared_from_this(), client](std::error_code, std::size_t) {
                        std::error_code ignored;
                        client->socket.close(ignored);
                        client->timer.cancel();
                        --self->clients_;
                      });
  }

  net::EventLoop& loop_;
  Logger logger_;
  CommandHandler handler_;
  asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  std::size_t clients_ = 0;
};

ControlServer::ControlServer(net::EventLoop& loop, Logger logger, CommandHandler handler)
    : impl_(std::make_shared<Impl>(loop, std::move(logger), std::move(handler))) {}

ControlServer::~ControlServer() {
  impl_->close();
}

Result<void> ControlServer::listen(const std::string& path) {
  return impl_->listen(path);
}

void ControlServer::close() {
  impl_->close();
}

Result<std::string> queryControlSocket(const std::string& path, std::string_view command) {
  asio::io_context io;
  asio::local::stream_protocol::socket socket(io);
  std::error_code ec;
  socket.connect(asio::local::stream_protocol::endpoint(path), ec);
  if (ec) {
    return makeError(ErrorCode::Unavailable, "cannot reach p2psipd at " + path + ": " +
                                                 ec.message() + " (is the daemon running?)");
  }
  std::string line(command);
  line += '\n';
  asio::write(socket, asio::buffer(line), ec);
  if (ec) return makeError(ErrorCode::TransportError, "sending to " + path + ": " + ec.message());
  std::string answer;
  std::array<char, 4096> chunk{};
  while (true) {
    std::size_t n = socket.read_some(asio::buffer(chunk), ec);
    answer.append(chunk.data(), n);
    if (ec || answer.size() > (64u << 20)) break;  // EOF ends the answer; cap what we keep
  }
  return answer;
}

}  // namespace p2psip::app
