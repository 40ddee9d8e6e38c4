// SPDX-License-Identifier: Apache-2.0
// The file side of NodeIdentity::loadOrCreate: the data directory, the private key file that
// only the owner may read, and writes that never leave a half-written key behind. Every error
// names the path. Private to identity/.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "p2psip/common/result.h"

namespace p2psip::identity {

// Creates `directory` (and missing parents) when it does not exist; a directory we create is
// made 0700 because it will hold a private key. An existing directory is left as it is.
Result<void> ensurePrivateDirectory(const std::string& directory);

// false when `path` does not exist; an error when it cannot be examined.
Result<bool> fileExists(const std::string& path);

// Reads a private key file, refusing one that group or others can access at all (any of the
// mode bits 077), as OpenSSH does for its identity files. At most `maxBytes` are accepted.
Result<std::string> readPrivateKeyFile(const std::string& path, std::size_t maxBytes);
// Reads a public file (the certificate); at most `maxBytes`.
Result<std::string> readPublicFile(const std::string& path, std::size_t maxBytes);

// Writes `contents` to a temporary file in the same directory with `mode`, syncs it and renames
// it over `path`, so a crash leaves either no file or a complete one (rename(2) is atomic).
Result<void> writeFileAtomically(const std::string& path, std::string_view contents, unsigned mode);

}  // namespace p2psip::identity
