#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Self-test of topology.sh: builds a topology with one public host and one host behind each NAT
# type (symmetric, port-restricted cone, full cone) and checks with UDP probes (nat_probe.py) that
#  1. inside hosts reach the public host, which sees the NAT's public address, not the inside one;
#  2. the symmetric NAT maps one inside socket to a different external port per destination, the
#     cone NATs keep one external port (the inside port) for both;
#  3. an unsolicited packet to a NAT's public address is dropped;
#  4. a reply from the contacted addr:port gets through; one from the same address but another
#     port, or from another address, does not (port-restricted, symmetric) or does (full cone);
#  5. `down` removes every namespace and the state that `up` created and nothing else: the calling
#     namespace's links and the other namespaces (a decoy, a second topology with the same host
#     names) are untouched, a failed `up` removes only what it had created, and no process keeps a
#     deleted namespace alive.
# Needs root (exit 77 otherwise). Everything runs in namespaces that are not connected to the
# machine's network; every wait is bounded.
# shellcheck source-path=SCRIPTDIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../integration/lib.sh" # check, finish, _guard_finish
source "$here/topology.sh"

if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
  echo "SKIP: needs root and network namespaces"
  exit 77
fi
for tool in ip nft python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done

base="st$$"
main="${base}a"   # the topology under test
other="${base}b"  # a second one with the same host names, up at the same time
broken="${base}c" # one whose `up` fails half-way
decoy="$broken-pub2" # a namespace that is not ours to delete: it blocks $broken's second host

decoy_made=0
probe_pid=""
probe_log="$(mktemp)"
# A wrapper of ip that logs its arguments, to see what up and down do.
shim="$(mktemp -d)"
ip_log="$shim/ip.log"
printf '#!/bin/sh\necho "$*" >>"%s"\nexec %s "$@"\n' "$ip_log" "$(command -v ip)" >"$shim/ip"
chmod +x "$shim/ip"
cleanup() {
  local n
  [ -n "$probe_pid" ] && kill "$probe_pid" 2>/dev/null && wait "$probe_pid" 2>/dev/null
  rm -rf "$probe_log" "$shim"
  for n in "$main" "$other" "$broken"; do
    [ -d "$(_topo_state "$n")" ] && topo_down "$n" >/dev/null 2>&1
  done
  [ "$decoy_made" = 1 ] && ip netns del "$decoy"
  _guard_finish
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# What an earlier run of this test left when it was killed outright (SIGKILL, e.g. a ctest
# timeout: no trap ran): its topologies and its decoy, named after its PID, once that PID is gone
# (or is ours: a PID reused).
for d in "$P2PSIP_TOPOLOGY_STATE_DIR"/st*; do
  n="${d##*/}"
  if ! [[ "$n" =~ ^st([0-9]+)[abc]$ ]] || { [ -e "/proc/${BASH_REMATCH[1]}" ] && [ "${BASH_REMATCH[1]}" != $$ ]; }; then
    continue
  fi
  echo "removing topology $n left by an earlier run"
  topo_down "$n" >/dev/null
done
for n in $(ip netns list | awk '{ print $1 }'); do
  if ! [[ "$n" =~ ^st([0-9]+)c-pub2$ ]] || { [ -e "/proc/${BASH_REMATCH[1]}" ] && [ "${BASH_REMATCH[1]}" != $$ ]; }; then
    continue
  fi
  echo "removing namespace $n left by an earlier run"
  ip netns del "$n"
done

netns_names() { ip netns list | awk '{ print $1 }' | sort; }
root_links() { ip -o link show | awk -F': ' '{ print $1 ": " $2 }' | sort; }
ours() { netns_names | grep "^$base" || true; }

links_before="$(root_links)"
ip netns add "$decoy" || exit 1
decoy_made=1

# --- build -------------------------------------------------------------------------------------
check "up builds the topology" \
  topo_up "$main" public:pub nat:sym:symmetric:alice nat:prc:port-restricted:bob nat:cone:full-cone:carol
check "a second topology with the same host names builds next to it" \
  topo_up "$other" public:pub nat:sym:symmetric:alice
check "up refuses a name that is already up" bash -c "! '$here/topology.sh' up '$main' public:x 2>/dev/null"
check "the state records every namespace created" \
  test "$(awk '{ print $2 }' "$(_topo_state "$main")/created" | sort | tr '\n' ' ')" = \
  "$(printf '%s\n' "$main"-{inet,pub,sym,alice,prc,bob,cone,carol} | sort | tr '\n' ' ')"
check "no link appears in the calling namespace" test "$(root_links)" = "$links_before"

expect_addr() { test "$(topo_addr "$main" "$1")" = "$2"; }
check "address plan: public host 198.18.0.11" expect_addr pub 198.18.0.11
check "address plan: NAT routers 198.18.0.101-103" \
  test "$(topo_addr "$main" sym) $(topo_addr "$main" prc) $(topo_addr "$main" cone)" = \
  "198.18.0.101 198.18.0.102 198.18.0.103"
check "address plan: inside hosts 198.19.N.11" \
  test "$(topo_addr "$main" alice) $(topo_addr "$main" bob) $(topo_addr "$main" carol)" = \
  "198.19.1.11 198.19.2.11 198.19.3.11"
check "public-addr of an inside host is its NAT's public address" \
  test "$(topo_public_addr "$main" bob)" = 198.18.0.102
check "exec runs in the host's namespace" \
  bash -c "'$here/topology.sh' exec '$main' bob ip -o -4 addr show dev eth0 | grep -q ' 198.19.2.11/24 '"

# --- a failed up removes only what it created --------------------------------------------------
# (Namespaces are compared among this run's names only: parallel tests may add or remove theirs.
# Every `ip` command that down runs is logged, through a wrapper, to see what it deleted.)
before="$(ours)"
: >"$ip_log"
check "up fails when one of its namespaces exists already" \
  env PATH="$shim:$PATH" bash -c "! '$here/topology.sh' up '$broken' public:pub1 public:pub2 >/dev/null 2>&1"
check "the failed up deleted the namespaces it had created, and only those" \
  test "$(sed -n 's/^netns del //p' "$ip_log" | sort | tr '\n' ' ')" = "$broken-inet $broken-pub1 "
check "the failed up left no namespace and no state behind" \
  test "$(ours)" = "$before" -a ! -e "$(_topo_state "$broken")" -a -e "/run/netns/$decoy"

# --- down of the second topology leaves the first alone ----------------------------------------
check "down of the second topology" topo_down "$other"
check "every namespace of the first topology is still there" \
  test "$(ours | grep "^$main-" | tr '\n' ' ')" = \
  "$(printf '%s\n' "$main"-{inet,pub,sym,alice,prc,bob,cone,carol} | sort | tr '\n' ' ')"

# --- NAT behaviour -----------------------------------------------------------------------------
nat_arg() { # LABEL TYPE INSIDE_HOST
  echo "$1,$2,$(topo_netns "$main" "$3"),$(topo_addr "$main" "$3"),$(topo_public_addr "$main" "$3")"
}
# In the background, so that a signal to this script (its trap) is handled at once.
timeout 120 python3 "$here/nat_probe.py" \
  --public "$(topo_netns "$main" pub),$(topo_addr "$main" pub)" \
  --nat "$(nat_arg sym symmetric alice)" \
  --nat "$(nat_arg prc port-restricted bob)" \
  --nat "$(nat_arg cone full-cone carol)" >"$probe_log" 2>&1 &
probe_pid=$!
wait "$probe_pid"
probe_rc=$?
probe_pid=""
probe_out="$(cat "$probe_log")"
echo "$probe_out"
passed=$((passed + $(grep -c '^ok ' <<<"$probe_out")))
failed=$((failed + $(grep -c '^FAIL ' <<<"$probe_out")))
check "nat_probe.py ran to its end (exit $probe_rc)" grep -q '^nat_probe done' <<<"$probe_out"

# --- down --------------------------------------------------------------------------------------
(topo_exec "$main" bob sleep 300 2>/dev/null) 2>/dev/null &
sleeper=$!
nspid=""
for ((i = 0; i < 50; i++)); do # at most 5 s for it to start
  nspid="$(ip netns pids "$main-bob" | head -n 1)"
  [ -n "$nspid" ] && break
  sleep 0.1
done
declare -A inode=()
for ns in $(ours | grep "^$main-"); do inode[$ns]="$(stat -L -c %i "/run/netns/$ns")"; done
created="$(awk '{ print $2 }' "$(_topo_state "$main")/created" | sort)"
before="$(ours)"
: >"$ip_log"
PATH="$shim:$PATH" check "down" topo_down "$main"
after="$(ours)"
check "down deleted exactly the recorded namespaces" \
  test "$(sed -n 's/^netns del //p' "$ip_log" | sort)" = "$created"
check "down ran no other ip command that changes anything" \
  test -z "$(grep -vE '^netns (pids|del) [^ ]+$' "$ip_log")"
check "this run's namespaces after down: the decoy only" \
  test "$(comm -23 <(echo "$before") <(echo "$after"))" = "$created" -a "$after" = "$decoy"
check "down removed the state directory" test ! -e "$(_topo_state "$main")"
gone() { # PID: the process has exited (and been reaped) within 5 s
  local j
  for ((j = 0; j < 50; j++)); do
    [ -e "/proc/$1" ] || return 0
    sleep 0.1
  done
  return 1
}
check "down stopped the process running in a namespace" test -n "$nspid" -a -n "$(gone "$nspid" && echo y)"
wait "$sleeper" 2>/dev/null
alive=""
for pid_ns in /proc/[0-9]*/ns/net; do
  i="$(stat -L -c %i "$pid_ns" 2>/dev/null)" || continue
  for ns in "${!inode[@]}"; do [ "$i" = "${inode[$ns]}" ] && alive+=" $ns"; done
done
check "no process keeps a deleted namespace (and its veths) alive" test -z "$alive"
check "the decoy namespace is untouched" test -e "/run/netns/$decoy"
check "the calling namespace's links are as before" test "$(root_links)" = "$links_before"

finish
