#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A real softphone call through the registrar/proxy: two headless baresip instances (own config
# directories and ports) register alice and bob, alice calls sip:bob@p2p.test, bob answers by
# itself (answermode=auto). Each side sends a sine tone (ausine: alice 440 Hz, bob 1000 Hz) and
# records what it hears (sndfile); the dominant frequency of each recording must be the far side's
# tone. With Kamailio only signalling goes through the server and RTP flows directly between the two;
# p2psipd anchors the media in its relay (the default --media relay), which the test checks from its
# counters, and it must give every relay port back after the BYE.
# Usage: baresip_call_test.sh SERVER_KIND SERVER   (kamailio kamailio.cfg | p2psipd BINARY)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
source "$here/sip_server.sh"
enter_private_netns "$@"

if [ $# -lt 2 ]; then
  echo "usage: $0 kamailio|p2psipd SERVER_CFG_OR_BINARY" >&2
  exit 2
fi
kind="$1"
server="$(realpath "$2")"
port="${PORT:-5090}"
proxy="127.0.0.1:$port"
work="$(mktemp -d)"
trap 'stop_all; [ "${KEEP_WORK:-0}" = 1 ] && echo "work directory kept: $work" || rm -rf "$work"; _guard_finish' EXIT
command -v baresip >/dev/null || { echo "SKIP: baresip is not installed"; exit 77; }

# baresip_config NAME SIP_PORT TONE_HZ RTP_PORTS ANSWERMODE: a config directory $work/NAME.
# Headless: no UI module, ausine as the source, aubridge to a device nobody reads as the player
# (a sink), sndfile dumping both directions to $work/NAME/rec. TLS takes SIP_PORT+1, so keep ports
# apart. dns_server points at loopback, where nothing answers: every address here is literal.
baresip_config() {
  local name="$1" sip_port="$2" tone="$3" rtp="$4" answermode="$5" dir="$work/$1"
  mkdir -p "$dir/rec"
  cat >"$dir/config" <<EOF
poll_method		epoll
sip_listen		127.0.0.1:$sip_port
net_interface		127.0.0.1
dns_server		127.0.0.1:53
call_local_timeout	30
audio_player		aubridge,nowhere
audio_alert		aubridge,nowhere
audio_source		ausine,$tone
ausrc_srate		48000
ausrc_channels		2
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
audio_buffer		20-160
rtp_ports		$rtp
module_path		/usr/lib/baresip/modules
module			g711.so
module			ausine.so
module			aubridge.so
module			sndfile.so
module_tmp		account.so
module_app		menu.so
snd_path		$dir/rec
EOF
  echo "<sip:$name@p2p.test>;outbound=\"sip:$proxy\";regint=600;answermode=$answermode;audio_codecs=PCMU;medianat=;mediaenc=" \
    >"$dir/accounts"
}

# wait_for FILE REGEX SECONDS: waits until FILE has a line matching REGEX.
wait_for() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# The dominant frequency of a 16-bit PCM WAV, by a Goertzel scan (pure python: no numpy here).
cat >"$work/tone.py" <<'PY'
import math, struct, sys, wave
path, expected = sys.argv[1], float(sys.argv[2])
with wave.open(path) as w:
    rate, width, channels, n = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.getnframes()
    raw = w.readframes(n)
assert width == 2, f"{path}: {width * 8}-bit samples, expected 16"
samples = struct.unpack(f"<{len(raw) // 2}h", raw)[::channels]
# the audio starts after some silence: take 0.5 s from the middle of the non-silent part
loud = [i for i, s in enumerate(samples) if abs(s) > 300]
if len(loud) < rate:
    print(f"{path}: only {len(loud)} non-silent samples ({len(samples)} in all)")
    sys.exit(1)
mid = (loud[0] + loud[-1]) // 2
seg = samples[mid - rate // 4: mid + rate // 4]
energy = sum(x * x for x in seg)
def goertzel(f):
    k = 2 * math.cos(2 * math.pi * f / rate)
    s1 = s2 = 0.0
    for x in seg:
        s1, s2 = x + k * s1 - s2, s1
    return (s1 * s1 + s2 * s2 - k * s1 * s2) * 2 / len(seg)  # ~ energy of that sinusoid
best = max(range(100, int(rate / 2) - 100, 10), key=goertzel)
best = max((best + d for d in range(-9, 10)), key=goertzel)
share = goertzel(best) / energy if energy else 0
print(f"{path}: {len(samples) / rate:.1f} s at {rate} Hz, dominant {best} Hz (expected {expected:g}), "
      f"{share:.0%} of the energy")
sys.exit(0 if abs(best - expected) <= 15 and share > 0.5 else 1)
PY

start_server "$kind" "$server" "$proxy"
echo "# $kind on $proxy (pid $server_pid)"
baresip_config alice 5210 440 10000-10019 manual
baresip_config bob 5220 1000 10020-10039 auto

# bob first, registered before alice dials; both bounded by -t and by timeout
start_bg "$work/bob.log" timeout 60 baresip -f "$work/bob" -t 45
bob_pid="$last_pid"
check "bob registers through baresip (200 OK)" wait_for "$work/bob.log" "bob@p2p.test: .* 200 OK" 10
# alice hangs up (and quits) after 8 s: the BYE goes through the proxy to bob
start_bg "$work/alice.log" timeout 60 baresip -f "$work/alice" -t 8 -e "/dial sip:bob@p2p.test"
alice_pid="$last_pid"
check "alice registers through baresip (200 OK)" wait_for "$work/alice.log" "alice@p2p.test: .* 200 OK" 10
check "alice's call is established" wait_for "$work/alice.log" "Call established: sip:bob@p2p.test" 15
check "bob answered by itself" wait_for "$work/bob.log" "Call established: sip:alice@p2p.test" 5
if [ "$kind" = p2psipd ]; then
  ctl() { "$(dirname "$server")/p2psipctl" --control-socket "$work/control-p2psipd.sock" "$@"; }
  sleep 2
  ctl streams >"$work/streams.txt"
  check "p2psipctl streams shows the call's audio stream in the relay" \
    grep -qE "^call-id=.* m=0 audio confirmed .*a_to_b_packets=[1-9]" "$work/streams.txt"
fi
check "alice quits after her call (-t 8)" wait "$alice_pid"
check "bob sees the call end (BYE through the proxy)" wait_for "$work/bob.log" \
  "Call with sip:alice@p2p.test terminated" 10
kill -TERM "$bob_pid" 2>/dev/null
wait "$bob_pid" 2>/dev/null
check "the server is still running" kill -0 "$server_pid"
if [ "$kind" = p2psipd ]; then
  ctl counters >"$work/counters.txt"
  # 6 s or more of 20 ms PCMU frames each way went through the relay.
  check "the relay forwarded the call's RTP (p2psip_media_packets_forwarded_total >= 400)" \
    awk '$1 == "p2psip_media_packets_forwarded_total" && $2 >= 400 { ok = 1 } END { exit !ok }' \
    "$work/counters.txt"
  check "no relay stream is left after the BYE" \
    bash -c "'$(dirname "$server")/p2psipctl' --control-socket '$work/control-p2psipd.sock' status |
      grep -q '^relay_streams: 0$'"
fi

bob_heard="$(ls "$work"/bob/rec/dump-*-dec.wav 2>/dev/null | head -n 1)"
alice_heard="$(ls "$work"/alice/rec/dump-*-dec.wav 2>/dev/null | head -n 1)"
check "bob's recording of alice is a 440 Hz tone" python3 "$work/tone.py" "${bob_heard:-/missing}" 440
check "alice's recording of bob is a 1000 Hz tone" python3 "$work/tone.py" "${alice_heard:-/missing}" 1000

finish || {
  echo "--- server log (tail)"; tail -n 20 "$server_log"
  for who in alice bob; do
    echo "--- $who log (tail)"; tr '\r' '\n' <"$work/$who.log" | grep -v 'audio=' | tail -n 25
  done
  exit 1
}
