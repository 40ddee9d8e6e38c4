#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# p2psipd as an operator runs it: defaults, start-up errors, the control socket and p2psipctl,
# OPTIONS pings from monitoring, the RFC 4475 corpus thrown at the running daemon over UDP and TCP
# (afterwards it must still answer and still hold every binding), and a clean SIGTERM.
# Usage: p2psipd_daemon_test.sh P2PSIPD P2PSIPCTL SCENARIO_DIR TORTURE_DIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
enter_private_netns "$@"

daemon="$(realpath "$1")"
ctl="$(realpath "$2")"
scenarios="$(realpath "$3")"
torture="$(realpath "$4")"
work="$(mktemp -d)"
trap 'stop_all; rm -rf "$work"; _guard_finish' EXIT

# ---- start-up errors: non-zero status and one sentence naming the problem
exits_with_sentence() {  # exits_with_sentence PATTERN ARGS...
  local pattern="$1"
  shift
  timeout 10 "$daemon" --data-dir "$work/bad" "$@" >"$work/bad.out" 2>"$work/bad.err"
  local rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$(wc -l <"$work/bad.err")" -eq 1 ] && grep -q "$pattern" "$work/bad.err"
}
check "a bad --listen exits non-zero with one sentence" exits_with_sentence "udp:, tcp: or tls:" --listen sctp:127.0.0.1:5060
check "an unknown flag exits non-zero" exits_with_sentence "no-such-flag" --no-such-flag
check "a bad --log-level exits non-zero" exits_with_sentence "log-level" --log-level loud
check "an address we do not have exits non-zero naming it" exits_with_sentence "198.18.0.1" --listen udp:198.18.0.1:5060
printf '[sip]\nlisten = [\n' >"$work/broken.toml"
check "a broken config file exits non-zero naming its line" exits_with_sentence "line" --config "$work/broken.toml"

# ---- a running daemon with its defaults plus one domain
port=5060
data="$work/data"
start_bg "$work/daemon.log" "$daemon" --domain p2p.test --data-dir "$data" --log-level debug
pid="$last_pid"
wait_listening udp "$port" && wait_listening tcp "$port" || { cat "$work/daemon.log"; exit 1; }
sleep 0.2
check "the banner says where phones should register" grep -q "register them as sip:USER@p2p.test" "$work/daemon.log"

sipsak_ok() { sipsak "$@" >"$work/sipsak.out" 2>&1 && grep -q "200 OK" "$work/sipsak.out"; }
check "OPTIONS to the peer itself gets 200 over UDP" sipsak_ok -vv -s "sip:127.0.0.1:$port"
check "OPTIONS to the peer itself gets 200 over TCP" sipsak_ok -vv -E tcp -s "sip:127.0.0.1:$port"
check "the 200 lists Allow, Accept and Supported" \
  bash -c "grep -q '^Allow:.*INVITE' '$work/sipsak.out' && grep -q '^Accept:' '$work/sipsak.out' && grep -q '^Supported:' '$work/sipsak.out'"

# Register three users from three ports (the same AOR form as phones would use).
register() {  # register USER PORT TRANSPORT
  (cd "$work" && timeout 20 sipp -sf "$scenarios/uac-register-200.xml" "127.0.0.1:$port" -s "$1" -p "$2" -t "$3" \
    -m 1 -timeout 10s -timeout_error -nostdin >/dev/null 2>&1)
}
check "alice registers over UDP" register alice 5301 u1
check "bob registers over UDP" register bob 5302 u1
check "carol registers over TCP" register carol 5303 t1
bindings() { "$ctl" --control-socket "$data/control.sock" bindings; }
bindings >"$work/bindings.before"
check "p2psipctl bindings lists the three users" \
  bash -c "grep -q '^3 bindings' '$work/bindings.before' && grep -q 'sip:alice@p2p.test' '$work/bindings.before' && grep -q 'sip:carol@p2p.test.*flow=tcp' '$work/bindings.before'"
check "p2psipctl status reports the bindings" bash -c "'$ctl' --control-socket '$data/control.sock' status | grep -q '^bindings: 3'"
check "p2psipctl counters shows parse and transaction counters" \
  bash -c "'$ctl' --control-socket '$data/control.sock' counters | grep -q 'p2psip_transport_parse_errors_total'"
# A peer alone publishes no user records until another peer joins (modules/location), and holds
# its own peer record itself (modules/dht).
"$ctl" --control-socket "$data/control.sock" overlay >"$work/overlay.out"
check "p2psipctl overlay shows the three user records, held by the lone peer" \
  bash -c "grep -q '^user_records: 3$' '$work/overlay.out' && grep -q '^user_records_held: 3$' '$work/overlay.out' && grep -q '^dht_held_values: 1$' '$work/overlay.out'"
check "p2psipctl transactions answers" bash -c "'$ctl' --control-socket '$data/control.sock' transactions | grep -q 'transactions'"
check "p2psipctl refuses an unknown command" bash -c "! '$ctl' --control-socket '$data/control.sock' frobnicate 2>/dev/null"

# ---- bad input: the whole corpus over UDP and TCP
cat >"$work/throw.py" <<'PY'
import os, socket, sys
port, directory = int(sys.argv[1]), sys.argv[2]
for name in sorted(n for n in os.listdir(directory) if n.endswith(".dat")):
    data = open(os.path.join(directory, name), "rb").read()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(data, ("127.0.0.1", port))
    u.close()
    t = socket.create_connection(("127.0.0.1", port), timeout=2)
    t.sendall(data)
    t.settimeout(0.2)
    try:
        t.recv(65535)
    except (socket.timeout, ConnectionResetError):
        pass
    t.close()
print("sent")
PY
check "the RFC 4475 corpus was sent over UDP and TCP" bash -c "python3 '$work/throw.py' $port '$torture' | grep -q sent"
check "the daemon is still running after the corpus" kill -0 "$pid"
check "the daemon still answers OPTIONS after the corpus" sipsak_ok -vv -s "sip:127.0.0.1:$port"
bindings >"$work/bindings.after"
same_bindings() {  # the same AORs and contacts (expiry counts down)
  diff <(sed -E 's/ expires_in=[0-9]+//' "$work/bindings.before" | sort) \
    <(sed -E 's/ expires_in=[0-9]+//' "$work/bindings.after" | sort | grep -v escnull)
}
check "every binding held before the corpus is still held" same_bindings
check "parse errors were counted" \
  bash -c "'$ctl' --control-socket '$data/control.sock' counters | grep -E '^p2psip_transport_parse_errors_total [1-9]'"

# ---- SIGTERM: clean and bounded
kill -TERM "$pid"
stopped() { for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "SIGTERM stops the daemon within 10 s" stopped
wait "$pid"
check "the daemon exits 0 on SIGTERM" test $? -eq 0
check "the control socket is removed on exit" test ! -e "$data/control.sock"
finish || { echo "--- daemon log (tail)"; tail -n 40 "$work/daemon.log"; exit 1; }
