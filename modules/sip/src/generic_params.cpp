// SPDX-License-Identifier: Apache-2.0
#include "generic_params.h"

#include "scanner.h"

namespace p2psip::sip::detail {

bool validGenericParams(std::string_view text) {
  Cursor c{text};
  while (true) {
    c.skipLws();
    if (c.atEnd()) return true;
    if (!c.consume(';')) return false;
    c.skipLws();
    if (c.token().empty()) return false;
    if (c.consumeSeparator('=')) {
      if (c.peek() == '"') {
        if (c.quotedString().empty()) return false;
      } else {
        std::size_t start = c.pos;
        // token / host: host adds ':' '[' ']' for IPv6 references.
        while (!c.atEnd() && (isTokenChar(c.peek()) || c.peek() == ':' || c.peek() == '[' || c.peek() == ']'))
          ++c.pos;
        if (c.pos == start) return false;
      }
    }
  }
}

}  // namespace p2psip::sip::detail
