// SPDX-License-Identifier: Apache-2.0
#include "stream_listener.h"

#include <chrono>

#include <asio/ip/v6_only.hpp>
#include <asio/socket_base.hpp>

namespace p2psip::transport {

Result<std::shared_ptr<StreamListener>> StreamListener::open(asio::io_context& context,
                                                             Protocol protocol,
                                                             const net::Endpoint& local,
                                                             Owner& owner) {
  asio::ip::tcp::acceptor acceptor(context);
  asio::error_code ec;
  const auto endpoint = local.toTcp();
  acceptor.open(endpoint.protocol(), ec);
  // SO_REUSEADDR: a restarted node can rebind its SIP port while old connections sit in TIME_WAIT.
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return makeError(ErrorCode::TransportError, std::string(toString(protocol)) + " listen " +
                                                    local.toString() + ": " + ec.message());
  }
  const auto bound = net::Endpoint::fromAsio(acceptor.local_endpoint(ec));
  if (ec) return makeError(ErrorCode::TransportError, "TCP local_endpoint: " + ec.message());
  return std::make_shared<StreamListener>(std::move(acceptor), protocol, bound, owner);
}

StreamListener::StreamListener(asio::ip::tcp::acceptor acceptor, Protocol protocol,
                               net::Endpoint local, Owner& owner)
    : acceptor_(std::move(acceptor)),
      backoff_(acceptor_.get_executor()),
      protocol_(protocol),
      local_(local),
      owner_(&owner) {}

void StreamListener::start() {
  accept();
}

void StreamListener::accept() {
  acceptor_.async_accept(
      [self = shared_from_this()](const asio::error_code& ec, asio::ip::tcp::socket socket) {
        if (self->owner_ == nullptr || ec == asio::error::operation_aborted) return;
        if (ec) {
          self->backoff_.expires_after(std::chrono::milliseconds(100));
          self->backoff_.async_wait([self](const asio::error_code& e) {
            if (!e && self->owner_ != nullptr) self->accept();
          });
          return;
        }
        self->owner_->onAccepted(*self, std::move(socket));
        if (self->owner_ != nullptr) self->accept();
      });
}

void StreamListener::detach() {
  owner_ = nullptr;
  asio::error_code ignored;
  backoff_.cancel();
  acceptor_.close(ignored);
}

}  // namespace p2psip::transport
