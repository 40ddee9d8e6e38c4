#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real SIP clients (sipsak, sipp) against the SIP core's OPTIONS listener, over UDP and TCP,
# plus the RFC 4475 torture corpus thrown at the running listener, which must keep answering.
# Usage: options_listener_test.sh LISTENER_BINARY SCENARIO_DIR TORTURE_DIR
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
enter_private_netns "$@"

listener="$1"
scenarios="$2"
torture="$3"
work="$(mktemp -d)"
trap 'stop_all; rm -rf "$work"; _guard_finish' EXIT
port=5070

start_bg "$work/listener.log" "$listener" --listen "udp:127.0.0.1:$port" --listen "tcp:127.0.0.1:$port" \
  --listen "udp:[::1]:$port" --log-level debug
pid="$last_pid"
wait_listening udp "$port" && wait_listening tcp "$port" || { cat "$work/listener.log"; exit 1; }

sipsak_ok() {  # sipsak exits 0 only when it received a 200
  sipsak "$@" >"$work/sipsak.out" 2>&1 && grep -q "200 OK" "$work/sipsak.out"
}
check "sipsak OPTIONS over UDP gets 200" sipsak_ok -vv -s "sip:ping@127.0.0.1:$port"
check "sipsak OPTIONS over TCP gets 200" sipsak_ok -vv -E tcp -s "sip:ping@127.0.0.1:$port"


sipp_ok() {  # sipp_ok SCENARIO TRANSPORT CALLS ADDR [extra]: all calls succeed
  local scenario="$1" transport="$2" calls="$3" addr="$4"
  shift 4
  (cd "$work" && timeout 60 sipp -sf "$scenarios/$scenario" "$addr" -t "$transport" -m "$calls" -r 200 -l 50 \
    -timeout 30s -timeout_error -nostdin "$@" >"$work/sipp.out" 2>&1)
}
check "sipp: 500 OPTIONS over UDP all get 200 with Allow" sipp_ok uac-options-200.xml u1 500 "127.0.0.1:$port"
check "sipp: 500 OPTIONS over one TCP connection all get 200" sipp_ok uac-options-200.xml t1 500 "127.0.0.1:$port"
check "sipp: OPTIONS over UDP on ::1 gets 200" sipp_ok uac-options-200.xml u1 20 "[::1]:$port" -i ::1
check "sipp: an unknown method gets 501" sipp_ok uac-unknown-method-501.xml u1 20 "127.0.0.1:$port"

# Every RFC 4475 message over UDP and over TCP: the listener must neither crash nor stop answering,
# and the answerable invalid requests get a 4xx/5xx naming the problem.
cat >"$work/throw.py" <<'PY'
import os, socket, sys
# Each message goes out twice over UDP: as published (robustness), then with a top Via naming this
# socket with rport, so the answer comes back here (the published Vias name unreachable hosts,
# RFC 3261 §18.2.2). Over TCP the answer comes back on the connection whatever the Via says. TCP
# goes first: the UDP copies reuse its branch, so §17.2.3 matches them as retransmissions.
port, directory = int(sys.argv[1]), sys.argv[2]
def first_line(data):
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace") if data else "(no answer)"
for i, name in enumerate(sorted(n for n in os.listdir(directory) if n.endswith(".dat"))):
    data = open(os.path.join(directory, name), "rb").read()
    t = socket.create_connection(("127.0.0.1", port), timeout=2)
    t.sendall(data)
    t.settimeout(0.3)
    try:
        tcp = t.recv(65535)
    except (socket.timeout, ConnectionResetError):
        tcp = b""
    t.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    u.settimeout(0.3)
    u.sendto(data, ("127.0.0.1", port))
    udp = b""
    if not data.startswith(b"SIP/"):
        eol = data.find(b"\n") + 1
        via = b"Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-throw-%d;rport\r\n" % (u.getsockname()[1], i)
        u.sendto(data[:eol] + via + data[eol:], ("127.0.0.1", port))
        try:
            while True:  # the first send may have drawn an answer to a reachable Via too
                udp = u.recv(65535)
                if b"z9hG4bK-throw-" in udp:
                    break
        except socket.timeout:
            udp = b""
    u.close()
    print(f"{name}: udp={first_line(udp)} | tcp={first_line(tcp)}")
PY
python3 "$work/throw.py" "$port" "$torture" >"$work/torture.out" 2>&1
answered() { grep -q "^$1: udp=SIP/2.0 $2 " "$work/torture.out"; }
check "torture: badvers.dat answered 505" answered badvers.dat 505
check "torture: mismatch02.dat answered 501" answered mismatch02.dat 501
check "torture: scalar02.dat answered 400 naming CSeq" grep -q "^scalar02.dat: udp=SIP/2.0 400 .*CSeq" "$work/torture.out"
check "torture: badinv01.dat answered 400 naming Via" grep -q "^badinv01.dat: udp=SIP/2.0 400 .*Via" "$work/torture.out"
check "torture: zeromf.dat OPTIONS answered 200" answered zeromf.dat 200
check "torture: ncl.dat over TCP answered 400 (framing lost)" grep -q "^ncl.dat: .*tcp=SIP/2.0 400 " "$work/torture.out"
check "torture: unkscm.dat answered 416" answered unkscm.dat 416
check "torture: bigcode.dat (a response) never answered" grep -q "^bigcode.dat: udp=(no answer) | tcp=(no answer)" "$work/torture.out"
check "listener still running after the corpus" kill -0 "$pid"
check "listener still answers OPTIONS after the corpus" sipsak_ok -vv -s "sip:ping@127.0.0.1:$port"

kill -TERM "$pid"
stopped() { for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "SIGTERM stops the listener within 5 s" stopped
wait "$pid"
check "the listener exits 0 on SIGTERM" test $? -eq 0
echo "--- torture answers"; sed "s/^/    /" "$work/torture.out"
finish || { echo "--- listener log (tail)"; tail -n 30 "$work/listener.log"; exit 1; }
