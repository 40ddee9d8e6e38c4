// SPDX-License-Identifier: Apache-2.0
// DatagramSocket: one bound UDP socket on the signalling loop that hands each received datagram
// to its owner and sends without blocking. Private to the reachability module (the Reflector owns
// two, the Prober one).
//
// Held by std::shared_ptr because an asio receive in flight must keep the socket and its buffer
// alive until its handler has run; the owner detach()es it when it goes away, after which no
// callback reaches the owner, even from a handler already queued.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>

#include <asio/io_context.hpp>
#include <asio/ip/udp.hpp>

#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::reachability {

// STUN over UDP stays under the path MTU (RFC 5389 §7.1), and the messages this module handles are
// under 200 bytes. A larger datagram arrives cut to this size, fails the length check of
// decodeStun() and is counted as malformed: the buffer bounds memory per socket.
inline constexpr std::size_t kMaxStunDatagram = 1500;

class DatagramSocket : public std::enable_shared_from_this<DatagramSocket> {
 public:
  class Owner {
   public:
    virtual void onDatagram(DatagramSocket& socket, std::string_view datagram,
                            const net::Endpoint& from) = 0;

   protected:
    ~Owner() = default;
  };

  static Result<std::shared_ptr<DatagramSocket>> open(asio::io_context& context,
                                                      const net::Endpoint& local, Owner& owner);
  DatagramSocket(asio::ip::udp::socket socket, net::Endpoint local, Owner& owner);

  void start();
  // Sends without blocking. A full socket buffer is an error: UDP may drop, and STUN clients
  // retransmit (RFC 5389 §7.2.1).
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
  std::array<char, kMaxStunDatagram> buffer_{};
  asio::ip::udp::endpoint sender_;
};

}  // namespace p2psip::reachability
