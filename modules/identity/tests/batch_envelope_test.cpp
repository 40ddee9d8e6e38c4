// SPDX-License-Identifier: Apache-2.0
// Version-2 envelopes (sealBatch): one signature over a hash tree of up to kMaxBatch records. Each
// record must open on its own, with nothing of the others but their hashes, and must not open once
// any byte that the signature vouches for changes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "p2psip/common/byte_codec.h"
#include "p2psip/identity/signed_envelope.h"
#include "shared_identities.h"

namespace p2psip::identity {
namespace {

std::vector<std::string> bodies(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("aor=sip:user" + std::to_string(i) + "@p2p.test;seq=" + std::to_string(i));
  return out;
}

std::vector<std::string> sealAll(const NodeIdentity& signer, const std::vector<std::string>& texts,
                                 RecordKind kind = RecordKind::User) {
  std::vector<BatchRecord> records;
  for (const auto& t : texts) records.push_back(BatchRecord{kind, t});
  auto sealed = sealBatch(signer, records);
  std::vector<std::string> out;
  for (auto& s : sealed) {
    EXPECT_TRUE(s) << s.error().detail;
    out.push_back(s ? *s : std::string());
  }
  return out;
}

class BatchEnvelopeTest : public ::testing::TestWithParam<KeyType> {
 protected:
  const NodeIdentity& signer() const { return sharedIdentity(GetParam()); }
};

TEST_P(BatchEnvelopeTest, EveryRecordOfEveryBatchSizeOpensOnItsOwn) {
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{5},
                        std::size_t{8}, std::size_t{9}, kMaxBatch}) {
    const auto texts = bodies(n);
    const auto sealed = sealAll(signer(), texts);
    std::size_t depth = 0;
    while ((std::size_t{1} << depth) < n) ++depth;
    for (std::size_t i = 0; i < n; ++i) {
      auto opened = open(sealed[i], RecordKind::User);
      ASSERT_TRUE(opened) << n << "/" << i << ": " << opened.error().detail;
      EXPECT_EQ(opened->envelope.body, texts[i]);
      EXPECT_EQ(opened->signer, signer().nodeId());
      EXPECT_EQ(opened->envelope.version, 2);
      EXPECT_EQ(opened->envelope.leafIndex, i);
      EXPECT_EQ(opened->envelope.siblings.size(), depth * 32) << n;
    }
  }
}

TEST_P(BatchEnvelopeTest, AnyChangedByteBeforeTheSignatureIsRefused) {
  const auto sealed = sealAll(signer(), bodies(5));
  const std::string& record = sealed[2];
  auto decoded = decodeEnvelope(record);
  ASSERT_TRUE(decoded);
  const std::size_t signatureStart = record.size() - decoded->signature.size() - 2;
  // Every byte up to the signature length: magic, version, kind, key, body, depth, index,
  // siblings. Each flip must fail to decode or fail to verify, never open.
  for (std::size_t at = 0; at < signatureStart; ++at) {
    std::string bad = record;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    EXPECT_FALSE(open(bad, RecordKind::User)) << "byte " << at;
  }
}

TEST_P(BatchEnvelopeTest, ARecordCannotBorrowAnotherBatchsSignatureOrPosition) {
  const auto first = sealAll(signer(), bodies(4));
  const auto second = sealAll(signer(), {"other-a", "other-b", "other-c", "other-d"});
  auto a = decodeEnvelope(first[1]);
  auto b = decodeEnvelope(second[1]);
  ASSERT_TRUE(a && b);
  // first[1] with second's signature: the root differs.
  std::string swapped = first[1].substr(0, first[1].size() - a->signature.size()) + b->signature;
  EXPECT_FALSE(open(swapped, RecordKind::User));
  // first[1] claiming leaf 0 (the siblings no longer lead to the signed root).
  std::string moved = first[1];
  const std::size_t indexAt = first[1].size() - a->signature.size() - 2 - a->siblings.size() - 4;
  moved[indexAt + 3] = 0;
  EXPECT_FALSE(open(moved, RecordKind::User));
}

TEST_P(BatchEnvelopeTest, ABadRecordIsLeftOutAndTheOthersAreSealed) {
  const std::string tooBig(EnvelopeLimits{}.maxBodyBytes + 1, 'x');
  std::vector<BatchRecord> records{{RecordKind::User, "a"},
                                   {RecordKind::User, tooBig},
                                   {static_cast<RecordKind>(9), "c"},
                                   {RecordKind::Relay, "d"}};
  auto sealed = sealBatch(signer(), records);
  ASSERT_EQ(sealed.size(), 4u);
  ASSERT_TRUE(sealed[0]);
  EXPECT_FALSE(sealed[1]);
  EXPECT_EQ(sealed[1].error().code, ErrorCode::LimitExceeded);
  EXPECT_FALSE(sealed[2]);
  ASSERT_TRUE(sealed[3]);
  EXPECT_EQ(open(*sealed[0], RecordKind::User)->envelope.body, "a");
  EXPECT_EQ(open(*sealed[3], RecordKind::Relay)->envelope.body, "d");
  EXPECT_FALSE(open(*sealed[3], RecordKind::User)) << "the kind is still checked";
}

INSTANTIATE_TEST_SUITE_P(EveryKeyType, BatchEnvelopeTest, ::testing::ValuesIn(kAllKeyTypes),
                         keyTypeTestName);

TEST(BatchEnvelope, MoreThanABatchIsRefusedWhole) {
  const auto texts = bodies(kMaxBatch + 1);
  std::vector<BatchRecord> records;
  for (const auto& t : texts) records.push_back(BatchRecord{RecordKind::User, t});
  for (const auto& r : sealBatch(sharedIdentity(KeyType::Ed25519), records)) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
  }
}

TEST(BatchEnvelope, BadBatchFieldsAreNamed) {
  const std::string key(40, 'k');
  auto make = [&](std::uint8_t depth, std::uint32_t index, std::size_t siblingBytes) {
    ByteWriter out;
    out.raw("P2SE");
    out.u8(2);
    out.u8(1);
    out.str16(key);
    out.str32("body");
    out.u8(depth);
    out.u32(index);
    out.raw(std::string(siblingBytes, 's'));
    out.str16("sig");
    return std::move(out).bytes();
  };
  struct Case {
    std::string bytes;
    std::string expected;
  };
  for (const Case& c :
       {Case{make(5, 0, 5 * 32), "batch depth 5"}, Case{make(2, 4, 2 * 32), "leaf index 4"},
        Case{make(3, 0, 2 * 32), "batch siblings"}}) {
    auto decoded = decodeEnvelope(c.bytes);
    ASSERT_FALSE(decoded) << c.expected;
    EXPECT_EQ(decoded.error().code, ErrorCode::ParseError);
    EXPECT_NE(decoded.error().detail.find(c.expected), std::string::npos) << decoded.error().detail;
  }
  auto fine = decodeEnvelope(make(2, 3, 2 * 32));
  ASSERT_TRUE(fine) << fine.error().detail;
  EXPECT_EQ(fine->leafIndex, 3u);
}

}  // namespace
}  // namespace p2psip::identity
