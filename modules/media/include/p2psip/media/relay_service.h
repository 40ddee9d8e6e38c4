// SPDX-License-Identifier: Apache-2.0
// RelayService: the server side of the relay control protocol (relay_control.h,
// docs/relay-control-protocol.md). A peer that offers relaying runs one; the peer-link layer
// hands it each control frame together with the authenticated key of the peer that sent it, and
// sends back what it returns. It executes the request against the process's RelayEngine, within
// an authorisation check, a per-peer stream quota and a cap on the streams relayed for others,
// and remembers which peer owns which stream: a peer can only connect, inspect or release its own.
//
// Threading: not thread-safe; every member is called on the signalling thread, like the
// RelayEngine it drives. The engine must outlive the service; the service releases the streams it
// still holds when destroyed.
//
// Timeouts: the engine has a single onTimeout handler per process, owned by the composition
// root. The root forwards each timed-out StreamId to onStreamTimedOut(), which forgets the stream
// if it was relayed for a peer. The service never registers engine callbacks itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/media/relay_control.h"
#include "p2psip/media/relay_engine.h"
#include "p2psip/media/stream.h"

namespace p2psip::media {

struct RelayServiceConfig {
  // Streams one peer may hold at once (an audio+video call is two).
  std::size_t perPeerStreamQuota = 64;
  // Streams relayed for all peers together, so that other peers cannot take every port the
  // engine also needs for this peer's own calls. The engine's own limits apply on top.
  std::size_t maxStreams = 1000;
  // The relay's public-facing addresses, at most one per family (each must be one of the
  // engine's RelayConfig::addresses). Both legs of a relayed stream of family F bind on the
  // address of family F: the peers on either side reach it from the outside.
  std::vector<asio::ip::address> addresses;
};

// InvalidArgument naming the first bad field: zero quota or cap, no address, an unspecified
// address, two addresses of one family.
Result<void> validate(const RelayServiceConfig& config);

class RelayService {
 public:
  // True when `peer` (the authenticated NodeId key of a peer link) may use this relay, e.g. an
  // enrolled peer. Consulted on each Allocate, Connect and Stats; an empty function authorises
  // no one.
  using Authorise = std::function<bool(std::string_view peer)>;

  // `config` must pass validate() (checked by the composition root at startup).
  RelayService(RelayEngine& engine, RelayServiceConfig config, Authorise authorise,
               MetricsRegistry& metrics, Logger logger);
  ~RelayService();  // releases every stream still held for a peer
  RelayService(const RelayService&) = delete;
  RelayService& operator=(const RelayService&) = delete;

  // Executes the one frame in `frameBytes` for `peer` and returns the encoded response, or an
  // empty string when nothing must be sent (the frame was a response: responses are never
  // answered, so two services cannot bounce errors at each other). A frame that cannot be used
  // (bad framing, truncated, trailing bytes, unsupported version, malformed body) is answered
  // with an Error under its request id when the header could be read, else request id 0.
  std::string handle(std::string_view peer, std::string_view frameBytes);
  // The same on a decoded frame: the response, or nullopt for a response frame.
  std::optional<control::Frame> execute(std::string_view peer, const control::Frame& request);

  // The peer link to `peer` closed: releases all its streams. Returns how many.
  std::size_t releaseAll(std::string_view peer);
  // From the engine's onTimeout (via the composition root). True if the stream was relayed for
  // a peer, which is then forgotten; false for a stream this service never allocated.
  bool onStreamTimedOut(StreamId id);

  // Introspection (status page, tests).
  std::size_t streamsOf(std::string_view peer) const;
  std::size_t totalStreams() const;
  std::size_t peers() const;  // peers holding at least one stream

 private:
  struct Metrics;
  using Reply = control::Message;

  Reply allocate(std::string_view peer, const control::Allocate& request);
  Reply connect(std::string_view peer, const control::Connect& request);
  Reply release(std::string_view peer, const control::Release& request);
  Reply stats(std::string_view peer, const control::Stats& request) const;
  Reply refuse(control::ErrorCode code, std::string reason,
               std::vector<std::uint64_t> streams = {}) const;
  bool owns(std::string_view peer, std::uint64_t stream) const;
  void forget(std::uint64_t stream);
  const asio::ip::address* addressFor(control::AddressFamily family) const;
  Result<void> remoteAllowed(const net::Endpoint& remote, const asio::ip::address& leg) const;
  LegConfig legConfig(const asio::ip::address& local,
                      const std::optional<asio::ip::address>& expectedSource,
                      std::uint32_t clockRate) const;

  RelayEngine& engine_;
  RelayServiceConfig config_;
  Authorise authorise_;
  std::unique_ptr<Metrics> metrics_;
  Logger logger_;
  struct Owned {
    std::string peer;
    asio::ip::address local;  // where both legs are bound
  };
  // Stream handle (the engine's StreamId value) -> owner, and the reverse index, so that
  // ownership checks and releaseAll() are both cheap. Bounded by config_.maxStreams.
  std::unordered_map<std::uint64_t, Owned> owners_;
  std::map<std::string, std::set<std::uint64_t>, std::less<>> byPeer_;
};

}  // namespace p2psip::media
