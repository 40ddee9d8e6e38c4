// SPDX-License-Identifier: Apache-2.0
// UdpSocket: one bound UDP listener; receives datagrams for the transport layer and sends from
// its own address (RFC 3581 §4 symmetric responses). Private to transport.
//
// Held by std::shared_ptr because an asio receive in flight must keep the socket and its buffer
// alive until its handler has run; the layer detach()es it when it goes away.
#pragma once

#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::transport {

class UdpSocket : public std::enable_shared_from_this<UdpSocket> {
 public:
  class Owner {
   public:
    virtual void onDatagram(UdpSocket& socket, std::string_view datagram,
                            const net::Endpoint& from) = 0;

   protected:
    ~Owner() = default;
  };

  static Result<std::shared_ptr<UdpSocket>> open(asio::io_context& context,
                                                 const net::Endpoint& local, Owner& owner,
                                                 std::size_t socketBufferBytes);
  UdpSocket(asio::ip::udp::socket socket, net::Endpoint local, Owner& owner);

  void start();
  // Sends without blocking. A full socket buffer is an error: UDP may drop, and the transaction
  // layer retransmits (RFC 3261 §17.1.1.2).
  Result<void> sendTo(std::string_view datagram, const net::Endpoint& to);
  const net::Endpoint& local() const { return local_; }
  // The owner is going away: no more callbacks, socket closed.
  void detach();

 private:
  void receive();
  void drain();

  asio::ip::udp::socket socket_;
  net::Endpoint local_;
  Owner* owner_;
  std::vector<char> buffer_;  // the reactor's receive; then kDrainBatch slots for recvmmsg
  asio::ip::udp::endpoint sender_;
};

}  // namespace p2psip::transport
