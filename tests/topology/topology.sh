#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Network-namespace topology builder for NAT traversal tests: a public segment ("the internet"),
# hosts with public addresses on it, and NAT routers (symmetric, port-restricted cone, full cone)
# built with nftables, each with hosts behind it. Addresses come from 198.18.0.0/15 only. See
# README.md beside this file for the address plan and the exact rules.
#
# CLI:
#   topology.sh up NAME SPEC...        build topology NAME (SPEC: see below)
#   topology.sh down NAME              remove exactly what `up NAME` created
#   topology.sh exec NAME HOST CMD...  run CMD inside HOST's namespace
#   topology.sh addr NAME HOST         HOST's own address (a NAT router: its public address)
#   topology.sh public-addr NAME HOST  the address the public segment sees for HOST
#   topology.sh netns NAME HOST        HOST's namespace name (for `ip netns exec`, `ip -n`)
#   topology.sh hosts NAME             the host table (HOST KIND NETNS ADDR GATEWAY ROUTER)
#   topology.sh list                   names of the topologies that are up
#
# SPEC:
#   public:HOST                           a host on the public segment
#   nat:ROUTER:TYPE[:HOST[,HOST...]]      a NAT router with zero or more hosts behind it;
#                                         TYPE: symmetric (sym), port-restricted (prc),
#                                         full-cone (cone)
# Example: topology.sh up t1 public:srv nat:n1:sym:alice nat:n2:prc:bob,carol
#
# Sourcing it defines the same commands as functions (topo_up, topo_down, topo_exec, topo_addr,
# topo_public_addr, topo_netns, topo_hosts, topo_list) and does nothing else.
#
# Every namespace is named NAME-HOST (the public segment: NAME-inet), created with `ip netns add`,
# which fails rather than reuse an existing one. Every veth is created with both ends inside those
# namespaces, so nothing appears in, or can collide in, the calling namespace, and no namespace is
# connected to the machine's real network. What was created is recorded in
# $P2PSIP_TOPOLOGY_STATE_DIR/NAME (default /run/p2psip-topology/NAME), right after each creation
# succeeds; `down` deletes exactly the namespaces recorded there (the veths, bridges and nftables
# rules die with them) and the state directory, after stopping the processes still running in them.
# Needs root, iproute2 and nftables.

: "${P2PSIP_TOPOLOGY_STATE_DIR:=/run/p2psip-topology}"

_topo_err() { echo "topology: $*" >&2; }

_topo_valid_name() { [[ "$1" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$ ]]; }
# Host names also name a bridge port ("to-HOST", at most 15 characters) in the namespace they plug
# into.
_topo_valid_host() { [[ "$1" =~ ^[a-z0-9][a-z0-9_]{0,11}$ ]] && [ "$1" != inet ]; }

_topo_state() { echo "$P2PSIP_TOPOLOGY_STATE_DIR/$1"; }

# _topo_netns_add STATE NS: creates namespace NS (fails if it exists) and records it.
_topo_netns_add() {
  local state="$1" ns="$2"
  ip netns add "$ns" || return 1
  echo "netns $ns" >>"$state/created"
  ip -n "$ns" link set lo up || return 1
  # IPv4 only: no IPv6 link-local chatter, no DAD delays.
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
    >/dev/null 2>&1 || true
}

# _topo_plug BRIDGE_NS BRIDGE HOST HOST_NS IFNAME ADDR/LEN [GATEWAY]: a veth from HOST_NS (IFNAME,
# with ADDR) to port to-HOST of BRIDGE in BRIDGE_NS. Both ends are created inside the namespaces.
_topo_plug() {
  local bns="$1" br="$2" host="$3" hns="$4" ifname="$5" addr="$6" gw="${7:-}"
  ip -n "$bns" link add "to-$host" type veth peer name "$ifname" netns "$hns" || return 1
  ip -n "$bns" link set "to-$host" master "$br" up || return 1
  ip -n "$hns" addr add "$addr" dev "$ifname" || return 1
  ip -n "$hns" link set "$ifname" up || return 1
  if [ -n "$gw" ]; then ip -n "$hns" route add default via "$gw" || return 1; fi
}

# _topo_nat_rules TYPE: the nftables ruleset of a NAT router of TYPE ("wan": public side, "lan":
# private side). Filtering is the same for every type except full cone: stateful, so only packets
# of flows that an inside host started (conntrack: same inside addr:port, same outside addr:port)
# come in; anything unsolicited, to the router itself or to be forwarded, is dropped.
_topo_nat_rules() {
  local type="$1" mapping
  case "$type" in
    symmetric) mapping='oifname "wan" masquerade random' ;;
    port-restricted | full-cone) mapping='oifname "wan" masquerade persistent' ;;
    *) return 1 ;;
  esac
  cat <<EOF
table ip p2psip_nat {
EOF
  if [ "$type" = full-cone ]; then
    cat <<'EOF'
  # Endpoint-independent filtering (UDP): every mapping an inside host made is recorded here, and
  # anything arriving at the mapped public port is sent to that inside addr:port, whoever sends it.
  map fullcone {
    type inet_service : ipv4_addr . inet_service
    flags dynamic,timeout
    timeout 120s
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" dnat ip to udp dport map @fullcone
  }
  chain record {
    type filter hook postrouting priority srcnat + 10; policy accept;
    oifname "wan" ct direction original meta l4proto udp update @fullcone { ct reply proto-dst : ct original ip saddr . ct original proto-src }
  }
EOF
  fi
  cat <<EOF
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    $mapping
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan" oifname "wan" accept
EOF
  if [ "$type" = full-cone ]; then
    echo '    iifname "wan" oifname "lan" ct status dnat accept'
  fi
  cat <<'EOF'
  }
  chain input {
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state established,related accept
    iifname "lan" accept
  }
}
EOF
}

_topo_nat_type() {
  case "$1" in
    symmetric | sym) echo symmetric ;;
    port-restricted | prc | port-restricted-cone) echo port-restricted ;;
    full-cone | cone | fullcone) echo full-cone ;;
    *) return 1 ;;
  esac
}

# topo_up NAME SPEC...: builds the topology; on any failure removes what it had created.
topo_up() {
  local name="${1:-}"
  shift || true
  if ! _topo_valid_name "$name" || [ $# -eq 0 ]; then
    _topo_err "usage: up NAME SPEC... (NAME: [A-Za-z0-9_.-], at most 32 characters)"
    return 2
  fi
  local tool
  for tool in ip nft; do
    command -v "$tool" >/dev/null 2>&1 || { _topo_err "$tool not found (scripts/install-deps.sh)"; return 1; }
  done
  # Validate the whole spec before creating anything.
  local spec fields type hosts h
  local -A seen=()
  local -a publics=() routers=() rtypes=() rhosts=()
  for spec in "$@"; do
    IFS=: read -r -a fields <<<"$spec"
    case "${fields[0]}" in
      public)
        [ "${#fields[@]}" -eq 2 ] || { _topo_err "bad spec '$spec' (public:HOST)"; return 2; }
        publics+=("${fields[1]}")
        hosts="${fields[1]}"
        ;;
      nat)
        if [ "${#fields[@]}" -lt 3 ] || [ "${#fields[@]}" -gt 4 ]; then
          _topo_err "bad spec '$spec' (nat:ROUTER:TYPE[:HOST[,HOST...]])"
          return 2
        fi
        type="$(_topo_nat_type "${fields[2]}")" || { _topo_err "unknown NAT type '${fields[2]}'"; return 2; }
        routers+=("${fields[1]}")
        rtypes+=("$type")
        rhosts+=("${fields[3]:-}")
        hosts="${fields[1]} ${fields[3]:-}"
        hosts="${hosts//,/ }"
        local -a behind=()
        IFS=, read -r -a behind <<<"${fields[3]:-}"
        [ "${#behind[@]}" -le 200 ] || { _topo_err "at most 200 hosts behind one NAT"; return 2; }
        ;;
      *)
        _topo_err "bad spec '$spec'"
        return 2
        ;;
    esac
    for h in $hosts; do
      _topo_valid_host "$h" || { _topo_err "bad host name '$h' ([a-z0-9_], at most 12, not 'inet')"; return 2; }
      [ -z "${seen[$h]:-}" ] || { _topo_err "host '$h' named twice"; return 2; }
      seen[$h]=1
    done
  done
  [ "${#publics[@]}" -le 89 ] || { _topo_err "at most 89 public hosts"; return 2; }
  [ "${#routers[@]}" -le 99 ] || { _topo_err "at most 99 NAT routers"; return 2; }

  local state
  state="$(_topo_state "$name")"
  mkdir -p "$P2PSIP_TOPOLOGY_STATE_DIR" || return 1
  # mkdir is atomic: two `up` of the same NAME cannot both proceed.
  if ! mkdir "$state" 2>/dev/null; then
    _topo_err "topology '$name' already exists ($state); run: down $name"
    return 1
  fi
  : >"$state/created"
  : >"$state/hosts"
  if ! _topo_build "$name" "$state"; then
    _topo_err "building '$name' failed; removing what was created"
    topo_down "$name" >/dev/null
    return 1
  fi
  echo "topology $name is up"
  topo_hosts "$name"
}

# Uses publics, routers, rtypes, rhosts of topo_up.
_topo_build() {
  local name="$1" state="$2" inet="$1-inet" i j k ns rns h addr wan lan
  _topo_netns_add "$state" "$inet" || return 1
  ip -n "$inet" link add pub type bridge || return 1
  ip -n "$inet" addr add 198.18.0.1/24 dev pub || return 1
  ip -n "$inet" link set pub up || return 1
  echo "inet segment $inet 198.18.0.1 - -" >>"$state/hosts"

  for ((i = 0; i < ${#publics[@]}; i++)); do
    h="${publics[$i]}"
    ns="$name-$h"
    addr="198.18.0.$((11 + i))"
    _topo_netns_add "$state" "$ns" || return 1
    _topo_plug "$inet" pub "$h" "$ns" eth0 "$addr/24" 198.18.0.1 || return 1
    echo "$h public $ns $addr 198.18.0.1 -" >>"$state/hosts"
  done

  for ((j = 0; j < ${#routers[@]}; j++)); do
    h="${routers[$j]}"
    rns="$name-$h"
    wan="198.18.0.$((101 + j))"
    lan="198.19.$((1 + j)).1"
    _topo_netns_add "$state" "$rns" || return 1
    _topo_plug "$inet" pub "$h" "$rns" wan "$wan/24" 198.18.0.1 || return 1
    ip -n "$rns" link add lan type bridge || return 1
    ip -n "$rns" addr add "$lan/24" dev lan || return 1
    ip -n "$rns" link set lan up || return 1
    ip netns exec "$rns" sysctl -qw net.ipv4.ip_forward=1 >/dev/null || return 1
    _topo_nat_rules "${rtypes[$j]}" | ip netns exec "$rns" nft -f - || return 1
    echo "$h nat-${rtypes[$j]} $rns $wan 198.18.0.1 -" >>"$state/hosts"
    k=0
    for h in ${rhosts[$j]//,/ }; do
      ns="$name-$h"
      addr="198.19.$((1 + j)).$((11 + k))"
      _topo_netns_add "$state" "$ns" || return 1
      _topo_plug "$rns" lan "$h" "$ns" eth0 "$addr/24" "$lan" || return 1
      echo "$h private $ns $addr $lan ${routers[$j]}" >>"$state/hosts"
      k=$((k + 1))
    done
  done
}

# topo_down NAME: stops the processes in NAME's recorded namespaces, deletes those namespaces, then
# the state directory. Touches nothing that is not recorded in the state file.
topo_down() {
  local name="${1:-}" state kind ns pid i
  _topo_valid_name "$name" || { _topo_err "usage: down NAME"; return 2; }
  state="$(_topo_state "$name")"
  [ -d "$state" ] || { _topo_err "no topology '$name' ($state)"; return 1; }
  local -a nss=()
  if [ -f "$state/created" ]; then
    while read -r kind ns; do
      [ "$kind" = netns ] && [ -n "$ns" ] && nss+=("$ns")
    done <"$state/created"
  fi
  local -a pids=()
  for ns in "${nss[@]}"; do
    [ -e "/run/netns/$ns" ] || continue
    while read -r pid; do [ -n "$pid" ] && pids+=("$pid"); done < <(ip netns pids "$ns" 2>/dev/null)
  done
  if [ "${#pids[@]}" -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do # at most 5 s for them to exit
      local alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
  fi
  local rc=0
  for ((i = ${#nss[@]} - 1; i >= 0; i--)); do
    ns="${nss[$i]}"
    [ -e "/run/netns/$ns" ] || continue
    ip netns del "$ns" || rc=1
  done
  if [ $rc = 0 ]; then
    rm -rf "$state"
    echo "topology $name is down"
  else
    _topo_err "could not delete every namespace of '$name'; state kept in $state"
  fi
  return $rc
}

# _topo_row NAME HOST: HOST's line of the host table.
_topo_row() {
  local state
  state="$(_topo_state "$1")"
  [ -f "$state/hosts" ] || { _topo_err "no topology '$1'"; return 1; }
  awk -v h="$2" '$1 == h { print; found = 1 } END { exit !found }' "$state/hosts" ||
    { _topo_err "no host '$2' in topology '$1'"; return 1; }
}

topo_netns() { local r; r="$(_topo_row "$1" "$2")" && awk '{ print $3 }' <<<"$r"; }
topo_addr() { local r; r="$(_topo_row "$1" "$2")" && awk '{ print $4 }' <<<"$r"; }
topo_public_addr() {
  local r router
  r="$(_topo_row "$1" "$2")" || return 1
  router="$(awk '{ print $6 }' <<<"$r")"
  if [ "$router" = - ]; then awk '{ print $4 }' <<<"$r"; else topo_addr "$1" "$router"; fi
}
topo_hosts() {
  local state
  state="$(_topo_state "$1")"
  [ -f "$state/hosts" ] || { _topo_err "no topology '$1'"; return 1; }
  echo "HOST KIND NETNS ADDR GATEWAY ROUTER"
  grep -v '^inet ' "$state/hosts"
}
topo_list() {
  local d
  for d in "$P2PSIP_TOPOLOGY_STATE_DIR"/*/; do
    [ -f "$d/created" ] && basename "$d"
  done
  return 0
}

# topo_exec NAME HOST CMD...: runs CMD in HOST's namespace.
topo_exec() {
  local ns
  ns="$(topo_netns "$1" "$2")" || return 1
  shift 2
  [ $# -gt 0 ] || { _topo_err "usage: exec NAME HOST CMD..."; return 2; }
  ip netns exec "$ns" "$@"
}

_topo_main() {
  local cmd="${1:-}"
  shift || true
  case "$cmd" in
    up) topo_up "$@" ;;
    down) topo_down "$@" ;;
    exec) topo_exec "$@" ;;
    addr) topo_addr "$@" ;;
    public-addr) topo_public_addr "$@" ;;
    netns) topo_netns "$@" ;;
    hosts) topo_hosts "$@" ;;
    list) topo_list ;;
    rules) _topo_nat_rules "$(_topo_nat_type "${1:-}")" ;; # prints a NAT type's nftables ruleset
    *)
      sed -n '/^# CLI:/,/^# Example:/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      return 2
      ;;
  esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  _topo_main "$@"
  exit $?
fi
