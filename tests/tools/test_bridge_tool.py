"""bridge link / fdb, checked against a fresh bridge on the oracle."""

from __future__ import annotations

import json

import pytest

from usernet import Kernel

P0, P1 = "02:00:00:00:00:10", "02:00:00:00:00:11"


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    for line in ("ip netns add f", "ip -n f link add br0 type bridge",
                 f"ip -n f link add p0 address {P0} type veth peer name p1 address {P1}",
                 "ip -n f link set p0 master br0"):
        assert kernel.cmd(line).rc == 0, line
    return kernel


def br(k: Kernel, line: str) -> tuple[int, str, str]:
    res = k.cmd(f"bridge -n f {line}")
    return res.rc, res.stdout, res.stderr


def test_link_show(k: Kernel) -> None:
    assert br(k, "link show")[1] == ("4: p0@p1: <BROADCAST,MULTICAST,M-DOWN> mtu 1500 "
                                     "master br0 state disabled priority 32 cost 2 \n")
    for line in ("ip -n f link set br0 up", "ip -n f link set p0 up", "ip -n f link set p1 up"):
        k.cmd(line)
    row = json.loads(br(k, "-j link show")[1])[0]
    assert row["state"] == "forwarding" and row["link"] == "p1"
    assert br(k, "link show dev p1")[1] == ""
    assert br(k, "link show dev nosuch") == (255, "", 'Cannot find device "nosuch"\n')


def test_fdb_of_fresh_bridge(k: Kernel) -> None:
    assert br(k, "fdb show")[1].splitlines() == [
        "33:33:00:00:00:01 dev br0 self permanent",
        "33:33:00:00:00:01 dev p1 self permanent",
        f"{P0} dev p0 master br0 permanent",
        "33:33:00:00:00:01 dev p0 self permanent",
    ]
    for line in ("ip -n f link set br0 up", "ip -n f link set p0 up", "ip -n f link set p1 up"):
        k.cmd(line)
    assert br(k, "fdb show brport p0")[1].splitlines() == [
        f"{P0} master br0 permanent",
        "33:33:00:00:00:01 self permanent",
        "01:00:5e:00:00:01 self permanent",
        "33:33:ff:00:00:10 self permanent",
    ]
    macs = [e["mac"] for e in json.loads(br(k, "-j fdb show br br0")[1]) if e["ifname"] == "br0"]
    assert macs == ["33:33:00:00:00:01", "01:00:5e:00:00:6a", "33:33:00:00:00:6a",
                    "01:00:5e:00:00:01", "33:33:ff:00:00:10"]


def test_fdb_without_ipv6(k: Kernel) -> None:
    k.cmd("ip netns exec f sysctl -w net.ipv6.conf.all.disable_ipv6=1")
    assert br(k, "fdb show")[1].splitlines() == [f"{P0} dev p0 master br0 permanent"]


def test_fdb_add_del_replace(k: Kernel) -> None:
    assert br(k, "fdb add 02:00:00:00:aa:01 dev p0 master static")[0] == 0
    assert br(k, "fdb add 02:00:00:00:aa:02 dev p0 master")[0] == 0
    assert br(k, "fdb add 02:00:00:00:aa:01 dev p0 master static")[2] == \
        "RTNETLINK answers: File exists\n"
    assert br(k, "fdb show dynamic")[1] == "02:00:00:00:aa:01 dev p0 master br0 static\n"
    assert br(k, "fdb replace 02:00:00:00:aa:02 dev p0 master static")[0] == 0
    assert br(k, "fdb show brport p0")[1].splitlines()[:3] == [
        "02:00:00:00:aa:02 master br0 static", "02:00:00:00:aa:01 master br0 static",
        f"{P0} master br0 permanent"]
    assert br(k, "fdb del 02:00:00:00:aa:01 dev p0 master")[0] == 0
    assert br(k, "fdb del 02:00:00:00:aa:01 dev p0 master")[2] == \
        "RTNETLINK answers: No such file or directory\n"
    assert br(k, "fdb add 02:00:00:00:aa:09 dev p1 master")[2] == \
        "RTNETLINK answers: Operation not supported\n"
    k.cmd("ip -n f link set p0 nomaster")
    k.cmd("ip -n f link set p0 master br0")
    assert "aa:02" not in br(k, "fdb show")[1]  # leaving the bridge flushed it


@pytest.mark.parametrize(("line", "err"), [
    ("fdb add zz dev p0 master", "Invalid mac address zz"),
    ("fdb add 02:00:00:00:aa:07 master", "Device and address are required arguments."),
    ("fdb show br nosuch", 'Cannot find bridge device "nosuch"'),
    ("frob", 'Object "frob" is unknown, try "bridge help".'),
    ("fdb frob", 'Command "frob" is unknown, try "bridge fdb help".'),
])
def test_errors(k: Kernel, line: str, err: str) -> None:
    assert br(k, line) == (255, "", err + "\n")
