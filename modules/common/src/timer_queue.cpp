// SPDX-License-Identifier: Apache-2.0
#include "p2psip/common/timer_queue.h"

#include <algorithm>

namespace p2psip {

bool TimerQueue::later(const Entry& a, const Entry& b) {
  if (a.deadline != b.deadline) return a.deadline > b.deadline;
  return a.id > b.id;  // ids grow, so ties fire in scheduling order
}

TimerId TimerQueue::push(TimePoint deadline, std::function<void()> fn) {
  const TimerId id = nextId_++;
  heap_.push_back(Entry{deadline, id, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), later);
  live_.insert(id);
  return id;
}

void TimerQueue::cancel(TimerId id) {
  if (live_.erase(id) > 0) cancelled_.insert(id);
}

void TimerQueue::dropCancelledTop() {
  while (!heap_.empty() && cancelled_.count(heap_.front().id) > 0) {
    cancelled_.erase(heap_.front().id);
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
  }
}

std::optional<TimePoint> TimerQueue::nextDeadline() {
  dropCancelledTop();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().deadline;
}

std::function<void()> TimerQueue::popDue(TimePoint now) {
  dropCancelledTop();
  if (heap_.empty() || heap_.front().deadline > now) return {};
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry e = std::move(heap_.back());
  heap_.pop_back();
  live_.erase(e.id);
  return std::move(e.fn);
}

TimerId ManualTimerService::schedule(Duration delay, std::function<void()> fn) {
  return queue_.push(now_ + delay, std::move(fn));
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
