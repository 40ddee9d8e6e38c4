// SPDX-License-Identifier: Apache-2.0
// LifetimeClass: the fixed set of value lifetimes every p2psip node registers with OpenDHT.
// OpenDHT takes a value's lifetime from its ValueType, and a storing node applies the ValueType it
// has registered under that id (an unknown id gets OpenDHT's 10-minute default and refuses edits,
// so remove() could not blank the value). So every p2psipd registers this same table whatever its
// configuration, and configuration only chooses among the entries. Changing an entry is a wire
// change: all nodes of an overlay must agree.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>

#include "p2psip/common/clock.h"

namespace p2psip::dht {

struct LifetimeClass {
  std::uint16_t typeId;  // OpenDHT ValueType id
  Duration lifetime;
};

inline constexpr std::array<LifetimeClass, 7> kLifetimeClasses{{
    {0x5050, std::chrono::seconds(30)},
    {0x5051, std::chrono::minutes(1)},
    {0x5052, std::chrono::minutes(2)},
    {0x5053, std::chrono::minutes(5)},
    {0x5054, std::chrono::minutes(10)},
    {0x5055, std::chrono::minutes(30)},
    {0x5056, std::chrono::minutes(60)},
}};

// The shortest class that keeps a value at least min(requested, cap), or the longest one. A value
// may so live up to one class step longer than asked: the writers refresh before expiry anyway.
inline const LifetimeClass& lifetimeClassFor(Duration requested, Duration cap) {
  const Duration wanted = std::min(requested, cap);
  for (const LifetimeClass& c : kLifetimeClasses) {
    if (c.lifetime >= wanted) return c;
  }
  return kLifetimeClasses.back();
}

inline bool isLifetimeClass(std::uint16_t typeId) {
  return std::any_of(kLifetimeClasses.begin(), kLifetimeClasses.end(),
                     [typeId](const LifetimeClass& c) { return c.typeId == typeId; });
}

}  // namespace p2psip::dht
