#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is missing, builds (release), and runs the main program with its defaults.
# Until the peer daemon exists this is the SIP core's OPTIONS listener on 127.0.0.1:5060.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release -DP2PSIP_TESTS=OFF >/dev/null
cmake --build --preset release -j "$(nproc)" --target sip-options-listener
exec build/release/tools/sip-options-listener "$@"
