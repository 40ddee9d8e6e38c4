// SPDX-License-Identifier: Apache-2.0
// ParamList: a view over a ";name[=value]" sequence (generic-param, RFC 3261 §25.1), as found
// after a URI, a Via or a name-addr. It does not allocate; names compare case-insensitively.
#pragma once

#include <optional>
#include <string_view>

namespace p2psip::sip {

struct Param {
  std::string_view name;
  std::string_view value;  // empty when the parameter has no value; quotes are kept
  bool hasValue = false;
};

class ParamList {
 public:
  ParamList() = default;
  // `raw` starts at the first ';' (or is empty). It must already be validated by a parser.
  explicit ParamList(std::string_view raw) : raw_(raw) {}

  // The value of the first parameter with this name; std::nullopt if absent.
  // A parameter without '=' yields an empty string_view.
  std::optional<std::string_view> find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name).has_value(); }
  bool empty() const { return raw_.empty(); }
  std::string_view raw() const { return raw_; }

  // Calls f(Param) for each parameter in order. Stops early if f returns false.
  template <typename F>
  void forEach(F&& f) const {
    std::string_view rest = raw_;
    Param p;
    while (next(rest, p)) {
      if (!f(p)) return;
    }
  }

  // Advances over one parameter in `rest`. Returns false when nothing is left.
  static bool next(std::string_view& rest, Param& out);

 private:
  std::string_view raw_;
};

}  // namespace p2psip::sip
