// SPDX-License-Identifier: Apache-2.0
#include "value_record.h"

#include <gtest/gtest.h>

#include "key_view.h"
#include "lifetime_class.h"

namespace p2psip::dht {
namespace {

using namespace std::chrono_literals;
using Kind = ValueRecord::Kind;

ValueRecord value(std::uint64_t id, std::uint64_t version, std::string data) {
  return {Kind::Value, id, version, std::move(data)};
}
ValueRecord removal(std::uint64_t id, std::uint64_t version) {
  return {Kind::Removal, id, version, {}};
}

TEST(ValueRecord, RoundTrips) {
  const ValueRecord record = value(0x0102030405060708, 1700000000000, std::string("a\0b", 3));
  const std::string bytes = encode(record);
  EXPECT_EQ(bytes.size(), kValueRecordHeaderBytes + 3);
  auto decoded = decodeValueRecord(bytes, 16);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().detail;
  EXPECT_EQ(*decoded, record);

  auto decodedRemoval = decodeValueRecord(encode(removal(7, 9)), 16);
  ASSERT_TRUE(decodedRemoval.has_value());
  EXPECT_EQ(*decodedRemoval, removal(7, 9));
}

TEST(ValueRecord, RefusesDataOverTheLimit) {
  const std::string bytes = encode(value(1, 1, std::string(17, 'x')));
  auto decoded = decodeValueRecord(bytes, 16);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::LimitExceeded);
  EXPECT_TRUE(decodeValueRecord(bytes, 17).has_value());
}

TEST(ValueRecord, RefusesWhatIsNotARecord) {
  const std::string good = encode(value(1, 1, "data"));
  for (std::string bad : {std::string(), std::string("p2"),
                          good.substr(0, kValueRecordHeaderBytes - 1), "xx" + good.substr(2)}) {
    auto decoded = decodeValueRecord(bad, 1024);
    ASSERT_FALSE(decoded.has_value()) << bad.size();
    EXPECT_EQ(decoded.error().code, ErrorCode::ParseError);
  }
  std::string badFormat = good;
  badFormat[2] = 2;
  EXPECT_FALSE(decodeValueRecord(badFormat, 1024).has_value());
  std::string badKind = good;
  badKind[3] = 3;
  EXPECT_FALSE(decodeValueRecord(badKind, 1024).has_value());
  std::string removalWithData = encode(removal(1, 1)) + "x";
  EXPECT_FALSE(decodeValueRecord(removalWithData, 1024).has_value());
}

TEST(LatestValues, KeepsTheHighestVersionPerIdAndDropsRemovals) {
  const std::vector<ValueRecord> records{
      value(2, 5, "two-new"), value(2, 3, "two-old"),
      value(1, 1, "one"),     value(1, 1, "one"),  // the same version from a second storing node
      value(3, 4, "three"),   removal(3, 6),
      removal(4, 1),          value(4, 2, "four"),  // a put after a remove brings it back
  };
  EXPECT_EQ(latestValues(records),
            (std::vector<StoredValue>{{1, "one"}, {2, "two-new"}, {4, "four"}}));
  EXPECT_TRUE(latestValues({}).empty());
}

TEST(KeyView, ReportsAValueOnceAndIgnoresStaleVersions) {
  KeyView view;
  auto changes = view.apply({value(1, 10, "a")}, false);
  EXPECT_EQ(changes.appeared, (std::vector<StoredValue>{{1, "a"}}));
  EXPECT_TRUE(changes.gone.empty());

  EXPECT_TRUE(view.apply({value(1, 10, "a")}, false).appeared.empty());   // duplicate
  EXPECT_TRUE(view.apply({value(1, 9, "old")}, false).appeared.empty());  // late, older
}

TEST(KeyView, AReplacementAppearsAsTheNewValueUnderTheSameId) {
  KeyView view;
  view.apply({value(1, 10, "a")}, false);
  auto changes = view.apply({value(1, 11, "b")}, false);
  EXPECT_EQ(changes.appeared, (std::vector<StoredValue>{{1, "b"}}));
  EXPECT_TRUE(changes.gone.empty());
  // A refresh that changed nothing is not reported.
  EXPECT_TRUE(view.apply({value(1, 12, "b")}, false).appeared.empty());
}

TEST(KeyView, ARemovalMakesTheValueGoAtOnce) {
  KeyView view;
  view.apply({value(1, 10, "a"), value(2, 10, "other")}, false);
  auto changes = view.apply({removal(1, 11)}, false);
  EXPECT_EQ(changes.gone, (std::vector<StoredValue>{{1, "a"}}));
  EXPECT_TRUE(changes.appeared.empty());
  // The removed version arriving late from another node does not bring it back.
  EXPECT_TRUE(view.apply({value(1, 10, "a")}, false).appeared.empty());
  // A later put does.
  EXPECT_EQ(view.apply({value(1, 12, "c")}, false).appeared, (std::vector<StoredValue>{{1, "c"}}));
}

TEST(KeyView, OnlyTheExpiryOfTheReportedVersionCounts) {
  KeyView view;
  view.apply({value(1, 10, "a")}, false);
  view.apply({value(1, 11, "b")}, false);
  EXPECT_TRUE(view.apply({value(1, 10, "a")}, true).gone.empty());  // the replaced version
  auto changes = view.apply({value(1, 11, "b")}, true);
  EXPECT_EQ(changes.gone, (std::vector<StoredValue>{{1, "b"}}));
  EXPECT_EQ(view.size(), 0u);
}

TEST(KeyView, TheExpiryOfARemovalForgetsIt) {
  KeyView view;
  view.apply({value(1, 10, "a")}, false);
  view.apply({removal(1, 11)}, false);
  EXPECT_EQ(view.size(), 1u);
  EXPECT_TRUE(view.apply({removal(1, 11)}, true).gone.empty());
  EXPECT_EQ(view.size(), 0u);
}

TEST(KeyView, StaysBoundedUnderAFloodOfIds) {
  KeyView view;
  std::vector<ValueRecord> flood;
  for (std::uint64_t id = 0; id < KeyView::kMaxIds + 10; ++id) flood.push_back(value(id, 1, "x"));
  EXPECT_EQ(view.apply(flood, false).appeared.size(), KeyView::kMaxIds);
  EXPECT_EQ(view.size(), KeyView::kMaxIds);
}

TEST(LifetimeClass, PicksTheShortestClassThatCoversTheLifetime) {
  EXPECT_EQ(lifetimeClassFor(1s, 10min).lifetime, 30s);
  EXPECT_EQ(lifetimeClassFor(30s, 10min).lifetime, 30s);
  EXPECT_EQ(lifetimeClassFor(31s, 10min).lifetime, 1min);
  EXPECT_EQ(lifetimeClassFor(3min, 10min).lifetime, 5min);
  EXPECT_EQ(lifetimeClassFor(10min, 10min).lifetime, 10min);
  EXPECT_EQ(lifetimeClassFor(0s, 10min).lifetime, 30s);
  EXPECT_EQ(lifetimeClassFor(-5s, 10min).lifetime, 30s);
}

TEST(LifetimeClass, CapsTheLifetimeAtTheConfiguredMaximum) {
  EXPECT_EQ(lifetimeClassFor(1h, 10min).lifetime, 10min);
  EXPECT_EQ(lifetimeClassFor(1h, 2min).lifetime, 2min);
  EXPECT_EQ(lifetimeClassFor(1h, 7min).lifetime, 10min);  // rounded up to a class
  EXPECT_EQ(lifetimeClassFor(3h, 3h).lifetime, 60min);    // the longest class
}

TEST(LifetimeClass, TypeIdsAreDistinctAndOrderedByLifetime) {
  for (std::size_t i = 1; i < kLifetimeClasses.size(); ++i) {
    EXPECT_LT(kLifetimeClasses[i - 1].lifetime, kLifetimeClasses[i].lifetime);
    EXPECT_NE(kLifetimeClasses[i - 1].typeId, kLifetimeClasses[i].typeId);
  }
  EXPECT_TRUE(isLifetimeClass(0x5050));
  EXPECT_FALSE(isLifetimeClass(0));  // OpenDHT's USER_DATA
}

}  // namespace
}  // namespace p2psip::dht
