// SPDX-License-Identifier: Apache-2.0
// ValueRecord: one version of a StoredValue as it travels inside an OpenDHT value.
//
// Why versions: OpenDHT 2.4 never tells a listener that a value it reported was edited (its
// listen cache keeps the first value seen per OpenDHT id), so a replacement or withdrawal under the
// same OpenDHT id would reach listeners only when the old value expires. Each put therefore
// travels as a new OpenDHT value (fresh random OpenDHT id) carrying the writer's id and a version,
// and readers keep, per writer id, the highest version they have seen. remove() is a Removal
// record with a higher version, which listeners see at once.
//
// Wire format, version 1 (integers big-endian): "p2" magic, u8 format (1), u8 kind (1 value,
// 2 removal), u64 id, u64 version, then the data (empty for a removal). An OpenDHT value with
// empty data is a retired version (blanked by its writer), not a record.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "p2psip/common/result.h"
#include "p2psip/dht/lookup_service.h"

namespace p2psip::dht {

struct ValueRecord {
  enum class Kind : std::uint8_t { Value = 1, Removal = 2 };

  Kind kind = Kind::Value;
  std::uint64_t id = 0;       // the writer's StoredValue::id
  std::uint64_t version = 0;  // a higher version replaces a lower one with the same id
  std::string data;
  friend bool operator==(const ValueRecord&, const ValueRecord&) = default;
};

inline constexpr std::size_t kValueRecordHeaderBytes = 20;

std::string encode(const ValueRecord& record);
// ParseError for anything that is not a well-formed record; LimitExceeded for data over
// `maxDataBytes` (checked before any copy).
Result<ValueRecord> decodeValueRecord(std::string_view bytes, std::size_t maxDataBytes);

// What a reader reports from a set of records (duplicates and stale versions included, in any
// order): per id the highest version, unless that is a removal; sorted by id.
std::vector<StoredValue> latestValues(const std::vector<ValueRecord>& records);

}  // namespace p2psip::dht
