// SPDX-License-Identifier: Apache-2.0
// UserRecord: "this user is served by peer X", the overlay's only knowledge of a user. Stored in
// the DHT under LookupKey{User, canonical AOR}, one value per serving peer (value id derived from
// the peer's NodeId, so a refresh replaces the peer's previous value and two peers serving one
// user are two values). The serving peer signs it (identity::SignedEnvelope, RecordKind::User);
// a reader accepts it only if the signature verifies AND the signing key hashes to `servedBy`, so
// no peer can claim to serve someone on another peer's behalf.
//
// Body, version 1 (big-endian): u8 version, u16+AOR, 32-byte NodeId, u64 expiry (Unix seconds),
// u64 sequence. The sequence grows across restarts (derived from the wall clock), so a reader
// keeps the newest of two values from one peer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "p2psip/common/clock.h"
#include "p2psip/common/result.h"
#include "p2psip/identity/node_id.h"
#include "p2psip/identity/node_identity.h"

namespace p2psip::location {

inline constexpr std::size_t kMaxAorBytes = 1024;

struct UserRecord {
  std::string aor;  // canonical "sip:user@domain"
  identity::NodeId servedBy;
  std::int64_t expiresAt = 0;  // Unix seconds
  std::uint64_t sequence = 0;

  bool expired(WallTime now) const;
  friend bool operator==(const UserRecord&, const UserRecord&) = default;
};

// The DHT value id of `node`'s record for any user: its first 8 bytes.
std::uint64_t userRecordValueId(const identity::NodeId& node);

// The body that sealUserRecord() signs (for signing elsewhere, e.g. identity::RecordSigner).
Result<std::string> userRecordBody(const UserRecord& record);

// Signs `record` with `signer`, whose NodeId must be record.servedBy.
Result<std::string> sealUserRecord(const identity::NodeIdentity& signer, const UserRecord& record);

// Verifies and decodes a DHT value. ParseError names what is wrong: the envelope, the signature,
// a signer that is not `servedBy`, the body's fields.
Result<UserRecord> openUserRecord(std::string_view bytes);

}  // namespace p2psip::location
