// SPDX-License-Identifier: Apache-2.0
// ForkingContext: one request in flight through the proxy (RFC 3261 §16.6-§16.10), from the moment
// its targets are being looked up until its final response went upstream. It owns the received
// request, forks it to every target in parallel as client transactions (it is their
// ClientTransactionUser), relays provisional responses and the first 2xx at once, cancels the
// other branches on a 2xx or 6xx, and otherwise sends the best final response once every branch
// has one (§16.7). Timer C (§16.8), Timer B/F, transport errors and the caller's CANCEL (§16.10)
// end branches.
//
// States: AwaitingTargets (location lookup pending) → [AnchoringMedia: the MediaPolicy rewrites
// the branches' bodies, possibly asking another peer's relay] → Forking → Completed. On Completed
// it has detached from every client transaction (later 2xx reach ProxyCore as stray responses and
// are relayed statelessly) and has told its owner, which frees it at the next safe point. Owned by
// ProxyCore, keyed by the id of the server transaction; not thread-safe (signalling loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/logger.h"
#include "p2psip/proxy/media_policy.h"
#include "p2psip/proxy/proxy_config.h"
#include "p2psip/proxy/proxy_core.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transaction/transaction_user.h"
#include "target_request.h"

namespace p2psip::proxy {

class OwnAddresses;
struct ProxyMetrics;

class ForkingContext final : public transaction::ClientTransactionUser {
 public:
  enum class State { AwaitingTargets, AnchoringMedia, Forking, Completed };
  // Where the target set came from; it decides how a fork that reached no one is reported.
  enum class TargetOrigin {
    Location,   // registered contacts: all unreachable means 480 (§21.4.18)
    Addressed,  // the Route or Request-URI: an unreachable next hop is a 503, sent as 500 (§16.7)
  };

  struct Collaborators {
    transaction::TransactionLayer& transactions;
    const OwnAddresses& own;
    const ProxyConfig& config;
    ProxyMetrics& metrics;
    Logger& logger;
    std::function<void(std::uint64_t)> completed;  // the owner retires us; called last
    std::function<std::string()> newToTag;         // for responses we generate (§8.2.6.2)
    MediaPolicy* media = nullptr;                  // rewrites SDP bodies; null: media untouched
  };

  ForkingContext(Collaborators collaborators, transaction::ServerTransactionId server,
                 sip::Message&& request, const transport::Flow& inbound, std::uint64_t loopHash);
  ~ForkingContext() override;
  ForkingContext(const ForkingContext&) = delete;
  ForkingContext& operator=(const ForkingContext&) = delete;

  // AwaitingTargets → Forking: one branch per target, in parallel.
  void fork(const std::vector<BranchTarget>& targets, TargetOrigin origin);
  // AwaitingTargets → Completed with a response of ours (404/480 after a lookup).
  void respondLocally(std::uint16_t status, std::string_view reason);
  // §16.10: the caller's CANCEL matched us (its 200 is ProxyCore's).
  void cancelByCaller();
  // The server transaction failed (Timer H, transport): nobody upstream listens any more.
  void abandon(std::string_view why);

  // ---- transaction::ClientTransactionUser
  void onResponse(transaction::ClientTransactionId id, sip::Message&& response) override;
  void onTimeout(transaction::ClientTransactionId id, transaction::ClientTimeout which) override;
  void onTransportError(transaction::ClientTransactionId id, const Error& error) override;

  std::uint64_t id() const { return server_.value; }
  State state() const { return state_; }
  ProxyRequestInfo info() const;

 private:
  struct Branch {
    std::string branch;  // our Via branch, for logs
    std::optional<transaction::ClientTransactionId> transaction;
    bool provisional = false;  // a 1xx arrived (CANCEL may go at once, §9.1)
    bool final = false;
    std::uint16_t status = 0;
    std::optional<sip::Message> response;  // a received final (our Via removed)
    bool overload = false;                 // the transaction layer refused to start it
  };

  Branch* find(transaction::ClientTransactionId id);
  // Builds the copy for one target (§16.6) as a new branch; nullopt if it failed already.
  std::optional<OutboundRequest> buildBranch(const BranchTarget& target);
  void sendBranch(Branch& branch, OutboundRequest&& outbound);
  // The MediaPolicy finished with the copies of branches `indexes` (same order).
  void onMediaAnchored(const std::vector<std::size_t>& indexes,
                       tl::expected<std::vector<OutboundRequest>, MediaRefusal> anchored);
  // Records a final we stand in for (408 timeout, 503 transport error).
  void failBranch(Branch& branch, std::uint16_t status, std::string_view why);
  void cancelPendingBranches(std::string_view why);
  bool allBranchesFinal() const;
  // Sends the §16.7 best response if every branch is final; true if it did (then we completed).
  bool finishIfDone();
  void sendBestResponse();
  void forwardUpstream(sip::Message&& response);
  void respondUpstream(std::uint16_t status, std::string_view reason);
  // → Completed: detaches from the branches and notifies the owner. Callers return right after.
  void complete();
  std::string_view callId() const { return request_.callId(); }
  std::string_view upstreamBranch() const { return request_.branch().value_or(""); }

  Collaborators c_;
  transaction::ServerTransactionId server_;
  sip::Message request_;  // as received, after Route processing (§16.4)
  transport::Flow inbound_;
  std::uint64_t loopHash_;
  State state_ = State::AwaitingTargets;
  TargetOrigin origin_ = TargetOrigin::Location;
  std::vector<Branch> branches_;
  bool cancelledByCaller_ = false;
  bool isInvite_;
  bool dialogCreating_;  // the request has no To tag
  // The MediaPolicy's completion holds a weak_ptr to this: one arriving after we are gone is
  // ignored.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

std::string_view toString(ForkingContext::State state);

}  // namespace p2psip::proxy
