// SPDX-License-Identifier: Apache-2.0
#include "relay_bench_forwarders.h"

#include <liburing.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

namespace relay_bench {
namespace {

constexpr std::size_t kBatch = 32;  // as RelayConfig::batchSize's default
constexpr std::size_t kDatagramBuffer = 2048;
constexpr int kEpollEvents = 256;  // as the relay's media thread
constexpr int kEachPerWakeup = 256;
// Below the ephemeral range (32768-60999 here) so that no port-0 socket can hold a relay port.
constexpr std::uint16_t kRelayPortMin = 20000;
constexpr std::uint16_t kRelayPortMax = 32767;

}  // namespace

// ---------------------------------------------------------------- raw loops

RawForwarder::RawForwarder(RawMode mode, const std::vector<net::Endpoint>& phonesA,
                           const std::vector<net::Endpoint>& phonesB)
    : mode_(mode),
      buffers_(kBatch * kDatagramBuffer),
      receiveIov_(kBatch),
      sendIov_(kBatch),
      received_(kBatch),
      sending_(kBatch) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  a_.reserve(phonesA.size());
  b_.reserve(phonesA.size());
  for (std::size_t i = 0; i < phonesA.size(); ++i) {
    a_.emplace_back(kLegAAddress);
    b_.emplace_back(kLegBAddress);
    toA_.push_back(toSockaddr(phonesA[i]));
    toB_.push_back(toSockaddr(phonesB[i]));
    legA_.push_back(a_.back().address());
    legB_.push_back(b_.back().address());
    for (int side = 0; side < 2; ++side) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u64 = i * 2 + static_cast<std::size_t>(side);
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, (side == 0 ? a_ : b_).back().fd(), &event);
    }
  }
  for (std::size_t i = 0; i < kBatch; ++i) {
    receiveIov_[i] = iovec{buffers_.data() + i * kDatagramBuffer, kDatagramBuffer};
    received_[i].msg_hdr.msg_iov = &receiveIov_[i];
    received_[i].msg_hdr.msg_iovlen = 1;
    sending_[i].msg_hdr.msg_iov = &sendIov_[i];
    sending_[i].msg_hdr.msg_iovlen = 1;
    sending_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
  }
  thread_ = std::thread([this] { run(); });
  while (tid_.load() == 0) std::this_thread::yield();
}

RawForwarder::~RawForwarder() {
  stop_.store(true);
  thread_.join();
  ::close(epoll_);
}

void RawForwarder::run() {
  // Named for `perf report --comm`.
  ::pthread_setname_np(::pthread_self(),
                       mode_ == RawMode::Mmsg ? "raw-mmsg-fwd" : "raw-single-fwd");
  tid_.store(::gettid());
  epoll_event events[kEpollEvents];
  while (!stop_.load(std::memory_order_relaxed)) {
    const int ready = ::epoll_wait(epoll_, events, kEpollEvents, 20);
    for (int e = 0; e < ready; ++e) {
      const std::size_t stream = events[e].data.u64 / 2;
      const bool fromA = events[e].data.u64 % 2 == 0;
      const int from = (fromA ? a_ : b_)[stream].fd();
      const int to = (fromA ? b_ : a_)[stream].fd();
      const sockaddr_in& destination = (fromA ? toB_ : toA_)[stream];
      if (mode_ == RawMode::Mmsg) {
        forwardBatch(from, to, destination);
      } else {
        forwardEach(from, to, destination);
      }
    }
  }
}

void RawForwarder::forwardBatch(int from, int to, const sockaddr_in& destination) {
  // Level-triggered like the relay: one batch per ready socket per wake-up, the rest next time.
  const int count =
      ::recvmmsg(from, received_.data(), static_cast<unsigned>(kBatch), MSG_DONTWAIT, nullptr);
  if (count <= 0) return;
  for (int i = 0; i < count; ++i) {
    sendIov_[i] = iovec{receiveIov_[i].iov_base, received_[i].msg_len};
    sending_[i].msg_hdr.msg_name = const_cast<sockaddr_in*>(&destination);
  }
  // No checks: what does not go at once (a full buffer) is dropped.
  ::sendmmsg(to, sending_.data(), static_cast<unsigned>(count), MSG_DONTWAIT);
}

void RawForwarder::forwardEach(int from, int to, const sockaddr_in& destination) {
  unsigned char* buffer = buffers_.data();
  // Until EAGAIN, as the older bench's reference did, but bounded: a socket that keeps filling
  // is served again after the others.
  for (int i = 0; i < kEachPerWakeup; ++i) {
    const auto n = ::recvfrom(from, buffer, kDatagramBuffer, 0, nullptr, nullptr);
    if (n < 0) break;
    ::sendto(to, buffer, static_cast<std::size_t>(n), 0,
             reinterpret_cast<const sockaddr*>(&destination), sizeof destination);
  }
}

// ---------------------------------------------------------------- raw io_uring loop

namespace {

// Provided buffers: a datagram lives in one from its reception until its send completes.
constexpr unsigned kUringBuffers = 4096;  // a power of two, at most 32768
constexpr unsigned kUringBufferGroup = 0;
constexpr unsigned kUringSubmissions = 4096;
constexpr unsigned kUringCompletions = 4 * kUringBuffers;
// user_data: what completed, in the high half; the socket or send slot, in the low half.
constexpr std::uint64_t kReceiveTag = 1ull << 32;
constexpr std::uint64_t kSendTag = 2ull << 32;

}  // namespace

struct UringForwarder::Ring {
  io_uring ring{};
  io_uring_buf_ring* buffers = nullptr;  // the provided-buffer ring (page aligned)
  std::vector<unsigned char> memory;     // kUringBuffers x kDatagramBuffer
  msghdr receiveTemplate{};              // no source address, no control: the raw loop's nothing
  struct Slot {
    msghdr message{};
    iovec iov{};
    std::uint16_t buffer = 0;
  };
  std::vector<Slot> slots;           // one per buffer: a send can always have a slot
  std::vector<std::uint32_t> free;   // free slots
  std::vector<std::uint32_t> rearm;  // sockets whose multishot receive ended
  int returned = 0;                  // buffers given back since the last advance

  ~Ring() {
    if (ring.ring_fd > 0) io_uring_queue_exit(&ring);
    std::free(buffers);
  }

  unsigned char* buffer(unsigned id) { return memory.data() + std::size_t{id} * kDatagramBuffer; }

  void giveBack(unsigned id) {
    io_uring_buf_ring_add(buffers, buffer(id), kDatagramBuffer, static_cast<unsigned short>(id),
                          io_uring_buf_ring_mask(kUringBuffers), returned++);
  }

  io_uring_sqe* sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&ring);
    if (e == nullptr) {
      io_uring_submit(&ring);
      e = io_uring_get_sqe(&ring);
    }
    return e;
  }

  void armReceive(std::uint32_t socket) {
    io_uring_sqe* e = sqe();
    io_uring_prep_recvmsg_multishot(e, static_cast<int>(socket), &receiveTemplate, 0);
    e->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    e->buf_group = kUringBufferGroup;
    io_uring_sqe_set_data64(e, kReceiveTag | socket);
  }

  // 0 or -errno.
  int setUp(const std::vector<Socket>& sockets) {
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE |
                   IORING_SETUP_SUBMIT_ALL;
    params.cq_entries = kUringCompletions;
    if (int r = io_uring_queue_init_params(kUringSubmissions, &ring, &params); r < 0) return r;
    std::vector<int> fds;
    for (const auto& s : sockets) fds.push_back(s.fd());
    if (int r = io_uring_register_files(&ring, fds.data(), static_cast<unsigned>(fds.size()));
        r < 0) {
      return r;
    }
    constexpr std::size_t kPage = 4096;
    buffers = static_cast<io_uring_buf_ring*>(std::aligned_alloc(
        kPage, (sizeof(io_uring_buf) * kUringBuffers + kPage - 1) / kPage * kPage));
    if (buffers == nullptr) return -ENOMEM;
    io_uring_buf_reg group{.ring_addr = reinterpret_cast<std::uintptr_t>(buffers),
                           .ring_entries = kUringBuffers,
                           .bgid = kUringBufferGroup,
                           .pad = 0,
                           .resv = {}};
    if (int r = io_uring_register_buf_ring(&ring, &group, 0); r < 0) return r;
    io_uring_buf_ring_init(buffers);
    memory.resize(std::size_t{kUringBuffers} * kDatagramBuffer);
    for (unsigned i = 0; i < kUringBuffers; ++i) giveBack(i);
    io_uring_buf_ring_advance(buffers, returned);
    returned = 0;
    slots.resize(kUringBuffers);
    for (std::uint32_t i = kUringBuffers; i-- > 0;) {
      slots[i].message.msg_iov = &slots[i].iov;
      slots[i].message.msg_iovlen = 1;
      slots[i].message.msg_namelen = sizeof(sockaddr_in);
      free.push_back(i);
    }
    rearm.reserve(sockets.size());
    for (std::uint32_t s = 0; s < sockets.size(); ++s) armReceive(s);
    io_uring_submit(&ring);
    return 0;
  }
};

UringForwarder::UringForwarder(const std::vector<net::Endpoint>& phonesA,
                               const std::vector<net::Endpoint>& phonesB) {
  sockets_.reserve(phonesA.size() * 2);
  for (std::size_t i = 0; i < phonesA.size(); ++i) {
    sockets_.emplace_back(kLegAAddress);
    sockets_.emplace_back(kLegBAddress);
    legA_.push_back(sockets_[2 * i].address());
    legB_.push_back(sockets_[2 * i + 1].address());
    towards_.push_back(toSockaddr(phonesB[i]));  // received on leg A: out of leg B to phone B
    towards_.push_back(toSockaddr(phonesA[i]));
  }
  thread_ = std::thread([this] { run(); });
  while (tid_.load() == 0 && setupError_.load() == 0) std::this_thread::yield();
  if (setupError_.load() != 0) {
    std::fprintf(stderr, "io_uring: %s\n", std::strerror(-setupError_.load()));
    std::exit(1);
  }
}

UringForwarder::~UringForwarder() {
  stop_.store(true);
  thread_.join();
}

void UringForwarder::run() {
  ::pthread_setname_np(::pthread_self(), "raw-uring-fwd");
  // On this thread: a SINGLE_ISSUER ring belongs to the task that made it.
  auto state = std::make_unique<Ring>();
  Ring& r = *state;
  if (const int error = r.setUp(sockets_); error < 0) {
    setupError_.store(error);
    return;
  }
  tid_.store(::gettid());
  __kernel_timespec timeout{.tv_sec = 0, .tv_nsec = 20'000'000};
  while (!stop_.load(std::memory_order_relaxed)) {
    io_uring_cqe* first = nullptr;
    // One system call: the sends queued since the last wait go out, then it waits for (and
    // runs) the receptions.
    io_uring_submit_and_wait_timeout(&r.ring, &first, 1, &timeout, nullptr);
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&r.ring, head, cqe) {
      ++seen;
      const std::uint64_t tag = cqe->user_data & ~0xffffffffull;
      const auto index = static_cast<std::uint32_t>(cqe->user_data);
      if (tag == kSendTag) {
        r.giveBack(r.slots[index].buffer);
        r.free.push_back(index);
        continue;
      }
      if (tag != kReceiveTag) continue;
      if ((cqe->flags & IORING_CQE_F_MORE) == 0) r.rearm.push_back(index);  // ENOBUFS, or ended
      if ((cqe->flags & IORING_CQE_F_BUFFER) == 0) continue;
      const unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
      io_uring_recvmsg_out* out =
          io_uring_recvmsg_validate(r.buffer(id), cqe->res, &r.receiveTemplate);
      if (out == nullptr || (out->flags & MSG_TRUNC) != 0 || r.free.empty()) {
        r.giveBack(id);
        continue;
      }
      const std::uint32_t slot = r.free.back();
      r.free.pop_back();
      Ring::Slot& s = r.slots[slot];
      s.buffer = static_cast<std::uint16_t>(id);
      s.iov = iovec{io_uring_recvmsg_payload(out, &r.receiveTemplate),
                    io_uring_recvmsg_payload_length(out, cqe->res, &r.receiveTemplate)};
      s.message.msg_name = &towards_[index];
      io_uring_sqe* e = r.sqe();
      // No checks: a full socket buffer fails the send (MSG_DONTWAIT) rather than queue it.
      io_uring_prep_sendmsg(e, static_cast<int>(index ^ 1u), &s.message, MSG_DONTWAIT);
      e->flags |= IOSQE_FIXED_FILE;
      io_uring_sqe_set_data64(e, kSendTag | slot);
    }
    io_uring_cq_advance(&r.ring, seen);
    if (r.returned > 0) {
      io_uring_buf_ring_advance(r.buffers, r.returned);
      r.returned = 0;
    }
    // After the buffers went back: a receive that ran out of them can go on.
    for (const auto socket : r.rearm) r.armReceive(socket);
    r.rearm.clear();
  }
}

// ---------------------------------------------------------------- the relay

RelayForwarder::RelayForwarder(const RelaySetup& setup) {
  media::RelayConfig config;
  config.addresses = {asio::ip::make_address(kLegAAddress), asio::ip::make_address(kLegBAddress)};
  config.portMin = kRelayPortMin;
  config.portMax = kRelayPortMax;
  config.maxStreams = setup.maxStreams;
  config.socketBufferBytes = setup.socketBufferBytes;
  config.ioBackend = setup.backend;
  // Streams of a later capacity step wait idle through the earlier ones: none may time out.
  config.inactivityTimeout = std::chrono::hours(1);
  const auto before = threadsNamed("p2psip-media-0");
  // The bench is its own signalling thread and needs no report (timeouts, latches): dropped.
  engine_ = std::make_unique<media::RelayEngine>(
      config, [](std::function<void()>) {}, metrics_, p2psip::Logger{});
  if (auto started = engine_->start(); !started) {
    std::fprintf(stderr, "relay: %s\n", started.error().detail.c_str());
    std::exit(1);
  }
  if (engine_->ioBackend() != setup.backend) {
    std::fprintf(stderr, "relay: the media thread runs %s, not %s\n",
                 media::toString(engine_->ioBackend()), media::toString(setup.backend));
    std::exit(1);
  }
  for (const pid_t tid : threadsNamed("p2psip-media-0")) {
    if (std::find(before.begin(), before.end(), tid) == before.end()) tid_ = tid;
  }
  if (tid_ == 0) {
    std::fprintf(stderr, "relay: media thread not found\n");
    std::exit(1);
  }
}

void RelayForwarder::reserve(std::size_t streams) {
  legA_.reserve(legA_.size() + streams);
  legB_.reserve(legB_.size() + streams);
}

double RelayForwarder::allocate(const std::vector<net::Endpoint>& phonesA,
                                const std::vector<net::Endpoint>& phonesB) {
  const auto local = [](const char* address) { return asio::ip::make_address(address); };
  const auto start = Clock::now();
  for (std::size_t i = 0; i < phonesA.size(); ++i) {
    auto stream =
        engine_->allocate(media::LegConfig{.local = local(kLegAAddress), .remote = phonesA[i]},
                          media::LegConfig{.local = local(kLegBAddress), .remote = phonesB[i]});
    if (!stream) {
      std::fprintf(stderr, "relay: stream %zu: %s\n", legA_.size(), stream.error().detail.c_str());
      std::exit(1);
    }
    legA_.push_back(toSockaddr(stream->legA));
    legB_.push_back(toSockaddr(stream->legB));
  }
  const auto elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  return phonesA.empty() ? 0 : elapsed / static_cast<double>(phonesA.size());
}

}  // namespace relay_bench
