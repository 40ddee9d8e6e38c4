// SPDX-License-Identifier: Apache-2.0
// Counts heap allocations made by the benchmark process (both our code and the reference library),
// by interposing malloc/calloc/realloc. Benchmark tooling only.
#pragma once

#include <cstdint>

namespace p2psip::bench {

// Number of malloc/calloc/realloc calls (and so of operator new) on this thread so far.
std::uint64_t allocationCount();

}  // namespace p2psip::bench
