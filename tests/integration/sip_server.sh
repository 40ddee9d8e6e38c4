# SPDX-License-Identifier: Apache-2.0
# Starts the registrar/proxy under test for the real-client tests (registrar_proxy_test.sh,
# baresip_call_test.sh). Source it after lib.sh; do not run it. Needs $work (a scratch directory).
#
# start_server KIND SERVER ADDR:PORT [AUTH_CONFIG]: starts the server on UDP and TCP ADDR:PORT in the
# background (stopped by stop_all) and waits until it listens; its PID is $server_pid, its log
# $server_log. The domains it serves: p2p.test and its own address.
#   kamailio  SERVER = a kamailio.cfg (bench/kamailio/); AUTH_CONFIG = kamailio-auth.cfg, whose
#             credentials are the db_text directory dbtext/ beside it (or $DBTEXT_DIR).
#             Binary: $KAMAILIO or kamailio from PATH.
#   p2psipd   SERVER = the p2psipd binary; AUTH_CONFIG = a --config file with credentials.
start_server() {
  local kind="$1" server="$2" addr="$3" auth="${4:-}"
  local port="${addr##*:}" tag="${kind}${4:+-auth}"
  server_log="$work/server-$tag.log"
  case "$kind" in
    kamailio)
      local args=(-f "$server")
      if [ -n "$auth" ]; then
        rm -rf "$work/dbtext"
        cp -r "${DBTEXT_DIR:-$(dirname "$auth")/dbtext}" "$work/dbtext"
        args=(-f "$auth" -A "DBURL=\"text://$work/dbtext\"")
      fi
      # -DD: stay in the foreground (the workers still fork), -E: log to stderr; -Y: runtime dir
      start_bg "$server_log" "${KAMAILIO:-kamailio}" "${args[@]}" -x tlsf -m 4096 -M 32 -DD -E \
        -A "SIP_ADDR=${addr%:*}" -A "SIP_PORT=$port" -A "LOG_LEVEL=${KAMAILIO_LOG_LEVEL:-2}" -Y "$work"
      ;;
    p2psipd)
      mkdir -p "$work/data-$tag"
      start_bg "$server_log" "$server" --listen "udp:$addr" --listen "tcp:$addr" \
        --domain p2p.test --data-dir "$work/data-$tag" \
        --control-socket "$work/control-$tag.sock" --log-level debug ${auth:+--config "$auth"}
      ;;
    *)
      echo "unknown SERVER_KIND '$kind' (kamailio or p2psipd)" >&2
      exit 2
      ;;
  esac
  server_pid="$last_pid"
  wait_listening udp "$port" && wait_listening tcp "$port" || { cat "$server_log"; exit 1; }
}

# stop_server: stops the server started last (SIGTERM) and waits for it.
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
}
