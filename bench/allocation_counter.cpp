// SPDX-License-Identifier: Apache-2.0
#include "allocation_counter.h"

#include <cstddef>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
}

namespace {
// A benchmark's counter must see allocations from C libraries too, so it lives beside the
// interposed allocator: thread-local, touched by nothing else.
thread_local std::uint64_t tAllocations = 0;
}  // namespace

extern "C" {
void* malloc(std::size_t n) {
  ++tAllocations;
  return __libc_malloc(n);
}
void* calloc(std::size_t a, std::size_t b) {
  ++tAllocations;
  return __libc_calloc(a, b);
}
void* realloc(void* p, std::size_t n) {
  ++tAllocations;
  return __libc_realloc(p, n);
}
}

namespace p2psip::bench {
std::uint64_t allocationCount() {
  return tAllocations;
}
}  // namespace p2psip::bench
