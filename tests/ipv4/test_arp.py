"""ARP (net/ipv4/arp.c): which requests are answered (input route check,
arp_ignore, arp_filter, proxy ARP), which sender address a request carries
(arp_announce), and what the neighbour table learns (neigh_event_ns,
arp_accept, locktime, drop_gratuitous_arp)."""

from __future__ import annotations

import ipaddress

import pytest

from usernet import Kernel
from usernet.dev.datapath import PACKET_OUTGOING, add_tap, dev_queue_xmit
from usernet.dev.netdevice import NetDevice
from usernet.ipv4.neigh_resolve import inet_confirm_addr, neigh_output
from usernet.ipv4.neighbour import (
    NUD_DELAY,
    NUD_REACHABLE,
    NUD_STALE,
    NUD_VALID,
    Neighbour,
)
from usernet.sched import NSEC_PER_MSEC, NSEC_PER_SEC
from usernet.wire.arp import ARP_HDR, ARPOP_REPLY, ARPOP_REQUEST, arp_packet
from usernet.wire.ethernet import BROADCAST, ETH_HLEN, ETH_P_ARP, eth_header

FAKE_MAC = bytes.fromhex("02aa000000aa")
OTHER_MAC = bytes.fromhex("02bb000000bb")
ZERO_MAC = b"\x00" * 6

# Two namespaces joined by two links: a0-b0 (10.1.0.0/24) and a1-b1
# (10.3.0.0/24); b also has 10.9.0.2 on lo.  a reaches 10.9.0.2 and
# 10.3.0.2 over a0 through device routes (the weak host model answers).
DUAL = """ip netns add a
ip netns add b
ip -n a link add a0 type veth peer name b0 netns b
ip -n a link add a1 type veth peer name b1 netns b
ip -n a addr add 10.1.0.1/24 dev a0
ip -n a addr add 10.3.0.1/24 dev a1
ip -n b addr add 10.1.0.2/24 dev b0
ip -n b addr add 10.3.0.2/24 dev b1
ip -n b addr add 10.9.0.2/32 dev lo
ip -n b addr add 10.9.0.3/32 scope host dev lo
ip -n a link set a0 up
ip -n a link set a1 up
ip -n b link set b0 up
ip -n b link set b1 up
ip -n a route add 10.9.0.0/24 dev a0
ip -n a route add 10.3.0.2/32 dev a0"""

# A host with a too-wide prefix behind a router that may proxy for it.
PROXY = """ip netns add h1
ip netns add r
ip netns add h2
ip -n h1 link add eth0 type veth peer name r1 netns r
ip -n h2 link add eth0 type veth peer name r2 netns r
ip -n h1 addr add 10.114.0.2/16 dev eth0
ip -n h2 addr add 10.114.8.2/24 dev eth0
ip -n r addr add 10.114.0.1/24 dev r1
ip -n r addr add 10.114.8.1/24 dev r2
ip -n h1 link set eth0 up
ip -n h2 link set eth0 up
ip -n r link set r1 up
ip -n r link set r2 up
ip -n h2 route add default via 10.114.8.1
ip netns exec r sysctl -w net.ipv4.ip_forward=1"""


def ip(text: str) -> int:
    return int(ipaddress.IPv4Address(text))


def run(k: Kernel, script: str) -> None:
    for line in script.strip().splitlines():
        res = k.cmd(line)
        assert res.ok, (line, res.stderr)


def kernel(script: str) -> Kernel:
    k = Kernel()
    run(k, script)
    return k


def dev(k: Kernel, ns: str, name: str) -> NetDevice:
    d = k.netns_get(ns).dev_get_by_name(name)
    assert d is not None
    return d


def neigh(k: Kernel, ns: str, devname: str, addr: str) -> Neighbour | None:
    return k.neigh_tbl.entries.get((dev(k, ns, devname), ip(addr)))


def valid(k: Kernel, ns: str, devname: str, addr: str) -> bool:
    n = neigh(k, ns, devname, addr)
    return n is not None and bool(n.nud_state & NUD_VALID)


def ping(k: Kernel, ns: str, args: str) -> bool:
    return k.cmd(f"ip netns exec {ns} ping -c 1 -W 1 {args}").rc == 0


class ArpLog:
    """The ARP frames a device sends: (time, dst MAC, op, sha, sip, tha, tip)."""

    def __init__(self, k: Kernel, d: NetDevice) -> None:
        self.k = k
        self.frames: list[tuple[int, bytes, int, bytes, int, bytes, int]] = []
        add_tap(d, self._tap)

    def _tap(self, d: NetDevice, frame: bytes, direction: int) -> None:
        if direction == PACKET_OUTGOING and frame[12:14] == ETH_P_ARP.to_bytes(2, "big"):
            _hrd, _pro, _hln, _pln, op, sha, sip, tha, tip = ARP_HDR.unpack_from(frame, ETH_HLEN)
            self.frames.append((self.k.sched.now, frame[:6], op, sha, sip, tha, tip))

    def ops(self, op: int) -> list[tuple[int, bytes, int, bytes, int, bytes, int]]:
        return [f for f in self.frames if f[2] == op]

    def senders(self, op: int = ARPOP_REQUEST) -> list[int]:
        return [f[4] for f in self.ops(op)]


def inject(k: Kernel, out: NetDevice, op: int, sip: str, tip: str, *, sha: bytes = FAKE_MAC,
           tha: bytes = ZERO_MAC, dst: bytes = BROADCAST) -> None:
    """Send a hand-made ARP frame out of ``out`` (its peer receives it)."""
    frame = eth_header(dst, sha, ETH_P_ARP) + arp_packet(op, sha, ip(sip), tha, ip(tip))
    dev_queue_xmit(out, frame)
    k.sched.run_for(NSEC_PER_MSEC)


# -- answering requests for local addresses --------------------------------------------


def test_weak_host_answers_for_any_local_address() -> None:
    k = kernel(DUAL)
    assert ping(k, "a", "10.9.0.2")
    assert ping(k, "a", "10.3.0.2")
    b0_mac = dev(k, "b", "b0").dev_addr
    for addr in ("10.9.0.2", "10.3.0.2"):
        n = neigh(k, "a", "a0", addr)
        assert n is not None and n.lladdr == b0_mac
    # The requester was learned from the request (neigh_event_ns).
    assert valid(k, "b", "b0", "10.1.0.1")


@pytest.mark.parametrize("where", ["conf.b0", "conf.all"])
def test_arp_ignore_1_needs_the_address_on_the_receiving_device(where: str) -> None:
    k = kernel(DUAL)
    run(k, f"ip netns exec b sysctl -w net.ipv4.{where}.arp_ignore=1")
    assert not ping(k, "a", "10.9.0.2")
    assert not valid(k, "a", "a0", "10.9.0.2")
    # An ignored request teaches the ignoring side nothing.
    assert neigh(k, "b", "b0", "10.1.0.1") is None
    assert ping(k, "a", "10.1.0.2")


def test_arp_ignore_is_the_larger_of_all_and_dev() -> None:
    k = kernel(DUAL)
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.all.arp_ignore=8 "
           "net.ipv4.conf.b0.arp_ignore=1")
    assert not ping(k, "a", "10.1.0.2")  # 8 wins: nothing is answered
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.all.arp_ignore=0")
    assert ping(k, "a", "10.1.0.2")


def test_arp_ignore_2_needs_the_sender_in_the_targets_subnet() -> None:
    k = kernel(DUAL)
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.arp_ignore=2")
    log = ArpLog(k, dev(k, "b", "b0"))
    # Out of a0 with a1's address: the request carries 10.3.0.1 (arp_announce 0).
    assert not ping(k, "a", "-I 10.3.0.1 10.1.0.2")
    assert log.ops(ARPOP_REPLY) == []
    run(k, "ip -n a neigh flush all")
    assert ping(k, "a", "10.1.0.2")
    assert ping(k, "a", "10.1.0.2")
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.arp_ignore=1")
    run(k, "ip -n a neigh flush all")
    assert ping(k, "a", "-I 10.3.0.1 10.1.0.2")


def test_arp_ignore_3_skips_host_scope_addresses() -> None:
    k = kernel(DUAL)
    assert ping(k, "a", "10.9.0.3")
    run(k, "ip -n a neigh flush all")
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.arp_ignore=3")
    assert not ping(k, "a", "10.9.0.3")
    assert ping(k, "a", "10.9.0.2")


@pytest.mark.parametrize("mode", [4, 5, 6, 7])
def test_arp_ignore_reserved_modes_answer(mode: int) -> None:
    k = kernel(DUAL)
    run(k, f"ip netns exec b sysctl -w net.ipv4.conf.b0.arp_ignore={mode}")
    assert ping(k, "a", "10.9.0.2")


def test_inet_confirm_addr() -> None:
    k = kernel(DUAL)
    b0 = dev(k, "b", "b0").ip_ptr
    assert b0 is not None
    net = k.netns_get("b")
    assert inet_confirm_addr(net, b0, 0, ip("10.1.0.2"), 254) == ip("10.1.0.2")
    assert inet_confirm_addr(net, b0, 0, ip("10.9.0.2"), 254) == 0
    assert inet_confirm_addr(net, b0, ip("10.1.0.9"), ip("10.1.0.2"), 254) == ip("10.1.0.2")
    assert inet_confirm_addr(net, b0, ip("10.3.0.9"), ip("10.1.0.2"), 254) == 0
    assert inet_confirm_addr(net, b0, ip("10.1.0.9"), 0, 253) == ip("10.1.0.2")
    assert inet_confirm_addr(net, None, 0, ip("10.9.0.2"), 253) == ip("10.9.0.2")
    assert inet_confirm_addr(net, None, 0, ip("10.9.0.3"), 253) == 0  # scope host
    assert inet_confirm_addr(net, None, 0, ip("10.9.0.3"), 254) == ip("10.9.0.3")


def test_arp_filter_needs_the_route_back_through_the_receiving_device() -> None:
    k = kernel(DUAL)
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.all.arp_filter=1")
    # 10.3.0.1 on a0 asks for 10.3.0.2: b's route back to 10.3.0.1 is via b1.
    assert not ping(k, "a", "-I 10.3.0.1 10.3.0.2")
    assert ping(k, "a", "10.1.0.2")
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.all.arp_filter=0")
    run(k, "ip -n a neigh flush all")
    assert ping(k, "a", "-I 10.3.0.1 10.3.0.2")


# -- the input route check: rp_filter and martians --------------------------------------


def test_strict_rp_filter_drops_requests_from_another_links_source() -> None:
    k = kernel(DUAL)
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.rp_filter=1")
    assert not ping(k, "a", "-I 10.3.0.1 10.1.0.2")
    n = neigh(k, "a", "a0", "10.1.0.2")
    assert n is not None and not n.nud_state & NUD_VALID
    assert k.neigh_tbl.dump(k.netns_get("b")) == []
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.rp_filter=2")  # loose
    run(k, "ip -n a neigh flush all")
    assert ping(k, "a", "-I 10.3.0.1 10.1.0.2")


def test_martian_sender_is_not_answered() -> None:
    k = kernel(DUAL)
    log = ArpLog(k, dev(k, "b", "b0"))
    a0 = dev(k, "a", "a0")
    inject(k, a0, ARPOP_REQUEST, "10.1.0.2", "10.1.0.2")  # b's own address as sender
    inject(k, a0, ARPOP_REQUEST, "127.0.0.5", "10.1.0.2")
    inject(k, a0, ARPOP_REQUEST, "255.255.255.255", "10.1.0.2")
    assert log.frames == []
    inject(k, a0, ARPOP_REQUEST, "10.1.0.77", "10.1.0.2")
    assert log.senders(ARPOP_REPLY) == [ip("10.1.0.2")]


def test_duplicate_address_probe_is_answered_without_learning() -> None:
    k = kernel(DUAL)
    log = ArpLog(k, dev(k, "b", "b0"))
    inject(k, dev(k, "a", "a0"), ARPOP_REQUEST, "0.0.0.0", "10.9.0.2")
    [(_, dst, _op, sha, sip, tha, tip)] = log.ops(ARPOP_REPLY)
    assert (dst, sha, sip, tha, tip) == (FAKE_MAC, dev(k, "b", "b0").dev_addr, ip("10.9.0.2"),
                                         FAKE_MAC, 0)
    assert k.neigh_tbl.dump(k.netns_get("b")) == []
    inject(k, dev(k, "a", "a0"), ARPOP_REQUEST, "0.0.0.0", "10.1.0.99")  # not ours
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.arp_ignore=1")
    inject(k, dev(k, "a", "a0"), ARPOP_REQUEST, "0.0.0.0", "10.9.0.2")  # not on b0
    assert len(log.ops(ARPOP_REPLY)) == 1


# -- arp_announce: the sender address of our requests ------------------------------------


@pytest.mark.parametrize(("conf", "src", "learned"), [
    ("", "10.3.0.1", "10.3.0.1"),  # 0: any local source
    ("conf.a0.arp_announce=1", "10.3.0.1", "10.1.0.1"),  # 1: not in the target's subnet
    ("conf.a0.arp_announce=1", "10.1.0.5", "10.1.0.5"),  # 1: in the subnet, kept
    ("conf.a0.arp_announce=2", "10.3.0.1", "10.1.0.1"),
    ("conf.a0.arp_announce=2", "10.1.0.5", "10.1.0.1"),  # 2: the primary, not a secondary
    ("conf.all.arp_announce=2", "10.3.0.1", "10.1.0.1"),  # max(all, dev)
])
def test_arp_announce_picks_the_request_sender(conf: str, src: str, learned: str) -> None:
    k = kernel(DUAL)
    run(k, "ip -n a addr add 10.1.0.5/24 dev a0")
    if conf:
        run(k, f"ip netns exec a sysctl -w net.ipv4.{conf}")
    log = ArpLog(k, dev(k, "a", "a0"))
    assert ping(k, "a", f"-I {src} 10.1.0.2")
    assert log.senders() == [ip(learned)]
    assert valid(k, "b", "b0", learned)


def test_reprobe_of_a_known_neighbour_is_unicast() -> None:
    k = kernel(DUAL)
    assert ping(k, "a", "10.1.0.2")
    k.sched.run_for(60 * NSEC_PER_SEC)  # REACHABLE has gone STALE
    n = neigh(k, "a", "a0", "10.1.0.2")
    assert n is not None and n.nud_state == NUD_STALE
    log = ArpLog(k, dev(k, "a", "a0"))
    assert ping(k, "a", "10.1.0.2")
    k.sched.run_for(6 * NSEC_PER_SEC)  # DELAY, then PROBE
    b0_mac = dev(k, "b", "b0").dev_addr
    assert log.ops(ARPOP_REQUEST)[0][1] == b0_mac
    assert n.nud_state == NUD_REACHABLE


# -- what the table learns -------------------------------------------------------------


def test_request_for_us_keeps_a_reachable_entry() -> None:
    k = kernel(DUAL)
    assert ping(k, "b", "10.1.0.1")
    n = neigh(k, "b", "b0", "10.1.0.1")
    assert n is not None and n.nud_state == NUD_REACHABLE
    run(k, "ip -n a neigh flush all")
    assert ping(k, "a", "10.1.0.2")  # the request repeats the MAC b knows
    assert n.nud_state == NUD_REACHABLE


def test_request_from_a_new_sender_makes_a_stale_entry() -> None:
    k = kernel(DUAL)
    inject(k, dev(k, "a", "a0"), ARPOP_REQUEST, "10.1.0.50", "10.1.0.2")
    n = neigh(k, "b", "b0", "10.1.0.50")
    assert n is not None and n.nud_state == NUD_STALE and n.lladdr == FAKE_MAC


def test_unsolicited_arp_needs_arp_accept() -> None:
    k = kernel(DUAL)
    a0 = dev(k, "a", "a0")
    b0_mac = dev(k, "b", "b0").dev_addr
    inject(k, a0, ARPOP_REQUEST, "10.1.0.7", "10.1.0.7")  # gratuitous request
    inject(k, a0, ARPOP_REPLY, "10.1.0.8", "10.1.0.2", tha=b0_mac, dst=b0_mac)
    assert neigh(k, "b", "b0", "10.1.0.7") is None
    assert neigh(k, "b", "b0", "10.1.0.8") is None
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.b0.arp_accept=1")
    inject(k, a0, ARPOP_REQUEST, "10.1.0.7", "10.1.0.7")
    inject(k, a0, ARPOP_REPLY, "10.1.0.8", "10.1.0.2", tha=b0_mac, dst=b0_mac)
    garp, reply = neigh(k, "b", "b0", "10.1.0.7"), neigh(k, "b", "b0", "10.1.0.8")
    assert garp is not None and garp.nud_state == NUD_STALE and garp.lladdr == FAKE_MAC
    assert reply is not None and reply.nud_state == NUD_REACHABLE  # unicast reply to us


def test_arp_accept_2_only_for_senders_in_a_local_subnet() -> None:
    k = kernel(DUAL)
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.all.arp_accept=2")
    a0 = dev(k, "a", "a0")
    inject(k, a0, ARPOP_REQUEST, "10.1.0.7", "10.1.0.7")
    inject(k, a0, ARPOP_REQUEST, "10.50.0.7", "10.50.0.7")
    assert neigh(k, "b", "b0", "10.1.0.7") is not None
    assert neigh(k, "b", "b0", "10.50.0.7") is None


def test_reply_state_and_locktime() -> None:
    k = kernel(DUAL)
    run(k, "ip -n b neigh add 10.1.0.60 dev b0 lladdr 02:00:00:00:00:01 nud stale")
    a0 = dev(k, "a", "a0")
    b0_mac = dev(k, "b", "b0").dev_addr
    n = neigh(k, "b", "b0", "10.1.0.60")
    assert n is not None
    k.sched.run_for(2 * NSEC_PER_SEC)
    # A broadcast reply is no proof of reachability: STALE, new address taken.
    inject(k, a0, ARPOP_REPLY, "10.1.0.60", "10.1.0.2", tha=b0_mac)
    assert n.lladdr == FAKE_MAC and n.nud_state == NUD_STALE
    # Within locktime (1 s) a different address from a second replier loses.
    inject(k, a0, ARPOP_REPLY, "10.1.0.60", "10.1.0.2", sha=OTHER_MAC, tha=b0_mac,
           dst=b0_mac)
    assert n.lladdr == FAKE_MAC
    k.sched.run_for(2 * NSEC_PER_SEC)
    inject(k, a0, ARPOP_REPLY, "10.1.0.60", "10.1.0.2", sha=OTHER_MAC, tha=b0_mac,
           dst=b0_mac)
    assert n.lladdr == OTHER_MAC and n.nud_state == NUD_REACHABLE


def test_gratuitous_arp_overrides_locktime_unless_dropped() -> None:
    k = kernel(DUAL)
    a0 = dev(k, "a", "a0")
    inject(k, a0, ARPOP_REQUEST, "10.1.0.61", "10.1.0.2")  # learned: STALE, FAKE_MAC
    n = neigh(k, "b", "b0", "10.1.0.61")
    assert n is not None and n.lladdr == FAKE_MAC
    inject(k, a0, ARPOP_REQUEST, "10.1.0.61", "10.1.0.61", sha=OTHER_MAC)
    assert n.lladdr == OTHER_MAC  # garp: no locktime
    run(k, "ip netns exec b sysctl -w net.ipv4.conf.all.drop_gratuitous_arp=1")
    inject(k, a0, ARPOP_REQUEST, "10.1.0.61", "10.1.0.61", sha=FAKE_MAC)
    assert n.lladdr == OTHER_MAC


def test_queued_packets_leave_when_a_request_resolves_the_entry() -> None:
    k = kernel(DUAL)
    a0 = dev(k, "a", "a0")
    # A bare IPv4 header from 10.1.0.1: enough for the queue and arp_solicit.
    pkt = bytes.fromhex("450000140000400040010000") + ip("10.1.0.1").to_bytes(4, "big") + \
        ip("10.1.0.70").to_bytes(4, "big")
    neigh_output(a0, ip("10.1.0.70"), pkt, None)
    n = neigh(k, "a", "a0", "10.1.0.70")
    assert n is not None and len(n.queue or ()) == 1
    inject(k, dev(k, "b", "b0"), ARPOP_REQUEST, "10.1.0.70", "10.1.0.1")
    assert n.lladdr == FAKE_MAC and n.queue is None
    assert n.nud_state == NUD_DELAY  # STALE, then the queued packet's output


# -- proxy ARP ----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["conf.r1", "conf.all"])
def test_proxy_arp_answers_for_targets_routed_elsewhere(where: str) -> None:
    k = kernel(PROXY)
    assert not ping(k, "h1", "10.114.8.2")
    run(k, "ip -n h1 neigh flush dev eth0")
    run(k, f"ip netns exec r sysctl -w net.ipv4.{where}.proxy_arp=1 "
           "net.ipv4.neigh.r1.proxy_delay=0")
    assert ping(k, "h1", "10.114.8.2")
    n = neigh(k, "h1", "eth0", "10.114.8.2")
    assert n is not None and n.lladdr == dev(k, "r", "r1").dev_addr
    assert valid(k, "r", "r1", "10.114.0.2")  # the requester was learned
    assert not ping(k, "h1", "10.114.0.9")  # routed back out of r1
    assert not ping(k, "h1", "10.114.9.9")  # not routed
    assert not valid(k, "h1", "eth0", "10.114.0.9")
    assert not valid(k, "h1", "eth0", "10.114.9.9")


def test_proxy_arp_needs_forwarding_on_the_receiving_device() -> None:
    k = kernel(PROXY)
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.proxy_arp=1 "
           "net.ipv4.neigh.r1.proxy_delay=0 net.ipv4.conf.r1.forwarding=0")
    assert not ping(k, "h1", "10.114.8.2")


def test_proxy_arp_medium_id() -> None:
    k = kernel(PROXY)
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.proxy_arp=1 "
           "net.ipv4.neigh.r1.proxy_delay=0 net.ipv4.conf.r1.medium_id=1 "
           "net.ipv4.conf.r2.medium_id=1")
    assert not ping(k, "h1", "10.114.8.2")  # the same medium: no proxy
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r2.medium_id=2")
    run(k, "ip -n h1 neigh flush dev eth0")
    assert ping(k, "h1", "10.114.8.2")
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.medium_id=-1")
    run(k, "ip -n h1 neigh flush dev eth0")
    assert not ping(k, "h1", "10.114.8.2")  # -1: proxy ARP off


def test_proxy_arp_pvlan_answers_on_the_same_link() -> None:
    k = kernel(PROXY)
    log = ArpLog(k, dev(k, "r", "r1"))
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.proxy_arp_pvlan=1 "
           "net.ipv4.neigh.r1.proxy_delay=0")
    ping(k, "h1", "10.114.0.9")
    n = neigh(k, "h1", "eth0", "10.114.0.9")
    assert n is not None and n.lladdr == dev(k, "r", "r1").dev_addr
    assert log.senders(ARPOP_REPLY) == [ip("10.114.0.9")]


def test_proxy_entries_from_ip_neigh_add_proxy() -> None:
    k = kernel(PROXY)
    run(k, "ip netns exec r sysctl -w net.ipv4.neigh.r1.proxy_delay=0")
    run(k, "ip -n r neigh add proxy 10.114.8.2 dev r2")  # another device: no
    assert not ping(k, "h1", "10.114.8.2")
    run(k, "ip -n r neigh add proxy 10.114.8.2 dev r1")
    run(k, "ip -n h1 neigh flush dev eth0")
    assert ping(k, "h1", "10.114.8.2")
    run(k, "ip -n r neigh add proxy 10.114.0.9 dev r1")  # but routed back out of r1
    assert not ping(k, "h1", "10.114.0.9")


def test_proxy_delay_defers_broadcast_requests_only() -> None:
    k = kernel(PROXY)
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.proxy_arp=1")  # proxy_delay 0.8 s
    log = ArpLog(k, dev(k, "r", "r1"))
    h1 = dev(k, "h1", "eth0")
    sent = []
    for i in range(6):
        sent.append(k.sched.now)
        inject(k, h1, ARPOP_REQUEST, f"10.114.0.{20 + i}", "10.114.8.2")
    k.sched.run_for(NSEC_PER_SEC)
    replies = log.ops(ARPOP_REPLY)
    assert sorted(f[6] for f in replies) == [ip(f"10.114.0.{20 + i}") for i in range(6)]
    delays = [f[0] - sent[f[6] - ip("10.114.0.20")] for f in replies]
    assert all(d < 800 * NSEC_PER_MSEC for d in delays)
    assert max(delays) > 50 * NSEC_PER_MSEC
    # A request sent to r1's own MAC (PACKET_HOST) is answered at once.
    r1_mac = dev(k, "r", "r1").dev_addr
    start = k.sched.now
    inject(k, h1, ARPOP_REQUEST, "10.114.0.30", "10.114.8.2", dst=r1_mac)
    [last] = log.ops(ARPOP_REPLY)[6:]
    assert last[0] - start < NSEC_PER_MSEC


def test_proxy_queue_is_bounded_by_proxy_qlen() -> None:
    k = kernel(PROXY)
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.proxy_arp=1 "
           "net.ipv4.neigh.r1.proxy_qlen=1")
    log = ArpLog(k, dev(k, "r", "r1"))
    h1 = dev(k, "h1", "eth0")
    for i in range(4):
        inject(k, h1, ARPOP_REQUEST, f"10.114.0.{20 + i}", "10.114.8.2")
    k.sched.run_for(NSEC_PER_SEC)
    assert len(log.ops(ARPOP_REPLY)) == 2  # queued while qlen <= proxy_qlen


def test_proxied_request_waiting_on_a_device_gone_down_is_dropped() -> None:
    k = kernel(PROXY)
    run(k, "ip netns exec r sysctl -w net.ipv4.conf.r1.proxy_arp=1 "
           "net.ipv4.neigh.r1.proxy_delay=250")  # 2.5 s
    log = ArpLog(k, dev(k, "r", "r1"))
    for i in range(4):
        inject(k, dev(k, "h1", "eth0"), ARPOP_REQUEST, f"10.114.0.{20 + i}", "10.114.8.2")
    run(k, "ip -n r link set r1 down")
    k.sched.run_for(3 * NSEC_PER_SEC)
    assert log.ops(ARPOP_REPLY) == []
