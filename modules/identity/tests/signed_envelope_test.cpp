// SPDX-License-Identifier: Apache-2.0
#include "p2psip/identity/signed_envelope.h"

#include <gtest/gtest.h>

#include <string>

#include "p2psip/common/byte_codec.h"
#include "shared_identities.h"

namespace p2psip::identity {
namespace {

// About the size of a user record: AOR, the serving peer, contact, expiry, sequence number.
const std::string kUserRecord =
    "aor=sip:alice@p2p.test;peer=4f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170;"
    "contact=<sip:alice@192.0.2.10:5060;transport=udp>;instance=urn:uuid:0b6e7c0a-7d9f-4a5e;"
    "expires=3600;seq=17";

bool mentions(const Error& error, const std::string& text) {
  return error.detail.find(text) != std::string::npos;
}

// Builds an envelope field by field, so tests can make the ones seal() never would.
std::string encode(std::string_view magic, std::uint8_t version, std::uint8_t kind,
                   std::string_view key, std::string_view body, std::string_view signature) {
  ByteWriter out;
  out.raw(magic);
  out.u8(version);
  out.u8(kind);
  out.str16(key);
  out.str32(body);
  out.str16(signature);
  return std::move(out).bytes();
}

class EnvelopeTest : public ::testing::TestWithParam<KeyType> {
 protected:
  const NodeIdentity& signer() const { return sharedIdentity(GetParam()); }
  std::string sealed(std::string_view body = kUserRecord) const {
    auto bytes = seal(signer(), RecordKind::User, body);
    EXPECT_TRUE(bytes) << bytes.error().detail;
    return bytes ? *bytes : std::string();
  }
};

TEST_P(EnvelopeTest, OpenReturnsTheBodyAndTheSignersNodeId) {
  auto opened = open(sealed(), RecordKind::User);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_EQ(opened->envelope.body, kUserRecord);
  EXPECT_EQ(opened->envelope.kind, RecordKind::User);
  EXPECT_EQ(opened->envelope.signerKey, signer().publicKeyDer());
  EXPECT_EQ(opened->signer, signer().nodeId());
}

TEST_P(EnvelopeTest, LayoutFollowsTheDocumentedWireFormat) {
  const std::string bytes = sealed();
  auto decoded = decodeEnvelope(bytes);
  ASSERT_TRUE(decoded) << decoded.error().detail;
  const std::string& key = signer().publicKeyDer();
  EXPECT_EQ(bytes.substr(0, 6), std::string("P2SE\x01\x01", 6));
  EXPECT_EQ(static_cast<unsigned char>(bytes[6]), key.size() >> 8);
  EXPECT_EQ(static_cast<unsigned char>(bytes[7]), key.size() & 0xff);
  EXPECT_EQ(bytes.substr(8, key.size()), key);
  EXPECT_EQ(bytes.size(),
            4 + 1 + 1 + 2 + key.size() + 4 + kUserRecord.size() + 2 + decoded->signature.size());
  // The signature covers everything before its length field.
  const std::string covered = bytes.substr(0, bytes.size() - 2 - decoded->signature.size());
  EXPECT_TRUE(verifySignature(key, covered, decoded->signature));
  EXPECT_EQ(encode("P2SE", 1, 1, key, kUserRecord, decoded->signature), bytes);
}

TEST_P(EnvelopeTest, AnEmptyBodyIsAllowed) {
  auto opened = open(sealed(""), RecordKind::User);
  ASSERT_TRUE(opened) << opened.error().detail;
  EXPECT_TRUE(opened->envelope.body.empty());
}

TEST_P(EnvelopeTest, EveryKindRoundTrips) {
  for (const RecordKind kind :
       {RecordKind::User, RecordKind::Peer, RecordKind::Relay, RecordKind::Gateway}) {
    auto bytes = seal(signer(), kind, "x");
    ASSERT_TRUE(bytes);
    auto opened = open(*bytes, kind);
    ASSERT_TRUE(opened) << opened.error().detail;
    EXPECT_EQ(opened->envelope.kind, kind);
  }
}

TEST_P(EnvelopeTest, OpenRefusesTheWrongKind) {
  auto opened = open(sealed(), RecordKind::Peer);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::ParseError);
  EXPECT_TRUE(mentions(opened.error(), "kind")) << opened.error().detail;
}

TEST_P(EnvelopeTest, ChangingAnySingleByteMakesOpenFail) {
  const std::string bytes = sealed();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (const unsigned char flip : {0x01, 0x80}) {
      std::string tampered = bytes;
      tampered[i] = static_cast<char>(tampered[i] ^ flip);
      auto opened = open(tampered, RecordKind::User);
      ASSERT_FALSE(opened) << "byte " << i << " flipped with " << int{flip};
      EXPECT_EQ(opened.error().code, ErrorCode::ParseError);
      EXPECT_FALSE(opened.error().detail.empty());
    }
  }
}

TEST_P(EnvelopeTest, ATamperedBodyIsReportedAsABadSignature) {
  std::string bytes = sealed();
  const std::size_t at = bytes.find("expires=3600");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 8] = '9';
  auto opened = open(bytes, RecordKind::User);
  ASSERT_FALSE(opened);
  EXPECT_TRUE(mentions(opened.error(), "signature does not verify")) << opened.error().detail;
  // Decoding alone does not check the signature.
  EXPECT_TRUE(decodeEnvelope(bytes));
}

TEST_P(EnvelopeTest, EveryTruncationIsAParseError) {
  const std::string bytes = sealed();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto decoded = decodeEnvelope(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(decoded) << "length " << n;
    EXPECT_EQ(decoded.error().code, ErrorCode::ParseError);
    EXPECT_FALSE(decoded.error().detail.empty());
    EXPECT_FALSE(open(std::string_view(bytes).substr(0, n), RecordKind::User));
  }
}

TEST_P(EnvelopeTest, TrailingBytesAreRefused) {
  auto decoded = decodeEnvelope(sealed() + "x");
  ASSERT_FALSE(decoded);
  EXPECT_TRUE(mentions(decoded.error(), "trailing")) << decoded.error().detail;
  EXPECT_FALSE(open(sealed() + std::string(1, '\0'), RecordKind::User));
}

TEST_P(EnvelopeTest, FieldsOverTheirLimitsAreRefusedByName) {
  const std::string bytes = sealed();
  auto decoded = decodeEnvelope(bytes);
  ASSERT_TRUE(decoded);
  const EnvelopeLimits exact{.maxKeyBytes = decoded->signerKey.size(),
                             .maxBodyBytes = decoded->body.size(),
                             .maxSignatureBytes = decoded->signature.size()};
  EXPECT_TRUE(open(bytes, RecordKind::User, exact));

  EnvelopeLimits limits = exact;
  --limits.maxKeyBytes;
  auto key = decodeEnvelope(bytes, limits);
  ASSERT_FALSE(key);
  EXPECT_TRUE(mentions(key.error(), "signer key")) << key.error().detail;
  EXPECT_TRUE(mentions(key.error(), "limit")) << key.error().detail;

  limits = exact;
  --limits.maxBodyBytes;
  auto body = decodeEnvelope(bytes, limits);
  ASSERT_FALSE(body);
  EXPECT_TRUE(mentions(body.error(), "body")) << body.error().detail;

  limits = exact;
  --limits.maxSignatureBytes;
  auto signature = open(bytes, RecordKind::User, limits);
  ASSERT_FALSE(signature);
  EXPECT_TRUE(mentions(signature.error(), "signature")) << signature.error().detail;
}

TEST_P(EnvelopeTest, AnotherSignersKeyInTheEnvelopeDoesNotVerify) {
  // Claiming someone else's NodeId means swapping in their key, which the signature then fails.
  auto decoded = decodeEnvelope(sealed());
  ASSERT_TRUE(decoded);
  const std::string forged = encode("P2SE", 1, 1, sharedIdentity(GetParam(), 1).publicKeyDer(),
                                    decoded->body, decoded->signature);
  auto opened = open(forged, RecordKind::User);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::ParseError);
}

TEST_P(EnvelopeTest, ANonCanonicalKeyIsRefusedEvenWithAValidSignature) {
  // A signer who could pad its key would get a new NodeId per padding and could choose where
  // in the overlay its records land.
  ByteWriter covered;
  covered.raw("P2SE");
  covered.u8(1);
  covered.u8(1);
  covered.str16(signer().publicKeyDer() + std::string(1, '\0'));
  covered.str32(kUserRecord);
  auto signature = signer().sign(covered.bytes());
  ASSERT_TRUE(signature);
  ByteWriter out;
  out.raw(covered.bytes());
  out.str16(*signature);
  auto opened = open(out.bytes(), RecordKind::User);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::ParseError);
  EXPECT_TRUE(mentions(opened.error(), "signer key")) << opened.error().detail;
}

INSTANTIATE_TEST_SUITE_P(EveryKeyType, EnvelopeTest, ::testing::ValuesIn(kAllKeyTypes),
                         keyTypeTestName);

TEST(DecodeEnvelope, BadHeaderFieldsAreNamed) {
  const std::string key(40, 'k');
  struct Case {
    std::string bytes;
    std::string expected;
  };
  for (const Case& c : {
           Case{encode("P2SX", 1, 1, key, "b", "s"), "magic"},
           Case{encode("P2SE", 0, 1, key, "b", "s"), "version 0"},
           Case{encode("P2SE", 3, 1, key, "b", "s"), "version 3"},
           Case{encode("P2SE", 1, 0, key, "b", "s"), "kind 0"},
           Case{encode("P2SE", 1, 5, key, "b", "s"), "kind 5"},
           Case{encode("P2SE", 1, 1, "", "b", "s"), "signer key is empty"},
           Case{encode("P2SE", 1, 1, key, "b", ""), "signature is empty"},
       }) {
    auto decoded = decodeEnvelope(c.bytes);
    ASSERT_FALSE(decoded) << c.expected;
    EXPECT_EQ(decoded.error().code, ErrorCode::ParseError);
    EXPECT_TRUE(mentions(decoded.error(), c.expected)) << decoded.error().detail;
  }
  EXPECT_TRUE(decodeEnvelope(encode("P2SE", 1, 4, key, "", "s")));
}

TEST(DecodeEnvelope, AHugeLengthFieldCostsNothing) {
  ByteWriter out;
  out.raw("P2SE");
  out.u8(1);
  out.u8(1);
  out.str16("k");
  out.u32(0xffffffffu);  // body length, with no body behind it
  const EnvelopeLimits unlimited{
      .maxKeyBytes = 0xffff, .maxBodyBytes = 0xffffffffu, .maxSignatureBytes = 0xffff};
  auto decoded = decodeEnvelope(out.bytes(), unlimited);
  ASSERT_FALSE(decoded);
  EXPECT_TRUE(mentions(decoded.error(), "body")) << decoded.error().detail;
  auto limited = decodeEnvelope(out.bytes());
  ASSERT_FALSE(limited);
  EXPECT_TRUE(mentions(limited.error(), "limit")) << limited.error().detail;
}

TEST(Seal, RefusesABodyReadersWouldRefuse) {
  const NodeIdentity& node = sharedIdentity(KeyType::Ed25519);
  const EnvelopeLimits limits;
  EXPECT_TRUE(seal(node, RecordKind::User, std::string(limits.maxBodyBytes, 'x')));
  auto tooBig = seal(node, RecordKind::User, std::string(limits.maxBodyBytes + 1, 'x'));
  ASSERT_FALSE(tooBig);
  EXPECT_EQ(tooBig.error().code, ErrorCode::LimitExceeded);
}

TEST(Seal, SignaturesOfTheSameRecordByTwoNodesNameTwoSigners) {
  auto a = seal(sharedIdentity(KeyType::Ed25519, 0), RecordKind::Peer, "same");
  auto b = seal(sharedIdentity(KeyType::Ed25519, 1), RecordKind::Peer, "same");
  ASSERT_TRUE(a && b);
  auto openedA = open(*a, RecordKind::Peer);
  auto openedB = open(*b, RecordKind::Peer);
  ASSERT_TRUE(openedA && openedB);
  EXPECT_NE(openedA->signer, openedB->signer);
}

}  // namespace
}  // namespace p2psip::identity
