// SPDX-License-Identifier: Apache-2.0
// SignallingChannel: how media threads report upward without calling into signalling. Each
// report becomes a closure handed to the injected post function (net::EventLoop::post in the
// app); the closure runs StreamEvents on the signalling thread. close() (signalling thread) makes
// closures still queued do nothing, so the engine may go away before the loop drains them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>

#include "p2psip/media/stream.h"
#include "p2psip/net/endpoint.h"

namespace p2psip::media {

// Implemented by the engine; called on the signalling thread only.
class StreamEvents {
 public:
  virtual ~StreamEvents() = default;
  virtual void onStreamTimedOut(StreamId id) = 0;
  // The RTP socket of `side` latched onto `source`; `generation` is the leg's setRemote() count
  // when it did, so a report overtaken by a newer SDP address can be told apart.
  virtual void onLegLatched(StreamId id, Side side, const net::Endpoint& source,
                            std::uint64_t generation) = 0;
  // Nothing came from `side`'s remote in time (or the far relay already moved): the leg now sends
  // to and accepts from its fallback relay.
  virtual void onLegFellBack(StreamId id, Side side, const net::Endpoint& fallback,
                             std::uint64_t generation) = 0;
};

class SignallingChannel {
 public:
  using Post = std::function<void(std::function<void()>)>;

  SignallingChannel(Post post, StreamEvents& events)
      : post_(std::move(post)), events_(&events), open_(std::make_shared<bool>(true)) {}

  // From a media thread.
  void streamTimedOut(StreamId id) const {
    post_([open = open_, events = events_, id] {
      if (*open) events->onStreamTimedOut(id);
    });
  }
  void legLatched(StreamId id, Side side, const net::Endpoint& source,
                  std::uint64_t generation) const {
    post_([open = open_, events = events_, id, side, source, generation] {
      if (*open) events->onLegLatched(id, side, source, generation);
    });
  }
  void legFellBack(StreamId id, Side side, const net::Endpoint& fallback,
                   std::uint64_t generation) const {
    post_([open = open_, events = events_, id, side, fallback, generation] {
      if (*open) events->onLegFellBack(id, side, fallback, generation);
    });
  }
  // From the signalling thread, once no media thread runs any more.
  void close() { *open_ = false; }

 private:
  Post post_;
  StreamEvents* events_;
  // Read and written on the signalling thread only; the media threads just copy the pointer.
  std::shared_ptr<bool> open_;
};

}  // namespace p2psip::media
