// SPDX-License-Identifier: Apache-2.0
// EpollRelayWorker: a media thread with the epoll backend (IoBackend::Epoll). An epoll set over
// its streams' sockets and the wake-up eventfd; per ready socket and wake-up, one recvmmsg
// (batchSize datagrams), then one sendmmsg of what passes out of the other leg's socket (sendto
// for a lone datagram, the usual case at a phone's pace: it spares the kernel a header copy).
// Receive and send reuse the same preallocated buffers, message headers, addresses and control
// buffers.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "relay_worker.h"

namespace p2psip::media {

class EpollRelayWorker final : public RelayWorker {
 public:
  EpollRelayWorker(const RelayConfig& config, SignallingChannel& channel, RelayMetrics& metrics,
                   Logger logger, std::size_t index);
  ~EpollRelayWorker() override;  // stop()
  IoBackend backend() const override { return IoBackend::Epoll; }

 private:
  // A control message buffer with room for one SCM_TIMESTAMPNS.
  struct alignas(cmsghdr) ControlBuffer {
    char bytes[64];
  };

  Result<void> setUp() override;
  void loop() override;
  bool watch(RelayStream& stream) override;
  void forget(RelayStream& stream) override;
  void unwatch(RelayStream& stream);
  void relay(RelaySocket& socket);
  void send(int fd, std::size_t queued, BatchTally& tally);
  static int sendOne(int fd, const msghdr& message);
  std::uint8_t* buffer(std::size_t i) { return buffers_.data() + i * datagramSize(); }

  const std::size_t batchSize_;
  FileDescriptor epoll_;

  // Preallocated batch state (media thread only).
  std::vector<std::uint8_t> buffers_;
  std::vector<mmsghdr> received_;
  std::size_t headersUsed_ = 0;  // received_ headers the last recvmmsg filled
  std::vector<iovec> receivedIov_;
  std::vector<SocketAddress> sources_;
  std::vector<ControlBuffer> control_;
  std::vector<mmsghdr> sending_;
  std::vector<iovec> sendingIov_;
  std::vector<PacketKind> sendingKind_;
  std::vector<epoll_event> events_;
};

}  // namespace p2psip::media
