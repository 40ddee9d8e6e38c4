#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Real SIP clients (sipp) against a registrar + stateful proxy (RFC 3261 §10/§16): register,
# re-register, unregister, calls through the proxy (180/200/ACK/BYE along Record-Route, CANCEL
# before answer, 486, 404, re-INVITE), parallel forking with one branch answering and the other
# cancelled, MESSAGE, SUBSCRIBE/NOTIFY, REGISTER and a call over TCP, and — when the server was
# given credentials — digest REGISTER. The same script runs against Kamailio (the reference) and
# against p2psipd.
#
# Usage: registrar_proxy_test.sh SERVER_KIND SERVER [AUTH_CONFIG]
#   kamailio SERVER=kamailio.cfg (bench/kamailio/kamailio.cfg); AUTH_CONFIG=kamailio-auth.cfg
#            (its credentials come from bench/kamailio/dbtext/, or DBTEXT_DIR)
#   p2psipd  SERVER=path of the p2psipd binary; AUTH_CONFIG=a --config file provisioning the
#            credentials below
# With AUTH_CONFIG the server is started a second time with it, and only the digest checks run then.
# The credentials the auth server must know: user carol, password carol-secret, realm p2p.test.
# Environment: KAMAILIO (binary, default kamailio from PATH), SIPP (default sipp), PORT (default
# 5090), KEEP_WORK=1 keeps the work directory (sipp message traces, server log) for a look.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/sip_server.sh"
enter_private_netns "$@"

if [ $# -lt 2 ]; then
  echo "usage: $0 kamailio|p2psipd SERVER_CFG_OR_BINARY [AUTH_CONFIG]" >&2
  exit 2
fi
kind="$1"
server="$(realpath "$2")"
auth_config="${3:-}"
[ -n "$auth_config" ] && auth_config="$(realpath "$auth_config")"
scenarios="$(cd "$here/../scenarios" && pwd)"
sipp_bin="${SIPP:-sipp}"
port="${PORT:-5090}"
proxy="127.0.0.1:$port"
work="$(mktemp -d)"
trap 'stop_all; [ "${KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"; _guard_finish' EXIT

# sipp_run NAME SCENARIO LOCAL_PORT CALLS [sipp args]: one bounded sipp run in the foreground, as a
# client of the proxy; succeeds only when every call of the scenario succeeded.
run_no=0
sipp_run() {
  local name="$1" scenario="$2" lport="$3" calls="$4"
  shift 4
  run_no=$((run_no + 1))
  case "$scenario" in /*) ;; *) scenario="$scenarios/$scenario" ;; esac
  (cd "$work" && timeout 60 "$sipp_bin" -sf "$scenario" "$proxy" -i 127.0.0.1 -p "$lport" \
    -m "$calls" -r 10 -l 10 -timeout 30s -timeout_error -nostdin -trace_err -trace_msg \
    -error_file "$work/$run_no-$name.err" -message_file "$work/$run_no-$name.msg" "$@" \
    >"$work/$run_no-$name.out" 2>&1)
}

# uas_bg NAME SCENARIO LOCAL_PORT CALLS [sipp args]: a sipp callee in the background on LOCAL_PORT
# (UDP, or TCP with -t t1); its PID goes to $uas_pid; uas_ok PID tells whether it handled CALLS calls.
uas_bg() {
  local name="$1" scenario="$2" lport="$3" calls="$4"
  shift 4
  run_no=$((run_no + 1))
  case "$scenario" in /*) ;; *) scenario="$scenarios/$scenario" ;; esac
  start_bg "$work/$run_no-$name.out" timeout 60 "$sipp_bin" -sf "$scenario" -i 127.0.0.1 \
    -p "$lport" -m "$calls" -timeout 30s -timeout_error -nostdin -trace_err -trace_msg \
    -error_file "$work/$run_no-$name.err" -message_file "$work/$run_no-$name.msg" "$@"
  uas_pid="$last_pid"
  case " $* " in *" t1 "*) wait_listening tcp "$lport" 5 ;; *) wait_listening udp "$lport" 5 ;; esac
}
uas_ok() { wait "$1"; }

# register_at USER LOCAL_PORT: binds sip:USER@p2p.test to 127.0.0.1:LOCAL_PORT (the callee then
# listens on that port).
register_at() { sipp_run "register-$1-$2" uac-register-200.xml "$2" 1 -s "$1"; }

# call_case NAME USER UAS_PORT UAS_SCENARIO UAC_SCENARIO CALLS [sipp args]: registers USER at
# UAS_PORT, starts the callee there, runs the caller, and requires both sides to succeed. The sipp
# args (e.g. -t t1 for TCP) go to all three.
call_case() {
  local name="$1" user="$2" uport="$3" uas="$4" uac="$5" calls="$6"
  shift 6
  sipp_run "register-$user-$uport" uac-register-200.xml "$uport" 1 -s "$user" "$@" || return 1
  uas_bg "$name-uas" "$uas" "$uport" "$calls" "$@" || return 1
  local pid="$uas_pid" rc=0
  sipp_run "$name-uac" "$uac" 5200 "$calls" -s "$user" "$@" || rc=1
  uas_ok "$pid" || rc=1
  return $rc
}

# challenged: a plain REGISTER (no credentials) must fail, having got a 401 with a Digest challenge.
challenged() {
  ! sipp_run no-credentials uac-register-200.xml 5122 1 -s carol &&
    grep -q "^SIP/2.0 401 " "$work/$run_no-no-credentials.msg" &&
    grep -qi "^WWW-Authenticate: *Digest " "$work/$run_no-no-credentials.msg"
}

fork_case() {
  register_at forked 5111 && register_at forked 5112 || return 1
  uas_bg fork-answer uas-answer-180-200.xml 5111 1 || return 1
  local answer="$uas_pid" rc=0
  uas_bg fork-cancelled uas-ring-then-487-on-cancel.xml 5112 1 || return 1
  local cancelled="$uas_pid"
  sipp_run fork-uac uac-invite-fork.xml 5200 1 -s forked || rc=1
  uas_ok "$answer" || rc=1
  uas_ok "$cancelled" || rc=1
  return $rc
}

start_server "$kind" "$server" "$proxy"
echo "# $kind on $proxy (pid $server_pid)"

check "REGISTER: 200 lists the new binding" sipp_run register uac-register-200.xml 5100 1 -s alice
check "REGISTER of 20 users, each 200" sipp_run register-many uac-register-200.xml 5101 20 -s user
check "re-REGISTER refreshes the binding (one binding, new expiry)" \
  sipp_run reregister uac-reregister.xml 5102 1 -s refresh
check "unREGISTER (expires=0, then Contact: *) leaves no binding" \
  sipp_run unregister uac-unregister.xml 5103 1 -s gone
check "INVITE to the unregistered AOR gets 404" sipp_run invite-gone uac-invite-404.xml 5200 1 -s gone
check "INVITE to a never-registered AOR gets 404" sipp_run invite-nobody uac-invite-404.xml 5200 1 -s nobody
check "call through the proxy: INVITE/180/200, ACK and BYE along Record-Route (5 calls)" \
  call_case call bob 5104 uas-answer-180-200.xml uac-invite-180-200-ack-bye.xml 5
check "CANCEL before answer: 200 to CANCEL, 487 to INVITE, ACK" \
  call_case cancel carl 5105 uas-ring-then-487-on-cancel.xml uac-invite-cancel-487.xml 1
check "busy callee: 486 relayed and ACKed" call_case busy dave 5106 uas-busy-486.xml uac-invite-486.xml 1
check "re-INVITE in the dialog, then BYE" call_case reinvite erin 5107 uas-reinvite.xml uac-invite-reinvite-bye.xml 1
check "forking: two bindings, one answers, the other is CANCELled (487)" fork_case
check "MESSAGE relayed to the registered UA, 200 back" \
  call_case message frank 5108 uas-message-200.xml uac-message-200.xml 3
check "SUBSCRIBE/NOTIFY through the proxy, NOTIFYs along the route set, unsubscribe" \
  call_case subscribe grace 5109 uas-subscribe-notify.xml uac-subscribe-notify.xml 1
# The same call addressed to sip:USER@127.0.0.1:PORT (the proxy's address) must reach the binding made
# for sip:USER@p2p.test: both name the same domain of this server.
sed 's/@p2p\.test/@[remote_ip]:[remote_port]/g' "$scenarios/uac-invite-180-200-ack-bye.xml" >"$work/uac-invite-ip-domain.xml"
check "call to sip:USER@127.0.0.1:PORT reaches the binding of sip:USER@p2p.test" call_case ip-domain heidi 5110 \
  uas-answer-180-200.xml "$work/uac-invite-ip-domain.xml" 1
check "REGISTER over TCP: 200 lists the new binding" sipp_run register-tcp uac-register-200.xml 5113 1 -s ivan -t t1
check "call over TCP (caller and callee on TCP, the proxy opens the connection to the callee)" \
  call_case call-tcp judy 5114 uas-answer-180-200.xml uac-invite-180-200-ack-bye.xml 2 -t t1
check "the server is still running" kill -0 "$server_pid"
stop_server

if [ -n "$auth_config" ]; then
  start_server "$kind" "$server" "$proxy" "$auth_config"
  echo "# $kind with credentials ($auth_config) on $proxy (pid $server_pid)"
  check "digest: REGISTER without credentials is challenged 401, not bound" challenged
  check "digest: REGISTER answers the 401 and gets 200" \
    sipp_run digest uac-register-digest.xml 5120 1 -s carol -au carol -ap carol-secret -auth_uri p2p.test
  check "digest: a wrong password is refused (401/403)" \
    sipp_run digest-wrong uac-register-digest-wrong.xml 5121 1 -s carol -au carol -ap not-the-password -auth_uri p2p.test
  check "the server with credentials is still running" kill -0 "$server_pid"
  stop_server
else
  echo "# no AUTH_CONFIG given: digest REGISTER not tested"
fi

finish || {
  echo "--- server log (tail)"
  tail -n 30 "$server_log"
  for f in "$work"/*.err; do
    [ -s "$f" ] && { echo "--- $(basename "$f")"; tail -n 20 "$f"; }
  done
  exit 1
}
