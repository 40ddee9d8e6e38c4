// SPDX-License-Identifier: Apache-2.0
#include "p2psip/common/timer_queue.h"

#include <algorithm>

namespace p2psip {

bool TimerQueue::later(const Entry& a, const Entry& b) {
  if (a.deadline != b.deadline) return a.deadline > b.deadline;
  return a.seq > b.seq;  // ties fire in scheduling order
}

bool TimerQueue::isLive(const Entry& e) const {
  const Slot& slot = slots_[e.slot];
  return slot.live && slot.generation == e.generation;
}

TimerQueue::Lane* TimerQueue::laneFor(Duration delay) {
  Lane* idle = nullptr;
  for (auto& lane : lanes_) {
    if (lane.delay == delay) return &lane;
    if (idle == nullptr && lane.entries.empty()) idle = &lane;
  }
  // A lane whose entries all fired or were dropped serves a new delay: its order holds trivially.
  if (idle != nullptr) {
    idle->delay = delay;
    return idle;
  }
  if (lanes_.size() < kLanes) {
    lanes_.push_back(Lane{delay, {}});
    return &lanes_.back();
  }
  return nullptr;
}

TimerId TimerQueue::push(TimePoint now, Duration delay, std::function<void()> fn) {
  if (delay < Duration::zero()) delay = Duration::zero();
  std::uint32_t index;
  if (!freeSlots_.empty()) {
    index = freeSlots_.back();
    freeSlots_.pop_back();
  } else {
    index = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& slot = slots_[index];
  slot.fn = std::move(fn);
  slot.live = true;
  ++live_;
  const Entry entry{now + delay, nextSeq_++, index, slot.generation};
  if (Lane* lane = laneFor(delay)) {
    // Same delay and a clock that does not go back: this deadline is the lane's latest.
    lane->entries.push_back(entry);
  } else {
    heap_.push_back(entry);
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  return (static_cast<TimerId>(slot.generation) << 32) | (static_cast<TimerId>(index) + 1);
}

std::function<void()> TimerQueue::release(std::uint32_t index) {
  Slot& slot = slots_[index];
  std::function<void()> fn = std::move(slot.fn);
  slot.fn = nullptr;
  slot.live = false;
  // A new generation makes every id and entry of the old one stale (a wrap needs 2^32 reuses of
  // one slot while an entry of the first waits in a lane: not within any timer's lifetime).
  ++slot.generation;
  freeSlots_.push_back(index);
  --live_;
  return fn;
}

void TimerQueue::cancel(TimerId id) {
  const std::uint64_t low = id & 0xffffffffu;
  if (low == 0 || low > slots_.size()) return;
  const auto index = static_cast<std::uint32_t>(low - 1);
  const Slot& slot = slots_[index];
  if (!slot.live || slot.generation != static_cast<std::uint32_t>(id >> 32)) return;
  (void)release(index);  // the callback and its captures go now, not when the entry surfaces
}

std::optional<std::size_t> TimerQueue::earliest() {
  std::optional<std::size_t> best;
  const Entry* bestEntry = nullptr;
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    auto& entries = lanes_[i].entries;
    while (!entries.empty() && !isLive(entries.front())) entries.pop_front();
    if (entries.empty()) continue;
    if (bestEntry == nullptr || later(*bestEntry, entries.front())) {
      best = i;
      bestEntry = &entries.front();
    }
  }
  while (!heap_.empty() && !isLive(heap_.front())) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
  if (!heap_.empty() && (bestEntry == nullptr || later(*bestEntry, heap_.front()))) best = kLanes;
  return best;
}

std::optional<TimePoint> TimerQueue::nextDeadline() {
  const auto lane = earliest();
  if (!lane) return std::nullopt;
  return *lane == kLanes ? heap_.front().deadline : lanes_[*lane].entries.front().deadline;
}

std::function<void()> TimerQueue::popDue(TimePoint now) {
  const auto lane = earliest();
  if (!lane) return {};
  Entry entry{};
  if (*lane == kLanes) {
    entry = heap_.front();
    if (entry.deadline > now) return {};
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  } else {
    auto& entries = lanes_[*lane].entries;
    entry = entries.front();
    if (entry.deadline > now) return {};
    entries.pop_front();
  }
  return release(entry.slot);
}

TimerId ManualTimerService::schedule(Duration delay, std::function<void()> fn) {
  return queue_.push(now_, delay, std::move(fn));
}

void ManualTimerService::advance(Duration d) {
  const TimePoint end = now_ + d;
  while (true) {
    auto next = queue_.nextDeadline();
    if (!next || *next > end) break;
    now_ = std::max(now_, *next);
    if (auto fn = queue_.popDue(now_)) fn();
  }
  now_ = end;
}

}  // namespace p2psip
