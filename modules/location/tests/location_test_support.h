// SPDX-License-Identifier: Apache-2.0
// Builders shared by the location tests: realistic bindings on a ManualTimerService clock.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <asio/ip/address.hpp>

#include "p2psip/common/timer_queue.h"
#include "p2psip/location/contact_binding.h"

namespace p2psip::location::testing {

using namespace std::chrono_literals;

inline net::Endpoint endpoint(const char* address, std::uint16_t port) {
  return net::Endpoint{asio::ip::make_address(address), port};
}

inline ContactBinding binding(const TimerService& timers, std::string aor, std::string contact,
                              Duration lifetime = 3600s) {
  ContactBinding b;
  b.aor = std::move(aor);
  b.contactUri = std::move(contact);
  b.expires = timers.now() + lifetime;
  b.callId = "a84b4c76e66710@pc33.atlanta.example.com";
  b.cseq = 1;
  b.flow.transport = FlowTransport::Udp;
  b.flow.local = endpoint("203.0.113.1", 5060);
  b.flow.remote = endpoint("192.0.2.10", 5060);
  return b;
}

inline ContactBinding tcpBinding(const TimerService& timers, std::string aor, std::string contact,
                                 std::uint64_t connection) {
  ContactBinding b = binding(timers, std::move(aor), std::move(contact));
  b.flow.transport = FlowTransport::Tcp;
  b.flow.remote = endpoint("192.0.2.10", 40000);
  b.flow.connection = connection;
  return b;
}

}  // namespace p2psip::location::testing
