#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reachability through real NATs: every peer learns its reflexive address and NAT class from two
# other peers' reflectors (modules/reachability). Topology (tests/topology/topology.sh): two
# reflector hosts r1 and r2 and a host pubhost on the public segment, and one host behind each
# kind of NAT router (symmetric, port-restricted cone, full cone).
#
# Checked: p2psip-probe classifies pubhost as Public, symhost as Symmetric, prchost as
# RestrictedCone and conehost as FullCone; a NATed host's observed address is its router's public
# address (topo_public_addr), never its own, and pubhost's is its own; the symmetric NAT shows two
# mappings, the cone NATs one; with one reflector silent the probe still ends in time and says the
# mapping is unknown; the reflectors count a malformed datagram and the change-port answers they
# sent, and stop cleanly on SIGTERM.
#
# Usage: reachability_nat_test.sh P2PSIP_REFLECT P2PSIP_PROBE
# Needs root, network namespaces, iproute2 and nftables (exit 77 otherwise). Every process it
# starts is stopped by PID; every wait is bounded. KEEP_WORK=1 keeps the work directory.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh" # check, finish, start_bg, _guard_finish
source "$here/../topology/topology.sh"

if [ $# -lt 2 ]; then
  echo "usage: $0 P2PSIP_REFLECT P2PSIP_PROBE" >&2
  exit 2
fi
reflect="$(realpath "$1")"
probe="$(realpath "$2")"
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root and network namespaces (unshare -n)"
  exit 77
fi
for tool in ip nft timeout; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done

name="reach$$"
work="$(mktemp -d)"
topo_made=0
cleanup() {
  stop_all
  [ "$topo_made" = 1 ] && topo_down "$name" >/dev/null
  if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
  _guard_finish
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# forget_pid PID: a process that has been reaped leaves stop_all's list (its PID may be reused).
forget_pid() {
  local p kept=()
  for p in "${_pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  _pids=("${kept[@]}")
}
# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL; reaps it. Returns its exit status.
stop_pid() {
  local pid="$1" i rc
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid"
  rc=$?
  forget_pid "$pid"
  return $rc
}

# wait_for_line FILE REGEX [SECONDS]: until a line of FILE matches (bounded).
wait_for_line() {
  local file="$1" regex="$2" limit="${3:-10}" i
  for ((i = 0; i < limit * 10; i++)); do
    grep -qE "$regex" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

check "topology is up" topo_up "$name" public:r1 public:r2 public:pubhost \
  nat:n1:sym:symhost nat:n2:prc:prchost nat:n3:cone:conehost
if [ "$passed" = 0 ]; then
  finish
  exit 1
fi
topo_made=1

r1="$(topo_addr "$name" r1)"
r2="$(topo_addr "$name" r2)"
port=3478

# --- reflectors on r1 and r2 --------------------------------------------------------------------
declare -A reflector_pid
for r in r1 r2; do
  start_bg "$work/$r.log" ip netns exec "$(topo_netns "$name" $r)" "$reflect" \
    --listen "$(topo_addr "$name" $r):$port"
  reflector_pid[$r]=$last_pid
  check "$r: reflector listens on $(topo_addr "$name" $r):$port and :$((port + 1))" \
    wait_for_line "$work/$r.log" "^listening primary $(topo_addr "$name" $r):$port alternate $(topo_addr "$name" $r):$((port + 1))$"
done

# run_probe HOST OUT REFLECTOR...: p2psip-probe on HOST from its own address, port chosen by the
# kernel. In the background and waited for, so that a signal to this script is handled at once;
# bounded by the probe's own RFC 5389 schedule (about 2 s) and by timeout.
run_probe() {
  local host="$1" out="$2"
  shift 2
  local args=() r
  for r in "$@"; do args+=(--reflector "$r"); done
  start_bg "$out" timeout 30 ip netns exec "$(topo_netns "$name" "$host")" "$probe" \
    --local "$(topo_addr "$name" "$host"):0" "${args[@]}"
  local pid=$last_pid rc
  wait "$pid"
  rc=$?
  forget_pid "$pid"
  return $rc
}
field() { sed -n "s/^$2 //p" "$1" | head -n 1; } # FILE KEY: first value of "KEY value" lines

expected_class() {
  case "$1" in
    pubhost) echo Public ;;
    symhost) echo Symmetric ;;
    prchost) echo RestrictedCone ;;
    conehost) echo FullCone ;;
  esac
}

# --- one probe per host -------------------------------------------------------------------------
for host in pubhost symhost prchost conehost; do
  out="$work/probe-$host.log"
  run_probe "$host" "$out" "$r1:$port" "$r2:$port"
  rc=$?
  echo "--- $host ($(topo_addr "$name" "$host")):"
  sed 's/^/    /' "$out"
  check "$host: the probe completed (exit $rc)" test "$rc" = 0
  check "$host: class $(expected_class "$host")" test "$(field "$out" class)" = "$(expected_class "$host")"
  public="$(topo_public_addr "$name" "$host")"
  check "$host: every observed address is $public (what the public segment sees)" \
    test -n "$(field "$out" observed)" -a -z "$(sed -n 's/^observed //p' "$out" | grep -v "^$public:")"
  if [ "$host" = pubhost ]; then
    check "$host: not natted, and observed address:port is its own socket" \
      test "$(field "$out" natted)" = no -a "$(field "$out" observed)" = "$(field "$out" local)"
  else
    check "$host: natted, and the observed address is not its own ($(topo_addr "$name" "$host"))" \
      test "$(field "$out" natted)" = yes -a "${public}" != "$(topo_addr "$name" "$host")"
  fi
  case "$host" in
    symhost)
      check "$host: two reflectors saw two mappings (address-dependent)" \
        test "$(grep -c '^observed ' "$out")" = 2 -a "$(field "$out" mapping)" = address-dependent
      ;;
    *)
      check "$host: both reflectors saw one mapping (endpoint-independent)" \
        test "$(grep -c '^observed ' "$out")" = 1 -a "$(field "$out" mapping)" = endpoint-independent
      ;;
  esac
done

# --- graceful degradation: one reflector silent -------------------------------------------------
# Nothing listens on r2:3999, so only r1 answers: the mapping cannot be observed, and the probe
# says so instead of guessing, within its bounded schedule.
out="$work/probe-degraded.log"
start=$SECONDS
run_probe symhost "$out" "$r1:$port" "$r2:3999"
rc=$?
echo "--- symhost with r2 silent:"
sed 's/^/    /' "$out"
check "one reflector silent: the probe completed within 10 s (exit $rc)" \
  test "$rc" = 0 -a $((SECONDS - start)) -le 10
check "one reflector silent: mapping unknown, class Unknown, and a note says why" \
  test "$(field "$out" mapping)" = unknown -a "$(field "$out" class)" = Unknown \
  -a -n "$(grep '^note only 1 reflector' "$out")"

# --- the reflectors' side -----------------------------------------------------------------------
# A malformed datagram (not STUN) is dropped and counted.
ip netns exec "$(topo_netns "$name" pubhost)" bash -c "printf 'not a stun message' >/dev/udp/$r1/$port"
sleep 0.2
metric() { sed -n "s/^metric $2 //p" "$1"; } # LOG NAME
for r in r1 r2; do
  stop_pid "${reflector_pid[$r]}"
  rc=$?
  check "$r: reflector stopped cleanly on SIGTERM (exit $rc)" test "$rc" = 0
done
sed -n 's/^metric /    r1 /p' "$work/r1.log"
check "r1 counted the malformed datagram" test "$(metric "$work/r1.log" p2psip_reachability_requests_malformed_total)" -ge 1
check "r1 answered change-port requests from its alternate port (one per probed host at least)" \
  test "$(metric "$work/r1.log" p2psip_reachability_change_port_answers_total)" -ge 4
check "r2 answered Binding requests and refused none" \
  test "$(metric "$work/r2.log" p2psip_reachability_binding_answers_total)" -ge 4 \
  -a "$(metric "$work/r2.log" p2psip_reachability_requests_refused_total)" = 0

finish
