// SPDX-License-Identifier: Apache-2.0
#include "datagram_socket.h"

#include <asio/ip/v6_only.hpp>

namespace p2psip::reachability {
namespace {
// Datagrams read per wake-up before going back to the reactor: a flood is drained in batches
// without starving the rest of the signalling loop.
constexpr int kMaxDatagramsPerWakeup = 64;
}  // namespace

Result<std::shared_ptr<DatagramSocket>> DatagramSocket::open(asio::io_context& context,
                                                             const net::Endpoint& local,
                                                             Owner& owner) {
  asio::ip::udp::socket socket(context);
  asio::error_code ec;
  const auto endpoint = local.toUdp();
  socket.open(endpoint.protocol(), ec);
  if (!ec && endpoint.address().is_v6()) socket.set_option(asio::ip::v6_only(true), ec);
  if (!ec) socket.bind(endpoint, ec);
  if (!ec) socket.non_blocking(true, ec);
  if (ec) {
    return makeError(ErrorCode::TransportError,
                     "UDP bind " + local.toString() + ": " + ec.message());
  }
  const auto bound = net::Endpoint::fromAsio(socket.local_endpoint(ec));
  if (ec) return makeError(ErrorCode::TransportError, "UDP local_endpoint: " + ec.message());
  return std::make_shared<DatagramSocket>(std::move(socket), bound, owner);
}

DatagramSocket::DatagramSocket(asio::ip::udp::socket socket, net::Endpoint local, Owner& owner)
    : socket_(std::move(socket)), local_(local), owner_(&owner) {}

void DatagramSocket::start() {
  receive();
}

void DatagramSocket::receive() {
  socket_.async_receive_from(
      asio::buffer(buffer_), sender_,
      [self = shared_from_this()](const asio::error_code& ec, std::size_t n) {
        if (self->owner_ == nullptr || ec == asio::error::operation_aborted) return;
        // Errors on an unconnected UDP socket (ICMP port unreachable after an earlier send)
        // concern that send, not the socket: keep receiving.
        if (!ec) {
          self->owner_->onDatagram(*self, std::string_view(self->buffer_.data(), n),
                                   net::Endpoint::fromAsio(self->sender_));
          self->drain();
        }
        if (self->owner_ != nullptr) self->receive();
      });
}

void DatagramSocket::drain() {
  for (int i = 0; i < kMaxDatagramsPerWakeup && owner_ != nullptr; ++i) {
    asio::error_code ec;
    const std::size_t n = socket_.receive_from(asio::buffer(buffer_), sender_, 0, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return;
    if (ec) continue;
    owner_->onDatagram(*this, std::string_view(buffer_.data(), n),
                       net::Endpoint::fromAsio(sender_));
  }
}

Result<void> DatagramSocket::sendTo(std::string_view datagram, const net::Endpoint& to) {
  asio::error_code ec;
  socket_.send_to(asio::buffer(datagram.data(), datagram.size()), to.toUdp(), 0, ec);
  if (ec) {
    return makeError(ErrorCode::TransportError,
                     "UDP send to " + to.toString() + ": " + ec.message());
  }
  return {};
}

void DatagramSocket::detach() {
  owner_ = nullptr;
  asio::error_code ignored;
  socket_.close(ignored);
}

}  // namespace p2psip::reachability
