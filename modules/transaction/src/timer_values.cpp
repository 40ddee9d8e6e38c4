// SPDX-License-Identifier: Apache-2.0
#include "timer_values.h"

namespace p2psip::transaction {

std::string_view toString(TransactionTimer timer) {
  switch (timer) {
    case TransactionTimer::A:
      return "A";
    case TransactionTimer::B:
      return "B";
    case TransactionTimer::C:
      return "C";
    case TransactionTimer::D:
      return "D";
    case TransactionTimer::E:
      return "E";
    case TransactionTimer::F:
      return "F";
    case TransactionTimer::G:
      return "G";
    case TransactionTimer::H:
      return "H";
    case TransactionTimer::I:
      return "I";
    case TransactionTimer::J:
      return "J";
    case TransactionTimer::K:
      return "K";
    case TransactionTimer::L:
      return "L";
    case TransactionTimer::M:
      return "M";
    case TransactionTimer::CancelWait:
      return "CancelWait";
  }
  return "?";
}

}  // namespace p2psip::transaction
