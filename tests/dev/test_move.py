"""Moving devices between namespaces (``ip link set DEV netns NS``) and what
happens to devices when their namespace dies (L16-L27)."""

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


def addrs(k: Kernel, dev: str, ns: str | None = None) -> list[str]:
    pre = "" if ns is None else f"-n {ns} "
    res = k.cmd(f"ip {pre}-j addr show dev {dev}")
    assert res.rc == 0, res.stderr
    return [f"{a['local']}/{a['prefixlen']}" for a in json.loads(res.stdout)[0]["addr_info"]
            if a["family"] == "inet"]


def ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, f"{line}: rc={res.rc} {res.stderr}"
    return res.stdout


def test_moved_device_arrives_down_without_addresses() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add v0 type veth peer name v1")
    ok(k, "ip link set v0 up")
    ok(k, "ip link set v1 up")
    ok(k, "ip addr add 10.0.0.1/24 dev v0")
    ok(k, "ip addr add 10.0.0.2/24 dev v0")  # a secondary
    ok(k, "ip addr add 192.168.5.1/16 dev v0")
    assert addrs(k, "v0") == ["10.0.0.1/24", "192.168.5.1/16", "10.0.0.2/24"]
    assert links(k)["v0"]["operstate"] == "UP"
    ok(k, "ip link set v0 netns x")
    assert "v0" not in links(k)
    v0 = links(k, "x")["v0"]
    assert "UP" not in v0["flags"]
    assert v0["operstate"] == "DOWN"
    assert v0["qdisc"] == "noop"
    assert addrs(k, "v0", "x") == []
    # the peer left behind lost its carrier
    v1 = links(k)["v1"]
    assert v1["flags"] == ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
    # bringing it up again in x gives no address back
    ok(k, "ip -n x link set v0 up")
    assert addrs(k, "v0", "x") == []
    assert links(k, "x")["v0"]["operstate"] == "UP"
    assert links(k)["v1"]["operstate"] == "UP"


def test_move_to_same_namespace_is_a_no_op() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip -n x link add v0 type veth peer name v1")
    ok(k, "ip -n x link set v0 up")
    ok(k, "ip -n x addr add 10.0.0.1/24 dev v0")
    before = links(k, "x")
    ok(k, "ip -n x link set v0 netns x")
    assert links(k, "x") == before
    assert addrs(k, "v0", "x") == ["10.0.0.1/24"]


def test_move_keeps_ifindex_when_free_and_reallocates_when_taken() -> None:
    k = Kernel()
    ok(k, "ip netns add src")
    ok(k, "ip netns add dst")
    ok(k, "ip -n src link add s0 type veth peer name s1")  # s1=2 s0=3
    ok(k, "ip -n src link add s2 type veth peer name s3")  # s3=4 s2=5
    ok(k, "ip -n dst link add d0 type veth peer name d1")  # d1=2 d0=3
    ok(k, "ip -n src link set s3 netns dst")  # 4 is free in dst: kept
    assert links(k, "dst")["s3"]["ifindex"] == 4
    ok(k, "ip -n src link set s0 netns dst")  # 3 is taken: next of dst's counter
    assert links(k, "dst")["s0"]["ifindex"] == 5
    # the kept index 4 did not advance dst's counter past 3 ... but it is skipped
    ok(k, "ip -n dst link add d2 type veth peer name d3")
    dst = links(k, "dst")
    assert (dst["d3"]["ifindex"], dst["d2"]["ifindex"]) == (6, 7)
    # the peer's link_index follows the current index
    assert links(k, "src")["s1"]["link_index"] == 5
    assert links(k, "src")["s2"]["link_index"] == 4
    text = ok(k, "ip -n src link show s1")
    assert text.startswith("2: s1@if5:")


def test_kept_high_index_is_skipped_by_later_allocation() -> None:
    k = Kernel()
    ok(k, "ip netns add src")
    ok(k, "ip netns add hi")
    ok(k, "ip -n src link add s0 type veth peer name s1")  # 2, 3
    ok(k, "ip -n src link add s2 type veth peer name s3")  # 4, 5
    ok(k, "ip -n src link set s2 netns hi")  # keeps 5
    ok(k, "ip -n hi link add h0 type veth peer name h1")  # 2, 3
    ok(k, "ip -n hi link add h2 type veth peer name h3")  # 4, then 6 (5 is s2)
    hi = links(k, "hi")
    assert hi["s2"]["ifindex"] == 5
    assert (hi["h1"]["ifindex"], hi["h0"]["ifindex"]) == (2, 3)
    assert (hi["h3"]["ifindex"], hi["h2"]["ifindex"]) == (4, 6)
    assert [x["ifname"] for x in json.loads(ok(k, "ip -n hi -j link show"))] == [
        "lo", "h1", "h0", "h3", "s2", "h2"]


def test_name_clash_in_target_is_refused_unchanged() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add v0 type veth peer name v1")
    ok(k, "ip link set v0 up")
    ok(k, "ip addr add 10.0.0.1/24 dev v0")
    ok(k, "ip -n x link add v0 type dummy")
    before = (links(k), links(k, "x"))
    res = k.cmd("ip link set v0 netns x")
    assert res.rc == 2
    assert res.stderr == "Error: An interface with the same name exists in the target netns.\n"
    assert (links(k), links(k, "x")) == before
    assert addrs(k, "v0") == ["10.0.0.1/24"]
    # a rename in the same request does not help (the namespace is checked first)
    res = k.cmd("ip link set v0 netns x name v9")
    assert res.rc == 2
    assert (links(k), links(k, "x")) == before


def test_move_to_unknown_namespace() -> None:
    k = Kernel()
    ok(k, "ip link add v0 type veth peer name v1")
    res = k.cmd("ip link set v0 netns nosuch")
    assert res.rc == 255
    assert res.stderr == 'Error: argument "nosuch" is wrong: Invalid "netns" value\n'
    assert set(links(k)) == {"lo", "v0", "v1"}


def test_veth_keeps_peer_across_namespaces() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip netns add y")
    ok(k, "ip -n x link add v0 type veth peer name v1")
    ok(k, "ip -n x link set v1 netns y")
    v0 = links(k, "x")["v0"]
    v1 = links(k, "y")["v1"]
    assert v0["link_index"] == v1["ifindex"] and v1["link_index"] == v0["ifindex"]
    assert v0["link_netnsid"] == 0 and v1["link_netnsid"] == 0
    assert "link" not in v0 and "link" not in v1
    assert json.loads(ok(k, "ip -n x -j netns list")) == [{"name": "y", "id": 0},
                                                         {"name": "x"}]
    ok(k, "ip -n x link set v0 up")
    ok(k, "ip -n y link set v1 up")
    assert links(k, "x")["v0"]["operstate"] == "UP"
    assert links(k, "y")["v1"]["operstate"] == "UP"
    # moving it back to the same namespace restores the @peer form
    ok(k, "ip -n y link set v1 netns x")
    lst = links(k, "x")
    assert lst["v1"]["link"] == "v0" and lst["v0"]["link"] == "v1"
    assert "link_netnsid" not in lst["v0"]
    # and deleting one end still deletes both
    ok(k, "ip -n x link set v1 netns y")
    ok(k, "ip -n y link del v1")
    assert set(links(k, "x")) == {"lo"}


def test_move_bridge_port_leaves_the_bridge() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add br0 type bridge")
    ok(k, "ip link add v0 type veth peer name v1")
    ok(k, "ip link set v0 master br0")
    assert links(k)["v0"]["master"] == "br0"
    ok(k, "ip link set v0 netns x")
    assert "master" not in links(k, "x")["v0"]
    br = k.init_net.dev_get_by_name("br0")
    assert br is not None and br.ports == {}  # type: ignore[attr-defined]
    assert links(k)["br0"]["address"] == "00:00:00:00:00:00"


def test_moved_device_flushes_its_routes() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip link add v0 type veth peer name v1")
    ok(k, "ip link set v0 up")
    ok(k, "ip addr add 10.0.0.1/24 dev v0")
    ok(k, "ip route add 10.9.0.0/16 via 10.0.0.2 dev v0")
    ok(k, "ip route add 10.8.0.0/16 dev v0 table 100")
    routes = json.loads(ok(k, "ip -j route show table all"))
    assert any(r.get("dev") == "v0" for r in routes)
    ok(k, "ip link set v0 netns x")
    routes = json.loads(ok(k, "ip -j route show table all"))
    assert [r for r in routes if r.get("dev") == "v0"] == []
    routes_x = json.loads(ok(k, "ip -n x -j route show table all"))
    assert [r for r in routes_x if r.get("dev") == "v0"] == []


# -- physical NICs and dying namespaces ---------------------------------------------------------


def test_physical_nic_returns_to_init_net_when_namespace_dies() -> None:
    k = Kernel()
    nic = k.add_nic("eth0", mac=b"\x00\x11\x22\x33\x44\x55")
    assert links(k)["eth0"]["ifindex"] == 2
    assert links(k)["eth0"]["address"] == "00:11:22:33:44:55"
    res = k.cmd("ip link del eth0")  # no rtnl link ops: cannot be deleted
    assert res.rc == 2
    assert res.stderr == "RTNETLINK answers: Operation not supported\n"
    ok(k, "ip netns add x")
    ok(k, "ip link set eth0 netns x")
    assert "eth0" not in links(k)
    ok(k, "ip -n x link set eth0 up")
    ok(k, "ip -n x addr add 10.1.1.1/24 dev eth0")
    assert {"UP", "LOWER_UP"} <= set(links(k, "x")["eth0"]["flags"])
    ok(k, "ip netns del x")
    # name free in init_net: Linux keeps it (the dev%d pattern is only a fallback)
    back = links(k)["eth0"]
    assert back["ifindex"] == 2
    assert "UP" not in back["flags"]
    assert back["operstate"] == "DOWN"
    assert back["address"] == "00:11:22:33:44:55"
    assert nic.net is k.init_net
    assert nic.reg_state == NETREG_REGISTERED
    assert addrs(k, "eth0") == []
    # it is usable again
    ok(k, "ip link set eth0 up")
    assert {"UP", "LOWER_UP"} <= set(links(k)["eth0"]["flags"])


def test_returning_nic_is_renamed_dev_ifindex_when_name_taken() -> None:
    k = Kernel()
    nic = k.add_nic("eth0")
    ok(k, "ip netns add x")
    ok(k, "ip link set eth0 netns x")
    ok(k, "ip link add eth0 type dummy")  # takes the name (and ifindex 3)
    ok(k, "ip netns del x")
    lst = links(k)
    assert nic.name == "dev2"
    assert lst["dev2"]["ifindex"] == 2
    assert "UP" not in lst["dev2"]["flags"]
    assert lst["eth0"]["ifindex"] == 3
    assert nic.reg_state == NETREG_REGISTERED


def test_returning_nic_uses_dev_pattern_when_dev_ifindex_taken() -> None:
    k = Kernel()
    nic = k.add_nic("eth0")  # ifindex 2
    ok(k, "ip netns add x")
    ok(k, "ip link set eth0 netns x")
    ok(k, "ip link add eth0 type dummy")
    ok(k, "ip link add dev2 type dummy")
    ok(k, "ip link add dev0 type dummy")
    ok(k, "ip netns del x")
    assert nic.name == "dev1"  # first free dev%d
    assert nic.net is k.init_net
    assert links(k)["dev1"]["address"] == ":".join(f"{b:02x}" for b in nic.dev_addr)


def test_returning_nic_gets_new_ifindex_when_taken() -> None:
    k = Kernel()
    nic = k.add_nic("eth0")  # 2
    ok(k, "ip netns add x")
    ok(k, "ip link set eth0 netns x")
    ok(k, "ip link add d0 type dummy")  # 3
    ok(k, "ip link del d0")
    k.init_net.ifindex = 1
    ok(k, "ip link add d1 type dummy")  # reuses 2
    assert links(k)["d1"]["ifindex"] == 2
    ok(k, "ip netns del x")
    assert nic.net is k.init_net
    assert nic.ifindex not in (1, 2)
    assert k.init_net.dev_get_by_index(nic.ifindex) is nic
    assert nic.name == "eth0"


def test_nic_in_nested_moves_returns_from_any_namespace() -> None:
    k = Kernel()
    nic = k.add_nic("eth0")
    ok(k, "ip netns add x")
    ok(k, "ip netns add y")
    ok(k, "ip link set eth0 netns x")
    ok(k, "ip -n x link set eth0 netns y")
    ok(k, "ip netns del x")
    assert nic.net is k.netns_get("y")
    ok(k, "ip netns del y")
    assert nic.net is k.init_net
    assert "eth0" in links(k)


@pytest.mark.parametrize("kind", ["veth", "bridge", "dummy"])
def test_virtual_devices_die_with_their_namespace(kind: str) -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, f"ip link add vd0 type {kind}")
    dev = k.init_net.dev_get_by_name("vd0")
    assert dev is not None
    if kind == "bridge":
        # bridges are netns-local: create it inside instead
        ok(k, "ip link del vd0")
        ok(k, "ip -n x link add vd0 type bridge")
        dev = k.netns_get("x").dev_get_by_name("vd0")
        assert dev is not None
    else:
        ok(k, "ip link set vd0 netns x")
    ok(k, "ip netns del x")
    assert dev.reg_state == NETREG_UNREGISTERED
    assert "vd0" not in links(k)
    assert not any(d.name.startswith("dev") for d in k.init_net.devices())
    if kind == "veth":
        assert set(links(k)) == {"lo"}  # the peer left in init_net went too


def test_move_with_promote_secondaries_leaves_no_routes_behind() -> None:
    k = Kernel()
    k.script("""
ip netns add src
ip netns add dst
ip -n src link add v0 type veth peer name v1
ip -n src link set v0 up
ip netns exec src sysctl -w net.ipv4.conf.v0.promote_secondaries=1
ip -n src addr add 10.4.0.1/24 dev v0
ip -n src addr add 10.4.0.2/24 dev v0
""")
    assert "10.4.0.2" in k.cmd("ip -n src -4 route show table all").stdout
    assert k.cmd("ip -n src link set v0 netns dst").rc == 0
    left = k.cmd("ip -n src -4 -j route show table all").stdout
    assert "10.4.0" not in left
