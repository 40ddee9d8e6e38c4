// SPDX-License-Identifier: Apache-2.0
// KeyView: what one listen() subscription has reported about its key, so that the records OpenDHT
// hands over (new, duplicated by several storing nodes, stale, expired) become the changes the
// LookupService contract promises: a value appears once, a replacement appears as the new value
// under the same id, and a removal or the expiry of the version last reported makes it go.
// Pure and single-threaded: the service owns one per subscription on the signalling loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "p2psip/dht/lookup_service.h"
#include "value_record.h"

namespace p2psip::dht {

class KeyView {
 public:
  struct Changes {
    std::vector<StoredValue> appeared;  // report with expired=false
    std::vector<StoredValue> gone;      // report with expired=true
  };

  // OpenDHT keeps at most this many values per listen, so a hostile writer flooding one key with
  // ids cannot make this view grow beyond it either.
  static constexpr std::size_t kMaxIds = 4096;

  // `expired` as OpenDHT reports it: the records went away from the storing nodes.
  Changes apply(const std::vector<ValueRecord>& records, bool expired);
  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::uint64_t version = 0;
    bool present = false;  // false: the last version seen was a removal
    std::string data;
  };
  void add(const ValueRecord& record, Changes& changes);
  void expire(const ValueRecord& record, Changes& changes);

  std::map<std::uint64_t, Entry> entries_;
};

}  // namespace p2psip::dht
