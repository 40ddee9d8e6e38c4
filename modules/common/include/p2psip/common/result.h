// SPDX-License-Identifier: Apache-2.0
// Result<T> is the error channel of the data path (conventions §3.4 item 3): no exceptions
// below app/. It aliases tl::expected so it can become std::expected under C++23.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace p2psip {

enum class ErrorCode {
  InvalidArgument,
  ParseError,
  LimitExceeded,
  TransportError,
  Timeout,
  NotFound,
  Unavailable,
};

const char* toString(ErrorCode code);

// A failure with a category and a human-readable sentence naming what was wrong.
struct Error {
  ErrorCode code;
  std::string detail;
};

template <typename T, typename E = Error>
using Result = tl::expected<T, E>;

inline tl::unexpected<Error> makeError(ErrorCode code, std::string detail) {
  return tl::unexpected<Error>(Error{code, std::move(detail)});
}

}  // namespace p2psip
