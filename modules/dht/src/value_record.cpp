// SPDX-License-Identifier: Apache-2.0
#include "value_record.h"

#include <map>

#include "p2psip/common/byte_codec.h"

namespace p2psip::dht {
namespace {

constexpr std::string_view kMagic = "p2";
constexpr std::uint8_t kFormat = 1;

}  // namespace

std::string encode(const ValueRecord& record) {
  ByteWriter out;
  out.raw(kMagic);
  out.u8(kFormat);
  out.u8(static_cast<std::uint8_t>(record.kind));
  out.u64(record.id);
  out.u64(record.version);
  out.raw(record.data);
  return std::move(out).bytes();
}

Result<ValueRecord> decodeValueRecord(std::string_view bytes, std::size_t maxDataBytes) {
  if (bytes.size() < kValueRecordHeaderBytes || bytes.substr(0, kMagic.size()) != kMagic) {
    return makeError(ErrorCode::ParseError, "DHT value is not a p2psip record");
  }
  if (bytes.size() - kValueRecordHeaderBytes > maxDataBytes) {
    return makeError(ErrorCode::LimitExceeded,
                     "DHT value of " + std::to_string(bytes.size() - kValueRecordHeaderBytes) +
                         " bytes is over the limit of " + std::to_string(maxDataBytes));
  }
  ByteReader in(bytes.substr(kMagic.size()));
  ValueRecord record;
  // The length was checked above, so these reads cannot run short.
  const std::uint8_t format = *in.u8("format");
  const std::uint8_t kind = *in.u8("kind");
  record.id = *in.u64("id");
  record.version = *in.u64("version");
  if (format != kFormat) {
    return makeError(ErrorCode::ParseError,
                     "DHT record format " + std::to_string(format) + " is not supported");
  }
  if (kind != static_cast<std::uint8_t>(ValueRecord::Kind::Value) &&
      kind != static_cast<std::uint8_t>(ValueRecord::Kind::Removal)) {
    return makeError(ErrorCode::ParseError,
                     "DHT record kind " + std::to_string(kind) + " is unknown");
  }
  record.kind = static_cast<ValueRecord::Kind>(kind);
  record.data = std::string(bytes.substr(kValueRecordHeaderBytes));
  if (record.kind == ValueRecord::Kind::Removal && !record.data.empty()) {
    return makeError(ErrorCode::ParseError, "DHT removal record carries data");
  }
  return record;
}

std::vector<StoredValue> latestValues(const std::vector<ValueRecord>& records) {
  std::map<std::uint64_t, const ValueRecord*> latest;
  for (const ValueRecord& r : records) {
    auto [it, inserted] = latest.try_emplace(r.id, &r);
    if (!inserted && r.version > it->second->version) it->second = &r;
  }
  std::vector<StoredValue> values;
  values.reserve(latest.size());
  for (const auto& [id, record] : latest) {
    if (record->kind == ValueRecord::Kind::Value) values.push_back({id, record->data});
  }
  return values;
}

}  // namespace p2psip::dht
