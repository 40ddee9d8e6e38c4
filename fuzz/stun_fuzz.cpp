// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the STUN codec every peer's reflector runs on datagrams from anyone
// (reachability::decodeStun). Properties: no crash, bounded work, and a decoded message encodes
// to bytes that decode to the same message (unknownRequired is decode-only, and a reason phrase
// longer than the encoder keeps is cut, so those two are compared after the encoder's rules).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "p2psip/reachability/stun_message.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace p2psip::reachability;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)looksLikeStun(bytes);
  auto decoded = decodeStun(bytes);
  if (!decoded) return 0;
  StunMessage expected = *decoded;
  expected.unknownRequired.clear();
  if (expected.errorCode && expected.errorCode->reason.size() > 127) return 0;  // cut on encode
  if (expected.unknownAttributes.size() > 16) return 0;
  auto again = decodeStun(encodeStun(expected));
  if (!again) std::abort();
  again->unknownRequired.clear();
  if (again->messageClass != expected.messageClass || again->method != expected.method ||
      again->transactionId != expected.transactionId ||
      again->xorMappedAddress != expected.xorMappedAddress ||
      again->changeRequest != expected.changeRequest ||
      again->responseOrigin != expected.responseOrigin || again->errorCode != expected.errorCode) {
    std::abort();
  }
  return 0;
}
