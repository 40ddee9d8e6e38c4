// SPDX-License-Identifier: Apache-2.0
// Registrar: answers REGISTER for the domains this peer serves (RFC 3261 §10.3), with Path
// (RFC 3327), outbound flows (RFC 5626) and optional digest authentication (RFC 3261 §22.4). It
// writes bindings into the location::BindingStore the proxy reads.
//
// The daemon's TransactionUser calls onRegister() for every REGISTER; the answer leaves through
// TransactionLayer::respond(). A request is applied all or nothing and never touches another AOR.
// Not thread-safe: construct, call and destroy on the signalling loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "p2psip/common/logger.h"
#include "p2psip/common/metrics.h"
#include "p2psip/common/timer_service.h"
#include "p2psip/location/binding_store.h"
#include "p2psip/registrar/registrar_config.h"
#include "p2psip/sip/aor.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_id.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transport/transport.h"

namespace p2psip::registrar {

// Wall-clock time, only for the Date header of 200 responses (§10.3 step 8); everything else
// runs on the TimerService.
using WallClock = std::function<std::chrono::system_clock::time_point()>;

class Registrar {
 public:
  // Throws std::invalid_argument (startup only) when `config` fails validate(), names a domain
  // `domains` does not serve, or a credentials file cannot be read. Every reference must outlive
  // the registrar. An empty `wallClock` means std::chrono::system_clock::now.
  Registrar(const RegistrarConfig& config, const sip::LocalDomains& domains,
            location::BindingStore& store, transaction::TransactionLayer& transactions,
            TimerService& timers, MetricsRegistry& metrics, Logger logger,
            WallClock wallClock = {});
  ~Registrar();
  Registrar(const Registrar&) = delete;
  Registrar& operator=(const Registrar&) = delete;

  // One REGISTER in server transaction `id`, received over `flow`. Always answers.
  void onRegister(transaction::ServerTransactionId id, sip::Message&& request,
                  const transport::Flow& flow);

  // True when the canonical AOR ("sip:user@domain") names a user in that domain's credentials:
  // the predicate for location::LocalLocationService (480 rather than 404 for known users).
  bool isKnownUser(std::string_view aor) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace p2psip::registrar
