#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The overlay with real processes: five p2psipd peers form one DHT overlay; sipp phones register at
# different peers and call each other through it (issue 4).
#
# Topology, inside a private network namespace: each peer serves its phones on 127.0.0.1:50N0
# (UDP+TCP) and faces the overlay on its own address 198.18.0.N (DHT on UDP 4222, TLS peer links on
# 5071), so the peers are five hosts as far as the overlay can tell. Peer 1 starts the overlay; the
# others bootstrap from it. Phones (sipp) are on 127.0.0.1.
#
# Checked: calls in both directions between peers, a call within one peer, 404 for a user
# registered nowhere, forking to a user registered at two peers (one answers, one is cancelled),
# in-dialog requests (re-INVITE, ACK, BYE along both peers' Record-Route), unregistration and
# binding expiry withdrawing the DHT record (404 afterwards), a killed peer's user getting 480
# quickly and becoming reachable again by registering at another peer, and a graceful shutdown
# withdrawing its records (404 at once, not 480) and exiting 0.
#
# Usage: overlay_test.sh P2PSIPD P2PSIPCTL
# Environment: SIPP (default sipp), KEEP_WORK=1 keeps the work directory.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
enter_private_netns "$@"

if [ $# -lt 2 ]; then
  echo "usage: $0 P2PSIPD P2PSIPCTL" >&2
  exit 2
fi
p2psipd="$(realpath "$1")"
p2psipctl="$(realpath "$2")"
scenarios="$(cd "$here/../scenarios" && pwd)"
sipp_bin="${SIPP:-sipp}"
work="$(mktemp -d)"
trap 'stop_all; [ "${KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"; _guard_finish' EXIT

# The overlay side of each peer gets its own address on lo (198.18.0.0/15: benchmark range, never
# routed off this namespace).
for n in 1 2 3 4 5; do ip addr add "198.18.0.$n/32" dev lo; done

cat >"$work/peer.toml" <<'TOML'
[registrar]
min_expires = 2
TOML

declare -A peer_pid
sip_port() { echo $((5000 + $1 * 10)); }
ctl() { "$p2psipctl" --control-socket "$work/peer$1/control.sock" "${@:2}"; }

start_peer() {
  local n="$1" port
  port="$(sip_port "$n")"
  mkdir -p "$work/peer$n"
  local bootstrap=()
  [ "$n" != 1 ] && bootstrap=(--bootstrap 198.18.0.1:4222)
  start_bg "$work/peer$n.log" "$p2psipd" --config "$work/peer.toml" \
    --listen "udp:127.0.0.1:$port" --listen "tcp:127.0.0.1:$port" --domain p2p.test \
    --peer-listen "198.18.0.$n:5071" --dht-port 4222 "${bootstrap[@]}" \
    --data-dir "$work/peer$n" --log-level debug
  peer_pid[$n]="$last_pid"
  wait_listening udp "$port" 10 && wait_listening tcp 5071 10 || { cat "$work/peer$n.log"; exit 1; }
}

# Every peer knows at least one other DHT node.
overlay_formed() {
  local n nodes i ok
  for ((i = 0; i < 100; i++)); do
    ok=1
    for n in 1 2 3 4 5; do
      nodes="$(ctl "$n" overlay 2>/dev/null | sed -n 's/^dht_nodes: //p')"
      [ -n "$nodes" ] && [ "$nodes" -ge 1 ] || ok=0
    done
    [ $ok = 1 ] && return 0
    sleep 0.2
  done
  return 1
}

run_no=0
# sipp_at PEER NAME SCENARIO LOCAL_PORT [sipp args]: one bounded sipp run (1 call) against PEER.
sipp_at() {
  local peer="$1" name="$2" scenario="$3" lport="$4"
  shift 4
  run_no=$((run_no + 1))
  case "$scenario" in /*) ;; *) scenario="$scenarios/$scenario" ;; esac
  (cd "$work" && timeout 60 "$sipp_bin" -sf "$scenario" "127.0.0.1:$(sip_port "$peer")" \
    -i 127.0.0.1 -p "$lport" -m 1 -l 1 -timeout 40s -timeout_error -nostdin -trace_err -trace_msg \
    -error_file "$work/$run_no-$name.err" -message_file "$work/$run_no-$name.msg" "$@" \
    >"$work/$run_no-$name.out" 2>&1)
}

# A callee in the background on LOCAL_PORT; its PID is $uas_pid.
uas_bg() {
  local name="$1" scenario="$2" lport="$3"
  run_no=$((run_no + 1))
  start_bg "$work/$run_no-$name.out" timeout 60 "$sipp_bin" -sf "$scenarios/$scenario" \
    -i 127.0.0.1 -p "$lport" -m 1 -timeout 40s -timeout_error -nostdin -trace_err -trace_msg \
    -error_file "$work/$run_no-$name.err" -message_file "$work/$run_no-$name.msg"
  uas_pid="$last_pid"
  wait_listening udp "$lport" 5
}

register_at() { sipp_at "$1" "register-$2-at-$1" uac-register-200.xml "$3" -s "$2"; }

# call USER FROM_PEER UAS_PORT [UAS UAC]: alice calls USER through FROM_PEER; USER's phone answers
# on UAS_PORT. Both sipp sides must succeed.
call() {
  local user="$1" from="$2" uport="$3" uas="${4:-uas-answer-180-200.xml}"
  local uac="${5:-uac-invite-180-200-ack-bye.xml}" rc=0
  uas_bg "callee-$user" "$uas" "$uport" || return 1
  local pid="$uas_pid"
  sipp_at "$from" "call-$user-from-$from" "$uac" 7100 -s "$user" || rc=1
  wait "$pid" || rc=1
  return $rc
}

# PEER's record for USER has been stored by the DHT (the put was acknowledged). Right after a
# peer (re)joins, or while dead nodes slow the DHT, a put takes about a second to land.
stored_at() {
  local i
  for ((i = 0; i < 50; i++)); do
    ctl "$1" records | grep -q "^sip:$2@p2p.test .*stored=yes" && return 0
    sleep 0.1
  done
  return 1
}

# The record for USER is no longer in PEER's published list.
not_published() { ! ctl "$1" records | grep -q "^sip:$2@p2p.test "; }
published() { ctl "$1" records | grep -q "^sip:$2@p2p.test "; }

sed 's/response="404"/response="480"/; s/uac-invite-404/uac-invite-480/' \
  "$scenarios/uac-invite-404.xml" >"$work/uac-invite-480.xml"
sed 's/Expires: 3600/Expires: 3/' "$scenarios/uac-register-200.xml" >"$work/uac-register-3s.xml"

for n in 1 2 3 4 5; do start_peer "$n"; done
check "five peers form one overlay (each knows DHT nodes)" overlay_formed
all_have_node_ids() {
  local n i
  for n in 1 2 3 4 5; do
    ctl "$n" overlay | grep -Eq '^node_id: [0-9a-f]{64}$' || return 1
    # The first put may find no DHT node yet (still joining); the retry follows within seconds.
    for ((i = 0; i < 50; i++)); do
      ctl "$n" overlay | grep -q '^peer_record_published: yes$' && break
      sleep 0.2
    done
    [ "$i" -lt 50 ] || return 1
  done
}
check "each peer has a NodeId and published its peer record" all_have_node_ids

register_first_users() { register_at 2 bob 7002 && register_at 1 alice 7001 && register_at 1 carol 7003; }
check "bob registers at peer 2, alice at peer 1, carol at peer 1" register_first_users
check "peer 2 published bob's user record" published 2 bob
check "call alice (peer 1) -> bob (peer 2): 180/200, ACK and BYE through both peers" call bob 1 7002
check "call bob (peer 2) -> alice (peer 1): the other direction" call alice 2 7001
check "call within peer 1 (carol), delivered locally" call carol 1 7003
check "a user registered nowhere gets 404" sipp_at 3 nobody uac-invite-404.xml 7100 -s nobody

register_forked() { register_at 4 forked 7011 && register_at 5 forked 7012; }
check "forked is registered at peers 4 and 5" register_forked
fork_across_peers() {
  uas_bg fork-answer uas-answer-180-200.xml 7011 || return 1
  local answer="$uas_pid" rc=0
  uas_bg fork-cancelled uas-ring-then-487-on-cancel.xml 7012 || return 1
  local cancelled="$uas_pid"
  sipp_at 3 fork-uac uac-invite-fork.xml 7100 -s forked || rc=1
  wait "$answer" || rc=1
  wait "$cancelled" || rc=1
  return $rc
}
check "forking across two peers: one answers, the other branch is CANCELled" fork_across_peers

check "erin registers at peer 3" register_at 3 erin 7004
check "in-dialog requests across peers: re-INVITE, then BYE" \
  call erin 1 7004 uas-reinvite.xml uac-invite-reinvite-bye.xml

check "dave registers at peer 4" register_at 4 dave 7005
check "call to dave at peer 4" call dave 1 7005
check "dave unregisters (expires=0, then Contact: *)" sipp_at 4 unregister-dave uac-unregister.xml 7005 -s dave
check "peer 4 withdrew dave's record" not_published 4 dave
check "a call to dave now gets 404 (the DHT record is gone)" sipp_at 1 dave-gone uac-invite-404.xml 7100 -s dave

check "frank registers at peer 5 for 3 s" sipp_at 5 register-frank "$work/uac-register-3s.xml" 7006 -s frank
check "peer 5 published frank's record" published 5 frank
sleep 9  # binding expiry (3 s) plus the store's purge interval (5 s)
check "frank's binding expired and peer 5 withdrew the record" not_published 5 frank
check "a call to frank gets 404" sipp_at 1 frank-gone uac-invite-404.xml 7100 -s frank

# A peer that dies without leaving: its records stay in the DHT until they expire.
check "gina registers at peer 5" register_at 5 gina 7007
check "call to gina at peer 5" call gina 1 7007
kill -KILL "${peer_pid[5]}"
wait "${peer_pid[5]}" 2>/dev/null
started=$(date +%s%N)
check "with peer 5 killed, a call to gina gets 480" sipp_at 1 gina-dead "$work/uac-invite-480.xml" 7100 -s gina
elapsed_ms=$((($(date +%s%N) - started) / 1000000))
echo "# 480 for the killed peer's user came after ${elapsed_ms} ms"
check "... well before Timer B (32 s): within 10 s" test "$elapsed_ms" -lt 10000
check "gina registers again, at peer 4" register_at 4 gina 7007
check "... and the DHT stored her record" stored_at 4 gina
check "gina is reachable again through peer 4" call gina 1 7007

check "henry registers at peer 4" register_at 4 henry 7008
kill -TERM "${peer_pid[4]}"
wait "${peer_pid[4]}"
rc4=$?
check "peer 4 exits 0 on SIGTERM" test "$rc4" -eq 0
check "peer 4 logged the withdrawal of its records" grep -q "withdrawing .* user records" "$work/peer4.log"
started=$(date +%s%N)
check "after the graceful shutdown a call to henry gets 404, not 480" \
  sipp_at 1 henry-gone uac-invite-404.xml 7100 -s henry
echo "# 404 for the departed peer's user came after $((($(date +%s%N) - started) / 1000000)) ms"

check "peers 1-3 are still running" kill -0 "${peer_pid[1]}" "${peer_pid[2]}" "${peer_pid[3]}"

# Identity survives a restart at another address; the overlay follows the move.
node3="$(ctl 3 overlay | sed -n 's/^node_id: //p')"
kill -TERM "${peer_pid[3]}"
wait "${peer_pid[3]}"
ip addr add 198.18.0.13/32 dev lo
start_bg "$work/peer3-moved.log" "$p2psipd" --config "$work/peer.toml" \
  --listen "udp:127.0.0.1:$(sip_port 3)" --listen "tcp:127.0.0.1:$(sip_port 3)" --domain p2p.test \
  --peer-listen 198.18.0.13:5071 --dht-port 4222 --bootstrap 198.18.0.1:4222 \
  --data-dir "$work/peer3" --log-level debug
peer_pid[3]="$last_pid"
wait_listening udp "$(sip_port 3)" 10
check "peer 3 restarted at 198.18.0.13 keeps its NodeId" \
  test "$(ctl 3 overlay | sed -n 's/^node_id: //p')" = "$node3"
check "ivan registers at the moved peer 3" register_at 3 ivan 7009
check "... and the DHT stored his record" stored_at 3 ivan
check "peer 1 reaches ivan at peer 3's new address" call ivan 1 7009
check "... over a link to 198.18.0.13" grep -q "forked INVITE to sip:ivan@p2p.test via 198.18.0.13:5071" "$work/peer1.log"

# An address that cannot be used stops start-up with one sentence and a non-zero status.
"$p2psipd" --listen udp:127.0.0.1:5990 --peer-listen 198.18.0.1:5999 --dht-port 4222 \
  --data-dir "$work/busy" >"$work/busy.log" 2>&1
busy_rc=$?
check "a DHT port already in use exits non-zero, naming the DHT port" \
  bash -c "[ $busy_rc -ne 0 ] && grep -q 'DHT node on UDP port 4222' '$work/busy.log'"
no_refused_records() { ! ctl 1 counters | grep -E '^p2psip_overlay_(user|peer)_records_refused_total [1-9]'; }
check "peer 1 refused no record as invalid" no_refused_records
finish
