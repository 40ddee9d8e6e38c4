#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Calls through real NATs (issue 5): every pair of {public, port-restricted NAT, symmetric NAT} for
# the caller's peer and the callee's peer, nine calls, each with RTP both ways.
#
# Topology (tests/topology/topology.sh, namespaces only, nothing leaves the machine):
#   r   198.18.0.11  public: starts the overlay, relays media for others (--relay), reflector
#   pa  198.18.0.12, pb 198.18.0.13             public sites (pa: a second reflector)
#   ca, cb  behind port-restricted cone NATs n1, n2 (198.19.1.11, 198.19.2.11)
#   sa, sb  behind symmetric NATs n3, n4            (198.19.3.11, 198.19.4.11)
# Every site runs p2psipd (phones on its 127.0.0.1:5060, overlay on its own address) and sipp
# phones. Each peer measures its own NAT (STUN-style probes to the reflectors of r and pa); a peer
# that cannot take inbound links keeps one to a relay peer and publishes itself as reachable
# through it. The caller's phone (sipp) sends RTP on audio and video, the callee's phone
# (sipp -rtp_echo) sends every packet back; both peers' relays must count packets in both
# directions. The media path each call took (direct, hole-punched, relayed) is reported in a
# table and checked against what the NAT types allow.
#
# Usage: nat_matrix_test.sh P2PSIPD P2PSIPCTL
# Environment: SIPP (default sipp), KEEP_WORK=1 keeps the work directory.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/../topology/topology.sh"

if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root and network namespaces"
  exit 77
fi
for tool in ip nft python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
if [ $# -lt 2 ]; then
  echo "usage: $0 P2PSIPD P2PSIPCTL" >&2
  exit 2
fi
p2psipd="$(realpath "$1")"
p2psipctl="$(realpath "$2")"
scenarios="$(cd "$here/../scenarios" && pwd)"
sipp_bin="$(command -v "${SIPP:-sipp}")"
work="$(mktemp -d)"
chmod 755 "$work"
topo="nm$$"
cleanup() {
  stop_all
  topo_down "$topo" >/dev/null 2>&1
  [ "${KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"
  _guard_finish
}
trap cleanup EXIT
trap 'exit 1' INT TERM

topo_up "$topo" public:r public:pa public:pb nat:n1:prc:ca nat:n2:prc:cb nat:n3:sym:sa \
  nat:n4:sym:sb >"$work/topology.txt" || { cat "$work/topology.txt"; exit 1; }

write_alaw_wav "$work/alaw.wav"  # sipp's rtp_stream plays it on the audio stream

cat >"$work/peer.toml" <<'TOML'
[registrar]
min_expires = 2
[media]
inactivity_timeout_seconds = 5
TOML

sites="r pa pb ca cb sa sb"
ctl() { "$p2psipctl" --control-socket "$work/$1/control.sock" "${@:2}"; }
start_peer() {
  local site="$1" addr extra=()
  addr="$(topo_addr "$topo" "$site")"
  mkdir -p "$work/$site"
  if [ "$site" = r ]; then extra=(--relay); else extra=(--bootstrap 198.18.0.11:4222); fi
  start_bg "$work/$site.log" topo_exec "$topo" "$site" "$p2psipd" --config "$work/peer.toml" \
    --listen udp:127.0.0.1:5060 --domain p2p.test --peer-listen "$addr:5071" --dht-port 4222 \
    --reflector 198.18.0.11:5071 --reflector 198.18.0.12:5071 "${extra[@]}" \
    --data-dir "$work/$site" --control-socket "$work/$site/control.sock" --log-level debug
  eval "pid_$site=$last_pid"
}
wait_ctl() {
  local i
  for ((i = 0; i < 100; i++)); do
    ctl "$1" status >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
# The peer's measured NAT class ("nat: ..." in p2psipctl overlay).
nat_of() { ctl "$1" overlay | sed -n 's/^nat: //p'; }
nat_known() {
  local i
  for ((i = 0; i < 150; i++)); do
    case "$(nat_of "$1")" in public|full-cone|restricted-cone|symmetric) return 0 ;; esac
    sleep 0.2
  done
  return 1
}
stored_at() {
  local i
  for ((i = 0; i < 100; i++)); do
    ctl "$1" records | grep -q "^sip:$2@p2p.test .*stored=yes" && return 0
    sleep 0.1
  done
  return 1
}

for site in $sites; do
  start_peer "$site"
  check "peer $site is up" wait_ctl "$site"
  [ "$site" = r ] && sleep 1
done
declare -A expected_nat=([r]=public [pa]=public [pb]=public [ca]=restricted-cone
  [cb]=restricted-cone [sa]=symmetric [sb]=symmetric)
for site in $sites; do
  check "peer $site measures its NAT as ${expected_nat[$site]}" \
    bash -c "for i in \$(seq 150); do [ \"\$('$p2psipctl' --control-socket '$work/$site/control.sock' overlay | sed -n 's/^nat: //p')\" = ${expected_nat[$site]} ] && exit 0; sleep 0.2; done; exit 1"
done

# Whether other peers can open links to it, as a reflector found by connecting back.
for site in $sites; do
  case "$site" in r | pa | pb) inbound=accepted ;; *) inbound=refused ;; esac
  check "peer $site learns that inbound links are $inbound" \
    bash -c "for i in \$(seq 150); do '$p2psipctl' --control-socket '$work/$site/control.sock' overlay | grep -qx 'inbound_links: $inbound' && exit 0; sleep 0.2; done; exit 1"
done

# A peer behind a NAT is reachable once it holds a link to a relay peer and published it.
for site in ca cb sa sb; do
  check "peer $site is reachable through a rendezvous peer" \
    bash -c "for i in \$(seq 300); do '$p2psipctl' --control-socket '$work/$site/control.sock' overlay | grep -q '^rendezvous: [0-9a-f]' && exit 0; sleep 0.1; done; exit 1"
done

run_no=0
sipp_in() {
  local site="$1" out="$2"
  shift 2
  run_no=$((run_no + 1))
  (cd "$work" && timeout 60 ip netns exec "$(topo_netns "$topo" "$site")" "$sipp_bin" "$@" \
    -i 127.0.0.1 -timeout 40s -timeout_error -nostdin -trace_err -trace_msg \
    -error_file "$work/$run_no-$out.err" -message_file "$work/$run_no-$out.msg" \
    >"$work/$run_no-$out.out" 2>&1)
}
for callee in pb cb sb; do
  check "the phone at $callee registers" sipp_in "$callee" "register-$callee" \
    -sf "$scenarios/uac-register-200.xml" 127.0.0.1:5060 -p 7200 -m 1 -s "user-$callee"
  check "user-$callee's record is in the DHT" stored_at "$callee" "user-$callee"
done

declare -A path_of
results="$work/matrix.txt"
: >"$results"
# place_call CALLER CALLEE LABEL SETTLE_S HOLD_MS: one call, RTP both ways; the streams of both
# peers are read SETTLE_S seconds in (the call lasts HOLD_MS).
place_call() {
  local caller="$1" callee="$2" label="$3" settle="$4" hold="$5" path uas_pid uac_pid
  local scenario="${6:-uac-invite-av-pcap-bye.xml}"
  run_no=$((run_no + 1))
  start_bg "$work/$run_no-uas-$callee.out" bash -c "cd '$work' && exec timeout 60 ip netns exec \
    '$(topo_netns "$topo" "$callee")' '$sipp_bin' -sf '$scenarios/uas-answer-av-echo.xml' \
    -i 127.0.0.1 -p 7200 -mp 41000 -rtp_echo -m 1 -timeout 40s -timeout_error -nostdin"
  uas_pid="$last_pid"
  sleep 0.3
  run_no=$((run_no + 1))
  start_bg "$work/$run_no-uac-$label.out" bash -c "cd '$work' && exec timeout 60 ip \
    netns exec '$(topo_netns "$topo" "$caller")' '$sipp_bin' \
    -sf '$scenarios/$scenario' 127.0.0.1:5060 -i 127.0.0.1 -p 7100 -mp 42000 \
    -s 'user-$callee' -d $hold -m 1 -timeout 40s -timeout_error -nostdin \
    -trace_err -error_file '$work/$run_no-uac-$label.err'"
  uac_pid="$last_pid"
  sleep "$settle"
  ctl "$caller" streams >"$work/streams-$label-caller.txt"
  ctl "$callee" streams >"$work/streams-$label-callee.txt"
  path="$(grep -o 'path=[a-z-]*' "$work/streams-$label-caller.txt" | head -n 1)"
  path="${path#path=}"
  path_of[$label]="${path:-none}"
  check "$caller -> $caller's relay carries audio both ways" \
    grep -qE "m=0 audio confirmed .*a_to_b_packets=[1-9].* b_to_a_packets=[1-9]" \
    "$work/streams-$label-caller.txt"
  check "$caller -> $callee: $callee's relay carries audio both ways" \
    grep -qE "m=0 audio confirmed .*a_to_b_packets=[1-9].* b_to_a_packets=[1-9]" \
    "$work/streams-$label-callee.txt"
  check "$caller -> $callee: the call completes (BYE answered)" wait "$uac_pid"
  wait "$uas_pid" 2>/dev/null
  echo "$caller $callee ${path_of[$label]}" >>"$results"
}
for caller in pa ca sa; do
  for callee in pb cb sb; do
    echo "# call from $caller to $callee"
    place_call "$caller" "$callee" "$caller-$callee" 3 4000
  done
done

declare -A allowed=(
  [pa-pb]=direct [pa-cb]=direct [pa-sb]=direct
  [ca-pb]=direct [ca-cb]=hole-punched [ca-sb]=relayed
  [sa-pb]=direct [sa-cb]=relayed [sa-sb]=relayed)
echo "# media path per call (caller's peer / callee's peer):"
printf '#   %-10s %-18s %-18s %-18s\n' "caller" "public (pb)" "port-restr. (cb)" "symmetric (sb)"
for caller in pa ca sa; do
  printf '#   %-10s %-18s %-18s %-18s\n' "$caller" "${path_of[$caller-pb]}" "${path_of[$caller-cb]}" \
    "${path_of[$caller-sb]}"
done
for key in "${!allowed[@]}"; do
  check "call ${key/-/ -> } took the ${allowed[$key]} path" test "${path_of[$key]:-none}" = "${allowed[$key]}"
done
# Hole punching that fails: cb's NAT now drops every UDP datagram from ca's NAT (a firewall on the
# way), so the punch between the two cone NATs cannot open. Signalling still passes (TLS through
# the rendezvous r). Both relays must notice the silence and move the media to the third relay
# that the answering peer readied as the fallback.
echo "# call from ca to cb with the direct path blocked"
n1_public="$(topo_public_addr "$topo" ca)"
forwarded_before="$(ctl r counters | awk '$1 == "p2psip_media_packets_forwarded_total" { print $2 }')"
check "the path between the NATs of ca and cb is blocked" topo_exec "$topo" n2 nft insert rule ip \
  p2psip_nat forward iifname wan ip saddr "$n1_public" meta l4proto udp drop
place_call ca cb ca-cb-blocked 6 9000
check "the blocked call fell back to the relayed path at the caller" \
  grep -qE "m=0 audio confirmed path=relayed punch=failed" "$work/streams-ca-cb-blocked-caller.txt"
check "the blocked call fell back to the relayed path at the callee" \
  grep -qE "m=0 audio confirmed path=relayed punch=failed" "$work/streams-ca-cb-blocked-callee.txt"

# A late offer (INVITE without SDP, the offer in the 200, the answer in the ACK) between the two
# symmetric NATs: the calling peer readies the third relay's streams before the INVITE leaves.
echo "# late-offer call from sa to sb"
place_call sa sb sa-sb-late 3 4000 uac-invite-late-offer-av-bye.xml
check "the late-offer call took the relayed path" test "${path_of[sa-sb-late]}" = relayed
check "the calling peers chose all 11 paths from the callee peers' records" bash -c \
  "[ \$(cat '$work/pa.log' '$work/ca.log' '$work/sa.log' | grep -c 'chosen as the calling peer') = 11 ]"
check "the relay peer r carried the fallen-back call" \
  bash -c "'$p2psipctl' --control-socket '$work/r/control.sock' counters |
    awk '\$1 == \"p2psip_media_packets_forwarded_total\" && \$2 > ${forwarded_before:-0} + 50 { ok = 1 } END { exit !ok }'"
echo "#   ca -> cb (blocked): ${path_of[ca-cb-blocked]}"

check "the relay peer r relayed media for others" \
  bash -c "'$p2psipctl' --control-socket '$work/r/control.sock' counters |
    awk '\$1 == \"p2psip_media_packets_forwarded_total\" && \$2 > 0 { ok = 1 } END { exit !ok }'"
for site in $sites; do
  check "no relay stream is left at $site" \
    bash -c "for i in \$(seq 100); do '$p2psipctl' --control-socket '$work/$site/control.sock' status | grep -q '^relay_streams: 0$' && exit 0; sleep 0.1; done; exit 1"
done

finish || {
  for f in "$work"/*-uac-*.err; do
    [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 15 "$f"; }
  done
  for site in $sites; do
    echo "--- $site log (calls answered here, paths, warnings)"
    grep -E "proxy answered|media path|falls back|third relay|hole-punched| warn | error " \
      "$work/$site.log" | tail -n 15
  done
  for site in $sites; do echo "--- $site log (tail)"; tail -n 15 "$work/$site.log"; done
  exit 1
}
