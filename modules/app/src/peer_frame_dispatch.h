// SPDX-License-Identifier: Apache-2.0
// PeerFrameDispatch: where the transport's peer-link frames go (docs/relay-control-protocol.md).
// Responses go to this peer's RelayControlClient (relay streams it asked another peer for);
// requests go to its RelayService when it offers relaying (--relay), and are refused otherwise.
//
// "Only enrolled or known peers may allocate": a peer link proves a key, and a requester is
// served once the overlay holds a valid, signed peer record for that key (PeerDirectory::find,
// cached). Frames that arrive before that check ends wait, a few per peer and a bounded number
// of peers; beyond that they are refused. When a peer's last link closes its relay streams go.
// Lives in app/ because it joins transport, media, anchor and overlay. Signalling loop only.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "p2psip/anchor/relay_control_client.h"
#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/media/relay_control.h"
#include "p2psip/media/relay_service.h"
#include "p2psip/overlay/peer_directory.h"
#include "p2psip/transport/transport_layer.h"

namespace p2psip::app {

// Bounds on what unverified peers can make us hold.
struct PeerFrameLimits {
  std::size_t waitingPerPeer = 8;
  std::size_t peersWaiting = 256;
  std::size_t verifiedPeers = 10'000;
};

class PeerFrameDispatch final : public transport::PeerFrameHandler {
 public:
  PeerFrameDispatch(transport::TransportLayer& transport, overlay::PeerDirectory& directory,
                    media::RelayService* service, anchor::RelayControlClient& client,
                    MetricsRegistry& metrics, Logger logger, PeerFrameLimits limits = {})
      : limits_(limits),
        transport_(transport),
        directory_(directory),
        service_(service),
        client_(client),
        logger_(std::move(logger)),
        refused_(metrics.counter("p2psip_app_peer_frames_refused_total")),
        unreadable_(metrics.counter("p2psip_app_peer_frames_unreadable_total")) {}

  void onPeerFrame(const transport::Flow& flow, std::string_view frame) override {
    auto decoded = media::control::decodeFrame(frame);
    if (!decoded) {
      // Not relay control framing: the link's byte stream cannot be trusted further (§1).
      unreadable_.inc();
      logger_.info("closing the peer link with {}: {}", flow.peerIdentity.substr(0, 8),
                   decoded.error().detail);
      transport_.closeConnection(flow.connection);
      return;
    }
    if (const auto* f = std::get_if<media::control::Frame>(&decoded->outcome);
        f != nullptr && !media::control::isRequest(f->message)) {
      client_.onResponse(flow, *f);
      return;
    }
    if (const auto* r = std::get_if<media::control::Rejected>(&decoded->outcome);
        r != nullptr && !r->isRequest()) {
      return;  // a response we cannot read: nobody to answer
    }
    if (service_ == nullptr) {
      refuse(flow, frame, media::control::ErrorCode::NotAuthorised, "this peer does not relay");
      return;
    }
    if (verified_.count(flow.peerIdentity) > 0) {
      serve(flow, frame);
      return;
    }
    auto& queue = waiting_[flow.peerIdentity];
    if (queue.size() >= limits_.waitingPerPeer || waiting_.size() > limits_.peersWaiting) {
      refuse(flow, frame, media::control::ErrorCode::NotAuthorised, "peer not verified yet");
      return;
    }
    const bool first = queue.empty();
    queue.emplace_back(flow, std::string(frame));
    if (!first) return;
    auto node = identity::NodeId::fromHex(flow.peerIdentity);
    if (!node) {
      finishCheck(flow.peerIdentity, false);
      return;
    }
    std::weak_ptr<PeerFrameDispatch*> alive = alive_;
    const std::string peer = flow.peerIdentity;
    directory_.find(*node, [alive, peer](Result<overlay::PeerRecord> record) {
      if (auto self = alive.lock()) (*self)->finishCheck(peer, record.has_value());
    });
  }

  // Also told when a peer link closes (the rendezvous link must be reopened).
  void onLinkClosed(std::function<void(const std::string&)> observer) {
    linkClosed_ = std::move(observer);
  }

  void onPeerLinkClosed(const std::string& peer) override {
    if (linkClosed_) linkClosed_(peer);
    if (service_ == nullptr) return;
    if (auto released = service_->releaseAll(peer); released > 0) {
      logger_.info("peer {} left: released the {} relay streams it held", peer.substr(0, 8),
                   released);
    }
  }

 private:
  void finishCheck(const std::string& peer, bool known) {
    auto it = waiting_.find(peer);
    if (it == waiting_.end()) return;
    auto queue = std::move(it->second);
    waiting_.erase(it);
    if (known && verified_.size() < limits_.verifiedPeers) verified_.insert(peer);
    for (auto& [flow, frame] : queue) {
      if (known) {
        serve(flow, frame);
      } else {
        refuse(flow, frame, media::control::ErrorCode::NotAuthorised,
               "no valid peer record in the overlay for this key");
      }
    }
  }

  void serve(const transport::Flow& flow, std::string_view frame) {
    auto answer = service_->handle(flow.peerIdentity, frame);
    if (!answer.empty()) send(flow, std::move(answer));
  }

  void refuse(const transport::Flow& flow, std::string_view frame, media::control::ErrorCode code,
              std::string reason) {
    refused_.inc();
    std::uint32_t requestId = 0;
    if (auto header = media::control::decodeHeader(frame); header && *header) {
      requestId = (*header)->requestId;
    }
    media::control::ErrorReply reply;
    reply.code = code;
    reply.reason = std::move(reason);
    send(flow, media::control::encode(media::control::Frame{requestId, std::move(reply)}));
  }

  void send(const transport::Flow& flow, std::string frame) {
    transport::Target back;
    back.protocol = transport::Protocol::Tls;
    back.endpoint = flow.remote;
    back.connection = flow.connection;
    back.peerIdentity = flow.peerIdentity;
    if (auto sent = transport_.sendPeerFrame(std::move(frame), back); !sent) {
      logger_.debug("cannot answer peer {}: {}", flow.peerIdentity.substr(0, 8),
                    sent.error().detail);
    }
  }

  PeerFrameLimits limits_;
  transport::TransportLayer& transport_;
  overlay::PeerDirectory& directory_;
  media::RelayService* service_;
  anchor::RelayControlClient& client_;
  Logger logger_;
  Counter& refused_;
  Counter& unreadable_;
  std::unordered_set<std::string> verified_;
  std::unordered_map<std::string, std::deque<std::pair<transport::Flow, std::string>>> waiting_;
  std::function<void(const std::string&)> linkClosed_;
  std::shared_ptr<PeerFrameDispatch*> alive_ = std::make_shared<PeerFrameDispatch*>(this);
};

}  // namespace p2psip::app
