// SPDX-License-Identifier: Apache-2.0
#include "p2psip/transaction/transaction_id.h"

namespace p2psip::transaction {

std::string_view toString(TransactionKind kind) {
  switch (kind) {
    case TransactionKind::ClientInvite:
      return "client INVITE";
    case TransactionKind::ClientNonInvite:
      return "client non-INVITE";
    case TransactionKind::ServerInvite:
      return "server INVITE";
    case TransactionKind::ServerNonInvite:
      return "server non-INVITE";
  }
  return "?";
}

}  // namespace p2psip::transaction
