#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""UDP probes of the NAT routers of a topology built by topology.sh.

One process opens every socket itself, each inside the namespace of the host it belongs to
(setns(2) on the namespace file, socket(), setns back), so every step runs in a fixed order with
no cross-process timing. Each receive has a timeout; nothing loops without a bound.

Usage:
  nat_probe.py --public NETNS,ADDR --nat LABEL,TYPE,INSIDE_NETNS,INSIDE_ADDR,NAT_ADDR [--nat ...]
TYPE: symmetric, port-restricted or full-cone. Prints "ok   - ..." / "FAIL - ..." lines; exits 1
when a check failed.
"""
import argparse
import ctypes
import os
import socket
import sys

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
_home = os.open("/proc/self/ns/net", os.O_RDONLY)

POSITIVE_WAIT = 3.0  # seconds for a packet that must arrive
NEGATIVE_WAIT = 1.0  # seconds during which a packet that must not arrive is awaited

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   - {name}")
    else:
        failed += 1
        print(f"FAIL - {name}{': ' + detail if detail else ''}")
    sys.stdout.flush()


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def udp_socket(netns, port=0):
    """A UDP socket bound to 0.0.0.0:port inside namespace netns."""
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        _setns(fd)
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", port))
        finally:
            _setns(_home)
    finally:
        os.close(fd)
    return s


def send(sock, data, addr):
    try:
        sock.sendto(data.encode(), addr)
        return True
    except OSError as e:  # e.g. ENETUNREACH, or ECONNREFUSED left by an earlier ICMP error
        return e


def recv(sock, wait):
    """(data, (addr, port)) or None when nothing arrives within wait seconds."""
    sock.settimeout(wait)
    try:
        data, src = sock.recvfrom(2048)
        return data.decode(errors="replace"), src
    except (socket.timeout, ConnectionRefusedError):
        return None


def drain(sock):
    while recv(sock, 0.05) is not None:
        pass


def recv_until(sock, want, wait):
    """Receives until a datagram with payload want arrives (or wait runs out, ~bounded by 50
    datagrams). Returns (the wanted datagram or None, every other datagram seen)."""
    others = []
    for _ in range(50):
        got = recv(sock, wait)
        if got is None:
            return None, others
        if got[0] == want:
            return got, others
        others.append(got)
    return None, others


def probe_nat(label, ntype, inside_ns, inside_addr, nat_addr, inside_port, pub_ns, pub_addr,
              other_inside_ns):
    t = f"{label} ({ntype})"
    inside = udp_socket(inside_ns, inside_port)
    d1 = udp_socket(pub_ns, 3478)  # two destinations on the public host
    d2 = udp_socket(pub_ns, 3479)
    stranger = udp_socket(pub_ns, 3480)  # same public address, a port never contacted
    try:
        # (3) Unsolicited: before the inside host sent anything, a packet to the NAT's public
        # address (at the port the inside host is about to use) is dropped.
        send(stranger, "unsolicited", (nat_addr, inside_port))
        send(d1, "unsolicited", (nat_addr, inside_port))
        got = recv(inside, NEGATIVE_WAIT)
        check(f"{t}: unsolicited inbound packet to {nat_addr}:{inside_port} is dropped", got is None,
              f"inside host received {got}")

        # (1) The inside host reaches the public host, which sees the NAT's public address.
        send(inside, "m1", (pub_addr, 3478))
        got1 = recv(d1, POSITIVE_WAIT)
        check(f"{t}: inside host reaches the public host {pub_addr}:3478", got1 is not None)
        if got1 is None:
            return
        src1 = got1[1]
        check(f"{t}: public host sees the NAT's public address ({src1[0]}:{src1[1]})",
              src1[0] == nat_addr and src1[0] != inside_addr,
              f"expected {nat_addr}, inside address is {inside_addr}")

        # (4a) A reply from the contacted addr:port gets through.
        send(d1, "r1", src1)
        got, others = recv_until(inside, "r1", POSITIVE_WAIT)
        check(f"{t}: reply from the contacted {pub_addr}:3478 gets through",
              got is not None and got[1] == (pub_addr, 3478), f"got {got}, others {others}")

        # (2) Mapping: a second destination from the same inside socket.
        send(inside, "m2", (pub_addr, 3479))
        got2 = recv(d2, POSITIVE_WAIT)
        check(f"{t}: inside host reaches the public host {pub_addr}:3479", got2 is not None)
        if got2 is None:
            return
        src2 = got2[1]
        if ntype == "symmetric":
            check(f"{t}: a different external port per destination ({src1[1]} vs {src2[1]})",
                  src2[0] == nat_addr and src2[1] != src1[1])
        else:
            check(f"{t}: the same external port for both destinations ({src1[1]} vs {src2[1]})",
                  src2 == src1)
            check(f"{t}: the mapping keeps the inside port {inside_port}", src1[1] == inside_port,
                  f"mapped to {src1[1]}")

        # (4b) Same public address, a port the inside host never sent to; then a control packet
        # from the contacted port, which shows the mapping is still open.
        send(stranger, "x", src1)
        got = recv(inside, NEGATIVE_WAIT)
        send(d1, "r2", src1)
        ctl, others = recv_until(inside, "r2", POSITIVE_WAIT)
        if got is not None:
            others.insert(0, got)
        from_stranger = [o for o in others if o[0] == "x"]
        if ntype == "full-cone":
            check(f"{t}: a packet from {pub_addr}:3480 (not contacted) gets through (full cone)",
                  len(from_stranger) == 1 and from_stranger[0][1] == (pub_addr, 3480),
                  f"received {others}")
        else:
            check(f"{t}: a packet from {pub_addr}:3480 (same address, not contacted) is dropped",
                  not from_stranger, f"inside host received {from_stranger}")
        check(f"{t}: the contacted {pub_addr}:3478 still gets through afterwards", ctl is not None)

        # Another address altogether: a host behind another NAT sends to the mapping.
        if other_inside_ns:
            far = udp_socket(other_inside_ns)
            try:
                send(far, "far", src1)
                got, others = recv_until(inside, "far", NEGATIVE_WAIT)
                if ntype == "full-cone":
                    check(f"{t}: a packet from another address gets through (full cone)",
                          got is not None, f"received {others}")
                else:
                    check(f"{t}: a packet from another address (behind another NAT) is dropped",
                          got is None, f"inside host received {got}")
            finally:
                far.close()

        # The private side is not routed from the public segment.
        drain(inside)
        send(d1, "direct", (inside_addr, inside_port))
        got, _ = recv_until(inside, "direct", NEGATIVE_WAIT)
        check(f"{t}: the inside address {inside_addr} is unreachable from the public segment",
              got is None)
    finally:
        for s in (inside, d1, d2, stranger):
            s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--public", required=True, help="NETNS,ADDR of the public host")
    ap.add_argument("--nat", action="append", required=True,
                    help="LABEL,TYPE,INSIDE_NETNS,INSIDE_ADDR,NAT_ADDR")
    args = ap.parse_args()
    pub_ns, pub_addr = args.public.split(",")
    nats = [n.split(",") for n in args.nat]
    for i, (label, ntype, inside_ns, inside_addr, nat_addr) in enumerate(nats):
        other = nats[(i + 1) % len(nats)][2] if len(nats) > 1 else None
        probe_nat(label, ntype, inside_ns, inside_addr, nat_addr, 40001 + i, pub_ns, pub_addr, other)
    print(f"nat_probe done: {passed} ok, {failed} FAIL")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
