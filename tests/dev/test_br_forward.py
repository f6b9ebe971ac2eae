"""The bridge data path: learning, forwarding, flooding, local delivery,
ageing and counters, checked against what Linux 6.18 does (net/bridge)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from usernet import Kernel
from usernet.dev.bridge import Bridge, BridgePort
from usernet.dev.datapath import PACKET_OUTGOING, add_tap, dev_queue_xmit
from usernet.dev.netdevice import NetDevice
from usernet.ipv4.raw import RawSocket
from usernet.sched import NSEC_PER_SEC
from usernet.wire.ethernet import eth_header
from usernet.wire.icmp import icmp_message
from usernet.wire.ipv4 import addr_int

H = {n: f"02:00:00:00:00:0{n}" for n in (1, 2, 3)}  # host MACs (their eth0)
HB = {n: bytes.fromhex(H[n].replace(":", "")) for n in H}
P = {n: f"02:00:00:00:01:0{n}" for n in (1, 2, 3)}  # port MACs
SETUP = """ip netns add sw
ip netns add h1
ip netns add h2
ip netns add h3
ip -n sw link add br0 type bridge
ip -n sw link set br0 up
""" + "".join(
    f"ip -n sw link add p{n} address {P[n]} type veth peer name eth0 netns h{n} "
    f"address {H[n]}\nip -n sw link set p{n} master br0\nip -n sw link set p{n} up\n"
    f"ip -n h{n} addr add 10.9.0.{n}/24 dev eth0\nip -n h{n} link set eth0 up\n"
    for n in (1, 2, 3))


def ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, f"{line}: rc={res.rc} {res.stderr}"
    return res.stdout


@pytest.fixture
def k() -> Kernel:
    kern = Kernel()
    for line in SETUP.splitlines():
        ok(kern, line)
    return kern


def dev(k: Kernel, ns: str, name: str) -> NetDevice:
    return k.netns_get(ns).dev_by_name[name]


def bridge(k: Kernel) -> Bridge:
    br = dev(k, "sw", "br0")
    assert isinstance(br, Bridge)
    return br


def ping(k: Kernel, ns: str, dst: str, seq: int = 1) -> list[str]:
    """One ICMP echo from ``ns``; the sources of the replies within a second."""
    sock = RawSocket(k.netns_get(ns), 1)
    sock.sendto(icmp_message(8, 0, (7 << 16) | seq, b"x" * 56), addr_int(dst))
    k.sched.run_for(NSEC_PER_SEC)
    sock.close()
    return [".".join(map(str, p[12:16])) for _, p in sock.rcvq if p[20] == 0]


def dynamic(k: Kernel, extra: str = "") -> dict[str, str]:
    """Learned entries: MAC -> port."""
    rows = json.loads(ok(k, f"bridge -n sw -j fdb show br br0 dynamic {extra}"))
    return {r["mac"]: r["ifname"] for r in rows if r["state"] != "static"}


def capture(k: Kernel) -> dict[int, list[bytes]]:
    """Frames each host's eth0 receives from now on."""
    got: dict[int, list[bytes]] = {1: [], 2: [], 3: []}

    def tap_for(frames: list[bytes]) -> Callable[[NetDevice, bytes, int], None]:
        def tap(d: NetDevice, frame: bytes, pkt_type: int) -> None:
            if pkt_type != PACKET_OUTGOING:
                frames.append(frame)
        return tap

    for n, frames in got.items():
        add_tap(dev(k, f"h{n}", "eth0"), tap_for(frames))
    return got


def send(k: Kernel, n: int, dst: bytes, src: bytes | None = None, proto: int = 0x88B5) -> bytes:
    """A raw frame out of host ``n`` (0x88b5: a local experimental EtherType)."""
    frame = eth_header(dst, HB[n] if src is None else src, proto) + b"\x00" * 46
    dev_queue_xmit(dev(k, f"h{n}", "eth0"), frame)
    k.sched.run_for(NSEC_PER_SEC // 100)
    return frame


def stats(k: Kernel, ns: str, name: str) -> dict[str, Any]:
    row = json.loads(ok(k, f"ip -n {ns} -s -j link show {name}"))[0]
    return dict(row["stats64"])


# -- end to end ---------------------------------------------------------------------------


def test_three_namespaces_echo_both_ways(k: Kernel) -> None:
    assert ping(k, "h1", "10.9.0.2") == ["10.9.0.2"]
    assert ping(k, "h2", "10.9.0.1") == ["10.9.0.1"]
    assert ping(k, "h3", "10.9.0.2") == ["10.9.0.2"]
    assert ping(k, "h1", "10.9.0.3") == ["10.9.0.3"]


def test_learning_on_the_ingress_port_only(k: Kernel) -> None:
    assert dynamic(k) == {}
    ping(k, "h1", "10.9.0.2")
    # h3 only received the ARP broadcast: nothing learned for it
    assert dynamic(k) == {H[1]: "p1", H[2]: "p2"}
    assert dynamic(k, "brport p3") == {}
    assert ok(k, "bridge -n sw fdb show brport p1").splitlines()[:2] == [
        f"{H[1]} master br0 ", f"{P[1]} master br0 permanent"]


def test_known_unicast_goes_to_one_port(k: Kernel) -> None:
    ping(k, "h1", "10.9.0.2")
    got = capture(k)
    assert ping(k, "h1", "10.9.0.2", seq=2) == ["10.9.0.2"]
    assert got[3] == [] and len(got[2]) == 1 and len(got[1]) == 1


def test_unknown_unicast_and_broadcast_flood(k: Kernel) -> None:
    got = capture(k)
    frame = send(k, 1, bytes.fromhex("020000000099"))
    assert got == {1: [], 2: [frame], 3: [frame]}  # never back out of the ingress port
    bcast = send(k, 2, b"\xff" * 6)
    assert got[1] == [bcast] and got[3] == [frame, bcast]
    mcast = send(k, 3, bytes.fromhex("01005e0000fb"))
    assert got[1][-1] == mcast and got[2][-1] == mcast


def test_flood_flags_of_a_port(k: Kernel) -> None:
    got = capture(k)
    ok(k, "bridge -n sw link set dev p3 flood off bcast_flood off")
    send(k, 1, bytes.fromhex("020000000099"))
    send(k, 1, b"\xff" * 6)
    mcast = send(k, 1, bytes.fromhex("01005e0000fb"))
    assert len(got[2]) == 3 and got[3] == [mcast]
    ok(k, "bridge -n sw link set dev p3 mcast_flood off")
    send(k, 1, bytes.fromhex("01005e0000fb"))
    assert got[3] == [mcast]


def test_learning_flag_and_invalid_sources(k: Kernel) -> None:
    ok(k, "bridge -n sw link set dev p1 learning off")
    got = capture(k)
    send(k, 1, b"\xff" * 6)
    assert dynamic(k) == {}
    send(k, 2, b"\xff" * 6, src=bytes.fromhex("010000000001"))  # multicast source: dropped
    send(k, 2, b"\xff" * 6, src=b"\x00" * 6)  # zero source: dropped
    assert len(got[3]) == 1 and dynamic(k) == {}


def test_entry_moves_with_its_mac_but_local_entries_stay(k: Kernel) -> None:
    send(k, 1, b"\xff" * 6)
    assert dynamic(k) == {H[1]: "p1"}
    send(k, 3, b"\xff" * 6, src=HB[1])  # the host moved behind p3
    assert dynamic(k) == {H[1]: "p3"}
    send(k, 2, b"\xff" * 6, src=bytes.fromhex(P[1].replace(":", "")))  # a port's own MAC
    port_rows = ok(k, "bridge -n sw fdb show brport p1")
    assert f"{P[1]} master br0 permanent" in port_rows


def test_static_entry_follows_the_mac_as_in_linux(k: Kernel) -> None:
    ok(k, f"bridge -n sw fdb add {H[1]} dev p2 master static")
    send(k, 1, b"\xff" * 6)
    assert ok(k, "bridge -n sw fdb show brport p1 dynamic").splitlines()[0] == \
        f"{H[1]} master br0 static"


def test_link_local_group_addresses(k: Kernel) -> None:
    got = capture(k)
    stp = send(k, 1, bytes.fromhex("0180c2000000"))  # STP off: forwarded
    send(k, 1, bytes.fromhex("0180c2000001"))  # pause: never
    send(k, 1, bytes.fromhex("0180c200000e"))  # LLDP: only with group_fwd_mask
    assert got[2] == [stp]
    assert dynamic(k) == {H[1]: "p1"}  # learned from a link-local frame too
    ok(k, "ip -n sw link set br0 type bridge group_fwd_mask 0x4000")
    lldp = send(k, 1, bytes.fromhex("0180c200000e"))
    assert got[2] == [stp, lldp]


def test_hairpin_sends_back_out_of_the_ingress_port(k: Kernel) -> None:
    got = capture(k)
    send(k, 1, bytes.fromhex("020000000099"))
    assert got[1] == []
    ok(k, "bridge -n sw link set dev p1 hairpin on")
    frame = send(k, 1, bytes.fromhex("020000000099"))
    assert got[1] == [frame]


def test_frames_too_big_for_the_port_are_dropped(k: Kernel) -> None:
    ok(k, "ip -n sw link set p3 mtu 1000")
    got = capture(k)
    frame = eth_header(b"\xff" * 6, HB[1], 0x88B5) + b"\x00" * 1100
    dev_queue_xmit(dev(k, "h1", "eth0"), frame)
    k.sched.run_for(NSEC_PER_SEC // 100)
    assert got[2] == [frame] and got[3] == []


# -- the bridge's own stack ---------------------------------------------------------------


def test_local_delivery_to_the_bridge_address(k: Kernel) -> None:
    ok(k, "ip -n sw addr add 10.9.0.254/24 dev br0")
    got = capture(k)
    assert ping(k, "h1", "10.9.0.254") == ["10.9.0.254"]
    assert ping(k, "sw", "10.9.0.3") == ["10.9.0.3"]
    assert [f[:6] for f in got[2]] == [b"\xff" * 6] * 2  # only the two ARP broadcasts
    neigh = json.loads(ok(k, "ip -n sw -j neigh show dev br0"))
    assert {n["dst"] for n in neigh} == {"10.9.0.1", "10.9.0.3"}


def test_bridge_and_port_counters(k: Kernel) -> None:
    ok(k, "ip -n sw addr add 10.9.0.254/24 dev br0")
    ping(k, "h1", "10.9.0.2")
    br = stats(k, "sw", "br0")
    # the ARP broadcast went up the bridge (28 bytes: without the Ethernet header)
    assert (br["rx"]["packets"], br["rx"]["bytes"], br["tx"]["packets"]) == (1, 28, 0)
    p3 = stats(k, "sw", "p3")  # the flooded ARP request, nothing else
    assert (p3["tx"]["packets"], p3["tx"]["bytes"], p3["rx"]["packets"]) == (1, 42, 0)
    p1 = stats(k, "sw", "p1")
    assert (p1["rx"]["packets"], p1["tx"]["packets"]) == (2, 2)
    ping(k, "h1", "10.9.0.254")
    br = stats(k, "sw", "br0")
    # + ARP request and echo request in; ARP reply (42) and echo reply (98) out
    assert (br["rx"]["packets"], br["rx"]["bytes"]) == (3, 28 + 28 + 84)
    assert (br["tx"]["packets"], br["tx"]["bytes"]) == (2, 42 + 98)


def test_multicast_counts_on_the_bridge(k: Kernel) -> None:
    send(k, 1, bytes.fromhex("01005e0000fb"))
    assert stats(k, "sw", "br0")["rx"]["multicast"] == 1


# -- ageing, port down and removal ---------------------------------------------------------


def test_ageing_in_virtual_time(k: Kernel) -> None:
    br = bridge(k)
    send(k, 1, b"\xff" * 6)
    assert br.gc_timer is not None
    k.sched.run_for(299 * NSEC_PER_SEC)
    assert dynamic(k) == {H[1]: "p1"}
    k.sched.run_for(NSEC_PER_SEC)
    assert dynamic(k) == {}
    assert br.gc_timer is None  # nothing left to age: no timer


def test_refresh_keeps_an_entry_and_ageing_time_option(k: Kernel) -> None:
    send(k, 1, b"\xff" * 6)
    k.sched.run_for(200 * NSEC_PER_SEC)
    send(k, 1, b"\xff" * 6)
    k.sched.run_for(200 * NSEC_PER_SEC)
    assert dynamic(k) == {H[1]: "p1"}
    out = ok(k, "bridge -n sw -s fdb show brport p1")
    assert out.splitlines()[0] == f"{H[1]} used 400/200 master br0 "  # used: to forward
    ok(k, "ip -n sw link set br0 type bridge ageing_time 1000")  # 10 s: collected at once
    k.sched.run_for(1)
    assert dynamic(k) == {}
    send(k, 2, b"\xff" * 6)
    k.sched.run_for(10 * NSEC_PER_SEC)
    assert dynamic(k) == {}


def test_ageing_time_zero_never_learns(k: Kernel) -> None:
    ok(k, "ip -n sw link set br0 type bridge ageing_time 0")
    got = capture(k)
    send(k, 2, b"\xff" * 6)
    send(k, 1, HB[2])
    assert dynamic(k) == {} and len(got[3]) == 2  # unicast to h2 still floods


def test_port_down_flushes_its_dynamic_entries(k: Kernel) -> None:
    ok(k, "bridge -n sw fdb add 02:00:00:00:aa:01 dev p2 master static")
    ping(k, "h1", "10.9.0.2")
    ok(k, "ip -n sw link set p2 down")
    assert dynamic(k) == {H[1]: "p1"}
    assert "02:00:00:00:aa:01 dev p2 master br0 static" in ok(k, "bridge -n sw fdb show")
    assert ok(k, "bridge -n sw link show dev p2").split("state ")[1].startswith("disabled")
    assert ping(k, "h1", "10.9.0.2", seq=2) == []
    ok(k, "ip -n sw link set p2 up")
    assert ping(k, "h1", "10.9.0.2", seq=3) == ["10.9.0.2"]


def test_bridge_down_flushes_everything_learned(k: Kernel) -> None:
    ping(k, "h1", "10.9.0.2")
    ok(k, "ip -n sw link set br0 down")
    assert dynamic(k) == {} and bridge(k).gc_timer is None
    assert ping(k, "h3", "10.9.0.1") == []
    ok(k, "ip -n sw link set br0 up")
    assert set(ping(k, "h3", "10.9.0.1", seq=2)) == {"10.9.0.1"}  # the queued one too


def test_port_removal_flushes_all_its_entries(k: Kernel) -> None:
    ok(k, "bridge -n sw fdb add 02:00:00:00:aa:01 dev p3 master static")
    ping(k, "h1", "10.9.0.3")
    ok(k, "ip -n sw link set p3 nomaster")
    assert dynamic(k) == {H[1]: "p1"}
    assert "aa:01" not in ok(k, "bridge -n sw fdb show")
    assert ping(k, "h1", "10.9.0.3", seq=2) == []
    assert dev(k, "sw", "p3").rx_handler is None


def test_fdb_flush_keeps_static_entries(k: Kernel) -> None:
    ok(k, "bridge -n sw fdb add 02:00:00:00:aa:01 dev p2 master static")
    ok(k, "bridge -n sw fdb add 02:00:00:00:aa:02 dev p2 master dynamic")
    ping(k, "h1", "10.9.0.2")
    bridge(k).changelink({"fdb_flush": 1})  # `ip link set br0 type bridge fdb_flush`
    rows = ok(k, "bridge -n sw fdb show dynamic")
    assert rows == "02:00:00:00:aa:01 dev p2 master br0 static\n"
    assert bridge(k).gc_timer is None


def test_idle_kernel_has_no_bridge_timer(k: Kernel) -> None:
    ping(k, "h1", "10.9.0.2")
    k.sched.run_until()
    assert dynamic(k) == {} and k.sched.next_time() is None


# -- addresses of the bridge and its ports in the FDB ---------------------------------------


def test_bridge_mac_entry_follows_the_bridge_id(k: Kernel) -> None:
    br = bridge(k)
    own = [f for f in br.fdb.values() if f.dst is None]
    assert own == []  # the bridge took p1's MAC: p1's entry covers it
    ok(k, "ip -n sw link set p1 nomaster")
    assert br.dev_addr.hex() == P[2].replace(":", "")
    assert [f.mac for f in br.fdb.values() if f.dst is None] == []
    ok(k, "ip -n sw link set br0 address 02:00:00:00:0b:01")
    assert "02:00:00:00:0b:01 dev br0 master br0 permanent" in ok(k, "bridge -n sw fdb show")
    got = capture(k)
    assert ping(k, "h2", "10.9.0.3") == ["10.9.0.3"]
    assert got[1] == []


def test_port_mac_change_moves_its_local_entry(k: Kernel) -> None:
    ok(k, "ip -n sw link set p3 address 02:00:00:00:01:33")
    rows = ok(k, "bridge -n sw fdb show brport p3")
    assert rows.splitlines()[0] == "02:00:00:00:01:33 master br0 permanent"
    assert P[3] not in rows


def test_learning_state_learns_but_does_not_forward(k: Kernel) -> None:
    ok(k, "bridge -n sw link set dev p1 state learning")
    port = dev(k, "sw", "p1").rx_handler
    assert isinstance(port, BridgePort) and port.state == 2
    got = capture(k)
    send(k, 1, b"\xff" * 6)
    assert dynamic(k) == {H[1]: "p1"} and got[2] == [] and got[3] == []


def test_promiscuous_bridge_sees_forwarded_unicast(k: Kernel) -> None:
    send(k, 2, b"\xff" * 6)
    before = stats(k, "sw", "br0")["rx"]["packets"]
    send(k, 1, HB[2])  # known unicast: forwarded to p2 only, not up
    assert stats(k, "sw", "br0")["rx"]["packets"] == before
    ok(k, "ip -n sw link set br0 promisc on")
    got = capture(k)
    frame = send(k, 1, HB[2])
    assert stats(k, "sw", "br0")["rx"]["packets"] == before + 1
    assert got == {1: [], 2: [frame], 3: []}
