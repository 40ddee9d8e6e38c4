// SPDX-License-Identifier: Apache-2.0
// RelayControlClient: the requesting side of the relay control protocol
// (docs/relay-control-protocol.md). It sends requests to a relay peer over the peer link pinned
// to that peer's NodeId, matches each response by request id and by the NodeId it came from, and
// gives up on a request after `timeout` (the relay is gone or overloaded: the caller falls back).
//
// Owned by the composition root, which routes response frames from the transport to onFrame().
// Not thread-safe: signalling loop. Callbacks never run after destruction.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/result.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/media/relay_control.h"
#include "p2psip/net/endpoint.h"
#include "p2psip/transport/transport.h"

namespace p2psip::anchor {

// A peer that relays media for others, as found in the overlay (its relay record).
struct RelayPeer {
  std::string node;                // NodeId hex: the peer link is pinned to it
  net::Endpoint link;              // its TLS peer-link listener
  asio::ip::address mediaAddress;  // where its relay ports are (public)
};

class RelayControlClient {
 public:
  using SendFrame = std::function<Result<void>(std::string frame, const transport::Target& to)>;
  using Done = std::function<void(Result<media::control::Message>)>;

  RelayControlClient(SendFrame send, TimerService& timers, Duration timeout,
                     MetricsRegistry& metrics, Logger logger);
  ~RelayControlClient();
  RelayControlClient(const RelayControlClient&) = delete;
  RelayControlClient& operator=(const RelayControlClient&) = delete;

  // Sends `request` to `relay`; `done` gets its response (an ErrorReply is a response too), or
  // Timeout, or the send's TransportError. `done` may run inside this call (send failed).
  void request(const RelayPeer& relay, media::control::Message request, Done done);
  // Fire and forget (Release on hang-up): nothing waits for the answer.
  void notify(const RelayPeer& relay, media::control::Message message);

  // A decoded response frame from the peer on `flow` (flow.peerIdentity is its NodeId).
  void onResponse(const transport::Flow& flow, const media::control::Frame& frame);

  std::size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    std::string node;
    TimerId timer = kNoTimer;
    Done done;
  };
  std::uint32_t send(const RelayPeer& relay, media::control::Message request, Result<void>& sent);

  SendFrame send_;
  TimerService& timers_;
  Duration timeout_;
  Logger logger_;
  Counter& requests_;
  Counter& timeouts_;
  Counter& strays_;
  std::unordered_map<std::uint32_t, Pending> pending_;
  std::uint32_t nextId_ = 1;
};

}  // namespace p2psip::anchor
