// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the identity module's signed envelope. Properties checked on every input:
//  1. decodeEnvelope() never crashes and, on failure, names the problem;
//  2. an input that decodes re-encodes to the same bytes (one encoding per envelope);
//  3. open() succeeds only on inputs that decode, of the kind asked for, and then names the
//     signer as the hash of the enclosed key;
//  4. tighter limits never accept what the default limits refuse.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"

namespace {

using p2psip::ByteWriter;
using p2psip::identity::EnvelopeLimits;
using p2psip::identity::NodeId;
using p2psip::identity::RecordKind;
using p2psip::identity::SignedEnvelope;

void check(bool condition) {
  if (!condition) std::abort();
}

std::string encode(const SignedEnvelope& envelope) {
  ByteWriter out;
  out.raw("P2SE");
  out.u8(envelope.version);
  out.u8(static_cast<std::uint8_t>(envelope.kind));
  check(out.str16(envelope.signerKey));
  check(out.str32(envelope.body));
  if (envelope.version == 2) {
    check(envelope.siblings.size() % 32 == 0 && envelope.siblings.size() <= 4 * 32);
    check(envelope.leafIndex < (1u << (envelope.siblings.size() / 32)));
    out.u8(static_cast<std::uint8_t>(envelope.siblings.size() / 32));
    out.u32(envelope.leafIndex);
    out.raw(envelope.siblings);
  } else {
    check(envelope.version == 1 && envelope.siblings.empty());
  }
  check(out.str16(envelope.signature));
  return std::move(out).bytes();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto decoded = p2psip::identity::decodeEnvelope(input);
  if (!decoded) check(!decoded.error().detail.empty());
  if (decoded) check(encode(*decoded) == input);

  const EnvelopeLimits tight{.maxKeyBytes = 100, .maxBodyBytes = 100, .maxSignatureBytes = 100};
  if (p2psip::identity::decodeEnvelope(input, tight)) check(decoded.has_value());

  // The kind comes from the input, so envelopes that decode also reach the signature check.
  const auto kind = decoded ? decoded->kind : RecordKind::User;
  auto opened = p2psip::identity::open(input, kind);
  if (!opened) {
    check(!opened.error().detail.empty());
    return 0;
  }
  check(decoded.has_value());
  check(opened->envelope.body == decoded->body);
  check(opened->signer == NodeId::ofPublicKey(decoded->signerKey));
  return 0;
}
