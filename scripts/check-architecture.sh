#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fails when a module declares a dependency that docs/architecture.md does not allow.
# The allowed edges live in the "allowed-dependencies" block of that document.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=docs/architecture.md
allowed="$(sed -n '/<!-- allowed-dependencies -->/,/<!-- end -->/p' "$doc" | grep -E '^[a-z]+:' || true)"
[ -n "$allowed" ] || { echo "check-architecture: no allowed-dependencies block in $doc" >&2; exit 1; }
status=0
for cm in modules/*/CMakeLists.txt; do
  module="$(basename "$(dirname "$cm")")"
  line="$(tr '\n' ' ' < "$cm" | grep -oE 'p2psip_add_module\([^)]*\)' || true)"
  [ -n "$line" ] || { echo "check-architecture: $cm has no p2psip_add_module" >&2; status=1; continue; }
  name="$(echo "$line" | sed -E 's/.*NAME +([a-z_]+).*/\1/')"
  [ "$name" = "$module" ] || { echo "check-architecture: $cm names module '$name', expected '$module'" >&2; status=1; }
  deps="$(echo "$line" | sed -E 's/.*DEPS(( +[a-z_]+)*).*/\1/; t; s/.*//')"
  ok="$(echo "$allowed" | grep -E "^$module:" | cut -d: -f2 || true)"
  if ! echo "$allowed" | grep -qE "^$module:"; then
    echo "check-architecture: module '$module' is not listed in $doc" >&2; status=1; continue
  fi
  for d in $deps; do
    if ! echo " $ok " | grep -q " $d "; then
      echo "check-architecture: $module -> $d is not an allowed edge (see $doc)" >&2; status=1
    fi
  done
done
# Only the dht module may include OpenDHT, and only from its private sources (docs/architecture.md).
leaks="$(grep -rlE '#include *[<"]opendht' modules tools bench fuzz tests 2>/dev/null | grep -v '^modules/dht/src/' || true)"
if [ -n "$leaks" ]; then
  echo "check-architecture: OpenDHT included outside modules/dht/src: $leaks" >&2
  status=1
fi
[ $status -eq 0 ] && echo "check-architecture: module dependencies match $doc"
exit $status
