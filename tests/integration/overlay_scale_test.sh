#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The overlay at scale, with real processes: N p2psipd peers (default 30) form one DHT overlay over
# real OpenDHT nodes and real TLS peer links; one sipp phone is registered at each peer. Then 30 %
# of the peers are killed without warning (SIGKILL), and calls between users on surviving peers
# must still succeed. INVITE-to-180 times (sipp's response-time measurement) are printed for calls
# before and after the kill, as p50/p99; they are reported, not asserted (bench/overlay_bench.sh
# is where latency is measured and compared).
#
# Topology (private network namespace): peer i serves its phone on 127.0.0.1:(5100+i) and faces the
# overlay on 198.18.1.i (DHT UDP 4222, TLS peer links 5071); peers bootstrap from peers 1 and 2.
#
# Usage: overlay_scale_test.sh P2PSIPD P2PSIPCTL [PEERS] [CALLS_AFTER_KILL]
# Environment: SIPP (default sipp), KEEP_WORK=1 keeps the work directory, LATENCY_OUT=FILE appends
# "phase p50_ms p99_ms n" lines for the benchmark.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
enter_private_netns "$@"

if [ $# -lt 2 ]; then
  echo "usage: $0 P2PSIPD P2PSIPCTL [PEERS] [CALLS_AFTER_KILL]" >&2
  exit 2
fi
p2psipd="$(realpath "$1")"
p2psipctl="$(realpath "$2")"
peers="${3:-30}"
calls_after="${4:-20}"
scenarios="$(cd "$here/../scenarios" && pwd)"
sipp_bin="${SIPP:-sipp}"
work="$(mktemp -d)"
trap 'stop_all; [ "${KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"; _guard_finish' EXIT

for ((n = 1; n <= peers; n++)); do ip addr add "198.18.1.$n/32" dev lo; done
# The caller side measures INVITE -> 180 (sipp response-time distance 1).
sed '0,/<send retrans="500">/s//<send retrans="500" start_rtd="1">/; s/<recv response="180"\/>/<recv response="180" rtd="1"\/>/' \
  "$scenarios/uac-invite-180-200-ack-bye.xml" >"$work/uac-timed.xml"

declare -A peer_pid
sip_port() { echo $((5100 + $1)); }
ctl() { "$p2psipctl" --control-socket "$work/peer$1/control.sock" "${@:2}"; }

for ((n = 1; n <= peers; n++)); do
  mkdir -p "$work/peer$n"
  bootstrap=()
  [ "$n" -gt 1 ] && bootstrap+=(--bootstrap 198.18.1.1:4222)
  [ "$n" -gt 2 ] && bootstrap+=(--bootstrap 198.18.1.2:4222)
  start_bg "$work/peer$n.log" "$p2psipd" --listen "udp:127.0.0.1:$(sip_port "$n")" \
    --domain p2p.test --peer-listen "198.18.1.$n:5071" --dht-port 4222 "${bootstrap[@]}" \
    --data-dir "$work/peer$n" --log-level "${P2PSIPD_LOG_LEVEL:-info}"
  peer_pid[$n]="$last_pid"
done
for ((n = 1; n <= peers; n++)); do
  wait_listening udp "$(sip_port "$n")" 20 || { cat "$work/peer$n.log"; exit 1; }
done

all_connected() {
  local n i nodes
  for ((i = 0; i < 150; i++)); do
    local ok=1
    for ((n = 1; n <= peers; n++)); do
      nodes="$(ctl "$n" overlay 2>/dev/null | sed -n 's/^dht_nodes: //p')"
      { [ -n "$nodes" ] && [ "$nodes" -ge 2 ]; } || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
    sleep 0.2
  done
  return 1
}
check "$peers peers form one overlay (each knows at least 2 DHT nodes)" all_connected

run_no=0
sipp_at() {  # PEER NAME SCENARIO LOCAL_PORT [args]: one call, bounded
  local peer="$1" name="$2" scenario="$3" lport="$4"
  shift 4
  run_no=$((run_no + 1))
  (cd "$work" && timeout 60 "$sipp_bin" -sf "$scenario" "127.0.0.1:$(sip_port "$peer")" \
    -i 127.0.0.1 -p "$lport" -m 1 -l 1 -timeout 40s -timeout_error -nostdin -trace_err \
    -error_file "$work/$run_no-$name.err" "$@" >"$work/$run_no-$name.out" 2>&1)
}

register_all() {
  local n
  for ((n = 1; n <= peers; n++)); do
    sipp_at "$n" "register-u$n" "$scenarios/uac-register-200.xml" $((7000 + n)) -s "u$n" || return 1
  done
  # Every record stored by the DHT before calls start (puts take longer while nodes join).
  local i
  for ((n = 1; n <= peers; n++)); do
    for ((i = 0; i < 100; i++)); do
      ctl "$n" records | grep -q "^sip:u$n@p2p.test .*stored=yes" && break
      sleep 0.1
    done
    [ "$i" -lt 100 ] || return 1
  done
}
check "one phone registered at each peer, every user record stored" register_all

# call FROM TO: a phone at peer FROM calls the user at peer TO; the callee's sipp answers on TO's
# phone port. Appends the INVITE->180 time to $work/rtt-PHASE.
calls_ok=0
calls_failed=0
call() {
  local from="$1" to="$2" phase="$3"
  run_no=$((run_no + 1))
  start_bg "$work/$run_no-callee-u$to.out" timeout 60 "$sipp_bin" -sf "$scenarios/uas-answer-180-200.xml" \
    -i 127.0.0.1 -p $((7000 + to)) -m 1 -timeout 40s -timeout_error -nostdin
  local uas="$last_pid"
  wait_listening udp $((7000 + to)) 5 || return 1
  local rc=0
  sipp_at "$from" "call-$from-$to" "$work/uac-timed.xml" 7900 -s "u$to" -trace_rtt -rtt_freq 1 || rc=1
  wait "$uas" || rc=1
  # sipp names the file after the scenario and its pid: take the newest and move it aside.
  local rtt
  rtt="$(ls -t "$work"/uac-timed_*_rtt.csv 2>/dev/null | head -1)"
  if [ -n "$rtt" ]; then
    awk -F';' 'NR > 1 && $2 != "" {print $2}' "$rtt" >>"$work/rtt-$phase"
    rm -f "$rtt"
  fi
  if [ $rc = 0 ]; then calls_ok=$((calls_ok + 1)); else calls_failed=$((calls_failed + 1)); fi
  return $rc
}

percentiles() {  # FILE LABEL
  python3 - "$1" "$2" <<'PY'
import sys
vals = sorted(float(v) for v in open(sys.argv[1]) if v.strip())
if not vals:
    print(f"# {sys.argv[2]}: no samples"); sys.exit(0)
pick = lambda q: vals[min(len(vals) - 1, int(round(q * (len(vals) - 1))))]
print(f"# {sys.argv[2]}: INVITE->180 p50 {pick(0.5):.1f} ms, p99 {pick(0.99):.1f} ms over {len(vals)} calls")
PY
}

before_calls() {
  local i from to
  for ((i = 0; i < 10; i++)); do
    from=$(( (i * 7) % peers + 1 ))
    to=$(( (i * 11 + 5) % peers + 1 ))
    [ "$from" = "$to" ] && to=$(( to % peers + 1 ))
    call "$from" "$to" before || return 1
  done
}
check "10 calls between phones on different peers before the kill" before_calls
percentiles "$work/rtt-before" "before the kill (cold caches)"

# Kill 30 % of the peers without warning: every third-or-so peer, never the caller's.
killed=()
victims=$(( peers * 3 / 10 ))
for ((n = peers; n >= 1 && ${#killed[@]} < victims; n -= 3)); do
  kill -KILL "${peer_pid[$n]}" 2>/dev/null
  killed+=("$n")
done
for n in "${killed[@]}"; do wait "${peer_pid[$n]}" 2>/dev/null; done
echo "# killed ${#killed[@]} of $peers peers: ${killed[*]}"
is_killed() { local k; for k in "${killed[@]}"; do [ "$k" = "$1" ] && return 0; done; return 1; }
survivors=()
for ((n = 1; n <= peers; n++)); do is_killed "$n" || survivors+=("$n"); done

declare -A looked_up
after_calls() {
  local i from to ns=${#survivors[@]} failed=0 phase
  for ((i = 0; i < calls_after; i++)); do
    from=${survivors[$(( (i * 5) % ns ))]}
    to=${survivors[$(( (i * 7 + 3) % ns ))]}
    [ "$from" = "$to" ] && to=${survivors[$(( (i * 7 + 4) % ns ))]}
    # The first call from a peer to a user is a cold lookup (a DHT get); later ones hit its cache.
    phase=after-cold
    [ -n "${looked_up[$from-$to]:-}" ] && phase=after-warm
    looked_up[$from-$to]=1
    call "$from" "$to" "$phase" || failed=$((failed + 1))
  done
  echo "# after the kill: $((calls_after - failed)) of $calls_after calls succeeded"
  [ "$failed" -eq 0 ]
}
check "calls between phones on surviving peers all succeed after 30 % were killed" after_calls
percentiles "$work/rtt-after-cold" "after the kill, cold caches (DHT get past dead nodes)"
percentiles "$work/rtt-after-warm" "after the kill, warm caches"
if [ -n "${LATENCY_OUT:-}" ]; then
  for phase in before after-cold after-warm; do
    [ -s "$work/rtt-$phase" ] || continue
    python3 - "$work/rtt-$phase" "$phase" >>"$LATENCY_OUT" <<'PY'
import sys
vals = sorted(float(v) for v in open(sys.argv[1]) if v.strip())
pick = lambda q: vals[min(len(vals) - 1, int(round(q * (len(vals) - 1))))]
print(f"{sys.argv[2]} {pick(0.5):.2f} {pick(0.99):.2f} {len(vals)}")
PY
  done
fi

all_alive() { local n; for n in "${survivors[@]}"; do kill -0 "${peer_pid[$n]}" || return 1; done; }
check "every surviving peer is still running" all_alive
finish
