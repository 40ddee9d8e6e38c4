#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Memory per binding of the whole p2psipd (issue 3: "report the memory per binding at 100,000
# bindings"). sipp registers N distinct users, the script waits until their REGISTER transactions
# have ended (Timer J, 32 s), reads the daemon's resident set, registers N more and reads it again:
# the second batch's growth divided by N is the cost of one more binding in a daemon that already
# holds N, with no transaction state in it. Everything runs in a private network namespace (lo).
#
# Usage: bench/binding_memory_bench.sh P2PSIPD_BINARY [N] [overlay]   (N defaults to 100000)
# With "overlay", a second peer is started first and the measured one joins its overlay, so every
# user record is signed and published to the DHT (a lone peer holds them unpublished): the growth of
# both peers is printed.
set -euo pipefail
if [[ -z "${P2PSIP_IN_NETNS:-}" ]]; then
  if ! unshare -n true 2>/dev/null; then
    echo "needs root for unshare -n (private network namespace)" >&2
    exit 2
  fi
  exec unshare -n env P2PSIP_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up

binary=${1:?usage: binding_memory_bench.sh P2PSIPD_BINARY [N] [overlay]}
n=${2:-100000}
mode=${3:-alone}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/p2psip-memory-XXXXXX)
port=5060
other=""
join=()
if [[ "$mode" == overlay ]]; then
  "$binary" --listen "udp:127.0.0.1:5090" --domain p2p.test --data-dir "$work/other" \
    --peer-listen 127.0.0.1:5072 --dht-port 4223 --control-socket "$work/other.sock" \
    --log-level warn --media direct >"$work/other.log" 2>&1 &
  other=$!
  join=(--bootstrap 127.0.0.1:4223)
fi

"$binary" --listen "udp:127.0.0.1:$port" --domain p2p.test --data-dir "$work/data" \
  --control-socket "$work/p2psipd.sock" --log-level warn --media direct "${join[@]}" \
  >"$work/p2psipd.log" 2>&1 &
daemon=$!
cleanup() {
  for p in "$daemon" $other; do kill "$p" 2>/dev/null || true; done
  for p in "$daemon" $other; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  ss -lun | grep -q ":$port " && break
  sleep 0.1
done
if [[ -n "$other" ]]; then
  for _ in $(seq 1 150); do
    "$here/build/release/modules/app/p2psipctl" --control-socket "$work/p2psipd.sock" overlay 2>/dev/null |
      grep -q '^dht_nodes: [1-9]' && break
    sleep 0.2
  done
  echo "joined the overlay of a second peer (pid $other)"
fi

rss() { awk '/^VmRSS:/ {printf "%d\n", $2 * 1024}' "/proc/${1:-$daemon}/status"; }

register() {  # $1: first user number; registers n users from there, bounded in time
  local csv="$work/users-$1.csv"
  { echo SEQUENTIAL; seq -f "mem%07g" "$1" $(($1 + n - 1)); } >"$csv"
  timeout -k 3 300 sipp -sf "$here/tests/scenarios/uac-register-field0.xml" "127.0.0.1:$port" \
    -i 127.0.0.1 -p 5302 -m "$n" -r 20000 -rp 1000 -l 500 -nostdin -timeout 290s \
    -buff_size 4194304 -inf "$csv" -trace_stat -stf "$work/reg-$1.csv" >/dev/null 2>&1 || true
  local ok
  ok=$(awk -F';' 'NR==1 {for (i = 1; i <= NF; i++) if ($i == "SuccessfulCall(C)") c = i}
                  END {print $c}' "$work/reg-$1.csv")
  echo "  registered $ok of $n"
}

start=$(rss)
echo "p2psipd $binary: resident set at start $((start / 1024)) KiB"
[[ -n "$other" ]] && otherStart=$(rss "$other")
register 0
sleep 36
first=$(rss)
[[ -n "$other" ]] && otherFirst=$(rss "$other")
register "$n"
sleep 36
second=$(rss)
echo "after $n bindings: $((first / 1024)) KiB ($(((first - start) / n)) bytes per binding, first batch)"
echo "after $((2 * n)) bindings: $((second / 1024)) KiB"
echo "memory per binding at $n bindings: $(((second - first) / n)) bytes (second batch)"
if [[ -n "$other" ]]; then
  otherSecond=$(rss "$other")
  echo "the other peer (stores the records): $(((otherFirst - otherStart) / n)) bytes per binding in" \
    "the first batch, $(((otherSecond - otherFirst) / n)) in the second"
fi
# A peer this full must still stop cleanly and promptly on SIGTERM.
t0=$(date +%s.%N)
kill -TERM "$daemon"
status=0
for _ in $(seq 1 600); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$daemon" 2>/dev/null; then
  echo "p2psipd did not stop within 60 s of SIGTERM" >&2
  exit 1
fi
wait "$daemon" || status=$?
echo "SIGTERM to exit: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s, exit status $status"
