// SPDX-License-Identifier: Apache-2.0
#include "p2psip/location/user_record.h"

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"

namespace p2psip::location {
namespace {

constexpr std::uint8_t kVersion = 1;

}  // namespace

bool UserRecord::expired(WallTime now) const {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count() >=
         expiresAt;
}

std::uint64_t userRecordValueId(const identity::NodeId& node) {
  std::uint64_t id = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    id = (id << 8) | static_cast<std::uint8_t>(node.bytes()[i]);
  }
  // 0 is how some DHTs spell "no id"; never use it.
  return id == 0 ? 1 : id;
}

Result<std::string> sealUserRecord(const identity::NodeIdentity& signer, const UserRecord& record) {
  if (signer.nodeId() != record.servedBy) {
    return makeError(ErrorCode::InvalidArgument, "a user record is signed by the peer serving it");
  }
  auto body = userRecordBody(record);
  if (!body) return tl::unexpected(body.error());
  return identity::seal(signer, identity::RecordKind::User, *body);
}

Result<std::string> userRecordBody(const UserRecord& record) {
  if (record.aor.empty() || record.aor.size() > kMaxAorBytes) {
    return makeError(ErrorCode::InvalidArgument, "user record AOR is empty or too long");
  }
  ByteWriter body;
  body.u8(kVersion);
  body.str16(record.aor);
  body.raw(record.servedBy.bytes());
  body.u64(static_cast<std::uint64_t>(record.expiresAt));
  body.u64(record.sequence);
  return std::move(body).bytes();
}

Result<UserRecord> openUserRecord(std::string_view bytes) {
  auto opened = identity::open(bytes, identity::RecordKind::User);
  if (!opened) return tl::unexpected(opened.error());
  ByteReader in(opened->envelope.body);
  auto version = in.u8("user record version");
  if (!version) return tl::unexpected(version.error());
  if (*version != kVersion) {
    return makeError(ErrorCode::ParseError,
                     "user record version " + std::to_string(*version) + " is not supported");
  }
  UserRecord record;
  auto aor = in.str16(kMaxAorBytes, "user record AOR");
  if (!aor) return tl::unexpected(aor.error());
  if (aor->empty()) return makeError(ErrorCode::ParseError, "user record AOR is empty");
  record.aor = std::string(*aor);
  auto node = in.raw(identity::NodeId::kSize, "user record NodeId");
  if (!node) return tl::unexpected(node.error());
  auto servedBy = identity::NodeId::fromBytes(*node);
  if (!servedBy) return tl::unexpected(servedBy.error());
  record.servedBy = *servedBy;
  auto expires = in.u64("user record expiry");
  if (!expires) return tl::unexpected(expires.error());
  record.expiresAt = static_cast<std::int64_t>(*expires);
  auto sequence = in.u64("user record sequence");
  if (!sequence) return tl::unexpected(sequence.error());
  record.sequence = *sequence;
  if (auto end = in.expectEnd("user record"); !end) return tl::unexpected(end.error());
  // The heart of the check: only the key that hashes to servedBy may speak for it.
  if (opened->signer != record.servedBy) {
    return makeError(ErrorCode::ParseError, "user record for " + record.servedBy.shortHex() +
                                                " is signed by another node (" +
                                                opened->signer.shortHex() + ")");
  }
  return record;
}

}  // namespace p2psip::location
