// SPDX-License-Identifier: Apache-2.0
// RequestSink: where the proxy hands requests that a local service, not the proxy, must answer.
// Today that is REGISTER whose Request-URI names one of our domains or addresses (RFC 3261
// §10.3): app/ plugs the registrar in. Declared here so that proxy does not depend on registrar
// (conventions §3.2). Called on the signalling loop from inside TransactionUser::onRequest.
#pragma once

#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_id.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

class RequestSink {
 public:
  virtual ~RequestSink() = default;
  // The sink owns answering server transaction `id` (TransactionLayer::respond). The request has
  // passed §16.3 validation and our own Route values are already removed (§16.4).
  virtual void onRequest(transaction::ServerTransactionId id, sip::Message&& request,
                         const transport::Flow& flow) = 0;
};

}  // namespace p2psip::proxy
