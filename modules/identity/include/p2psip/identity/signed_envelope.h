// SPDX-License-Identifier: Apache-2.0
// SignedEnvelope: how every record the overlay stores in the DHT is carried. The body is signed
// by the node that wrote it, and carries the signer's public key, so a reader can check both that
// the signature is valid and that the key hashes to the NodeId the record names (the record's own
// codec checks the latter: open() returns the signer's NodeId).
//
// Wire format, version 1 (all integers big-endian):
//   "P2SE" magic, u8 version (1), u8 kind, u16 key length, key (DER SPKI),
//   u32 body length, body, u16 signature length, signature.
// The signature covers everything before the signature length field. Anything else (wrong magic,
// version, lengths past the end, trailing bytes, fields over their limits) is a ParseError that
// names the field. Decoding is bounded by EnvelopeLimits before any allocation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

struct SignedEnvelope {
  RecordKind kind = RecordKind::User;
  std::string signerKey;  // DER SubjectPublicKeyInfo
  std::string body;
  std::string signature;
};

// Signs `body` as `kind` with `signer` and returns the encoded envelope.
Result<std::string> seal(const NodeIdentity& signer, RecordKind kind, std::string_view body);

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
