// SPDX-License-Identifier: Apache-2.0
// Overloaded: the usual visitor for std::visit over the typed events and outcomes the modules
// pass around (conventions §3.4 item 8): std::visit(Overloaded{[](const A&) {...}, ...}, v).
#pragma once

namespace p2psip {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace p2psip
