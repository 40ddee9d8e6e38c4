// SPDX-License-Identifier: Apache-2.0
// PortPool: the RTP/RTCP port pairs of one local address (RTP even, RTCP = RTP + 1, RFC 3550
// §11), and PortLease, one bound pair. lease() runs on the signalling thread, so allocate() can
// answer with real ports at once; a lease is returned when it is destroyed, which may happen on a
// media thread (a stream that timed out), so the pool takes a mutex. That lock is on the control
// path only: nothing per packet touches the pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include <asio/ip/address.hpp>

#include "file_descriptor.h"
#include "p2psip/common/result.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::media {

class PortPool;

// Two bound, non-blocking UDP sockets. Closes them and gives the pair back on destruction.
class PortLease {
 public:
  PortLease(PortLease&& other) noexcept;
  PortLease& operator=(PortLease&& other) noexcept;
  PortLease(const PortLease&) = delete;
  PortLease& operator=(const PortLease&) = delete;
  ~PortLease();

  int rtpFd() const { return rtp_.get(); }
  int rtcpFd() const { return rtcp_.get(); }
  net::Endpoint rtpEndpoint() const { return endpoint_; }

 private:
  friend class PortPool;
  PortLease(PortPool& pool, std::size_t index, FileDescriptor rtp, FileDescriptor rtcp,
            net::Endpoint endpoint);
  void giveBack();

  PortPool* pool_;
  std::size_t index_;
  FileDescriptor rtp_;
  FileDescriptor rtcp_;
  net::Endpoint endpoint_;
};

class PortPool {
 public:
  // `pairs` pairs from `portMin` (even) upwards. socketBufferBytes 0 keeps the system default.
  PortPool(asio::ip::address address, std::uint16_t portMin, std::size_t pairs,
           int socketBufferBytes);
  PortPool(const PortPool&) = delete;
  PortPool& operator=(const PortPool&) = delete;

  // Binds the next free pair, starting after the last one handed out, so a port just released is
  // not reused at once (late packets of the old call must not reach the new one). Pairs that
  // another process holds are skipped. LimitExceeded when no pair can be bound.
  Result<PortLease> lease();
  std::size_t freePairs() const;
  const asio::ip::address& address() const { return address_; }

 private:
  friend class PortLease;
  void giveBack(std::size_t index);
  std::optional<std::size_t> reserve();
  Result<PortLease> bindPair(std::size_t index);
  Result<FileDescriptor> bindSocket(std::uint16_t port) const;

  asio::ip::address address_;
  std::uint16_t portMin_;
  int socketBufferBytes_;
  mutable std::mutex mutex_;  // guards the three below
  std::vector<bool> inUse_;
  std::size_t free_;
  std::size_t cursor_ = 0;
};

}  // namespace p2psip::media
