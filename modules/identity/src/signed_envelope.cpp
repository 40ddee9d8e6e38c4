// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/signed_envelope.h"

#include <sodium.h>

#include <array>
#include <utility>

#include "p2psip/common/byte_codec.h"

namespace p2psip::identity {
namespace {

constexpr std::string_view kMagic = "P2SE";
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kBatchVersion = 2;
constexpr std::size_t kHashBytes = 32;
constexpr std::size_t kMaxDepth = 4;  // 2^4 = kMaxBatch leaves
static_assert(std::size_t{1} << kMaxDepth == kMaxBatch);
// Domain separation: a batch signature signs this and a root, never bytes a version-1 record
// could start with ("P2SE" then version 1).
constexpr std::string_view kRootContext = "P2SE batch root";

using Hash = std::array<unsigned char, kHashBytes>;

// Leaves and inner nodes hash with different first bytes, so an inner node can never pass for a
// leaf (the second-preimage trick on Merkle trees).
Hash leafHash(std::string_view covered) {
  Hash out;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const unsigned char tag = 0x00;
  crypto_hash_sha256_update(&state, &tag, 1);
  crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(covered.data()),
                            covered.size());
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

Hash nodeHash(const unsigned char* left, const unsigned char* right) {
  Hash out;
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  const unsigned char tag = 0x01;
  crypto_hash_sha256_update(&state, &tag, 1);
  crypto_hash_sha256_update(&state, left, kHashBytes);
  crypto_hash_sha256_update(&state, right, kHashBytes);
  crypto_hash_sha256_final(&state, out.data());
  return out;
}

std::string rootMessage(const Hash& root) {
  std::string message(kRootContext);
  message.append(reinterpret_cast<const char*>(root.data()), root.size());
  return message;
}

bool isKnownKind(std::uint8_t kind) {
  return kind >= static_cast<std::uint8_t>(RecordKind::User) &&
         kind <= static_cast<std::uint8_t>(RecordKind::Gateway);
}

std::string_view kindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::User:
      return "user";
    case RecordKind::Peer:
      return "peer";
    case RecordKind::Relay:
      return "relay";
    case RecordKind::Gateway:
      return "gateway";
  }
  return "unknown";
}

tl::unexpected<Error> envelopeError(ErrorCode code, std::string_view what) {
  return makeError(code, "envelope: " + std::string(what));
}

// Writes magic through body: what a version-1 signature covers, a version-2 leaf hashes.
ByteWriter signedPart(RecordKind kind, std::string_view signerKey, std::string_view body,
                      std::uint8_t version = kVersion) {
  ByteWriter out;
  out.raw(kMagic);
  out.u8(version);
  out.u8(static_cast<std::uint8_t>(kind));
  out.str16(signerKey);
  out.str32(body);
  return out;
}

// Refuses to write what a reader with the default limits would refuse to read.
Result<void> checkSealable(const NodeIdentity& signer, RecordKind kind, std::string_view body) {
  const EnvelopeLimits limits;
  if (!isKnownKind(static_cast<std::uint8_t>(kind))) {
    return envelopeError(ErrorCode::InvalidArgument, "unknown record kind");
  }
  if (body.size() > limits.maxBodyBytes) {
    return envelopeError(ErrorCode::LimitExceeded, "body is " + std::to_string(body.size()) +
                                                       " bytes, over the limit of " +
                                                       std::to_string(limits.maxBodyBytes));
  }
  if (signer.publicKeyDer().size() > limits.maxKeyBytes) {
    return envelopeError(ErrorCode::LimitExceeded, "signer key is over the limit");
  }
  return {};
}

}  // namespace

Result<std::string> seal(const NodeIdentity& signer, RecordKind kind, std::string_view body) {
  const EnvelopeLimits limits;
  if (auto ok = checkSealable(signer, kind, body); !ok) return tl::unexpected(ok.error());
  ByteWriter out = signedPart(kind, signer.publicKeyDer(), body);
  auto signature = signer.sign(out.bytes());
  if (!signature) return tl::unexpected(signature.error());
  if (signature->size() > limits.maxSignatureBytes) {
    return envelopeError(ErrorCode::LimitExceeded, "signature is over the limit");
  }
  out.str16(*signature);
  return std::move(out).bytes();
}

std::vector<Result<std::string>> sealBatch(const NodeIdentity& signer,
                                           std::span<const BatchRecord> records) {
  std::vector<Result<std::string>> out(records.size());
  if (records.size() > kMaxBatch) {
    for (auto& r : out) {
      r = envelopeError(ErrorCode::InvalidArgument, "a batch of " + std::to_string(records.size()) +
                                                        " records is over the limit of " +
                                                        std::to_string(kMaxBatch));
    }
    return out;
  }
  std::vector<std::size_t> members;  // indexes into `records` of the tree's leaves, in order
  std::vector<ByteWriter> parts;
  std::vector<std::vector<Hash>> levels(1);
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (auto ok = checkSealable(signer, records[i].kind, records[i].body); !ok) {
      out[i] = tl::unexpected(ok.error());
      continue;
    }
    parts.push_back(
        signedPart(records[i].kind, signer.publicKeyDer(), records[i].body, kBatchVersion));
    levels[0].push_back(leafHash(parts.back().bytes()));
    members.push_back(i);
  }
  if (members.empty()) return out;
  std::size_t depth = 0;
  while ((std::size_t{1} << depth) < members.size()) ++depth;
  levels[0].resize(std::size_t{1} << depth, Hash{});  // a short batch's missing leaves: zeros
  for (std::size_t d = 0; d < depth; ++d) {
    std::vector<Hash> next;
    for (std::size_t k = 0; k + 1 < levels[d].size(); k += 2) {
      next.push_back(nodeHash(levels[d][k].data(), levels[d][k + 1].data()));
    }
    levels.push_back(std::move(next));
  }
  auto signature = signer.sign(rootMessage(levels[depth][0]));
  if (signature && signature->size() > EnvelopeLimits{}.maxSignatureBytes) {
    signature = envelopeError(ErrorCode::LimitExceeded, "signature is over the limit");
  }
  for (std::size_t j = 0; j < members.size(); ++j) {
    if (!signature) {
      out[members[j]] = tl::unexpected(signature.error());
      continue;
    }
    ByteWriter& record = parts[j];
    record.u8(static_cast<std::uint8_t>(depth));
    record.u32(static_cast<std::uint32_t>(j));
    for (std::size_t d = 0; d < depth; ++d) {
      const Hash& sibling = levels[d][(j >> d) ^ 1];
      record.raw(std::string_view(reinterpret_cast<const char*>(sibling.data()), sibling.size()));
    }
    record.str16(*signature);
    out[members[j]] = std::move(record).bytes();
  }
  return out;
}

Result<SignedEnvelope> decodeEnvelope(std::string_view bytes, const EnvelopeLimits& limits) {
  ByteReader in(bytes);
  auto magic = in.raw(kMagic.size(), "envelope magic");
  if (!magic) return tl::unexpected(magic.error());
  if (*magic != kMagic) return envelopeError(ErrorCode::ParseError, "magic is not \"P2SE\"");
  auto version = in.u8("envelope version");
  if (!version) return tl::unexpected(version.error());
  if (*version != kVersion && *version != kBatchVersion) {
    return envelopeError(ErrorCode::ParseError,
                         "version " + std::to_string(*version) + " is not supported");
  }
  auto kind = in.u8("envelope kind");
  if (!kind) return tl::unexpected(kind.error());
  if (!isKnownKind(*kind)) {
    return envelopeError(ErrorCode::ParseError, "kind " + std::to_string(*kind) + " is unknown");
  }
  // Each length is checked against its limit and the bytes left before anything is copied.
  auto key = in.str16(limits.maxKeyBytes, "envelope signer key");
  if (!key) return tl::unexpected(key.error());
  if (key->empty()) return envelopeError(ErrorCode::ParseError, "signer key is empty");
  auto body = in.str32(limits.maxBodyBytes, "envelope body");
  if (!body) return tl::unexpected(body.error());
  std::uint32_t leafIndex = 0;
  std::string siblings;
  if (*version == kBatchVersion) {
    auto depth = in.u8("envelope batch depth");
    if (!depth) return tl::unexpected(depth.error());
    if (*depth > kMaxDepth) {
      return envelopeError(ErrorCode::ParseError, "batch depth " + std::to_string(*depth) +
                                                      " is over the limit of " +
                                                      std::to_string(kMaxDepth));
    }
    auto index = in.u32("envelope leaf index");
    if (!index) return tl::unexpected(index.error());
    if (*index >= (std::uint32_t{1} << *depth)) {
      return envelopeError(ErrorCode::ParseError, "leaf index " + std::to_string(*index) +
                                                      " is outside a batch of depth " +
                                                      std::to_string(*depth));
    }
    auto path = in.raw(*depth * kHashBytes, "envelope batch siblings");
    if (!path) return tl::unexpected(path.error());
    leafIndex = *index;
    siblings = std::string(*path);
  }
  auto signature = in.str16(limits.maxSignatureBytes, "envelope signature");
  if (!signature) return tl::unexpected(signature.error());
  if (signature->empty()) return envelopeError(ErrorCode::ParseError, "signature is empty");
  if (auto end = in.expectEnd("envelope signature"); !end) return tl::unexpected(end.error());

  return SignedEnvelope{.kind = static_cast<RecordKind>(*kind),
                        .signerKey = std::string(*key),
                        .body = std::string(*body),
                        .signature = std::string(*signature),
                        .version = *version,
                        .leafIndex = leafIndex,
                        .siblings = std::move(siblings)};
}

Result<OpenedEnvelope> open(std::string_view bytes, RecordKind expected,
                            const EnvelopeLimits& limits) {
  auto envelope = decodeEnvelope(bytes, limits);
  if (!envelope) return tl::unexpected(envelope.error());
  // Checked before the signature: a record of another kind is refused without spending a
  // verification on it.
  if (envelope->kind != expected) {
    return envelopeError(ErrorCode::ParseError, "kind is " + std::string(kindName(envelope->kind)) +
                                                    ", expected " +
                                                    std::string(kindName(expected)));
  }
  // Version 1: the signature covers every byte before its own length field; decodeEnvelope has
  // checked that the signature is the last field, so that prefix is the input minus it and its
  // length. Version 2: that prefix less the depth, index and siblings is the leaf; the signature
  // covers the root the siblings lead to from it.
  std::string_view covered =
      bytes.substr(0, bytes.size() - envelope->signature.size() - sizeof(std::uint16_t));
  std::string batchRoot;
  if (envelope->version == kBatchVersion) {
    covered.remove_suffix(1 + sizeof(std::uint32_t) + envelope->siblings.size());
    Hash node = leafHash(covered);
    const auto* path = reinterpret_cast<const unsigned char*>(envelope->siblings.data());
    for (std::size_t d = 0; d * kHashBytes < envelope->siblings.size(); ++d) {
      const unsigned char* sibling = path + d * kHashBytes;
      node = ((envelope->leafIndex >> d) & 1u) == 0 ? nodeHash(node.data(), sibling)
                                                    : nodeHash(sibling, node.data());
    }
    batchRoot = rootMessage(node);
    covered = batchRoot;
  }
  if (auto ok = verifySignature(envelope->signerKey, covered, envelope->signature); !ok) {
    // Whatever went wrong, the input is at fault: a ParseError naming the field.
    std::string_view detail = ok.error().detail;
    if (detail.starts_with("identity: ")) detail.remove_prefix(10);
    const bool badKey = ok.error().code == ErrorCode::InvalidArgument;
    return envelopeError(ErrorCode::ParseError,
                         (badKey ? "signer key: " : "") + std::string(detail));
  }
  NodeId signer = NodeId::ofPublicKey(envelope->signerKey);
  return OpenedEnvelope{.envelope = std::move(*envelope), .signer = signer};
}

}  // namespace p2psip::identity
