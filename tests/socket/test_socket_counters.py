"""nstat over the SNMP counters, raw ICMP sockets through the API, and
determinism of a socket scenario."""

from __future__ import annotations

import json
import struct

import usernet.socket as us
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.wait import sleep
from usernet.wire.checksum import ip_checksum


def veth() -> Kernel:
    k = Kernel()
    k.script(VETH_PAIR)
    return k


def test_nstat_format_history_and_patterns() -> None:
    k = veth()
    with k.netns("a"):
        u = us.socket(us.AF_INET, us.SOCK_DGRAM)
    u.sendto(b"x", ("10.0.0.2", 9))
    sleep(k, 0.01)
    first = k.cmd("ip netns exec b nstat")
    assert first.rc == 0
    assert first.stdout.splitlines()[0] == "#kernel"
    assert "UdpNoPorts                      1                  0.0\n" in first.stdout
    assert k.cmd("ip netns exec b nstat").stdout == "#kernel\n"  # nothing new since
    u.sendto(b"x", ("10.0.0.2", 9))
    sleep(k, 0.01)
    assert k.cmd("ip netns exec b nstat -s Udp*").stdout == (
        "#kernel\nUdpNoPorts                      1                  0.0\n")
    doc = json.loads(k.cmd("ip netns exec b nstat -az -j UdpNoPorts UdpInErrors").stdout)
    assert doc == {"kernel": {"UdpNoPorts": 2, "UdpInErrors": 0}}
    names = [line.split()[0] for line in k.cmd("ip netns exec b nstat -az").stdout.splitlines()]
    assert names[1:4] == ["IpInReceives", "IpInHdrErrors", "IpInAddrErrors"]
    assert names.index("IcmpInMsgs") < names.index("UdpInDatagrams") < names.index(
        "IpExtInNoRoutes")
    assert "IpInMartians" not in names  # not a Linux counter
    bad = k.cmd("nstat -q")
    assert bad.rc == 255 and bad.stderr.startswith("nstat: invalid option -- 'q'\nUsage:")
    u.close()


def test_raw_icmp_socket_pings() -> None:
    k = veth()
    with k.netns("a"):
        s = us.socket(us.AF_INET, us.SOCK_RAW, us.IPPROTO_ICMP)
    assert s.getsockname() == ("0.0.0.0", 1)
    body = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"abc"
    body = body[:2] + ip_checksum(body).to_bytes(2, "big") + body[4:]
    s.sendto(body, ("10.0.0.2", 0))
    s.settimeout(1)
    pkt, addr = s.recvfrom(1500)
    assert addr == ("10.0.0.2", 0) and pkt[20] == 0  # an echo reply, IP header first
    assert struct.unpack_from("!HH", pkt, 24) == (0x1234, 1)
    s.setsockopt(255, 1, 1 << 0)  # ICMP_FILTER: no echo replies
    s.sendto(body, ("10.0.0.2", 0))
    s.settimeout(0.5)
    try:
        s.recv(1500)
        raise AssertionError("filtered reply delivered")
    except TimeoutError:
        pass
    assert "IcmpOutMsgs                     2" in k.cmd("ip netns exec a nstat -a Icmp*").stdout
    s.close()
    assert k.cmd("ip netns exec a ping -c 1 10.0.0.2").ok  # ping's own socket still works


def scenario() -> list[object]:
    """Ephemeral ports, reuseport choice and timings of one run."""
    k = Kernel(seed=7)
    k.script(VETH_PAIR)
    group = []
    for _ in range(3):
        with k.netns("b"):
            g = us.socket(us.AF_INET, us.SOCK_DGRAM)
        g.setsockopt(us.SOL_SOCKET, us.SO_REUSEPORT, 1)
        g.bind(("", 5000))
        g.setblocking(False)
        group.append(g)
    log: list[object] = []

    def client(i: int) -> None:
        c = us.socket(us.AF_INET, us.SOCK_DGRAM)
        us.select.select([], [], [], 0.001 * i)
        c.sendto(b"%d" % i, ("10.0.0.2", 5000))
        log.append((i, c.getsockname()[1], k.sched.now))
        c.close()

    for i in range(12):
        k.spawn(client, i, netns="a")
    k.run()
    sleep(k, 0.01)
    for n, g in enumerate(group):
        while True:
            try:
                log.append((n, g.recv(10)))
            except BlockingIOError:
                break
        g.close()
    return log


def test_socket_scenarios_repeat_exactly() -> None:
    first = scenario()
    assert first == scenario()
    assert len({entry[1] for entry in first[:12]}) == 12  # twelve ephemeral ports
