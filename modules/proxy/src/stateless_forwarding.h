// SPDX-License-Identifier: Apache-2.0
// StatelessForwarding: what the proxy relays without a transaction (RFC 3261 §16.11).
//   * The ACK for a 2xx: it is a transaction of its own (§17.2.3) and reaches us by the dialog's
//     Route set; it is forwarded as addressed with our Via, whose branch is derived from the
//     received one so that retransmissions keep it (§16.11).
//   * A 2xx no client transaction of ours wants: the second 2xx of a fork after the first one
//     completed the request, or a retransmission after Timer M (§16.7 step 10, RFC 6026 §7.2). It
//     goes to the next Via after ours, the §18.2.2 way.
#pragma once

#include <cstdint>

#include "p2psip/common/logger.h"
#include "p2psip/proxy/media_policy.h"
#include "p2psip/sip/message.h"
#include "p2psip/transaction/transaction_layer.h"
#include "p2psip/transport/transport.h"

namespace p2psip::proxy {

class OwnAddresses;
struct ProxyMetrics;

class StatelessForwarding {
 public:
  StatelessForwarding(transaction::TransactionLayer& transactions, const OwnAddresses& own,
                      ProxyMetrics& metrics, Logger& logger, MediaPolicy* media)
      : transactions_(transactions), own_(own), metrics_(metrics), logger_(logger), media_(media) {}

  // `ack` has passed validation and Route processing; `loopHash` is LoopHash::of(received ACK).
  void forwardAck(sip::Message&& ack, const transport::Flow& inbound, std::uint64_t loopHash);
  void forwardResponse(sip::Message&& response);

 private:
  transaction::TransactionLayer& transactions_;
  const OwnAddresses& own_;
  ProxyMetrics& metrics_;
  Logger& logger_;
  MediaPolicy* media_;  // may be null
};

}  // namespace p2psip::proxy
