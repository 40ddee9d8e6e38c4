// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the sdp unit tests: test data access, CRLF conversion and a line diff.
#pragma once

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace p2psip::sdp::testing {

inline std::string readTestData(const std::string& relativePath) {
  std::ifstream in(std::string(P2PSIP_MODULE_TEST_DATA) + "/" + relativePath, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// SDP literals are written with "\n" for readability; the wire form uses CRLF (RFC 8866 §5).
inline std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// Lines including their endings, so that a changed line ending counts as a change.
inline std::vector<std::string_view> rawLines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    end = end == std::string_view::npos ? text.size() : end + 1;
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end);
  }
  return lines;
}

// How many lines were removed from `before` and added in `after`, by longest common subsequence.
struct LineDiff {
  std::size_t removed = 0;
  std::size_t added = 0;
};

inline LineDiff diffLines(std::string_view before, std::string_view after) {
  const auto a = rawLines(before);
  const auto b = rawLines(after);
  std::vector<std::vector<std::size_t>> lcs(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = a.size(); i-- > 0;) {
    for (std::size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  return LineDiff{a.size() - lcs[0][0], b.size() - lcs[0][0]};
}

}  // namespace p2psip::sdp::testing
