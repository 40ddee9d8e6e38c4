// SPDX-License-Identifier: Apache-2.0
// The upward interfaces of the transaction layer (conventions §3.2: the lower module declares them,
// the proxy, registrar and user agents implement them). All calls arrive on the signalling loop,
// from inside TransactionLayer entry points; a TU may call back into the layer from them.
#pragma once

#include <cstdint>
#include <optional>

#include "p2psip/common/result.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_id.h"
#include "p2psip/transport/transport.h"

namespace p2psip::transaction {

// Why a server transaction ended without the TU's help.
enum class ServerTransactionFailure : std::uint8_t {
  AckTimeout,      // Timer H: no ACK for a 300-699 final response (§17.2.1)
  TransportError,  // a response could not be delivered (§17.2.4)
};

// Why a client transaction reports a timeout.
enum class ClientTimeout : std::uint8_t {
  TimerB,  // INVITE unanswered for 64*T1: the transaction terminated; the TU acts as on 408
           // (§17.1.1.2)
  TimerF,  // non-INVITE unanswered for 64*T1: terminated; the TU acts as on 408 (§17.1.2.2)
  TimerC,  // proxy only: no final response in Timer C; the TU should cancel() (§16.8). Still alive.
  CancelUnanswered,  // no final response 64*T1 after our CANCEL: terminated, consider it cancelled
                     // (§9.1)
};

// Receives the server side and everything that matches no client transaction. One per layer.
class TransactionUser {
 public:
  virtual ~TransactionUser() = default;

  // A request that created server transaction `id` (every method but ACK and CANCEL). An INVITE
  // has already been answered with 100 Trying (§17.2.1). Answer with TransactionLayer::respond().
  virtual void onRequest(ServerTransactionId id, sip::Message&& request,
                         const transport::Flow& flow) = 0;

  // A CANCEL: it has its own non-INVITE server transaction `id`, to be answered with respond().
  // `invite` is the INVITE server transaction it cancels, matched per §9.2, or nullopt (then a UAS
  // answers 481, a proxy forwards statelessly, §16.10).
  virtual void onCancel(ServerTransactionId id, std::optional<ServerTransactionId> invite,
                        sip::Message&& cancel, const transport::Flow& flow) = 0;

  // An ACK that belongs to no transaction: the ACK for a 2xx (its own branch, §17.2.3) or one
  // arriving while the INVITE server transaction is Accepted (RFC 6026 §7.1). The TU / dialog owns
  // it.
  virtual void onAck(sip::Message&& ack, const transport::Flow& flow) = 0;

  // A response that matches no client transaction (§17.1.3), e.g. a 2xx retransmission after Timer
  // M, or a 2xx whose ClientTransactionUser has detached. A proxy forwards 2xx statelessly (§16.7
  // step 10, RFC 6026 §7.2); a UA core drops other responses.
  virtual void onStrayResponse(sip::Message&& response, const transport::Flow& flow) = 0;

  // Server transaction `id` terminated abnormally; respond() with this id now fails with NotFound.
  virtual void onServerTransactionFailed(ServerTransactionId id, ServerTransactionFailure reason,
                                         const Error& error) = 0;
};

// Receives the outcome of client transactions started with TransactionLayer::sendRequest(). One
// object may own several transactions (a forking proxy's branches), hence the id in every call.
// It must outlive its transactions' callbacks: call TransactionLayer::detach() before destroying
// it.
class ClientTransactionUser {
 public:
  virtual ~ClientTransactionUser() = default;

  // A response for the TU: every 1xx, the final response, and for an INVITE every further 2xx
  // while in Accepted (RFC 6026 §7.2; the TU sends their ACKs). Retransmitted non-2xx finals are
  // absorbed, and their ACK is generated here (§17.1.1.3).
  virtual void onResponse(ClientTransactionId id, sip::Message&& response) = 0;

  // A timer ended (or, for TimerC, threatens) the transaction; see ClientTimeout.
  virtual void onTimeout(ClientTransactionId id, ClientTimeout which) = 0;

  // The request (or ACK) could not be delivered after sendRequest() returned. The transaction has
  // terminated; the TU acts as on 503 (§8.1.3.1).
  virtual void onTransportError(ClientTransactionId id, const Error& error) = 0;
};

}  // namespace p2psip::transaction
