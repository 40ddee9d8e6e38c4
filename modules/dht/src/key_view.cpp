// SPDX-License-Identifier: Apache-2.0
#include "key_view.h"

namespace p2psip::dht {

KeyView::Changes KeyView::apply(const std::vector<ValueRecord>& records, bool expired) {
  Changes changes;
  for (const ValueRecord& record : records) {
    if (expired) {
      expire(record, changes);
    } else {
      add(record, changes);
    }
  }
  return changes;
}

void KeyView::add(const ValueRecord& record, Changes& changes) {
  auto it = entries_.find(record.id);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxIds) return;
    it = entries_.emplace(record.id, Entry{}).first;
  } else if (record.version <= it->second.version) {
    return;  // a duplicate from another storing node, or an older version arriving late
  }
  Entry& entry = it->second;
  if (record.kind == ValueRecord::Kind::Removal) {
    if (entry.present) changes.gone.push_back({record.id, std::move(entry.data)});
    // Kept (without data) until the removal itself expires, so that older versions still
    // travelling are recognised as stale.
    entry = Entry{record.version, false, {}};
    return;
  }
  // A refresh that changed nothing is not news to the listener.
  if (!entry.present || entry.data != record.data)
    changes.appeared.push_back({record.id, record.data});
  entry = Entry{record.version, true, record.data};
}

void KeyView::expire(const ValueRecord& record, Changes& changes) {
  auto it = entries_.find(record.id);
  // Only the expiry of the version we hold matters: an older version expiring after its
  // replacement says nothing about the current one.
  if (it == entries_.end() || it->second.version != record.version) return;
  if (it->second.present) changes.gone.push_back({record.id, std::move(it->second.data)});
  entries_.erase(it);
}

}  // namespace p2psip::dht
