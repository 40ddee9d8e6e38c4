// SPDX-License-Identifier: Apache-2.0
// MediaPolicy: where the proxy lets a media anchor see, and rewrite, the session descriptions
// (RFC 3264 offers and answers) of the messages it relays. The peer daemon plugs in a relay anchor
// (module `anchor`) that puts its RTP relay into every call; without one, media flows as the
// phones' SDP says. Declared here so that proxy depends on no media code (conventions §3.2).
//
// Every hook runs on the signalling loop. onRequestOut may complete later (a relay on another peer
// must be asked first); the proxy then holds the request until `done` runs, and a request that
// ended meanwhile (the caller's CANCEL) simply ignores it. The other hooks are synchronous.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <asio/ip/address.hpp>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

// Where a request or response came from: its flow, and whether that is an overlay peer link
// (TLS with a node certificate) rather than a phone.
struct MessageSource {
  transport::Flow flow;
  bool peerLink = false;
};

// One copy of a request ready to go to one target: §16.6 applied, our Via on top.
// What the overlay says of the peer a request goes to (its signed peer record): enough for the
// calling peer to choose the media path before the offer leaves.
struct FarPeer {
  std::string nat;  // NAT class as the overlay writes it ("symmetric", ...); empty if unknown
  std::optional<asio::ip::address> publicAddress;  // where its relay's media comes from
};

struct OutboundRequest {
  sip::Message request;
  transport::Target destination;
  bool toPeer = false;  // `destination` is an overlay peer link (pinned to a NodeId)
  std::optional<FarPeer> farPeer = std::nullopt;  // with toPeer, when the lookup found a record
};

// Why the policy could not anchor a request's media; the proxy answers the request with it
// (503 with Retry-After when the relay has no ports left, 488 or 400 for an SDP it cannot use).
struct MediaRefusal {
  std::uint16_t status = 500;
  std::string reason;
};

class MediaPolicy {
 public:
  using Completion = std::function<void(tl::expected<std::vector<OutboundRequest>, MediaRefusal>)>;

  virtual ~MediaPolicy() = default;

  // A request about to be forwarded statefully, one copy per branch (§16.6). The policy may
  // rewrite each copy's body, and must call `done` exactly once, with the copies or a refusal,
  // inside this call or later. Called for every method: BYE ends the call's media.
  virtual void onRequestOut(const MessageSource& source, std::vector<OutboundRequest> requests,
                            Completion done) = 0;

  // The ACK for a 2xx, about to be forwarded statelessly (§16.11); it carries the answer when the
  // INVITE had no offer (RFC 3264 §4, "late offer").
  virtual void onAckOut(const MessageSource& source, OutboundRequest& ack) = 0;

  // A response about to go upstream: relayed from a branch, made by us (a 408, a 487 after the
  // caller's CANCEL), or a 2xx relayed statelessly. `dialogCreating` says whether its request was
  // outside a dialog (no To tag): a final failure then ends the call's media.
  virtual void onResponseOut(sip::Message& response, bool dialogCreating) = 0;

  // A request that ended with no response going upstream (its server transaction failed).
  virtual void onRequestAbandoned(const sip::Message& request) = 0;
};

}  // namespace p2psip::proxy
