// SPDX-License-Identifier: Apache-2.0
// StreamListener: a TCP acceptor for the TCP and TLS transports; hands accepted sockets to the
// transport layer, which wraps them in StreamConnections. Private to transport.
// Held by std::shared_ptr for the same reason as UdpSocket (an accept in flight keeps it alive).
#pragma once

#include <memory>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/transport/transport.h"

namespace p2psip::transport {

class StreamListener : public std::enable_shared_from_this<StreamListener> {
 public:
  class Owner {
   public:
    virtual void onAccepted(StreamListener& listener, asio::ip::tcp::socket&& socket) = 0;

   protected:
    ~Owner() = default;
  };

  static Result<std::shared_ptr<StreamListener>> open(asio::io_context& context, Protocol protocol,
                                                      const net::Endpoint& local, Owner& owner);
  StreamListener(asio::ip::tcp::acceptor acceptor, Protocol protocol, net::Endpoint local,
                 Owner& owner);

  void start();
  Protocol protocol() const { return protocol_; }
  const net::Endpoint& local() const { return local_; }
  void detach();

 private:
  void accept();

  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer backoff_;  // after accept errors such as EMFILE, so we do not spin
  Protocol protocol_;
  net::Endpoint local_;
  Owner* owner_;
};

}  // namespace p2psip::transport
