// SPDX-License-Identifier: Apache-2.0
// UringRelayWorker: a media thread with the io_uring backend (IoBackend::IoUring). Every socket
// of its streams has one multishot recvmsg in the kernel (IORING_RECV_MULTISHOT), reading into a
// ring of provided buffers that all its sockets share; a datagram that passes admit() leaves the
// other leg's socket by a send request straight from the buffer it arrived in, which goes back
// to the ring when the send completes. One io_uring_enter per wake-up submits the sends and
// waits for the next receptions, which the kernel runs in this thread when it asks for them
// (IORING_SETUP_DEFER_TASKRUN): a datagram costs no system call of its own. The wake-up eventfd
// has a multishot poll.
//
// A retired stream's receives are cancelled (by user_data, one per socket) and the stream is
// closed only after the last completion that points at it, so its ports are free when it is gone.
// stop() retires every stream and waits for their completions the same way. Buffers, send slots
// and message headers are allocated by setUp(), none per packet.
#pragma once

#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "relay_worker.h"

namespace p2psip::media {

class UringRelayWorker final : public RelayWorker {
 public:
  UringRelayWorker(const RelayConfig& config, SignallingChannel& channel, RelayMetrics& metrics,
                   Logger logger, std::size_t index);
  ~UringRelayWorker() override;  // stop(), then the ring goes
  IoBackend backend() const override { return IoBackend::IoUring; }

 private:
  // A relayed datagram until its send completes: the buffer it sits in, and what to count once
  // it is known to have gone (or not).
  struct SendSlot {
    sockaddr_in6 destination{};  // room for either family
    RelayStream* stream = nullptr;
    std::uint32_t length = 0;
    Side side = Side::A;  // received on
    PacketKind kind = PacketKind::Rtp;
    std::uint16_t buffer = 0;
  };

  Result<void> setUp() override;
  void loop() override;
  bool watch(RelayStream& stream) override;
  void forget(RelayStream& stream) override;

  // Submits what waits, then reaps what completed (at least one completion, or the timeout).
  // False on an error of io_uring_enter itself: the thread then ends, as with a failing epoll.
  bool reap(const __kernel_timespec& timeout);
  void complete(const io_uring_cqe& cqe, TimePoint now);
  void onReceived(RelaySocket& socket, const io_uring_cqe& cqe, TimePoint now);
  void relay(RelaySocket& socket, std::uint16_t buffer, int length, TimePoint now);
  void onSent(std::uint32_t slot, int result, TimePoint now);
  void onWakeup(const io_uring_cqe& cqe);
  // One request that pointed at `stream` is over; a retired stream closes after its last.
  void endRequest(RelayStream& stream);
  void armReceive(RelaySocket& socket);
  void armWakeup();
  void rearmReceives();
  void cancelEverything();
  io_uring_sqe* nextSqe();
  void giveBack(std::uint16_t buffer);
  std::uint8_t* buffer(std::size_t id) { return buffers_.data() + id * bufferStride_; }

  const unsigned bufferCount_;
  const unsigned bufferLength_;  // what the kernel may fill: header, name, control, datagram
  const std::size_t bufferStride_;
  const std::size_t socketsHint_;
  io_uring ring_{};
  bool ringUp_ = false;
  io_uring_buf_ring* bufferRing_ = nullptr;  // mmap'd: the kernel wants it page aligned
  std::size_t bufferRingBytes_ = 0;
  std::vector<std::uint8_t> buffers_;
  int buffersReturned_ = 0;   // given back since the last io_uring_buf_ring_advance()
  msghdr receiveTemplate_{};  // the name and control room every receive leaves in its buffer
  std::vector<SendSlot> slots_;
  std::vector<std::uint32_t> freeSlots_;
  // Receives that ended (out of buffers, or the completion queue was full), armed again once
  // this round's buffers are back; each still counts as a request of its stream.
  std::vector<RelaySocket*> rearm_;
  std::uint64_t inKernel_ = 0;  // requests submitted and not yet completed for good
  SocketAddress source_;        // of the datagram being relayed
};

}  // namespace p2psip::media
