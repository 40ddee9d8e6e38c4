// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the records the overlay reads from the DHT: user records
// (location::openUserRecord), peer records of versions 1 and 2 (overlay::openPeerRecord) and relay
// records (overlay::openRelayRecord). Random bytes never carry a valid signature, so each input is
// used twice: as raw DHT value bytes, and as a record body that the target seals with its own key
// first, which drives the body decoders behind the signature check. The first byte picks the kind
// (modulo 3: user, peer, relay); the rest is the body. Properties: no crash, no unbounded
// allocation, and a decoded record re-seals to a value that decodes to the same record.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "p2psip/identity/node_identity.h"
#include "p2psip/identity/signed_envelope.h"
#include "p2psip/location/user_record.h"
#include "p2psip/overlay/peer_record.h"
#include "p2psip/overlay/relay_record.h"

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

enum class Kind { User, Peer, Relay };

// Puts the signer's NodeId where the body names the record's node, so that decoding can get past
// the signer check and the round trip is reached. An empty certificate in a peer record body
// becomes the signer's, for the same reason (seeds carry none: the key is made per run).
void aimAtSigner(Kind kind, std::string& body) {
  const std::string_view node = signer().nodeId().bytes();
  switch (kind) {
    case Kind::User:
      if (body.size() >= 3) {
        const std::size_t aor =
            (static_cast<std::uint8_t>(body[1]) << 8) | static_cast<std::uint8_t>(body[2]);
        if (body.size() >= 3 + aor + node.size()) body.replace(3 + aor, node.size(), node);
      }
      return;
    case Kind::Peer: {
      if (body.size() < 1 + node.size()) return;
      body.replace(1, node.size(), node);
      const std::size_t certificate = 1 + node.size();
      if (body.size() >= certificate + 2 && body[certificate] == 0 && body[certificate + 1] == 0) {
        const std::string& der = signer().certificateDer();
        std::string field;
        field.push_back(static_cast<char>(der.size() >> 8));
        field.push_back(static_cast<char>(der.size() & 0xff));
        field += der;
        body.replace(certificate, 2, field);
      }
      return;
    }
    case Kind::Relay:
      if (body.size() >= 1 + node.size()) body.replace(1, node.size(), node);
      return;
  }
}

template <typename Record, typename Open, typename Seal>
void roundTrip(std::string_view sealed, Open open, Seal seal) {
  auto record = open(sealed);
  if (!record) return;
  auto again = seal(signer(), *record);
  check(again.has_value());
  auto reopened = open(*again);
  check(reopened.has_value() && *reopened == *record);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace p2psip;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)location::openUserRecord(bytes);
  (void)overlay::openPeerRecord(bytes);
  (void)overlay::openRelayRecord(bytes);
  if (size == 0) return 0;
  const Kind kind = static_cast<Kind>(data[0] % 3);
  std::string body(bytes.substr(1));
  aimAtSigner(kind, body);
  const identity::RecordKind recordKind = kind == Kind::User   ? identity::RecordKind::User
                                          : kind == Kind::Peer ? identity::RecordKind::Peer
                                                               : identity::RecordKind::Relay;
  auto sealed = identity::seal(signer(), recordKind, body);
  if (!sealed) return 0;
  switch (kind) {
    case Kind::User:
      roundTrip<location::UserRecord>(
          *sealed, [](std::string_view b) { return location::openUserRecord(b); },
          [](const identity::NodeIdentity& s, const location::UserRecord& r) {
            return location::sealUserRecord(s, r);
          });
      break;
    case Kind::Peer:
      roundTrip<overlay::PeerRecord>(
          *sealed, [](std::string_view b) { return overlay::openPeerRecord(b); },
          [](const identity::NodeIdentity& s, const overlay::PeerRecord& r) {
            return overlay::sealPeerRecord(s, r);
          });
      break;
    case Kind::Relay:
      roundTrip<overlay::RelayRecord>(
          *sealed, [](std::string_view b) { return overlay::openRelayRecord(b); },
          [](const identity::NodeIdentity& s, const overlay::RelayRecord& r) {
            return overlay::sealRelayRecord(s, r);
          });
      break;
  }
  return 0;
}
