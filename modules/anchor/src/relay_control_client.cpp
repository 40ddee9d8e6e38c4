// SPDX-License-Identifier: Apache-2.0
#include "p2psip/anchor/relay_control_client.h"

#include <utility>

namespace p2psip::anchor {

RelayControlClient::RelayControlClient(SendFrame send, TimerService& timers, Duration timeout,
                                       MetricsRegistry& metrics, Logger logger)
    : send_(std::move(send)),
      timers_(timers),
      timeout_(timeout),
      logger_(std::move(logger)),
      requests_(metrics.counter("p2psip_anchor_relay_requests_total")),
      timeouts_(metrics.counter("p2psip_anchor_relay_timeouts_total")),
      strays_(metrics.counter("p2psip_anchor_relay_stray_responses_total")) {}

RelayControlClient::~RelayControlClient() {
  for (auto& [id, p] : pending_) timers_.cancel(p.timer);
}

std::uint32_t RelayControlClient::send(const RelayPeer& relay, media::control::Message request,
                                       Result<void>& sent) {
  // Ids only need to be unique among our outstanding requests on a link; 0 is left for
  // "unknown" in the relay's answers to frames it could not read (protocol §4).
  std::uint32_t id = nextId_++;
  if (id == 0) id = nextId_++;
  transport::Target to;
  to.protocol = transport::Protocol::Tls;
  to.endpoint = relay.link;
  to.peerIdentity = relay.node;
  sent = send_(media::control::encode(media::control::Frame{id, std::move(request)}), to);
  requests_.inc();
  return id;
}

void RelayControlClient::request(const RelayPeer& relay, media::control::Message request,
                                 Done done) {
  Result<void> sent;
  const auto id = send(relay, std::move(request), sent);
  if (!sent) {
    done(tl::unexpected(sent.error()));
    return;
  }
  Pending p;
  p.node = relay.node;
  p.done = std::move(done);
  p.timer = timers_.schedule(timeout_, [this, id] {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    auto done = std::move(it->second.done);
    const std::string node = it->second.node;
    pending_.erase(it);
    timeouts_.inc();
    logger_.info("relay {} did not answer within {} ms", node.substr(0, 8),
                 std::chrono::duration_cast<std::chrono::milliseconds>(timeout_).count());
    done(makeError(ErrorCode::Timeout, "relay " + node.substr(0, 8) + " did not answer"));
  });
  pending_.emplace(id, std::move(p));
}

void RelayControlClient::notify(const RelayPeer& relay, media::control::Message message) {
  // The answer is still awaited (and absorbed), so it is not counted as a stray.
  std::string node = relay.node;
  request(relay, std::move(message), [this, node](Result<media::control::Message> answer) {
    if (!answer) {
      logger_.debug("relay {} not told: {}", node.substr(0, 8), answer.error().detail);
    } else if (const auto* e = std::get_if<media::control::ErrorReply>(&*answer)) {
      logger_.debug("relay {} refused: {} {}", node.substr(0, 8), media::control::toString(e->code),
                    e->reason);
    }
  });
}

void RelayControlClient::onResponse(const transport::Flow& flow,
                                    const media::control::Frame& frame) {
  auto it = pending_.find(frame.requestId);
  // Only the peer we asked may answer: an id is no secret, the link's key is.
  if (it == pending_.end() || it->second.node != flow.peerIdentity) {
    strays_.inc();
    return;
  }
  timers_.cancel(it->second.timer);
  auto done = std::move(it->second.done);
  pending_.erase(it);
  done(frame.message);
}

}  // namespace p2psip::anchor
