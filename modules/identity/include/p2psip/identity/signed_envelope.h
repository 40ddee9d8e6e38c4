// SPDX-License-Identifier: Apache-2.0
// SignedEnvelope: how every record the overlay stores in the DHT is carried. The body is signed
// by the node that wrote it, and carries the signer's public key, so a reader can check both that
// the signature is valid and that the key hashes to the NodeId the record names (the record's own
// codec checks the latter: open() returns the signer's NodeId).
//
// Wire format, version 1 (all integers big-endian):
//   "P2SE" magic, u8 version (1), u8 kind, u16 key length, key (DER SPKI),
//   u32 body length, body, u16 signature length, signature.
// The signature covers everything before the signature length field.
//
// Version 2, one record of a signed batch (sealBatch): one signature for up to kMaxBatch records,
// so that a burst of first registrations costs a signature per batch, not per user (docs/adr/0003).
//   "P2SE" magic, u8 version (2), u8 kind, u16 key length, key, u32 body length, body,
//   u8 depth (0-4), u32 leaf index (below 2^depth), depth x 32-byte sibling hashes (from the leaf
//   up), u16 signature length, signature.
// leaf = SHA-256(0x00 || every byte before the depth field); node = SHA-256(0x01 || left || right);
// the leaf index's bits, lowest first, say on which side each level's sibling lies; a missing leaf
// of a short batch is 32 zero bytes. The signature covers "P2SE batch root" || root, so it can
// never be mistaken for a version-1 signature over record bytes.
//
// Anything else (wrong magic, version, lengths past the end, trailing bytes, fields over their
// limits) is a ParseError that names the field. Decoding is bounded by EnvelopeLimits before any
// allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/identity/node_id.h"
#include "p2psip/identity/node_identity.h"

namespace p2psip::identity {

// What a record is; readers refuse an envelope of the wrong kind.
enum class RecordKind : std::uint8_t { User = 1, Peer = 2, Relay = 3, Gateway = 4 };

struct EnvelopeLimits {
  std::size_t maxKeyBytes = 1024;  // RSA-4096 SPKI is ~550 bytes
  std::size_t maxBodyBytes = 16 * 1024;
  std::size_t maxSignatureBytes = 1024;  // RSA-4096 signature is 512 bytes
};

// Records signed together by sealBatch(): at most this many, so a record carries at most four
// sibling hashes (128 bytes) in the DHT.
inline constexpr std::size_t kMaxBatch = 16;

struct SignedEnvelope {
  RecordKind kind = RecordKind::User;
  std::string signerKey;  // DER SubjectPublicKeyInfo
  std::string body;
  std::string signature;
  // Version 2 only: where the record sits in its batch's hash tree.
  std::uint8_t version = 1;
  std::uint32_t leafIndex = 0;
  std::string siblings;  // depth x 32 bytes, from the leaf up
};

// Signs `body` as `kind` with `signer` and returns the encoded envelope.
Result<std::string> seal(const NodeIdentity& signer, RecordKind kind, std::string_view body);

// Signs up to kMaxBatch records with one signature (version 2). The results are in the order of
// `records`; a record that cannot be sealed (unknown kind, body over the limit) gets its error and
// is left out of the tree, the others are sealed.
struct BatchRecord {
  RecordKind kind = RecordKind::User;
  std::string_view body;
};
std::vector<Result<std::string>> sealBatch(const NodeIdentity& signer,
                                           std::span<const BatchRecord> records);

// Parses `bytes` (bounded by `limits`) without checking the signature.
Result<SignedEnvelope> decodeEnvelope(std::string_view bytes, const EnvelopeLimits& limits = {});

// Parses and verifies: the kind must be `expected` and the signature must verify with the
// enclosed key. Returns the envelope and the signer's NodeId (the hash of the enclosed key).
struct OpenedEnvelope {
  SignedEnvelope envelope;
  NodeId signer;
};
Result<OpenedEnvelope> open(std::string_view bytes, RecordKind expected,
                            const EnvelopeLimits& limits = {});

}  // namespace p2psip::identity
