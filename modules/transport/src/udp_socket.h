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
    // A datagram queued by sendTo() during a receive handler could not be sent (see sendTo).
    virtual void onSendFailed(UdpSocket& socket, const net::Endpoint& to, const Error& error) = 0;

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
  //
  // While this socket's receive handler runs, the datagram is queued instead, and everything the
  // handler's datagrams caused leaves in one sendmmsg when it ends: a proxied call sends about
  // seven datagrams, and a system call each was a tenth of its CPU (bench/README.md). A queued
  // datagram that cannot be sent is reported through Owner::onSendFailed, except a full socket
  // buffer, which is loss like any other on UDP: retransmission recovers it (§17.1.1.2, §17.2.1).
  Result<void> sendTo(std::string_view datagram, const net::Endpoint& to);
  const net::Endpoint& local() const { return local_; }
  // The owner is going away: no more callbacks, socket closed.
  void detach();

 private:
  void receive();
  void drain();
  void flush();  // sends what sendTo() queued; reports failures after the queue is empty

  struct Queued {
    std::size_t offset;  // into queuedBytes_
    std::size_t size;
    asio::ip::udp::endpoint to;
  };

  asio::ip::udp::socket socket_;
  net::Endpoint local_;
  Owner* owner_;
  std::vector<char> buffer_;  // the reactor's receive; then kDrainBatch slots for recvmmsg
  asio::ip::udp::endpoint sender_;
  bool queueing_ = false;  // inside the receive handler
  std::vector<char> queuedBytes_;
  std::vector<Queued> queued_;
};

}  // namespace p2psip::transport
