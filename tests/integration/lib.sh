# SPDX-License-Identifier: Apache-2.0
# Shared helpers for integration tests. Source it; do not run it.
# Tests run inside a private network namespace (only `lo`), so that nothing they start can reach,
# resolve or be reached from outside the machine, and fixed ports never collide between tests.

# Re-executes the calling script inside `unshare -n` unless it already runs there. Exits 77 (ctest
# SKIP) when namespaces are unavailable (not root).
enter_private_netns() {
  if [ "${P2PSIP_IN_NETNS:-}" != 1 ]; then
    if ! unshare -n true 2>/dev/null; then
      echo "SKIP: needs root for unshare -n (private network namespace)"
      exit 77
    fi
    exec unshare -n env P2PSIP_IN_NETNS=1 bash "$0" "$@"
  fi
  ip link set lo up
}

_pids=()
last_pid=
# start_bg LOGFILE CMD...: starts CMD in the background; its PID is in $last_pid and is stopped by
# stop_all. (Not in a command substitution: the process must stay our child, for wait.)
start_bg() {
  local log="$1"
  shift
  "$@" >"$log" 2>&1 &
  last_pid=$!
  _pids+=("$last_pid")
}

stop_all() {
  local pid
  for pid in "${_pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}

# wait_listening PROTO PORT [SECONDS]: waits until something listens on the port (ss).
wait_listening() {
  local proto="$1" port="$2" limit="${3:-10}" i
  for ((i = 0; i < limit * 10; i++)); do
    if [ "$proto" = udp ]; then
      ss -lunH "sport = :$port" | grep -q . && return 0
    else
      ss -ltnH "sport = :$port" | grep -q . && return 0
    fi
    sleep 0.1
  done
  echo "nothing listens on $proto port $port after ${limit}s" >&2
  return 1
}

passed=0
failed=0
# check NAME CMD...: runs CMD, counts and reports the outcome.
check() {
  local name="$1"
  shift
  if "$@"; then
    passed=$((passed + 1))
    echo "ok   - $name"
  else
    failed=$((failed + 1))
    echo "FAIL - $name"
  fi
}

finish() {
  _finished=1
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# A script that ends without reaching finish() (a syntax slip, an early exit) must not pass.
_finished=0
_guard_finish() {
  local rc=$?
  if [ "$_finished" != 1 ] && [ "$rc" -eq 0 ]; then
    echo "FAIL - the test ended before its summary" >&2
    exit 1
  fi
}

# write_alaw_wav FILE: 5 s of a 440 Hz tone as 8 kHz G.711 A-law in a WAVE file (format 6), what
# sipp's rtp_stream plays as payload type 8.
write_alaw_wav() {
  python3 - "$1" <<'PY'
import math, struct, sys
def alaw(sample):
    sign = 0x80 if sample >= 0 else 0
    sample = min(abs(sample), 32635)
    if sample >= 256:
        exponent = min(int(math.log2(sample >> 8)) + 1, 7)
        value = (exponent << 4) | ((sample >> (exponent + 3)) & 0x0F)
    else:
        value = sample >> 4
    return (value | sign) ^ 0x55
data = bytes(alaw(int(8000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(40000))
fmt = struct.pack("<HHIIHHH", 6, 1, 8000, 8000, 1, 8, 0)
with open(sys.argv[1], "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE")
    f.write(b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)
PY
}
