#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Registrar/proxy benchmark: REGISTER/s, clean calls/s and server CPU per operation, for Kamailio
# (the reference) and p2psipd, with sipp-to-sipp (no proxy) as the ceiling. See bench/README.md.
#
# Usage: bench/registrar_proxy_bench.sh [options] SERVER...
#   SERVER: kamailio[=CFG]  (default CFG bench/kamailio/kamailio.cfg; binary $KAMAILIO or kamailio)
#           p2psipd=BINARY
#           p2psipd-pair=BINARY  two p2psipd peers in one overlay: callers use peer A (the port),
#                                the callee is registered at peer B (port + 2), so every call
#                                crosses a TLS peer link; CPU is both peers' (the same workload
#                                as the single server, calls between phones on different peers)
#   --step-seconds N   length of one call-rate step (default 10)
#   --max-steps N      call-rate steps per server: doubling, then bisection (default 10)
#   --start-rate N     first call rate, calls/s (default 200)
#   --budget-seconds N time budget of the whole run, shared equally by the servers: no new call-rate
#                      step starts once a server used its share (default 360; an overloaded step
#                      is cut short 10 % + 3 s past its length)
#   --max-rate N       never offer more than this (default 12800)
#   --users N          distinct users registered for the REGISTER rate (default 10000)
#   --reg-passes N     refresh passes over those users after the first (default 4)
#   --no-direct        skip the sipp-to-sipp ceiling
#   --port N           server port (default 5060)
#   --keep DIR         keep the sipp statistics and logs in DIR
#   --no-restart       after a step that is not clean, wait for the server to settle (at most 40 s)
#                      instead of starting it again (the default: each step starts from a healthy
#                      server, whatever an earlier overload left behind)
# Everything runs in a private network namespace (only lo); every sipp run is bounded in calls and
# time; the whole run stops stepping after --budget-seconds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "${P2PSIP_IN_NETNS:-}" != 1 ]; then
  if ! unshare -n true 2>/dev/null; then
    echo "needs root for unshare -n (private network namespace)" >&2
    exit 77
  fi
  exec unshare -n env P2PSIP_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
exec python3 - "$here" "$@" <<'PY'
import argparse, csv, os, shutil, signal, subprocess, sys, tempfile, time

here = sys.argv[1]
repo = os.path.dirname(here)
scenarios = os.path.join(repo, "tests", "scenarios")
ap = argparse.ArgumentParser(prog="registrar_proxy_bench.sh")
ap.add_argument("servers", nargs="*", default=["kamailio"])
ap.add_argument("--step-seconds", type=float, default=10)
ap.add_argument("--max-steps", type=int, default=10)
ap.add_argument("--start-rate", type=int, default=200)
ap.add_argument("--budget-seconds", type=float, default=360)
ap.add_argument("--max-rate", type=int, default=12800)
ap.add_argument("--users", type=int, default=10000)
ap.add_argument("--reg-passes", type=int, default=4)
ap.add_argument("--no-direct", action="store_true")
ap.add_argument("--port", type=int, default=5060)
ap.add_argument("--keep", default=None)
ap.add_argument("--no-restart", action="store_true")
args = ap.parse_args(sys.argv[2:])

SIPP = os.environ.get("SIPP", "sipp")
NS = 1e9  # CPU times are in nanoseconds (tree_cpu_ns)
UAS_PORT, UAC_PORT, REG_PORT = 5300, 5301, 5302
work = args.keep or tempfile.mkdtemp(prefix="p2psip-bench-")
os.makedirs(work, exist_ok=True)
started = []  # every process we start, stopped by PID at the end


def log(msg):
    print(msg, flush=True)


def start(cmd, logname):
    f = open(os.path.join(work, logname), "w")
    # Its own process group: stop() can then end whatever it started (`timeout` and its sipp), and
    # nothing else.
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=work, start_new_session=True)
    started.append(p)
    return p


def stop(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    # A sipp that outlived its `timeout` wrapper (killed above) would keep its port and spoil the
    # next step: end the rest of the group this process started.
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def listening(port, proto="u"):
    out = subprocess.run(["ss", f"-l{proto}nH", f"sport = :{port}"], capture_output=True, text=True).stdout
    return bool(out.strip())


def wait_listening(port, proto="u", limit=10.0):
    end = time.time() + limit
    while time.time() < end:
        if listening(port, proto):
            return True
        time.sleep(0.05)
    return False


def task_cpu_ns(pid):
    """CPU time (ns) of every thread of pid, from /proc/PID/task/TID/schedstat. Nanoseconds, not the
    10 ms clock ticks of /proc/PID/stat: 10,000 REGISTERs at 15 us each are only 15 ticks."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def tree_cpu_ns(pid):
    """CPU time (ns) of pid and all its descendants (Kamailio forks its workers), every thread;
    with a list of pids, the sum over all of them."""
    if isinstance(pid, list):
        return sum(tree_cpu_ns(p) for p in pid)
    parents = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        parents[int(d)] = int(s[s.rindex(")") + 2:].split()[1])  # ppid
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen or p not in parents:
            continue
        seen.add(p)
        total += task_cpu_ns(p)
        todo.extend(c for c, pp in parents.items() if pp == p)
    return total


def sipp_stats(path):
    """Last line of a sipp -trace_stat CSV as a dict."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    head, last = rows[0], rows[-1]
    return {h: v for h, v in zip(head, last)}


def num(stats, key):
    try:
        return int(float(stats.get(key, "0") or 0))
    except ValueError:
        return 0


def sipp(name, scenario, remote, port, calls, rate, limit, time_limit, extra=(), deadline=None):
    """One bounded sipp run; returns (stats dict, wall seconds, exit code). Past `deadline` seconds
    the run is cut short (SIGTERM to that sipp): the offered rate was not sustained anyway."""
    stf = os.path.join(work, f"{name}.csv")
    cmd = ["timeout", "-k", "3", str(int(time_limit) + 5), SIPP, "-sf", scenario] + ([remote] if remote else []) + [
        "-i", "127.0.0.1", "-p", str(port), "-m", str(calls), "-r", str(rate), "-rp", "1000",
        "-l", str(limit), "-nostdin", "-timeout", f"{int(time_limit)}s", "-buff_size", "4194304",
        "-trace_stat", "-stf", stf, "-fd", "1", "-trace_err", "-error_file", os.path.join(work, f"{name}.err"),
        "-max_recv_loops", "10000", "-max_sched_loops", "10000"] + list(extra)
    t0 = time.time()
    p = start(cmd, f"{name}.out")
    while p.poll() is None:
        if deadline is not None and time.time() - t0 > deadline:
            time.sleep(1.2)  # one more -fd 1 statistics dump
            stop(p, 5)
            break
        time.sleep(0.1)
    wall = time.time() - t0
    stats = sipp_stats(stf) if os.path.exists(stf) else {}
    return stats, wall, p.returncode


def uas_bg(name, scenario, port, calls, time_limit):
    stf = os.path.join(work, f"{name}.csv")
    cmd = ["timeout", "-k", "3", str(int(time_limit) + 5), SIPP, "-sf", scenario, "-i", "127.0.0.1", "-p", str(port),
           "-m", str(calls), "-nostdin", "-timeout", f"{int(time_limit)}s", "-buff_size", "4194304",
           "-trace_stat", "-stf", stf, "-fd", "1", "-trace_err", "-error_file", os.path.join(work, f"{name}.err"),
           "-max_recv_loops", "10000", "-max_sched_loops", "10000"]
    p = start(cmd, f"{name}.out")
    if not wait_listening(port):
        raise RuntimeError(f"{name}: sipp does not listen on {port}")
    return p, stf


# Scenario variants for the benchmark, derived from the test scenarios so the client is the same:
# the caller does not insist on a Record-Route (absent without a proxy).
def derived(src, dst, edit):
    with open(os.path.join(scenarios, src)) as f:
        text = f.read()
    text = edit(text)
    path = os.path.join(work, dst)
    with open(path, "w") as f:
        f.write(text)
    return path

uac_call = derived("uac-invite-180-200-ack-bye.xml", "bench-uac-call.xml",
                   lambda t: t.replace('check_it="true" assign_to="rr"', 'assign_to="rr"'))
uas_call = os.path.join(scenarios, "uas-answer-180-200.xml")
reg_field0 = os.path.join(scenarios, "uac-register-field0.xml")
reg_one = os.path.join(scenarios, "uac-register-200.xml")
uas_reg = derived("uas-message-200.xml", "bench-uas-register-200.xml", lambda t: t
                  .replace('<recv request="MESSAGE">', '<recv request="REGISTER">')
                  .replace('search_in="body"', 'search_in="hdr" header="Contact:"')
                  .replace('^hello bob, this is p2psip message [0-9]+', 'sip:')
                  .replace('regexp="text/plain" search_in="hdr" header="Content-Type:"',
                           'regexp="REGISTER" search_in="hdr" header="CSeq:"')
                  .replace('[last_CSeq:]\n', '[last_CSeq:]\n      [last_Contact:];expires=3600\n', 1)
                  .replace('  <timewait milliseconds="500"/>\n', ''))

users_csv = os.path.join(work, "users.csv")
with open(users_csv, "w") as f:
    f.write("SEQUENTIAL\n")
    for i in range(args.users):
        f.write(f"bench{i:05d}\n")


def start_server(kind, path):
    port = args.port
    if kind == "kamailio":
        cfg = path or os.path.join(here, "kamailio", "kamailio.cfg")
        cmd = [os.environ.get("KAMAILIO", "kamailio"), "-f", cfg, "-x", "tlsf", "-m", "4096", "-M", "32",
               "-DD", "-E", "-A", f"SIP_PORT={port}", "-A", "LOG_LEVEL=1", "-Y", work]
    elif kind == "p2psipd-pair":
        procs = []
        for name, sip_port, peer_port, dht_port, boot in (("a", port, 5071, 4222, []),
                                                          ("b", port + 2, 5072, 4223,
                                                           ["--bootstrap", "127.0.0.1:4222"])):
            data = os.path.join(work, f"pair-{name}-data")
            os.makedirs(data, exist_ok=True)
            cmd = [path, "--listen", f"udp:127.0.0.1:{sip_port}", "--domain", "p2p.test",
                   "--peer-listen", f"127.0.0.1:{peer_port}", "--dht-port", str(dht_port),
                   "--data-dir", data, "--control-socket", os.path.join(work, f"pair-{name}.sock"),
                   "--log-level", "warn", "--media", "direct"] + boot
            procs.append(start(cmd, f"pair-{name}.log"))
            if not wait_listening(sip_port):
                for p in procs:
                    stop(p)
                raise SystemExit(f"p2psipd peer {name} does not listen on udp {sip_port}")
        time.sleep(2.0)  # the two DHT nodes find each other
        return procs
    elif kind == "p2psipd":
        data = os.path.join(work, "p2psipd-data")
        os.makedirs(data, exist_ok=True)
        cmd = [path, "--listen", f"udp:127.0.0.1:{port}", "--listen", f"tcp:127.0.0.1:{port}",
               "--domain", "p2p.test", "--data-dir", data,
               "--control-socket", os.path.join(work, "p2psipd.sock"), "--log-level", "warn",
               "--media", "direct"]
    else:
        raise SystemExit(f"unknown server kind {kind}")
    p = start(cmd, f"{kind}.log")
    if not wait_listening(port):
        stop(p)
        raise SystemExit(f"{kind} does not listen on udp {port}; see {work}/{kind}.log")
    time.sleep(0.5)
    return [p]


idle_cpu_s_per_s = 0.0


def measure_idle(server_pid, seconds=3.0):
    """CPU seconds per second the server burns with no traffic (timers, keepalives)."""
    c0, t0 = tree_cpu_ns(server_pid), time.time()
    time.sleep(seconds)
    return (tree_cpu_ns(server_pid) - c0) / NS / (time.time() - t0)


def measure_register(label, remote, server_pid):
    """REGISTER rate: the users once each (new bindings), then --reg-passes more passes over them
    (refreshes: same AOR and Contact, new Call-ID), each as fast as sipp and the server go with at
    most 500 transactions outstanding. REGISTER/s and CPU per REGISTER are over all passes."""
    n = args.users
    total_ok = total_failed = total_retrans = 0
    total_wall = total_cpu = 0.0
    for phase, count in (("new", n), ("refresh", n * args.reg_passes)):
        if count == 0:
            continue
        ctl = None
        target = remote
        if remote is None:  # ceiling: a sipp that answers 200 to every REGISTER
            ctl, _ = uas_bg(f"{label}-reg-uas-{phase}", uas_reg, UAS_PORT, count, 120)
            target = f"127.0.0.1:{UAS_PORT}"
        c0 = tree_cpu_ns(server_pid) if server_pid else 0
        stats, wall, rc = sipp(f"{label}-register-{phase}", reg_field0, target, REG_PORT, count, 200000, 500, 120,
                               ["-inf", users_csv])
        cpu = (tree_cpu_ns(server_pid) - c0) if server_pid else 0
        if ctl:
            try:
                ctl.wait(30)
            except subprocess.TimeoutExpired:
                stop(ctl)
        ok, failed = num(stats, "SuccessfulCall(C)"), num(stats, "FailedCall(C)")
        retrans = num(stats, "Retransmissions(C)")
        log(f"  REGISTER {phase} x{count}: {ok} ok, {failed} failed, {retrans} retransmissions in {wall:.2f} s"
            f" = {ok / wall:.0f}/s" + (f", server CPU {cpu / NS * 1e6 / max(ok, 1):.1f} us/REGISTER" if server_pid else ""))
        total_ok += ok; total_failed += failed; total_retrans += retrans; total_wall += wall; total_cpu += cpu
        time.sleep(1.0)
    rate = total_ok / total_wall if total_wall > 0 else 0
    return {"reg_rate": rate, "reg_ok": total_ok, "reg_failed": total_failed, "reg_retrans": total_retrans,
            "reg_cpu_us": (total_cpu / NS * 1e6 / total_ok) if (server_pid and total_ok) else None}


def call_step(label, remote, server_pid, rate, step):
    calls = max(1, int(rate * args.step_seconds))
    tl = args.step_seconds * 2 + 10
    uas, uas_stf = uas_bg(f"{label}-uas-{step}", uas_call, UAS_PORT, calls, tl)
    c0 = tree_cpu_ns(server_pid) if server_pid else 0
    # cut short past 10 % + 3 s beyond the step: overloaded, not worth waiting for the timeouts
    stats, wall, rc = sipp(f"{label}-uac-{step}", uac_call, remote, UAC_PORT, calls, rate,
                           max(1000, rate * 4), tl, ["-s", "bench"], deadline=args.step_seconds * 1.1 + 3)
    cpu_wall = wall
    cpu = (tree_cpu_ns(server_pid) - c0) if server_pid else 0
    try:
        uas.wait(3 if wall > args.step_seconds * 1.1 + 2 else 15)
    except subprocess.TimeoutExpired:
        stop(uas)
    us = sipp_stats(uas_stf) if os.path.exists(uas_stf) else {}
    ok, failed = num(stats, "SuccessfulCall(C)"), num(stats, "FailedCall(C)")
    retrans = num(stats, "Retransmissions(C)") + num(us, "Retransmissions(C)")
    failed += num(us, "FailedCall(C)")
    # the offered rate was sustained if all calls were placed within the step (+ call length, +10 %)
    sustained = wall <= args.step_seconds * 1.1 + 2.0
    clean = ok == calls and failed == 0 and retrans < 0.001 * calls and sustained
    if not sustained:  # calls never placed, or cut short
        failed = max(failed, calls - ok)
    r = {"rate": rate, "calls": calls, "ok": ok, "failed": failed, "retrans": retrans, "wall": wall,
         "cpu_us": (cpu / NS * 1e6 / ok) if (server_pid and ok) else None,
         "net_cpu_us": ((cpu / NS - idle_cpu_s_per_s * cpu_wall) * 1e6 / ok) if (server_pid and ok) else None,
         "clean": clean}
    log(f"  {rate:>6} calls/s x {calls}: {ok} ok, {failed} failed, {retrans} retrans, {wall:.1f} s"
        + (f", server CPU {r['cpu_us']:.1f} us/call ({r['net_cpu_us']:.1f} above idle)"
           if r["cpu_us"] is not None else "")
        + ("  clean" if clean else "  NOT clean" + ("" if sustained else " (rate not sustained)")))
    time.sleep(1.0)
    if not clean and server_pid and args.no_restart:
        settle(server_pid)
    return r


def settle(server_pid, limit=40.0):
    """After an overloaded step the server still works off its failed calls (retransmitted final
    responses, timers of transactions that linger up to 32 s), and a step started then measures the
    recovery, not the rate. Waits until a second of the server's CPU is back near idle, at most
    `limit` seconds; the same for every server."""
    t0 = time.time()
    floor = max(3 * idle_cpu_s_per_s, 0.02)
    while time.time() - t0 < limit:
        c0 = tree_cpu_ns(server_pid)
        time.sleep(1.0)
        if (tree_cpu_ns(server_pid) - c0) / NS <= floor:
            break
    log(f"    (settled {time.time() - t0:.0f} s after the overloaded step)")


def measure_calls(label, remote, server_pid, restart=None):
    """Highest clean call rate: double from --start-rate until a step is not clean, then bisect.
    After a step that is not clean the server is started again (restart() gives its new PIDs), so
    that the next step measures a rate and not the recovery from an overload: Kamailio has been
    seen to fail every later step after one overload, p2psipd to need up to 40 s to settle. The
    restarted server is warmed up with an unmeasured step at the last clean rate."""
    best, lo, hi, steps = None, None, None, 0
    rate = args.start_rate
    while steps < args.max_steps and rate <= args.max_rate:
        if time.time() - t_target > args.budget_seconds / len(plan):
            log(f"  time budget ({args.budget_seconds / len(plan):.0f} s per server) spent: no more steps")
            break
        steps += 1
        r = call_step(label, remote, server_pid, rate, steps)
        if r["clean"]:
            best, lo = r, rate
        else:
            hi = rate
            if restart is not None and not args.no_restart:
                server_pid = restart()
                if server_pid is None:
                    break
                if lo is not None:
                    # A new process pays first-touch page faults for the memory its transactions
                    # fill (Kamailio's 4 GB shared memory pool, our heap): one unmeasured step at
                    # the last clean rate first, so the next step finds it as a running server
                    # would, without an overload's leftovers.
                    log("    warm-up:")
                    call_step(f"{label}-warmup", remote, server_pid, lo, steps)
        if hi is None:
            rate *= 2
        elif lo is None:
            break  # not even the first rate is clean
        else:
            nxt = (lo + hi) // 2
            if hi - lo <= max(10, lo // 8):
                break
            rate = nxt
    return best


results = {}
plan = []
for s in args.servers:
    kind, _, path = s.partition("=")
    if kind in ("p2psipd", "p2psipd-pair") and not path:
        raise SystemExit(f"{kind} needs its binary: {kind}=PATH")
    plan.append((kind, path or None))
if not args.no_direct:
    plan.append(("sipp-to-sipp", None))

t_start = time.time()
try:
    for kind, path in plan:
        t_target = time.time()
        log(f"== {kind}" + (f" ({path})" if path else ""))
        idle_cpu_s_per_s = 0.0
        if kind == "sipp-to-sipp":
            res = measure_register(kind, None, None)
            best = measure_calls(kind, f"127.0.0.1:{UAS_PORT}", None)
        else:
            procs = start_server(kind, path)
            pids = [p.pid for p in procs]
            remote = f"127.0.0.1:{args.port}"
            # With a pair the callee lives at the other peer: every call crosses the overlay.
            callee_at = f"127.0.0.1:{args.port + 2}" if kind == "p2psipd-pair" else remote
            idle_cpu_s_per_s = measure_idle(pids)
            log(f"  idle: {idle_cpu_s_per_s * 1e3:.1f} ms CPU per second")
            res = measure_register(kind, remote, pids)
            restarts = 0

            def register_callee():
                s, _, _ = sipp(f"{kind}-callee-register-{restarts}", reg_one, callee_at, UAS_PORT,
                               1, 10, 10, 20, ["-s", "bench"])
                if num(s, "SuccessfulCall(C)") != 1:
                    log("  could not register the callee; no call measurement")
                    return False
                time.sleep(1.0)  # the callee's user record lands in the DHT
                return True

            def restart():
                # Module-level state of this server's run (this loop is not inside a function).
                global procs, restarts
                restarts += 1
                alive = all(p.poll() is None for p in procs)
                for p in procs:
                    stop(p)
                if not alive:
                    log(f"  {kind} DIED during the run (see {work}/{kind}.log)")
                    return None
                procs = start_server(kind, path)
                log("    (started again after the step that was not clean)")
                return [p.pid for p in procs] if register_callee() else None

            best = measure_calls(kind, remote, pids, restart) if register_callee() else None
            alive = all(p.poll() is None for p in procs)
            for p in procs:
                stop(p)
            if not alive:
                log(f"  {kind} DIED during the run (see {work}/{kind}.log)")
        res["best"] = best
        res["idle_ms"] = idle_cpu_s_per_s * 1e3 if kind != "sipp-to-sipp" else None
        results[kind] = res
finally:
    for p in started:
        stop(p)

log(f"\n== results ({time.time() - t_start:.0f} s, {os.cpu_count()} CPUs, step {args.step_seconds:g} s)")
hdr = (f"{'server':<16} {'clean calls/s':>13} {'CPU us/call':>11} {'(net)':>7} {'REGISTER/s':>10} "
       f"{'CPU us/REG':>10} {'idle ms/s':>9}")
log(hdr)
log("-" * len(hdr))
fmt = lambda v, f="{:.0f}": "-" if v is None else f.format(v)
for kind, r in results.items():
    b = r["best"]
    log(f"{kind:<16} {fmt(b['rate'] if b else None):>13} {fmt(b['cpu_us'] if b else None, '{:.1f}'):>11} "
        f"{fmt(b['net_cpu_us'] if b else None, '{:.1f}'):>7} {fmt(r['reg_rate']):>10} "
        f"{fmt(r['reg_cpu_us'], '{:.1f}'):>10} {fmt(r['idle_ms'], '{:.1f}'):>9}")
for ours in ("p2psipd", "p2psipd-pair"):
    if ours not in results or "kamailio" not in results:
        continue
    p, k = results[ours], results["kamailio"]
    ratio = lambda a, b: "-" if not a or not b else f"{a / b:.2f}"
    pb, kb = p["best"] or {}, k["best"] or {}
    log(f"{ours + '/kamailio':<16} {ratio(pb.get('rate'), kb.get('rate')):>13} "
        f"{ratio(pb.get('cpu_us'), kb.get('cpu_us')):>11} {ratio(pb.get('net_cpu_us'), kb.get('net_cpu_us')):>7} "
        f"{ratio(p['reg_rate'], k['reg_rate']):>10} {ratio(p['reg_cpu_us'], k['reg_cpu_us']):>10} "
        f"{ratio(p['idle_ms'], k['idle_ms']):>9}")
log("(calls/s, REGISTER/s: higher is better. CPU us per call/REGISTER of the server process tree, at the best clean\n"
    " rate; (net) = less the idle CPU over the same window: lower is better. idle ms/s: CPU with no traffic.)")
if args.keep is None:
    shutil.rmtree(work, ignore_errors=True)
else:
    log(f"statistics and logs kept in {work}")
PY
