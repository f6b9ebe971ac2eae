"""dummy devices, pinned from Linux's documented behaviour (drivers/net/dummy.c):
the recording kernel lacks the module, so these are not conformance scenarios."""

from __future__ import annotations

import json
from typing import Any

from usernet import Kernel
from usernet.dev.dummy import Dummy
from usernet.dev.netdevice import NETREG_UNREGISTERED


def link(k: Kernel, name: str, ns: str | None = None, details: bool = False) -> dict[str, Any]:
    pre = "" if ns is None else f"-n {ns} "
    d = "-d " if details else ""
    res = k.cmd(f"ip {pre}{d}-j link show {name}")
    assert res.rc == 0, res.stderr
    out = json.loads(res.stdout)
    assert len(out) == 1
    return out[0]


def ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, f"{line}: rc={res.rc} {res.stderr}"
    return res.stdout


def test_add_dummy() -> None:
    k = Kernel()
    ok(k, "ip link add d0 type dummy")
    d0 = link(k, "d0")
    assert d0["ifindex"] == 2
    assert d0["flags"] == ["BROADCAST", "NOARP"]
    assert d0["operstate"] == "DOWN"
    assert d0["mtu"] == 1500
    assert d0["link_type"] == "ether"
    assert d0["broadcast"] == "ff:ff:ff:ff:ff:ff"
    assert "link" not in d0 and "link_index" not in d0
    assert isinstance(k.init_net.dev_get_by_name("d0"), Dummy)
    text = ok(k, "ip link show d0")
    assert text.startswith("2: d0: <BROADCAST,NOARP> mtu 1500 qdisc noop state DOWN")


def test_dummy_default_name() -> None:
    k = Kernel()
    ok(k, "ip link add type dummy")
    ok(k, "ip link add type dummy")
    assert link(k, "dummy0")["ifindex"] == 2
    assert link(k, "dummy1")["ifindex"] == 3


def test_dummy_up_is_unknown_with_lower_up() -> None:
    k = Kernel()
    ok(k, "ip link add d0 type dummy")
    ok(k, "ip link set d0 up")
    d0 = link(k, "d0")
    assert d0["flags"] == ["BROADCAST", "NOARP", "UP", "LOWER_UP"]
    assert d0["operstate"] == "UNKNOWN"
    assert d0["qdisc"] == "noqueue"
    assert "<BROADCAST,NOARP,UP,LOWER_UP>" in ok(k, "ip link show d0")
    assert "state UNKNOWN" in ok(k, "ip link show d0")
    ok(k, "ip link set d0 down")
    d0 = link(k, "d0")
    assert d0["flags"] == ["BROADCAST", "NOARP"]
    assert d0["operstate"] == "DOWN"


def test_dummy_created_up() -> None:
    k = Kernel()
    ok(k, "ip link add d0 up type dummy")
    assert link(k, "d0")["flags"] == ["BROADCAST", "NOARP", "UP", "LOWER_UP"]


def test_dummy_mtu_unlimited() -> None:
    k = Kernel()
    ok(k, "ip link add d0 type dummy")
    d = link(k, "d0", details=True)
    assert d["min_mtu"] == 0 and d["max_mtu"] == 0
    for mtu in (70000, 0, 1, 65536, 2147483647):
        ok(k, f"ip link set d0 mtu {mtu}")
        assert link(k, "d0")["mtu"] == mtu
    ok(k, "ip link add d1 mtu 100000 type dummy")
    assert link(k, "d1")["mtu"] == 100000
    assert "mtu 100000 " in ok(k, "ip link show d1")


def test_dummy_mtu_out_of_range_refused() -> None:
    k = Kernel()
    ok(k, "ip link add d0 mtu 9000 type dummy")
    res = k.cmd("ip link set d0 mtu -5")
    assert res.rc == 2
    assert res.stderr == "Error: mtu less than device minimum.\n"
    # beyond an int: iproute2's get_integer refuses it before the kernel sees it
    res = k.cmd("ip link set d0 mtu 4294967295")
    assert res.rc == 255
    assert res.stderr.startswith('Error: argument "4294967295" is wrong: Invalid "mtu" value')
    assert link(k, "d0")["mtu"] == 9000


def test_dummy_details_linkinfo() -> None:
    k = Kernel()
    ok(k, "ip link add d0 type dummy")
    d = link(k, "d0", details=True)
    assert d["linkinfo"] == {"info_kind": "dummy"}
    assert d["num_tx_queues"] == 1 and d["num_rx_queues"] == 1
    text = ok(k, "ip -d link show d0")
    assert "\n    dummy " in text
    assert "minmtu 0 maxmtu 0" in text


def test_dummy_addresses_and_mac() -> None:
    k = Kernel()
    ok(k, "ip link add d0 address 02:00:00:00:00:d0 type dummy")
    assert link(k, "d0")["address"] == "02:00:00:00:00:d0"
    ok(k, "ip link set d0 address 02:00:00:00:00:d1")
    ok(k, "ip addr add 10.0.0.1/24 dev d0")
    res = k.cmd("ip -j -4 addr show d0")
    assert [a["local"] for a in json.loads(res.stdout)[0]["addr_info"]] == ["10.0.0.1"]


def test_dummy_can_be_moved_and_deleted() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add d0 type dummy")
    ok(k, "ip link set d0 up")
    ok(k, "ip link set d0 netns x")
    d0 = link(k, "d0", ns="x")
    assert d0["flags"] == ["BROADCAST", "NOARP"]
    assert d0["operstate"] == "DOWN"
    ok(k, "ip -n x link del d0")
    res = k.cmd("ip -n x link show d0")
    assert res.rc == 1
    assert res.stderr == 'Device "d0" does not exist.\n'


def test_dummy_dies_with_its_namespace_not_refunded() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip -n x link add d0 type dummy")
    ok(k, "ip link add d1 type dummy")
    ok(k, "ip link set d1 netns x")
    devs = [k.netns_get("x").dev_get_by_name(n) for n in ("d0", "d1")]
    ok(k, "ip netns del x")
    for dev in devs:
        assert dev is not None
        assert dev.reg_state == NETREG_UNREGISTERED
    names = [x["ifname"] for x in json.loads(ok(k, "ip -j link show"))]
    assert names == ["lo"]  # nothing came back to init_net, under any name


def test_dummy_name_clash() -> None:
    k = Kernel()
    ok(k, "ip link add d0 type dummy")
    res = k.cmd("ip link add d0 type dummy")
    assert res.rc == 2
    assert res.stderr == "RTNETLINK answers: File exists\n"
    assert [x["ifname"] for x in json.loads(ok(k, "ip -j link show"))] == ["lo", "d0"]


def test_dummy_carrier_can_be_set_from_userspace() -> None:
    """drivers/net/dummy.c has ndo_change_carrier; a veth does not (c066)."""
    k = Kernel()
    assert k.cmd("ip link add d0 type dummy").rc == 0
    assert k.cmd("ip link set d0 up").rc == 0
    assert k.cmd("ip link set d0 carrier off").rc == 0
    line = k.cmd("ip link show d0").stdout.splitlines()[0]
    assert "<NO-CARRIER,BROADCAST,NOARP,UP>" in line and "state DOWN" in line
    assert k.cmd("ip link set d0 carrier on").rc == 0
    line = k.cmd("ip link show d0").stdout.splitlines()[0]
    assert "<BROADCAST,NOARP,UP,LOWER_UP>" in line and "state UP" in line
