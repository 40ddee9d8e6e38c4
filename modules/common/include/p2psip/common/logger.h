// SPDX-License-Identifier: Apache-2.0
// Logger: a thin, never-null facade over spdlog (conventions §3.4 item 11). A default-constructed
// Logger discards everything, so tests need no `if (logger)` checks.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

namespace p2psip {

class Logger {
 public:
  Logger() : impl_(nullLogger()) {}
  explicit Logger(std::shared_ptr<spdlog::logger> impl)
      : impl_(impl ? std::move(impl) : nullLogger()) {}

  template <typename... Args>
  void debug(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    impl_->debug(fmt, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void info(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    impl_->info(fmt, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void warn(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    impl_->warn(fmt, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void error(spdlog::format_string_t<Args...> fmt, Args&&... args) {
    impl_->error(fmt, std::forward<Args>(args)...);
  }
  bool shouldLog(spdlog::level::level_enum level) const { return impl_->should_log(level); }
  spdlog::logger& raw() { return *impl_; }

 private:
  static std::shared_ptr<spdlog::logger> nullLogger();
  std::shared_ptr<spdlog::logger> impl_;
};

}  // namespace p2psip
