// SPDX-License-Identifier: Apache-2.0
// ProxyCore: the stateful proxy of RFC 3261 §16 for the peer daemon. It is the TransactionUser of
// the transaction layer: every request that creates a server transaction is validated (§16.3,
// RequestValidator), has its Route processed (§16.4, RouteProcessor), gets its targets (§16.5:
// location lookup for our domains, the Route or Request-URI otherwise) and is forked by one
// ForkingContext per request (§16.6-§16.8), which aggregates responses (§16.7). CANCEL (§16.10),
// ACK for 2xx and stray 2xx (stateless, §16.11, RFC 6026) and OPTIONS to the peer itself are
// handled here as well; REGISTER for our domains goes to the RequestSink.
//
// Owned by the composition root. The TransactionLayer, LocationService, RequestSink,
// MetricsRegistry must outlive it; destroy it before the TransactionLayer (its destructor detaches
// its client transactions). Not thread-safe: everything, including LocationService callbacks, runs
// on the signalling loop. A lookup answered after the ProxyCore is gone is ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/location/location_service.h"
#include "p2psip/proxy/media_policy.h"
#include "p2psip/proxy/proxy_config.h"
#include "p2psip/proxy/request_sink.h"
#include "p2psip/sip/aor.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transaction/transaction_user.h"

namespace p2psip::proxy {

class ForkingContext;
class OwnAddresses;
class RequestValidator;
class StatelessForwarding;
struct ProxyMetrics;

// One row of ProxyCore::snapshot(): a request in flight, for the control tool.
struct ProxyRequestInfo {
  std::uint64_t id = 0;  // the server transaction id of the request
  std::string method;
  std::string callId;
  std::string requestUri;  // as received, after our Route values were removed
  std::string state;       // "AwaitingTargets", "Forking", "Completed"
  std::size_t branches = 0;
  std::size_t pendingBranches = 0;  // without a final response yet
  bool cancelled = false;           // the caller sent CANCEL
};

class ProxyCore final : public transaction::TransactionUser {
 public:
  // `config` must pass validate(); otherwise this throws std::invalid_argument (startup only).
  // `media`, when given, must outlive the ProxyCore; without it SDP passes untouched.
  ProxyCore(transaction::TransactionLayer& transactions, location::LocationService& location,
            sip::LocalDomains domains, const ProxyConfig& config, RequestSink& sink,
            MetricsRegistry& metrics, Logger logger, MediaPolicy* media = nullptr);
  ~ProxyCore() override;
  ProxyCore(const ProxyCore&) = delete;
  ProxyCore& operator=(const ProxyCore&) = delete;

  // ---- transaction::TransactionUser
  void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                 const transport::Flow& flow) override;
  void onCancel(transaction::ServerTransactionId id,
                std::optional<transaction::ServerTransactionId> invite, sip::Message&& cancel,
                const transport::Flow& flow) override;
  void onAck(sip::Message&& ack, const transport::Flow& flow) override;
  void onStrayResponse(sip::Message&& response, const transport::Flow& flow) override;
  void onServerTransactionFailed(transaction::ServerTransactionId id,
                                 transaction::ServerTransactionFailure reason,
                                 const Error& error) override;

  // ---- introspection
  std::vector<ProxyRequestInfo> snapshot() const;
  std::size_t activeRequests() const { return contexts_.size(); }

 private:
  void onLookupComplete(std::uint64_t contextId, std::string_view callId,
                        Result<location::LookupResult> result);
  void startContext(transaction::ServerTransactionId id, sip::Message&& request,
                    const transport::Flow& flow, std::uint64_t loopHash);
  void retire(std::uint64_t contextId);
  void reapRetired();
  void respondLocally(transaction::ServerTransactionId id, const sip::Message& request,
                      std::uint16_t status, std::string_view reason);
  void answerOptions(transaction::ServerTransactionId id, const sip::Message& request);
  std::string newToTag();

  transaction::TransactionLayer& transactions_;
  location::LocationService& location_;
  sip::LocalDomains domains_;
  ProxyConfig config_;
  RequestSink& sink_;
  Logger logger_;
  MediaPolicy* media_;
  std::unique_ptr<ProxyMetrics> metrics_;
  std::unique_ptr<OwnAddresses> own_;
  std::unique_ptr<RequestValidator> validator_;
  std::unique_ptr<StatelessForwarding> stateless_;
  // Requests in flight, by the id of their server transaction (also the re-entry id of lookups).
  std::unordered_map<std::uint64_t, std::unique_ptr<ForkingContext>> contexts_;
  // Contexts that finished during a callback that may still be running inside them; freed at the
  // next entry into ProxyCore, so no object is destroyed under its own feet.
  std::vector<std::unique_ptr<ForkingContext>> retired_;
  // Lookup callbacks hold a weak_ptr to this token, so one arriving after our destruction is a
  // no-op (the LocationService may answer from a DHT long after).
  std::shared_ptr<ProxyCore*> aliveToken_;
};

}  // namespace p2psip::proxy
