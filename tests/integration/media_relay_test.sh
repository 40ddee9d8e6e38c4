#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Media through the peers' relays (issue 5), with real processes: two p2psipd peers in one overlay,
# sipp phones, and RTP counted by the relays on both sides.
#
# Topology, inside a private network namespace: peer N serves its phones on 127.0.0.N:53N0 and
# faces the overlay on 198.18.0.N (DHT UDP 4222, TLS peer links 5071), so each relay bridges a
# phone address and an overlay address. alice's sipp is at peer 1 on 127.0.0.1, bob's at peer 2
# on 127.0.0.2. Peer 3 has a single relay port pair per address.
#
# Checked: an audio+video call (two m= lines) whose SDP each phone receives names its own peer's
# relay; RTP played by alice (sipp play_pcap_audio/video) and echoed by bob (sipp -rtp_echo)
# crosses both relays in both directions on both streams, as each peer's per-stream counters show
# (p2psipctl streams); RTP from a stranger is refused and counted; after BYE, after CANCEL and
# after the far peer crashes (relay inactivity timeout) no relay stream is left; a call whose
# streams do not fit in the relay is answered 503 with Retry-After and leaves no port behind.
#
# Usage: media_relay_test.sh P2PSIPD P2PSIPCTL
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
[ -r /usr/share/sip-tester/g711a.pcap ] || { echo "SKIP: sipp's g711a.pcap is missing"; exit 77; }

write_alaw_wav "$work/alaw.wav"  # sipp's rtp_stream plays it on the audio stream

for n in 1 2 3; do ip addr add "198.18.0.$n/32" dev lo; done

cat >"$work/peer.toml" <<'TOML'
[registrar]
min_expires = 2
[media]
inactivity_timeout_seconds = 3
TOML

declare -A peer_pid
sip_port() { echo $((5300 + $1 * 10)); }
ctl() { "$p2psipctl" --control-socket "$work/peer$1/control.sock" "${@:2}"; }

start_peer() {
  local n="$1" port
  port="$(sip_port "$n")"
  mkdir -p "$work/peer$n"
  local extra=()
  [ "$n" != 1 ] && extra+=(--bootstrap 198.18.0.1:4222)
  [ "$n" = 3 ] && extra+=(--relay-ports 45000-45001)
  start_bg "$work/peer$n.log" "$p2psipd" --config "$work/peer.toml" \
    --listen "udp:127.0.0.$n:$port" --domain p2p.test \
    --peer-listen "198.18.0.$n:5071" --dht-port 4222 "${extra[@]}" \
    --data-dir "$work/peer$n" --log-level debug
  peer_pid[$n]="$last_pid"
  wait_listening udp "$port" 10 || { cat "$work/peer$n.log"; exit 1; }
}

run_no=0
# sipp_at PEER NAME SCENARIO LOCAL_PORT [sipp args]: one bounded sipp call from 127.0.0.PEER.
sipp_at() {
  local peer="$1" name="$2" scenario="$3" lport="$4"
  shift 4
  run_no=$((run_no + 1))
  (cd "$work" && timeout 60 "$sipp_bin" -sf "$scenarios/$scenario" \
    "127.0.0.$peer:$(sip_port "$peer")" -i "127.0.0.$peer" -p "$lport" -m 1 -l 1 -timeout 40s \
    -timeout_error -nostdin -trace_err -trace_msg -error_file "$work/$run_no-$name.err" \
    -message_file "$work/$run_no-$name.msg" "$@" >"$work/$run_no-$name.out" 2>&1)
}
# sipp_bg: the same in the background; its PID is $sipp_pid and its message log $sipp_msg.
sipp_bg() {
  local peer="$1" name="$2" scenario="$3" lport="$4"
  shift 4
  run_no=$((run_no + 1))
  sipp_msg="$work/$run_no-$name.msg"
  start_bg "$work/$run_no-$name.out" bash -c "cd '$work' && exec timeout 60 '$sipp_bin' \
    -sf '$scenarios/$scenario' '127.0.0.$peer:$(sip_port "$peer")' -i 127.0.0.$peer -p $lport \
    -m 1 -timeout 40s -timeout_error -nostdin -trace_err -trace_msg \
    -error_file '$work/$run_no-$name.err' -message_file '$sipp_msg' $*"
  sipp_pid="$last_pid"
  wait_listening udp "$lport" 5
}

counter() { ctl "$1" counters | awk -v n="$2" '$1 == n { print $2 }'; }
relay_streams() { ctl "$1" status | sed -n 's/^relay_streams: //p'; }
no_streams_left() {
  local i
  for ((i = 0; i < ${2:-50}; i++)); do
    [ "$(relay_streams "$1")" = 0 ] && return 0
    sleep 0.1
  done
  echo "peer $1 still has $(relay_streams "$1") relay streams"
  return 1
}
stored_at() {
  local i
  for ((i = 0; i < 50; i++)); do
    ctl "$1" records | grep -q "^sip:$2@p2p.test .*stored=yes" && return 0
    sleep 0.1
  done
  return 1
}

# The SDP of the last message of TYPE ("INVITE" or "200 OK") a sipp received, from its log.
received_sdp() {
  python3 - "$1" "$2" <<'PY'
import re, sys
log, kind = open(sys.argv[1], errors="replace").read(), sys.argv[2]
last = None
for m in re.finditer(r"received \[\d+\] bytes :\s*\n\n(.*?)(?=\n-{10,}|\Z)", log, re.S):
    text = m.group(1)
    first = text.splitlines()[0] if text else ""
    if kind in first:
        last = text
if last is None:
    sys.exit(1)
body = last.split("\n\n", 1)[1] if "\n\n" in last else ""
print(body)
PY
}
# "ADDRESS PORT" per m= line of an SDP body on stdin.
media_endpoints() {
  awk '/^c=IN IP4 / { c = $3 } /^m=/ { m[++n] = $2 } /^c=/ && n > 0 { mc[n] = $3 }
       END { for (i = 1; i <= n; i++) print ((i in mc) ? mc[i] : c), m[i] }' | tr -d '\r'
}

start_peer 1
start_peer 2
start_peer 3
check "bob registers at peer 2" sipp_at 2 register-bob uac-register-200.xml 7200 -s bob
check "bob's record is in the DHT" stored_at 2 bob

echo "# an audio+video call from alice (peer 1) to bob (peer 2)"
sipp_bg 2 bob-av uas-answer-av-echo.xml 7200 -mp 41000 -rtp_echo
bob_pid="$sipp_pid" bob_msg="$sipp_msg"
sipp_bg 1 alice-av uac-invite-av-pcap-bye.xml 7100 -mp 42000 -s bob -d 5000
alice_pid="$sipp_pid" alice_msg="$sipp_msg"
sleep 2.5
ctl 1 streams >"$work/streams-1.txt"
ctl 2 streams >"$work/streams-2.txt"
received_sdp "$bob_msg" INVITE | media_endpoints >"$work/bob-sdp.txt"
received_sdp "$alice_msg" "200 OK" | media_endpoints >"$work/alice-sdp.txt"
check "bob's offer names peer 2's relay on his side (127.0.0.2), twice, not alice's ports" \
  awk '$1 != "127.0.0.2" || $2 == 42000 || $2 == 42002 { bad = 1 } END { exit bad || NR != 2 }' \
  "$work/bob-sdp.txt"
check "alice's answer names peer 1's relay on her side (127.0.0.1), twice, not bob's ports" \
  awk '$1 != "127.0.0.1" || $2 == 41000 || $2 == 41002 { bad = 1 } END { exit bad || NR != 2 }' \
  "$work/alice-sdp.txt"
for n in 1 2; do
  for m in "0 audio" "1 video"; do
    check "peer $n relays the ${m#* } stream (m= line ${m% *}) both ways (packets counted each way)" \
      grep -qE "m=${m% *} ${m#* } confirmed .*a_to_b_packets=[1-9].* b_to_a_packets=[1-9]" \
      "$work/streams-$n.txt"
  done
done
check "peer 1's streams bridge 127.0.0.1 (alice) and 198.18.0.1 (the overlay)" \
  grep -qE "m=0 audio .* a=127\.0\.0\.1:[0-9]+<->127\.0\.0\.1:42000\(latched\) b=198\.18\.0\.1:" \
  "$work/streams-1.txt"
check "peer 2's streams bridge 198.18.0.2 (the overlay) and 127.0.0.2 (bob)" \
  grep -qE "m=0 audio .* a=198\.18\.0\.2:[0-9]+<->198\.18\.0\.1:[0-9]+.* b=127\.0\.0\.2:" \
  "$work/streams-2.txt"
# A stranger (another IP) sends RTP to the port alice sends to: refused and counted, not relayed.
refused_before="$(counter 1 p2psip_media_packets_refused_total)"
read -r relay_ip relay_port <"$work/alice-sdp.txt"
python3 - "$relay_ip" "$relay_port" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.9", 0))
for seq in range(20):
    s.sendto(struct.pack("!BBHII", 0x80, 8, seq, seq * 160, 0x5eed) + bytes(160), (sys.argv[1], int(sys.argv[2])))
PY
sleep 0.3
refused_after="$(counter 1 p2psip_media_packets_refused_total)"
check "RTP from a stranger is refused and counted (p2psip_media_packets_refused_total +20)" \
  test "$((refused_after - ${refused_before:-0}))" -ge 20
check "alice's call completes (BYE answered)" wait "$alice_pid"
check "bob's side completes" wait "$bob_pid"
check "no relay stream is left at peer 1 after the BYE" no_streams_left 1
check "no relay stream is left at peer 2 after the BYE" no_streams_left 2
check "peer 2's relay forwarded both directions of both streams (>= 400 packets)" \
  test "$(counter 2 p2psip_media_packets_forwarded_total)" -ge 400

echo "# a call cancelled before the answer"
allocated_1="$(counter 1 p2psip_media_streams_allocated_total)"
allocated_2="$(counter 2 p2psip_media_streams_allocated_total)"
sipp_bg 2 bob-ring uas-ring-then-487-on-cancel.xml 7200
bob_pid="$sipp_pid"
check "alice cancels her call to bob (487)" sipp_at 1 alice-cancel uac-invite-cancel-487.xml 7100 -s bob
check "bob's phone saw the CANCEL" wait "$bob_pid"
check "the cancelled call had taken relay streams at both peers" \
  test "$(counter 1 p2psip_media_streams_allocated_total)" -gt "$allocated_1" -a \
  "$(counter 2 p2psip_media_streams_allocated_total)" -gt "$allocated_2"
check "no relay stream is left at peer 1 after the CANCEL" no_streams_left 1
check "no relay stream is left at peer 2 after the CANCEL" no_streams_left 2

echo "# the far peer crashes during a call"
sipp_bg 2 bob-crash uas-answer-av-echo.xml 7200 -mp 41000 -rtp_echo
bob_pid="$sipp_pid"
sipp_bg 1 alice-crash uac-invite-av-pcap-bye.xml 7100 -mp 42000 -s bob -d 30000
alice_pid="$sipp_pid"
sleep 2
check "the call has relay streams at peer 1" test "$(relay_streams 1)" -ge 2
kill -KILL "${peer_pid[2]}"
kill -TERM "$bob_pid" 2>/dev/null
# alice's media ends 5 s into the call; 3 s of silence later the relay lets the streams go.
check "peer 1 releases the dead call's streams after its inactivity timeout" no_streams_left 1 150
kill -TERM "$alice_pid" 2>/dev/null
wait "$alice_pid" 2>/dev/null
check "peer 1 counted the idle streams" test "$(counter 1 p2psip_anchor_streams_timed_out_total)" -ge 2

echo "# a call whose two streams do not fit in peer 3's one port pair"
sipp_at 3 alice-full uac-invite-av-pcap-bye.xml 7300 -mp 43000 -s bob -d 100
grep -q "SIP/2.0 503" "$work/$run_no-alice-full.msg"
check "peer 3 answers 503 when its relay has no ports left" test $? = 0
check "the 503 carries Retry-After" grep -q "^Retry-After:" "$work/$run_no-alice-full.msg"
check "the refusal is counted (p2psip_anchor_requests_refused_total)" \
  test "$(counter 3 p2psip_anchor_requests_refused_total)" -ge 1
check "the half-made call left no stream at peer 3" no_streams_left 3
check "peer 1 still runs" kill -0 "${peer_pid[1]}"
check "peer 3 still runs" kill -0 "${peer_pid[3]}"

finish || {
  for n in 1 2 3; do echo "--- peer $n log (tail)"; tail -n 30 "$work/peer$n.log"; done
  for f in "$work"/streams-*.txt "$work"/*-sdp.txt; do echo "--- $f"; cat "$f"; done
  exit 1
}
