// SPDX-License-Identifier: Apache-2.0
#include "identity_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

namespace p2psip::identity {
namespace {

namespace fs = std::filesystem;

std::string errnoText(int error) {
  return std::error_code(error, std::generic_category()).message();
}

std::string octal(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777u);
  return buf;
}

// Owns a file descriptor; closes it on every path.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now and reports the result: a deferred write error may only surface here.
  int close() { return ::close(std::exchange(fd_, -1)); }

 private:
  int fd_;
};

// Opens `path` for reading and checks, on the open descriptor, that it is a regular file; `st`
// receives its status, so the mode a caller checks is the mode of the file it reads.
Result<FileDescriptor> openRegularFile(const std::string& path, struct stat& st) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    return makeError(ErrorCode::Unavailable, "cannot open " + path + ": " + errnoText(errno));
  }
  if (::fstat(fd.get(), &st) != 0) {
    return makeError(ErrorCode::Unavailable, "cannot stat " + path + ": " + errnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return makeError(ErrorCode::InvalidArgument, path + " is not a regular file");
  }
  return fd;
}

Result<std::string> readAll(const FileDescriptor& fd, const std::string& path,
                            std::size_t maxBytes) {
  std::string contents;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return makeError(ErrorCode::Unavailable, "cannot read " + path + ": " + errnoText(errno));
    }
    if (n == 0) break;
    contents.append(buf, static_cast<std::size_t>(n));
    if (contents.size() > maxBytes) {
      return makeError(ErrorCode::LimitExceeded,
                       path + " is larger than " + std::to_string(maxBytes) + " bytes");
    }
  }
  return contents;
}

Result<void> writeAll(const FileDescriptor& fd, const std::string& path,
                      std::string_view contents) {
  while (!contents.empty()) {
    const ssize_t n = ::write(fd.get(), contents.data(), contents.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return makeError(ErrorCode::Unavailable, "cannot write " + path + ": " + errnoText(errno));
    }
    contents.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

// Makes a completed rename durable: the new directory entry is only on disk once the
// directory itself is synced.
void syncDirectory(const std::string& directory) {
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
}

}  // namespace

Result<void> ensurePrivateDirectory(const std::string& directory) {
  std::error_code ec;
  const bool created = fs::create_directories(directory, ec);
  if (ec) {
    return makeError(ErrorCode::Unavailable,
                     "cannot create directory " + directory + ": " + ec.message());
  }
  if (!fs::is_directory(directory, ec)) {
    return makeError(ErrorCode::InvalidArgument, directory + " is not a directory");
  }
  if (created) {
    fs::permissions(directory, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) {
      return makeError(ErrorCode::Unavailable,
                       "cannot make directory " + directory + " private: " + ec.message());
    }
  }
  return {};
}

Result<bool> fileExists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return makeError(ErrorCode::Unavailable, "cannot stat " + path + ": " + errnoText(errno));
}

Result<std::string> readPrivateKeyFile(const std::string& path, std::size_t maxBytes) {
  struct stat st {};
  auto fd = openRegularFile(path, st);
  if (!fd) return tl::unexpected(fd.error());
  const auto mode = static_cast<unsigned>(st.st_mode);
  if ((mode & 077u) != 0) {
    return makeError(ErrorCode::InvalidArgument,
                     "refusing private key file " + path + ": its mode " + octal(mode) +
                         " lets group or others access it; run 'chmod 600 " + path + "'");
  }
  return readAll(*fd, path, maxBytes);
}

Result<std::string> readPublicFile(const std::string& path, std::size_t maxBytes) {
  struct stat st {};
  auto fd = openRegularFile(path, st);
  if (!fd) return tl::unexpected(fd.error());
  return readAll(*fd, path, maxBytes);
}

Result<void> writeFileAtomically(const std::string& path, std::string_view contents,
                                 unsigned mode) {
  const fs::path target(path);
  std::string temporary = path + ".tmp-XXXXXX";
  // mkstemp creates the file 0600, so a private key is never readable by others, not even
  // between creation and the fchmod below.
  FileDescriptor fd(::mkstemp(temporary.data()));
  if (fd.get() < 0) {
    return makeError(ErrorCode::Unavailable,
                     "cannot create a temporary file for " + path + ": " + errnoText(errno));
  }
  auto fail = [&](const std::string& what) -> Result<void> {
    const int error = errno;
    ::unlink(temporary.c_str());
    return makeError(ErrorCode::Unavailable,
                     "cannot " + what + " " + path + ": " + errnoText(error));
  };
  if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0) return fail("set the mode of");
  if (auto written = writeAll(fd, path, contents); !written) {
    ::unlink(temporary.c_str());
    return written;
  }
  if (::fsync(fd.get()) != 0) return fail("sync");
  if (fd.close() != 0) return fail("close");
  if (::rename(temporary.c_str(), path.c_str()) != 0) return fail("rename a temporary file to");
  syncDirectory(target.parent_path().empty() ? "." : target.parent_path().string());
  return {};
}

}  // namespace p2psip::identity
