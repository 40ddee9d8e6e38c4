#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Overlay latency benchmark (issue 4), in one run, inside a private network namespace:
#   1. INVITE -> 180 as the caller sees it (sipp response-time distance, millisecond resolution):
#      callee on the caller's own peer (the reference: no overlay), on another peer with a warm
#      cache (the same user again and again), and on another peer with a cold cache (a new user for
#      every call: one DHT get plus, for the first call, the peer record). p50 and p99 of each, and
#      the overlay's addition (two-peer warm p50 minus same-peer p50).
#   2. The lookup latency after 30 % of the peers were killed without warning: INVITE -> 180 of
#      calls to users on surviving peers with cold caches (tests/integration/overlay_scale_test.sh
#      with PEERS peers), p50/p99.
# Calls per second between two peers against Kamailio, and the new-registration rate including the
# DHT publish, come from bench/registrar_proxy_bench.sh (p2psipd-pair=BINARY).
#
# Usage: bench/overlay_latency_bench.sh P2PSIPD P2PSIPCTL [CALLS] [PEERS]
#   CALLS  calls per latency case (default 300, at 50 calls/s)
#   PEERS  peers of the kill test (default 30)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tests="$here/../tests/integration"
source "$tests/lib.sh"
enter_private_netns "$@"
[ $# -ge 2 ] || { echo "usage: $0 P2PSIPD P2PSIPCTL [CALLS] [PEERS]" >&2; exit 2; }
p2psipd="$(realpath "$1")"
p2psipctl="$(realpath "$2")"
calls="${3:-300}"
kill_peers="${4:-30}"
scenarios="$(cd "$here/../tests/scenarios" && pwd)"
work="$(mktemp -d)"
trap 'stop_all; rm -rf "$work"' EXIT

# Five peers on 198.18.2.1-5 (so the DHT is more than a pair); A = peer 1 (caller side), B = peer 2.
for n in 1 2 3 4 5; do ip addr add "198.18.2.$n/32" dev lo; done
for n in 1 2 3 4 5; do
  mkdir -p "$work/peer$n"
  boot=()
  [ "$n" -gt 1 ] && boot=(--bootstrap 198.18.2.1:4222)
  start_bg "$work/peer$n.log" "$p2psipd" --listen "udp:127.0.0.1:$((5200 + n))" --domain p2p.test \
    --peer-listen "198.18.2.$n:5071" --dht-port 4222 "${boot[@]}" --data-dir "$work/peer$n" \
    --log-level warn
done
for n in 1 2 3 4 5; do wait_listening udp $((5200 + n)) 20 || exit 1; done
sleep 2  # DHT nodes find each other

timed() {  # SCENARIO -> a copy that measures INVITE -> 180, with the callee from FIELD or -s
  sed '0,/<send retrans="500">/s//<send retrans="500" start_rtd="1">/; s/<recv response="180"\/>/<recv response="180" rtd="1"\/>/' \
    "$scenarios/uac-invite-180-200-ack-bye.xml" >"$work/uac-timed.xml"
  sed 's/\[service\]/[field0]/g' "$work/uac-timed.xml" >"$work/uac-timed-field0.xml"
}
timed

# Users: "near" at A, "far" and cold0000.. at B; every phone of one peer shares one sipp UAS.
{ echo SEQUENTIAL; for ((i = 0; i < calls; i++)); do printf 'cold%04d\n' "$i"; done; } >"$work/cold.csv"
register() {  # PEER PORT ARGS...
  local peer="$1" port="$2"
  shift 2
  (cd "$work" && timeout 120 sipp -sf "$scenarios/$1" "127.0.0.1:$((5200 + peer))" -i 127.0.0.1 \
    -p "$port" -m "$2" -r 500 -nostdin "${@:3}" >/dev/null 2>&1)
}
register 1 7101 uac-register-200.xml 1 -s near || { echo "register near failed"; exit 1; }
register 2 7102 uac-register-200.xml 1 -s far || { echo "register far failed"; exit 1; }
register 2 7102 uac-register-field0.xml "$calls" -inf "$work/cold.csv" || { echo "register cold failed"; exit 1; }
sleep 1  # the last puts land

# case NAME CALLEE_PORT CALLER_ARGS...: CALLS calls through peer A at 50 calls/s; p50/p99.
declare -A p50 p99
measure() {
  local name="$1" uport="$2"
  shift 2
  start_bg "$work/$name-uas.out" timeout 120 sipp -sf "$scenarios/uas-answer-180-200.xml" -i 127.0.0.1 \
    -p "$uport" -m "$calls" -nostdin
  local uas="$last_pid"
  wait_listening udp "$uport" 5
  (cd "$work" && rm -f uac-timed*_rtt.csv && timeout 120 sipp -sf "$@" 127.0.0.1:5201 -i 127.0.0.1 -p 7900 \
    -m "$calls" -r 50 -l 100 -nostdin -trace_rtt -rtt_freq 1 >"$work/$name-uac.out" 2>&1)
  local rc=$?
  wait "$uas"
  local stats
  stats="$(cat "$work"/uac-timed*_rtt.csv | python3 -c '
import sys
v = sorted(float(l.split(";")[1]) for l in sys.stdin if l[0].isdigit())
q = lambda p: v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
print(f"{q(0.5):.0f} {q(0.99):.0f} {len(v)}")')"
  read -r p50["$name"] p99["$name"] n <<<"$stats"
  printf '%-34s p50 %4s ms  p99 %4s ms  (%s calls%s)\n' "$name" "${p50[$name]}" "${p99[$name]}" "$n" \
    "$([ $rc = 0 ] || echo ', SOME FAILED')"
}
echo "== INVITE -> 180, $calls calls per case at 50 calls/s (sipp resolution: 1 ms)"
measure "same peer (reference)" 7101 "$work/uac-timed.xml" -s near
measure "two peers, warm cache" 7102 "$work/uac-timed.xml" -s far
measure "two peers, cold cache (DHT get)" 7102 "$work/uac-timed-field0.xml" -inf "$work/cold.csv"
echo "overlay adds (warm p50 - same-peer p50): $(( ${p50["two peers, warm cache"]} - ${p50["same peer (reference)"]} )) ms"
stop_all
_pids=()

echo "== after killing 30 % of $kill_peers peers: INVITE -> 180 to users on surviving peers (cold caches)"
LATENCY_OUT="$work/kill.txt" P2PSIP_IN_NETNS= bash "$tests/overlay_scale_test.sh" "$p2psipd" "$p2psipctl" \
  "$kill_peers" 100 >"$work/kill.log" 2>&1
grep -E "^(ok|FAIL)|^#" "$work/kill.log"
while read -r phase a b n; do
  printf '%-34s p50 %4s ms  p99 %4s ms  (%s calls)\n' "$phase" "$a" "$b" "$n"
done <"$work/kill.txt"
