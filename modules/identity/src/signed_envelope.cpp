// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/signed_envelope.h"

#include <utility>

#include "p2psip/common/byte_codec.h"

namespace p2psip::identity {
namespace {

constexpr std::string_view kMagic = "P2SE";
constexpr std::uint8_t kVersion = 1;

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

// Writes everything the signature covers: magic through body.
ByteWriter signedPart(RecordKind kind, std::string_view signerKey, std::string_view body) {
  ByteWriter out;
  out.raw(kMagic);
  out.u8(kVersion);
  out.u8(static_cast<std::uint8_t>(kind));
  out.str16(signerKey);
  out.str32(body);
  return out;
}

}  // namespace

Result<std::string> seal(const NodeIdentity& signer, RecordKind kind, std::string_view body) {
  // Refuse to write what a reader with the default limits would refuse to read.
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
  ByteWriter out = signedPart(kind, signer.publicKeyDer(), body);
  auto signature = signer.sign(out.bytes());
  if (!signature) return tl::unexpected(signature.error());
  if (signature->size() > limits.maxSignatureBytes) {
    return envelopeError(ErrorCode::LimitExceeded, "signature is over the limit");
  }
  out.str16(*signature);
  return std::move(out).bytes();
}

Result<SignedEnvelope> decodeEnvelope(std::string_view bytes, const EnvelopeLimits& limits) {
  ByteReader in(bytes);
  auto magic = in.raw(kMagic.size(), "envelope magic");
  if (!magic) return tl::unexpected(magic.error());
  if (*magic != kMagic) return envelopeError(ErrorCode::ParseError, "magic is not \"P2SE\"");
  auto version = in.u8("envelope version");
  if (!version) return tl::unexpected(version.error());
  if (*version != kVersion) {
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
  auto signature = in.str16(limits.maxSignatureBytes, "envelope signature");
  if (!signature) return tl::unexpected(signature.error());
  if (signature->empty()) return envelopeError(ErrorCode::ParseError, "signature is empty");
  if (auto end = in.expectEnd("envelope signature"); !end) return tl::unexpected(end.error());

  return SignedEnvelope{.kind = static_cast<RecordKind>(*kind),
                        .signerKey = std::string(*key),
                        .body = std::string(*body),
                        .signature = std::string(*signature)};
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
  // The signature covers every byte before its own length field; decodeEnvelope has checked
  // that the signature is the last field, so that prefix is the input minus it and its length.
  const std::string_view covered =
      bytes.substr(0, bytes.size() - envelope->signature.size() - sizeof(std::uint16_t));
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
