"""Device basics: veth pair semantics, ifindex allocation, MAC addresses, lo."""

from __future__ import annotations

import json
from typing import Any

import pytest

from usernet import Kernel
from usernet.dev.netdevice import NETREG_REGISTERED, NETREG_UNREGISTERED


def links(k: Kernel, ns: str | None = None) -> dict[str, dict[str, Any]]:
    res = k.cmd("ip -j link show") if ns is None else k.cmd(f"ip -n {ns} -j link show")
    assert res.rc == 0, res.stderr
    return {x["ifname"]: x for x in json.loads(res.stdout)}


def ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, f"{line}: rc={res.rc} {res.stderr}"
    return res.stdout


def state(k: Kernel, name: str, ns: str | None = None) -> tuple[list[str], str]:
    link = links(k, ns)[name]
    return link["flags"], link["operstate"]


# -- veth ------------------------------------------------------------------------------------


def test_veth_pair_same_namespace_operstate_combinations() -> None:
    k = Kernel()
    ok(k, "ip link add va type veth peer name vb")
    lst = links(k)
    # the peer is registered first
    assert lst["vb"]["ifindex"] == 2 and lst["va"]["ifindex"] == 3
    assert lst["va"]["link"] == "vb" and lst["vb"]["link"] == "va"
    assert "link_netnsid" not in lst["va"]
    # both down
    assert state(k, "va") == (["BROADCAST", "MULTICAST", "M-DOWN"], "DOWN")
    assert state(k, "vb") == (["BROADCAST", "MULTICAST", "M-DOWN"], "DOWN")
    # one end up: no carrier, lower layer down
    ok(k, "ip link set va up")
    assert state(k, "va") == (["NO-CARRIER", "BROADCAST", "MULTICAST", "UP", "M-DOWN"],
                              "LOWERLAYERDOWN")
    assert state(k, "vb") == (["BROADCAST", "MULTICAST"], "DOWN")
    # both up
    ok(k, "ip link set vb up")
    assert state(k, "va") == (["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "UP")
    assert state(k, "vb") == (["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "UP")
    # one end down again: the other loses carrier
    ok(k, "ip link set va down")
    assert state(k, "vb") == (["NO-CARRIER", "BROADCAST", "MULTICAST", "UP", "M-DOWN"],
                              "LOWERLAYERDOWN")
    assert state(k, "va") == (["BROADCAST", "MULTICAST"], "DOWN")
    # qdisc: noop until the first up, then noqueue for good
    assert links(k)["va"]["qdisc"] == "noqueue"
    ok(k, "ip link add vc type veth peer name vd")
    assert links(k)["vc"]["qdisc"] == "noop"


def test_veth_pair_across_namespaces() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add va type veth peer name vb netns x")
    va = links(k)["va"]
    vb = links(k, "x")["vb"]
    assert "link" not in va
    assert va["link_index"] == vb["ifindex"]
    assert vb["link_index"] == va["ifindex"]
    assert va["link_netnsid"] == 0 and vb["link_netnsid"] == 0
    # M-DOWN only when the peer is in the same namespace
    assert state(k, "va") == (["BROADCAST", "MULTICAST"], "DOWN")
    ok(k, "ip link set va up")
    flags, oper = state(k, "va")
    assert flags == ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
    assert oper in ("DOWN", "LOWERLAYERDOWN")
    ok(k, "ip -n x link set vb up")
    assert state(k, "va") == (["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "UP")
    assert state(k, "vb", "x") == (["BROADCAST", "MULTICAST", "UP", "LOWER_UP"], "UP")
    text = ok(k, "ip -n x link show vb")
    assert text.startswith(f"{vb['ifindex']}: vb@if{va['ifindex']}: ")
    assert "link-netnsid 0" in text
    assert "link-netns x" in ok(k, "ip link show va")


def test_deleting_either_end_deletes_both() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add va type veth peer name vb netns x")
    va = k.init_net.dev_get_by_name("va")
    vb = k.netns_get("x").dev_get_by_name("vb")
    assert va is not None and vb is not None
    ok(k, "ip -n x link del vb")
    assert set(links(k)) == {"lo"}
    assert set(links(k, "x")) == {"lo"}
    assert va.reg_state == vb.reg_state == NETREG_UNREGISTERED
    assert va.peer is None and vb.peer is None
    ok(k, "ip link add vc type veth peer name vd")
    ok(k, "ip link del vc")
    assert set(links(k)) == {"lo"}


def test_veth_default_names_and_duplicate() -> None:
    k = Kernel()
    ok(k, "ip link add type veth")
    assert set(links(k)) == {"lo", "veth0", "veth1"}
    res = k.cmd("ip link add vx type veth peer name vx")
    assert res.rc == 2
    assert res.stderr == "RTNETLINK answers: File exists\n"
    res = k.cmd("ip link add veth0 type veth peer name fresh")
    assert res.rc == 2
    assert set(links(k)) == {"lo", "veth0", "veth1"}


# -- ifindex ---------------------------------------------------------------------------------


def test_ifindex_is_per_namespace() -> None:
    k = Kernel()
    for ns in ("x", "y"):
        ok(k, f"ip netns add {ns}")
        ok(k, f"ip -n {ns} link add eth0 type veth peer name eth1")
    for ns in ("x", "y"):
        lst = links(k, ns)
        assert (lst["lo"]["ifindex"], lst["eth1"]["ifindex"], lst["eth0"]["ifindex"]) == (1, 2, 3)
    assert set(links(k)) == {"lo"}


def test_ifindex_allocation_is_cyclic() -> None:
    k = Kernel()
    for i in range(3):
        ok(k, f"ip link add d{i} type dummy")
    assert [links(k)[f"d{i}"]["ifindex"] for i in range(3)] == [2, 3, 4]
    ok(k, "ip link del d1")
    ok(k, "ip link add d3 type dummy")
    assert links(k)["d3"]["ifindex"] == 5  # 3 is free but not reused yet


def test_ifindex_wraps_around_and_skips_used() -> None:
    k = Kernel()
    net = k.init_net
    ok(k, "ip link add d0 type dummy")  # ifindex 2
    net.ifindex = 0x7FFFFFFE
    ok(k, "ip link add big type dummy")
    assert links(k)["big"]["ifindex"] == 0x7FFFFFFF
    ok(k, "ip link add wrap type dummy")
    assert links(k)["wrap"]["ifindex"] == 3  # 1 (lo) and 2 (d0) are taken


def test_failed_veth_creation_leaves_no_device() -> None:
    k = Kernel()
    before = links(k)
    assert k.cmd("ip link add dup type veth peer name dup").rc == 2
    assert links(k) == before
    ok(k, "ip link add ok0 type veth peer name ok1")
    lst = links(k)
    # Linux registered the peer before finding the clash: that index is used up
    assert lst["ok1"]["ifindex"] == 3 and lst["ok0"]["ifindex"] == 4


# -- MAC addresses -----------------------------------------------------------------------------


def _macs(k: Kernel) -> list[bytes]:
    return [bytes.fromhex(x["address"].replace(":", ""))
            for x in links(k).values() if x["ifname"] != "lo"]


def _make(seed: int) -> Kernel:
    k = Kernel(seed=seed)
    ok(k, "ip link add va type veth peer name vb")
    ok(k, "ip link add br0 type bridge")
    ok(k, "ip link add d0 type dummy")
    return k


def test_random_macs_are_locally_administered_unicast_and_distinct() -> None:
    k = _make(0)
    for i in range(50):
        ok(k, f"ip link add x{i} type dummy")
    macs = _macs(k)
    assert len(macs) == 54
    assert len(set(macs)) == len(macs)
    for mac in macs:
        assert len(mac) == 6
        assert mac[0] & 0x01 == 0, mac.hex()  # unicast
        assert mac[0] & 0x02 == 0x02, mac.hex()  # locally administered
        assert any(mac)
    nic = k.add_nic("eth9")
    assert nic.dev_addr[0] & 0x03 == 0x02


def test_macs_are_deterministic_per_seed() -> None:
    assert _macs(_make(7)) == _macs(_make(7))
    assert _macs(_make(7)) != _macs(_make(8))
    assert _macs(_make(0)) == _macs(_make(0))


def test_explicit_mac_is_kept() -> None:
    k = Kernel()
    ok(k, "ip link add va address 02:00:00:00:00:0a type veth peer name vb "
          "address 02:00:00:00:00:0b")
    lst = links(k)
    assert lst["va"]["address"] == "02:00:00:00:00:0a"
    assert lst["vb"]["address"] == "02:00:00:00:00:0b"
    ok(k, "ip link set va address 02:00:00:00:00:0c")
    assert links(k)["va"]["address"] == "02:00:00:00:00:0c"


@pytest.mark.parametrize("mac", ["01:00:5e:00:00:01", "00:00:00:00:00:00"])
def test_multicast_or_zero_mac_refused(mac: str) -> None:
    k = Kernel()
    ok(k, "ip link add d0 type dummy")
    before = links(k)
    res = k.cmd(f"ip link set d0 address {mac}")
    assert res.rc == 2
    assert res.stderr == "RTNETLINK answers: Cannot assign requested address\n"
    assert links(k) == before


# -- lo --------------------------------------------------------------------------------------


def test_lo_cannot_be_deleted() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    for prefix in ("", "-n x "):
        res = k.cmd(f"ip {prefix}link del lo")
        assert res.rc == 2
        assert res.stderr == "RTNETLINK answers: Operation not supported\n"
    assert "lo" in links(k) and "lo" in links(k, "x")
    assert k.init_net.loopback_dev is not None
    assert k.init_net.loopback_dev.reg_state == NETREG_REGISTERED


def test_lo_cannot_be_moved() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip netns add y")
    res = k.cmd("ip -n x link set lo netns y")
    assert res.rc == 2
    assert res.stderr == "Error: The interface netns is immutable.\n"
    res = k.cmd("ip link set lo netns x")
    assert res.rc == 2
    assert k.netns_get("x").loopback_dev is k.netns_get("x").dev_get_by_name("lo")
    assert [d.name for d in k.netns_get("y").devices()] == ["lo"]
    assert [d.name for d in k.init_net.devices()] == ["lo"]


def test_lo_up_gets_loopback_address_and_unknown_state() -> None:
    k = Kernel()
    ok(k, "ip link set lo up")
    flags, oper = state(k, "lo")
    assert flags == ["LOOPBACK", "UP", "LOWER_UP"]
    assert oper == "UNKNOWN"
    addrs = json.loads(ok(k, "ip -j addr show lo"))[0]["addr_info"]
    assert [(a["local"], a["prefixlen"], a["scope"]) for a in addrs
            if a["family"] == "inet"] == [("127.0.0.1", 8, "host")]


def test_mtu_bounds_of_veth() -> None:
    k = Kernel()
    ok(k, "ip link add va type veth peer name vb")
    before = links(k)
    for bad in ("67", "65536"):
        res = k.cmd(f"ip link set va mtu {bad}")
        assert res.rc == 2, bad
        assert res.stderr.startswith("Error: mtu ")
    assert links(k) == before
    ok(k, "ip link set va mtu 68")
    ok(k, "ip link set vb mtu 65535")
    lst = links(k)
    assert lst["va"]["mtu"] == 68 and lst["vb"]["mtu"] == 65535
