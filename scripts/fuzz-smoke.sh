#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang-14 and gives each a short run over its seed corpus.
# New inputs go to a scratch directory, so the committed corpus never changes by itself.
# Usage: scripts/fuzz-smoke.sh [seconds-per-target]   (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
cmake --preset fuzz >/dev/null
# Each entry is <target>:<seed corpus directory under fuzz/corpus>.
targets="sip_parse_fuzz:sip sdp_parse_fuzz:sdp identity_envelope_fuzz:identity_envelope overlay_record_fuzz:overlay_record relay_control_fuzz:relay_control stun_fuzz:stun"
cmake --build --preset fuzz --target sip_parse_fuzz sdp_parse_fuzz identity_envelope_fuzz overlay_record_fuzz relay_control_fuzz stun_fuzz
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for entry in $targets; do
  target="${entry%%:*}"
  corpus="${entry#*:}"
  mkdir -p "$scratch/$corpus"
  echo "fuzz: ${target} for ${seconds}s"
  "build/fuzz/fuzz/${target}" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=70000 \
    -print_final_stats=1 "$scratch/$corpus" "fuzz/corpus/$corpus" 2>&1 | tail -n 12
done
echo "fuzz: no crash in any target"
