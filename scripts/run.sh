#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds (release), and runs the peer daemon p2psipd with its defaults:
# UDP and TCP on 127.0.0.1:5060, one domain ("localhost"), state in /var/lib/p2psip.
# Extra arguments go to p2psipd (for example --domain p2p.example --log-level debug).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release -DP2PSIP_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target p2psipd p2psipctl
exec build/release/modules/app/p2psipd "$@"
