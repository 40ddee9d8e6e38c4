// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the records the overlay reads from the DHT: user records
// (location::openUserRecord) and peer records (overlay::openPeerRecord). Random bytes never carry a
// valid signature, so each input is used twice: as raw DHT value bytes, and as a record body that
// the target seals with its own key first, which drives the body decoders behind the signature
// check. Properties: no crash, no unbounded allocation, and a decoded record re-seals to a value
// that decodes to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "p2psip/identity/node_identity.h"
#include "p2psip/identity/signed_envelope.h"
#include "p2psip/location/user_record.h"
#include "p2psip/overlay/peer_record.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

const p2psip::identity::NodeIdentity& signer() {
  // One key for the whole run (generating one per input would dominate the time).
  static const auto identity = [] {
    auto id = p2psip::identity::NodeIdentity::generate(p2psip::identity::KeyType::Ed25519);
    check(id.has_value());
    return std::move(*id);
  }();
  return identity;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)p2psip::location::openUserRecord(bytes);
  (void)p2psip::overlay::openPeerRecord(bytes);
  if (size == 0) return 0;
  const bool peer = (data[0] & 1) != 0;
  std::string body(bytes.substr(1));
  // Put the signer's NodeId where the body names the serving node, so that decoding can get past
  // the signer check and the round trip below is reached.
  const std::string_view node = signer().nodeId().bytes();
  if (peer && body.size() >= 1 + node.size()) {
    body.replace(1, node.size(), node);
  } else if (!peer && body.size() >= 3) {
    const std::size_t aor =
        (static_cast<std::uint8_t>(body[1]) << 8) | static_cast<std::uint8_t>(body[2]);
    if (body.size() >= 3 + aor + node.size()) body.replace(3 + aor, node.size(), node);
  }
  const auto kind = peer ? p2psip::identity::RecordKind::Peer : p2psip::identity::RecordKind::User;
  auto sealed = p2psip::identity::seal(signer(), kind, body);
  if (!sealed) return 0;
  if (peer) {
    auto record = p2psip::overlay::openPeerRecord(*sealed);
    if (record && record->node == signer().nodeId()) {
      auto again = p2psip::overlay::sealPeerRecord(signer(), *record);
      check(again.has_value());
      auto reopened = p2psip::overlay::openPeerRecord(*again);
      check(reopened.has_value() && *reopened == *record);
    }
  } else {
    auto record = p2psip::location::openUserRecord(*sealed);
    if (record) {
      auto again = p2psip::location::sealUserRecord(signer(), *record);
      check(again.has_value());
      auto reopened = p2psip::location::openUserRecord(*again);
      check(reopened.has_value() && *reopened == *record);
    }
  }
  return 0;
}
