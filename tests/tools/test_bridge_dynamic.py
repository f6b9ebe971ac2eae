"""`bridge fdb` with learned entries and `bridge link set`/`-d link show`,
as iproute2 6.1 prints them over Linux 6.18 (checked on the oracle host)."""

from __future__ import annotations

import json

import pytest

from usernet import Kernel
from usernet.dev.bridge import Bridge
from usernet.dev.datapath import dev_queue_xmit
from usernet.sched import NSEC_PER_SEC
from usernet.wire.ethernet import eth_header

P1, Q1 = "02:00:00:00:01:01", "02:00:00:00:00:01"


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    for line in ("ip netns add f", "ip -n f link add br0 type bridge",
                 f"ip -n f link add p1 address {P1} type veth peer name q1 address {Q1}",
                 "ip -n f link set p1 master br0", "ip -n f link set br0 up",
                 "ip -n f link set p1 up", "ip -n f link set q1 up"):
        assert kernel.cmd(line).rc == 0, line
    return kernel


def br(k: Kernel, line: str) -> tuple[int, str, str]:
    res = k.cmd(f"bridge -n f {line}")
    return res.rc, res.stdout, res.stderr


def learn(k: Kernel) -> None:
    """q1 broadcasts once: the bridge learns Q1 on p1."""
    q1 = k.netns_get("f").dev_by_name["q1"]
    dev_queue_xmit(q1, eth_header(b"\xff" * 6, bytes.fromhex(Q1.replace(":", "")), 0x88B5)
                   + bytes(46))
    k.sched.run_for(NSEC_PER_SEC // 100)


def test_learned_entry_text_and_json(k: Kernel) -> None:
    learn(k)
    assert br(k, "fdb show br br0 dynamic")[1] == f"{Q1} dev p1 master br0 \n"
    assert json.loads(br(k, "-j fdb show dynamic")[1]) == [
        {"mac": Q1, "ifname": "p1", "flags": [], "master": "br0", "state": ""}]
    k.sched.run_for(3 * NSEC_PER_SEC)
    assert br(k, "-s fdb show brport p1")[1].splitlines()[:2] == [
        f"{Q1} used 3/3 master br0 ", f"{P1} used 3/3 master br0 permanent"]
    row = next(r for r in json.loads(br(k, "-s -j fdb show")[1]) if r["mac"] == Q1)
    assert list(row) == ["mac", "ifname", "used", "updated", "flags", "master", "state"]


def test_expired_but_uncollected_entry_is_stale(k: Kernel) -> None:
    learn(k)
    bridge = k.netns_get("f").dev_by_name["br0"]
    assert isinstance(bridge, Bridge)
    bridge.ageing_ns = 0  # as if the collector had not run yet
    assert br(k, "fdb show dynamic")[1] == f"{Q1} dev p1 master br0 stale\n"


def test_user_entries(k: Kernel) -> None:
    assert br(k, "fdb add 02:00:00:00:aa:01 dev p1 master dynamic")[0] == 0
    assert br(k, "fdb append 02:00:00:00:aa:01 dev p1 master static")[0] == 0  # no EXCL
    assert br(k, "fdb show dynamic")[1] == "02:00:00:00:aa:01 dev p1 master br0 static\n"
    assert br(k, "fdb add 02:00:00:00:aa:01 dev p1 master")[2] == \
        "RTNETLINK answers: File exists\n"
    learn(k)
    assert br(k, f"fdb del {Q1} dev p1 master")[0] == 0  # learned entries can go by hand
    k.cmd("ip -n f link set p1 down")
    assert br(k, "fdb add 02:00:00:00:aa:02 dev p1 master dynamic")[2] == \
        "RTNETLINK answers: Operation not permitted\n"


def test_link_details(k: Kernel) -> None:
    assert br(k, "link set dev p1 learning off hairpin on cost 100 priority 10")[0] == 0
    text = br(k, "-d link show")[1].splitlines()
    assert text[0].endswith("state forwarding priority 10 cost 100 ")
    assert text[1] == ("    hairpin on guard off root_block off fastleave off learning off "
                       "flood on mcast_flood on bcast_flood on mcast_router 1 "
                       "mcast_to_unicast off neigh_suppress off vlan_tunnel off isolated off "
                       "locked off ")
    row = json.loads(br(k, "-d -j link show dev p1")[1])[0]
    assert list(row)[-14:] == ["hairpin", "guard", "root_block", "fastleave", "learning",
                               "flood", "mcast_flood", "bcast_flood", "mcast_router",
                               "mcast_to_unicast", "neigh_suppress", "vlan_tunnel",
                               "isolated", "locked"]
    assert row["learning"] is False and row["hairpin"] is True and row["mcast_router"] == 1


def test_link_set_state(k: Kernel) -> None:
    for word, shown in (("blocking", "forwarding"), ("learning", "learning"), ("0", "disabled"),
                        ("3", "forwarding")):
        assert br(k, f"link set dev p1 state {word}")[0] == 0
        assert f"state {shown} " in br(k, "link show")[1]
    assert br(k, "link set dev p1 state 5")[2] == "RTNETLINK answers: Invalid argument\n"
    k.cmd("ip -n f link set p1 down")
    assert br(k, "link set dev p1 state 0")[2] == "RTNETLINK answers: Network is down\n"


@pytest.mark.parametrize(("line", "rc", "err"), [
    ("link set learning off", 255, "Device is a required argument."),
    ("link s", 255, "Device is a required argument."),  # "s" is set, as in iproute2
    ("link set dev eth9 learning off", 255, 'Cannot find bridge device "eth9"'),
    ("link set dev br0 learning off", 255, "RTNETLINK answers: Operation not supported"),
    ("link set dev q1 learning on", 255, "RTNETLINK answers: Operation not supported"),
    ("link set dev p1 learning maybe", 234,
     'Error: argument of "learning" must be one of "off", "on", not "maybe"'),
    ("link set dev p1 learning", 255, 'Command line is not complete. Try option "help"'),
    ("link set dev p1 priority 64", 255, "RTNETLINK answers: Numerical result out of range"),
    ("link set dev p1 cost 70000", 255, "RTNETLINK answers: Numerical result out of range"),
    ("link set dev p1 state bogus", 255, "Error: invalid STP port state"),
    ("link set dev p1 bogus on", 255,
     "Usage: bridge link set dev DEV [ cost COST ] [ priority PRIO ] [ state STATE ]"),
])
def test_link_set_errors(k: Kernel, line: str, rc: int, err: str) -> None:
    got = br(k, line)
    assert (got[0], got[2].splitlines()[0]) == (rc, err)


def test_link_set_values_not_sent(k: Kernel) -> None:
    assert br(k, "link set dev p1 cost 0 priority -1")[0] == 0
    assert br(k, "link show")[1].endswith("priority 32 cost 2 \n")
    assert br(k, "link set dev p1")[0] == 0


# -- bridge fdb flush (results recorded on Linux 6.18 with three learned entries,
# a static, a permanent and a dynamic entry added by hand) ---------------------------

H = ("02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03")
A = ("02:00:00:00:aa:01", "02:00:00:00:aa:02", "02:00:00:00:aa:03")


@pytest.fixture
def kf() -> Kernel:
    kernel = Kernel()
    lines = ["ip netns add f", "ip -n f link add br0 type bridge", "ip -n f link set br0 up"]
    for n in (1, 2, 3):
        lines += [f"ip -n f link add p{n} address 02:00:00:00:01:0{n} type veth peer name "
                  f"q{n} address {H[n - 1]}", f"ip -n f link set p{n} master br0",
                  f"ip -n f link set p{n} up", f"ip -n f link set q{n} up"]
    lines += [f"bridge -n f fdb add {A[0]} dev p1 master static",
              f"bridge -n f fdb add {A[1]} dev p2 master",
              f"bridge -n f fdb add {A[2]} dev p3 master dynamic"]
    for line in lines:
        assert kernel.cmd(line).rc == 0, line
    for n in (1, 2, 3):
        q = kernel.netns_get("f").dev_by_name[f"q{n}"]
        dev_queue_xmit(q, eth_header(b"\xff" * 6, bytes.fromhex(H[n - 1].replace(":", "")),
                                     0x88B5) + bytes(46))
    kernel.sched.run_for(NSEC_PER_SEC // 100)
    return kernel


def left(k: Kernel) -> set[str]:
    rows = json.loads(k.cmd("bridge -n f -j fdb show").stdout)
    return {r["mac"] for r in rows if "master" in r and r["mac"] in H + A}


@pytest.mark.parametrize(("args", "gone"), [
    ("dev br0", H + A),
    ("dev br0 bogus", H + A),
    ("dev br0 brport p2", (H[1], A[1])),
    ("dev p1 master", (H[0], A[0])),
    ("dev p1 master static", (A[0],)),
    ("dev br0 dynamic", (H[0], H[1], H[2], A[2])),
    ("dev br0 static", (A[0],)),
    ("dev br0 permanent", (A[1],)),
    ("dev br0 nopermanent", (H[0], H[1], H[2], A[0], A[2])),
    ("dev br0 nodynamic", (A[0], A[1])),
    ("dev br0 added_by_user", A),
    ("dev br0 noadded_by_user", H),
    ("dev br0 vlan 1", ()),
])
def test_fdb_flush(kf: Kernel, args: str, gone: tuple[str, ...]) -> None:
    assert kf.cmd(f"bridge -n f fdb flush {args}").rc == 0
    assert left(kf) == set(H + A) - set(gone)


def test_fdb_flush_of_the_bridge_takes_local_entries_too(kf: Kernel) -> None:
    kf.cmd("bridge -n f fdb flush dev br0")
    assert "master" not in kf.cmd("bridge -n f fdb show").stdout


@pytest.mark.parametrize(("args", "err"), [
    ("", "Device is a required argument."),
    ("dev q9", 'Cannot find bridge device "q9"'),
    ("dev br0 brport q9", 'Cannot find bridge port device "q9"'),
    ("dev p1", "RTNETLINK answers: Operation not supported"),
    ("dev br0 master", "RTNETLINK answers: Operation not supported"),
    ("dev br0 brport q1", "Error: bridge: Flush device is not a bridge or bridge port."),
    ("dev br0 brport br1", "Error: bridge: Flush bridge device does not match target bridge "
                           "device."),
    ("dev br0 brport lo", "Error: bridge: Flush device is not a bridge or bridge port."),
    ("dev br0 vlan 0", "Error: integer out of range."),
    ("dev br0 vlan 4096", 'Invalid VLAN ID "4096"'),
    ("dev lo self", "Error: FDB delete only supported for Ethernet devices."),
    ("dev br0 brport p1 brport p1", 'Error: either "brport" is duplicate, or "brport" is a '
                                    "garbage."),
    ("dev br0 vlan", 'Command line is not complete. Try option "help"'),
])
def test_fdb_flush_errors(kf: Kernel, args: str, err: str) -> None:
    kf.cmd("ip -n f link add br1 type bridge")
    res = kf.cmd(f"bridge -n f fdb flush {args}")
    assert (res.rc, res.stderr) == (255, err + "\n")
    assert left(kf) == set(H + A)
