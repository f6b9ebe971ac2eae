"""The unconnected-UDP sendto shortcut (UdpSock.send_to, a UdpTxCache per
destination) and the recvfrom shortcut must give exactly what the full
roads give: the same frames (IP IDs from the hashed generator included),
counters and results.  Each road runs in its own, identical, world."""

from __future__ import annotations

from typing import Any

import usernet.socket as us
from usernet import Kernel
from usernet.ipv4.datapath_state import ipv4_dp
from usernet.testing import VETH_PAIR
from usernet.wait import sleep

IP_MTU_DISCOVER, IP_PMTUDISC_DO = 10, 2


def world(road: str) -> dict[str, Any]:
    """Datagrams to several destinations, with time passing (the hashed IDs
    jump), a strict-DF socket (ID 0), option, route and neighbour changes,
    and more destinations than a socket keeps.  ``road``: "shortcut" sends
    with no flags, "full" with MSG_DONTWAIT (which takes sendmsg's road)."""
    k = Kernel(7)
    k.script(VETH_PAIR + "ip -n b addr add 10.0.0.3/24 dev v1\n")
    flags = 0 if road == "shortcut" else us.MSG_DONTWAIT
    with k.netns("b"):
        rx = {port: us.socket(us.AF_INET, us.SOCK_DGRAM) for port in range(7000, 7020)}
    for port, sock in rx.items():
        sock.bind(("0.0.0.0", port))
        sock.setblocking(False)
    cap = k.capture("a", "v0")
    with k.netns("a"):
        tx = us.socket(us.AF_INET, us.SOCK_DGRAM)
        strict = us.socket(us.AF_INET, us.SOCK_DGRAM)
    strict.setsockopt(us.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    sent = []
    for i in range(40):
        dst = ("10.0.0.2", 7000 + i % 2) if i % 3 else ("10.0.0.3", 7002)
        try:
            sent.append(tx.sendto(b"d%d" % i * (i % 7), flags, dst))
        except PermissionError:  # the prohibit route below
            sent.append("EACCES")
        sent.append(strict.sendto(b"s%d" % i, flags, ("10.0.0.2", 7005)))
        if i % 5 == 4:
            sleep(k, 0.02 * i)  # jiffies pass: the hashed generator jumps
        if i == 20:
            tx.setsockopt(us.IPPROTO_IP, us.IP_TTL, 9)
        if i == 25:  # a route change: 10.0.0.3 is prohibited for a while
            k.script("ip -n a route add prohibit 10.0.0.3/32")
        if i == 28:
            k.script("ip -n a route del prohibit 10.0.0.3/32")
        if i == 30:
            k.script("ip -n a neigh replace 10.0.0.3 lladdr 02:00:00:00:00:33 dev v0 "
                     "nud permanent")
    for port in range(7000, 7020):  # more destinations than a socket keeps
        sent.append(tx.sendto(b"many", flags, ("10.0.0.2", port)))
        sent.append(tx.sendto(b"again", flags, ("10.0.0.2", port)))
    sleep(k, 0.01)
    got: dict[int, list[Any]] = {}
    for port, sock in rx.items():
        got[port] = []
        while True:  # no flags: recvfrom's shortcut (the socket is non-blocking)
            try:
                got[port].append(sock.recvfrom(3, flags))  # truncated
            except BlockingIOError:
                break
    return {"sent": sent, "frames": [f for _, f in cap.packets], "got": got,
            "mib.a": dict(ipv4_dp(k.netns_get("a")).mib),
            "mib.b": dict(ipv4_dp(k.netns_get("b")).mib),
            "cached": tx._sk().txd is not None}  # type: ignore[attr-defined]


def test_sendto_shortcut_equals_the_full_road() -> None:
    short, full = world("shortcut"), world("full")
    assert short["cached"] and not full["cached"]  # each road was the one taken
    assert short == {**full, "cached": True}
    ids = [int.from_bytes(f[18:20], "big") for f in short["frames"] if f[12:14] == b"\x08\x00"]
    assert 0 in ids and len(set(ids)) > 40  # strict DF: 0; the others: hashed, jumping
    assert short["got"][7002][0] == (b"", ("10.0.0.1", short["got"][7002][0][1][1]))
    assert len(short["got"][7000]) > 5 and "EACCES" in short["sent"]
