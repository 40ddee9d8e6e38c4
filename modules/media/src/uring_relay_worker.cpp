// SPDX-License-Identifier: Apache-2.0
#include "uring_relay_worker.h"

#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <span>
#include <string>
#include <utility>

namespace p2psip::media {
namespace {

constexpr unsigned kBufferGroup = 0;
// Room before each datagram in its buffer (the layout of a multishot recvmsg): the kernel's
// io_uring_recvmsg_out, the source address (sockaddr_in6, rounded up so that the control data
// after it is aligned for a cmsghdr) and one SCM_TIMESTAMPNS.
constexpr std::size_t kNameRoom = (sizeof(sockaddr_in6) + 7) / 8 * 8;
constexpr std::size_t kControlRoom = CMSG_SPACE(sizeof(timespec));
constexpr std::size_t kDatagramOffset = sizeof(io_uring_recvmsg_out) + kNameRoom + kControlRoom;

// What completed, in the low bits of user_data; the rest is a pointer (RelaySocket, RelayStream:
// both aligned to 8) or a send slot's index.
constexpr std::uint64_t kTagBits = 3;
constexpr std::uint64_t kTagMask = (1u << kTagBits) - 1;
constexpr std::uint64_t kReceiveTag = 0;  // RelaySocket*
constexpr std::uint64_t kSendTag = 1;     // slot index
constexpr std::uint64_t kCancelTag = 2;   // RelayStream*
constexpr std::uint64_t kWakeupTag = 3;
constexpr std::uint64_t kStopTag = 4;  // the wake-up's cancel, at stop
static_assert(alignof(RelaySocket) >= 8 && alignof(RelayStream) >= 8);

constexpr auto kStopDrain = std::chrono::seconds(1);

// The receive buffers of one thread: 32 batches' worth, a power of two as the ring wants.
unsigned bufferCountFor(std::size_t batchSize) {
  return static_cast<unsigned>(std::clamp<std::size_t>(std::bit_ceil(batchSize * 32), 256, 4096));
}

__kernel_timespec timespecOf(Duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return __kernel_timespec{.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}

tl::unexpected<Error> failure(const char* what, int error) {
  return makeError(ErrorCode::TransportError,
                   std::string("media: ") + what + ": " + std::strerror(-error));
}

}  // namespace

UringRelayWorker::UringRelayWorker(const RelayConfig& config, SignallingChannel& channel,
                                   RelayMetrics& metrics, Logger logger, std::size_t index)
    : RelayWorker(config, channel, metrics, std::move(logger), index),
      bufferCount_(bufferCountFor(config.batchSize)),
      bufferLength_(static_cast<unsigned>(kDatagramOffset + config.maxDatagramSize)),
      bufferStride_((kDatagramOffset + config.maxDatagramSize + 63) / 64 * 64),
      socketsHint_(4 * config.maxStreams) {
  receiveTemplate_.msg_namelen = kNameRoom;
  receiveTemplate_.msg_controllen = kControlRoom;
}

UringRelayWorker::~UringRelayWorker() {
  stop();
  if (ringUp_) io_uring_queue_exit(&ring_);
  if (bufferRing_ != nullptr) ::munmap(bufferRing_, bufferRingBytes_);
}

Result<void> UringRelayWorker::setUp() {
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL |
                 IORING_SETUP_CQSIZE;
  params.cq_entries = 4 * bufferCount_;
  if (const int r = io_uring_queue_init_params(bufferCount_, &ring_, &params); r < 0) {
    return failure("io_uring_queue_init", r);
  }
  ringUp_ = true;
  bufferRingBytes_ = sizeof(io_uring_buf) * bufferCount_;
  void* mapped =
      ::mmap(nullptr, bufferRingBytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mapped == MAP_FAILED) return failure("mmap", -errno);
  bufferRing_ = static_cast<io_uring_buf_ring*>(mapped);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<std::uintptr_t>(bufferRing_);
  registration.ring_entries = bufferCount_;
  registration.bgid = kBufferGroup;
  if (const int r = io_uring_register_buf_ring(&ring_, &registration, 0); r < 0) {
    return failure("io_uring_register_buf_ring", r);
  }
  io_uring_buf_ring_init(bufferRing_);
  buffers_.resize(bufferCount_ * bufferStride_);
  for (unsigned id = 0; id < bufferCount_; ++id) giveBack(static_cast<std::uint16_t>(id));
  io_uring_buf_ring_advance(bufferRing_, buffersReturned_);
  buffersReturned_ = 0;
  // A slot per buffer: a send never waits for one.
  slots_.resize(bufferCount_);
  freeSlots_.reserve(bufferCount_);
  for (std::uint32_t i = bufferCount_; i-- > 0;) freeSlots_.push_back(i);
  rearm_.reserve(socketsHint_);
  armWakeup();
  if (const int r = io_uring_submit(&ring_); r < 0) return failure("io_uring_submit", r);
  return {};
}

void UringRelayWorker::loop() {
  TimePoint nextSweep = Clock::now() + sweepInterval();
  while (!stopping()) {
    // One system call: the sends and requests queued since the last one go in, then it waits
    // for a completion (or the next sweep) and runs the receptions.
    if (!reap(timespecOf(std::max(Duration::zero(), nextSweep - Clock::now())))) break;
    rearmReceives();
    flushMetrics();
    runCommandsIfPending();  // those that came with no datagram
    const TimePoint now = Clock::now();
    if (now >= nextSweep) {
      sweep(now);
      nextSweep = now + sweepInterval();
    }
  }
  cancelEverything();
}

bool UringRelayWorker::reap(const __kernel_timespec& timeout) {
  io_uring_cqe* first = nullptr;
  const int waited = io_uring_submit_and_wait_timeout(
      &ring_, &first, 1, const_cast<__kernel_timespec*>(&timeout), nullptr);
  // ETIME: the timeout; EBUSY/EAGAIN: completions to reap first.
  const bool fine =
      waited >= 0 || waited == -ETIME || waited == -EINTR || waited == -EAGAIN || waited == -EBUSY;
  if (!fine) logger().error("media: io_uring_enter: {}", std::strerror(-waited));
  const TimePoint now = Clock::now();
  unsigned head = 0;
  unsigned seen = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    complete(*cqe, now);
  }
  io_uring_cq_advance(&ring_, seen);
  if (buffersReturned_ > 0) {
    io_uring_buf_ring_advance(bufferRing_, buffersReturned_);
    buffersReturned_ = 0;
  }
  return fine;
}

void UringRelayWorker::complete(const io_uring_cqe& cqe, TimePoint now) {
  const std::uint64_t data = cqe.user_data;
  switch (data & kTagMask) {
    case kReceiveTag:
      onReceived(*reinterpret_cast<RelaySocket*>(static_cast<std::uintptr_t>(data)), cqe, now);
      break;
    case kSendTag:
      onSent(static_cast<std::uint32_t>(data >> kTagBits), cqe.res, now);
      break;
    case kCancelTag:
      --inKernel_;
      endRequest(*reinterpret_cast<RelayStream*>(static_cast<std::uintptr_t>(data & ~kTagMask)));
      break;
    case kWakeupTag:
      onWakeup(cqe);
      break;
    default:  // kStopTag
      --inKernel_;
      break;
  }
}

void UringRelayWorker::onReceived(RelaySocket& socket, const io_uring_cqe& cqe, TimePoint now) {
  RelayStream& stream = *socket.stream;
  // Commands submitted before this datagram was sent apply to it: a setRemote() that returned
  // before the phone sent is in force. (One atomic load, no lock, when there are none.) None
  // once stopping: they would put requests in the kernel after the last cancel.
  if (!stopping()) runCommandsIfPending();
  const bool relaying = !stream.retired() && !stopping();
  if ((cqe.flags & IORING_CQE_F_BUFFER) != 0) {
    const auto id = static_cast<std::uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    if (relaying) {
      relay(socket, id, cqe.res, now);
    } else {
      giveBack(id);  // released just now: it goes nowhere
    }
  }
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    // The receive ended: cancelled, out of buffers (-ENOBUFS: the datagram waits in the socket),
    // or the completion queue was full.
    --inKernel_;
    if (relaying) {
      rearm_.push_back(&socket);
    } else {
      endRequest(stream);
    }
  }
}

void UringRelayWorker::relay(RelaySocket& socket, std::uint16_t id, int length, TimePoint now) {
  RelayStream& stream = *socket.stream;
  BatchTally tally;
  io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer(id), length, &receiveTemplate_);
  if (out == nullptr) {  // shorter than the room before the datagram: not a datagram
    giveBack(id);
    ++tally.malformed;
    publish(stream, socket.side, tally, now);
    return;
  }
  auto* name = static_cast<std::uint8_t*>(io_uring_recvmsg_name(out));
  std::memcpy(&source_.storage, name, std::min<std::size_t>(out->namelen, kNameRoom));
  source_.length = static_cast<socklen_t>(out->namelen);
  msghdr control{};
  control.msg_control = name + kNameRoom;
  control.msg_controllen = out->controllen;
  auto* payload = static_cast<std::uint8_t*>(io_uring_recvmsg_payload(out, &receiveTemplate_));
  const unsigned size = io_uring_recvmsg_payload_length(out, length, &receiveTemplate_);
  const ReceivedDatagram datagram{.bytes = std::span<const std::uint8_t>(payload, size),
                                  .truncated = (out->flags & MSG_TRUNC) != 0,
                                  .source = source_,
                                  .arrivalNs = timestampNs(control)};
  const Forward forward = admit(socket, datagram, now, tally);
  if (forward.destination == nullptr || freeSlots_.empty()) {
    if (forward.destination != nullptr) ++tally.unsent;  // cannot happen: a slot per buffer
    giveBack(id);
    publish(stream, socket.side, tally, now);
    return;
  }
  const std::uint32_t index = freeSlots_.back();
  freeSlots_.pop_back();
  SendSlot& slot = slots_[index];
  const auto nameLength = static_cast<std::uint16_t>(
      std::min<std::size_t>(forward.destination->length, sizeof slot.destination));
  std::memcpy(&slot.destination, forward.destination->data(), nameLength);
  slot.stream = &stream;
  slot.length = size;
  slot.side = socket.side;
  slot.kind = forward.kind;
  slot.buffer = id;
  io_uring_sqe* sqe = nextSqe();
  // A send with its destination (IORING_OP_SEND with an address): the kernel copies no message
  // header. MSG_DONTWAIT: a full socket buffer fails it at once (media is never queued).
  io_uring_prep_send(sqe, stream.leg(otherSide(socket.side)).socket(socket.channel).fd, payload,
                     size, MSG_DONTWAIT);
  io_uring_prep_send_set_addr(sqe, reinterpret_cast<const sockaddr*>(&slot.destination),
                              nameLength);
  io_uring_sqe_set_data64(sqe, (std::uint64_t{index} << kTagBits) | kSendTag);
  stream.requestStarted();
  ++inKernel_;
  // What was forwarded is counted when the send completes.
  publish(stream, socket.side, tally, now);
}

void UringRelayWorker::onSent(std::uint32_t index, int result, TimePoint now) {
  SendSlot& slot = slots_[index];
  RelayStream& stream = *slot.stream;
  --inKernel_;
  if (!stream.retired()) {  // a retired stream's counters may be gone
    BatchTally tally;
    if (result >= 0) {
      tally.countSent(slot.kind, slot.length);
    } else {
      ++tally.unsent;  // the socket buffer was full, or no route
    }
    publish(stream, slot.side, tally, now);
  }
  giveBack(slot.buffer);
  freeSlots_.push_back(index);
  endRequest(stream);
}

void UringRelayWorker::onWakeup(const io_uring_cqe& cqe) {
  std::uint64_t count = 0;  // reset the eventfd; the queue is looked at after the completions
  [[maybe_unused]] const auto read = ::read(wakeupFd(), &count, sizeof count);
  if ((cqe.flags & IORING_CQE_F_MORE) == 0) {
    --inKernel_;
    if (!stopping()) armWakeup();
  }
}

void UringRelayWorker::endRequest(RelayStream& stream) {
  if (stream.requestEnded() && stream.retired()) closeRetired(stream);
}

bool UringRelayWorker::watch(RelayStream& stream) {
  for (Side side : {Side::A, Side::B}) {
    for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
      armReceive(stream.leg(side).socket(channel));
      stream.requestStarted();
    }
  }
  return true;
}

void UringRelayWorker::forget(RelayStream& stream) {
  // What waits in the kernel on its sockets is their receives: a send never waits there
  // (MSG_DONTWAIT), and one not yet completed still counts as a request of the stream. Each
  // receive is cancelled by its user_data, a hash lookup (by file descriptor, the kernel would
  // scan every armed request: a release would cost O(streams) and a stop O(streams²)). The
  // stream is closed when the last of its requests, these cancels included, completes.
  for (Side side : {Side::A, Side::B}) {
    for (Channel channel : {Channel::Rtp, Channel::Rtcp}) {
      io_uring_sqe* sqe = nextSqe();
      io_uring_prep_cancel64(
          sqe, reinterpret_cast<std::uintptr_t>(&stream.leg(side).socket(channel)) | kReceiveTag,
          0);
      io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&stream) | kCancelTag);
      stream.requestStarted();
      ++inKernel_;
    }
  }
}

void UringRelayWorker::armReceive(RelaySocket& socket) {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_recvmsg_multishot(sqe, socket.fd, &receiveTemplate_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, reinterpret_cast<std::uintptr_t>(&socket) | kReceiveTag);
  ++inKernel_;
}

void UringRelayWorker::armWakeup() {
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_poll_multishot(sqe, wakeupFd(), POLLIN);
  io_uring_sqe_set_data64(sqe, kWakeupTag);
  ++inKernel_;
}

void UringRelayWorker::rearmReceives() {
  // The buffers of this round are back in the ring, so the receives that ran out can go on.
  for (RelaySocket* socket : rearm_) {
    if (socket->stream->retired() || stopping()) {
      endRequest(*socket->stream);
    } else {
      armReceive(*socket);
    }
  }
  rearm_.clear();
}

void UringRelayWorker::cancelEverything() {
  // Nothing may outlive the thread in the kernel: every request is cancelled and its completion
  // awaited, so that the sockets are really closed (their ports free) once stop() returns.
  retireAll();      // each stream's receives cancelled; closed after their last completion
  rearmReceives();  // stopping: they only end
  io_uring_sqe* sqe = nextSqe();
  io_uring_prep_cancel64(sqe, kWakeupTag, 0);
  io_uring_sqe_set_data64(sqe, kStopTag);
  ++inKernel_;
  const TimePoint deadline = Clock::now() + kStopDrain;
  while (inKernel_ > 0 && Clock::now() < deadline) {
    reap(timespecOf(std::chrono::milliseconds(10)));
    rearmReceives();
  }
  if (inKernel_ > 0) {
    logger().warn("media: thread {}: {} io_uring requests still in the kernel at stop", index(),
                  inKernel_);
  }
}

io_uring_sqe* UringRelayWorker::nextSqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (sqe == nullptr) {
    io_uring_submit(&ring_);  // the queue is full: what is in it goes in now
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringRelayWorker::giveBack(std::uint16_t id) {
  io_uring_buf_ring_add(bufferRing_, buffer(id), bufferLength_, id,
                        io_uring_buf_ring_mask(bufferCount_), buffersReturned_++);
}

}  // namespace p2psip::media
