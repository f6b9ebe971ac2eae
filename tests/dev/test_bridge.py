"""Bridges: ports (master/nomaster), port states, MAC and MTU rules, and the
bridge being netns-local (NOTES.md c020-c024, c058)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from usernet import Kernel
from usernet.dev.bridge import Bridge
from usernet.dev.netdevice import NETREG_UNREGISTERED


def link(k: Kernel, name: str, ns: str | None = None) -> dict[str, Any]:
    pre = "" if ns is None else f"-n {ns} "
    res = k.cmd(f"ip {pre}-d -j link show {name}")
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)[0]


def port_state(k: Kernel, name: str) -> str | None:
    info = link(k, name).get("linkinfo", {})
    data = info.get("info_slave_data")
    return None if data is None else data["state"]


def ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, f"{line}: rc={res.rc} {res.stderr}"
    return res.stdout


def all_links(k: Kernel, ns: str | None = None) -> list[dict[str, Any]]:
    pre = "" if ns is None else f"-n {ns} "
    return json.loads(ok(k, f"ip {pre}-j link show"))


@pytest.fixture
def k() -> Kernel:
    kern = Kernel()
    ok(kern, "ip link add br0 type bridge")
    ok(kern, "ip link add p0 address 02:00:00:00:00:20 mtu 1400 type veth peer name q0")
    ok(kern, "ip link add p1 address 02:00:00:00:00:10 type veth peer name q1")
    return kern


def test_new_bridge_defaults(k: Kernel) -> None:
    br = link(k, "br0")
    assert br["flags"] == ["BROADCAST", "MULTICAST"]
    assert br["operstate"] == "DOWN"
    assert br["mtu"] == 1500
    assert br["linkinfo"]["info_kind"] == "bridge"
    data = br["linkinfo"]["info_data"]
    assert data["stp_state"] == 0 and data["forward_delay"] == 1500
    mac = bytes.fromhex(br["address"].replace(":", ""))
    assert mac[0] & 0x03 == 0x02  # random, locally administered


def test_master_and_nomaster(k: Kernel) -> None:
    ok(k, "ip link set p0 master br0")
    assert link(k, "p0")["master"] == "br0"
    assert link(k, "p0")["linkinfo"]["info_slave_kind"] == "bridge"
    br = k.init_net.dev_get_by_name("br0")
    assert isinstance(br, Bridge)
    assert [d.name for d in br.ports] == ["p0"]
    names = [x["ifname"] for x in json.loads(ok(k, "ip -j link show master br0"))]
    assert names == ["p0"]
    ok(k, "ip link set p0 master br0")  # again: nothing changes
    assert [d.name for d in br.ports] == ["p0"]
    ok(k, "ip link set p0 nomaster")
    assert "master" not in link(k, "p0")
    assert "linkinfo" not in link(k, "p0") or \
        "info_slave_kind" not in link(k, "p0")["linkinfo"]
    assert br.ports == {}
    ok(k, "ip link set p0 nomaster")  # not enslaved: harmless
    assert json.loads(ok(k, "ip -j link show master br0")) == []


def test_move_between_bridges(k: Kernel) -> None:
    ok(k, "ip link add br1 type bridge")
    ok(k, "ip link set p0 master br0")
    ok(k, "ip link set p0 master br1")
    assert link(k, "p0")["master"] == "br1"
    br0 = k.init_net.dev_get_by_name("br0")
    assert isinstance(br0, Bridge) and br0.ports == {}
    assert link(k, "br0")["address"] == "00:00:00:00:00:00"


def test_enslave_errors_leave_state_unchanged(k: Kernel) -> None:
    ok(k, "ip link add br1 type bridge")
    before = all_links(k)
    cases = [
        ("ip link set p0 master q0", 2, "RTNETLINK answers: Operation not supported\n"),
        ("ip link set br1 master br0", 2, "Error: Can not enslave a bridge to a bridge.\n"),
        ("ip link set br0 master br0", 2, "Error: Can not enslave a bridge to a bridge.\n"),
        ("ip link set lo master br0", 2, "RTNETLINK answers: Invalid argument\n"),
        ("ip link set nosuch master br0", 1, 'Cannot find device "nosuch"\n'),
    ]
    for line, rc, err in cases:
        res = k.cmd(line)
        assert (res.rc, res.stderr) == (rc, err), line
    res = k.cmd("ip link set p0 master nosuch")
    assert res.rc == 255
    assert res.stderr.startswith('Error: argument "nosuch" is wrong: Device does not exist')
    assert all_links(k) == before


def test_port_states(k: Kernel) -> None:
    ok(k, "ip link set p0 master br0")
    assert port_state(k, "p0") == "disabled"
    ok(k, "ip link set br0 up")
    # up with ports but none with carrier
    br = link(k, "br0")
    assert br["flags"] == ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
    assert br["operstate"] == "DOWN"
    ok(k, "ip link set p0 up")
    assert port_state(k, "p0") == "disabled"  # no carrier yet: q0 is down
    ok(k, "ip link set q0 up")
    assert port_state(k, "p0") == "forwarding"
    br = link(k, "br0")
    assert br["flags"] == ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
    assert br["operstate"] == "UP"
    # a down bridge disables every port
    ok(k, "ip link set br0 down")
    assert port_state(k, "p0") == "disabled"
    ok(k, "ip link set br0 up")
    assert port_state(k, "p0") == "forwarding"
    # losing the carrier disables the port and the bridge loses its carrier
    ok(k, "ip link set q0 down")
    assert port_state(k, "p0") == "disabled"
    assert link(k, "br0")["operstate"] == "DOWN"
    ok(k, "ip link set q0 up")
    assert port_state(k, "p0") == "forwarding"
    ok(k, "ip link set p0 down")
    assert port_state(k, "p0") == "disabled"


def test_bridge_operstate_without_ports(k: Kernel) -> None:
    ok(k, "ip link set br0 up")
    br = link(k, "br0")
    assert br["flags"] == ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]
    assert br["operstate"] == "UNKNOWN"
    ok(k, "ip link set p0 master br0")
    assert link(k, "br0")["operstate"] == "DOWN"
    ok(k, "ip link set p0 nomaster")
    # it does not go back to UNKNOWN
    br = link(k, "br0")
    assert br["flags"] == ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
    assert br["operstate"] == "DOWN"


def test_bridge_mac_is_lowest_port_mac_then_zero(k: Kernel) -> None:
    ok(k, "ip link set p0 master br0")
    assert link(k, "br0")["address"] == "02:00:00:00:00:20"
    ok(k, "ip link set p1 master br0")
    assert link(k, "br0")["address"] == "02:00:00:00:00:10"
    # a port changing its MAC moves the bridge MAC
    ok(k, "ip link set p0 address 02:00:00:00:00:05")
    assert link(k, "br0")["address"] == "02:00:00:00:00:05"
    ok(k, "ip link set p0 nomaster")
    assert link(k, "br0")["address"] == "02:00:00:00:00:10"
    ok(k, "ip link set p1 nomaster")
    assert link(k, "br0")["address"] == "00:00:00:00:00:00"


def test_bridge_mac_set_by_user_is_kept(k: Kernel) -> None:
    ok(k, "ip link set br0 address 02:00:00:00:00:99")
    ok(k, "ip link set p1 master br0")
    assert link(k, "br0")["address"] == "02:00:00:00:00:99"
    ok(k, "ip link set p1 nomaster")
    assert link(k, "br0")["address"] == "02:00:00:00:00:99"
    ok(k, "ip link add br1 address 02:00:00:00:00:77 type bridge")
    ok(k, "ip link set p0 master br1")
    assert link(k, "br1")["address"] == "02:00:00:00:00:77"


def test_bridge_mtu_follows_min_port_mtu(k: Kernel) -> None:
    ok(k, "ip link add p2 mtu 9000 type veth peer name q2")
    ok(k, "ip link set p2 master br0")
    assert link(k, "br0")["mtu"] == 9000
    ok(k, "ip link set p0 master br0")
    assert link(k, "br0")["mtu"] == 1400
    ok(k, "ip link set p0 mtu 1300")
    assert link(k, "br0")["mtu"] == 1300
    ok(k, "ip link set p0 nomaster")
    assert link(k, "br0")["mtu"] == 9000
    ok(k, "ip link set p2 nomaster")
    assert link(k, "br0")["mtu"] == 1500


def test_bridge_mtu_set_by_user_is_kept(k: Kernel) -> None:
    ok(k, "ip link set p0 master br0")
    ok(k, "ip link set br0 mtu 2000")  # even above a port's MTU
    assert link(k, "br0")["mtu"] == 2000
    ok(k, "ip link set p1 master br0")
    ok(k, "ip link set p0 mtu 1280")
    assert link(k, "br0")["mtu"] == 2000
    ok(k, "ip link set p0 nomaster")
    ok(k, "ip link set p1 nomaster")
    assert link(k, "br0")["mtu"] == 2000
    res = k.cmd("ip link set br0 mtu 70000")
    assert res.rc == 2
    assert res.stderr == "Error: mtu greater than device maximum.\n"
    ok(k, "ip link add br1 mtu 1600 type bridge")
    ok(k, "ip link set p1 master br1")
    assert link(k, "br1")["mtu"] == 1600


def test_bridge_cannot_change_namespace(k: Kernel) -> None:
    ok(k, "ip netns add x")
    ok(k, "ip link set p0 master br0")
    ok(k, "ip link set br0 up")
    before = (all_links(k), all_links(k, "x"))
    res = k.cmd("ip link set br0 netns x")
    assert res.rc == 2
    assert res.stderr == "Error: The interface netns is immutable.\n"
    assert (all_links(k), all_links(k, "x")) == before
    # in another namespace as well
    ok(k, "ip -n x link add br9 type bridge")
    res = k.cmd("ip -n x link set br9 netns 1")
    assert res.rc != 0
    ok(k, "ip netns add y")
    res = k.cmd("ip -n x link set br9 netns y")
    assert res.rc == 2
    assert res.stderr == "Error: The interface netns is immutable.\n"
    assert [x["ifname"] for x in all_links(k, "y")] == ["lo"]


def test_bridge_dies_with_its_namespace_and_releases_ports() -> None:
    k = Kernel()
    ok(k, "ip netns add x")
    ok(k, "ip -n x link add br0 type bridge")
    ok(k, "ip link add p0 type veth peer name q0")
    ok(k, "ip link set p0 netns x")
    ok(k, "ip -n x link set p0 master br0")
    br = k.netns_get("x").dev_get_by_name("br0")
    assert isinstance(br, Bridge)
    ok(k, "ip netns del x")
    assert br.reg_state == NETREG_UNREGISTERED
    assert br.ports == {}
    assert [x["ifname"] for x in all_links(k)] == ["lo"]  # q0 went with p0
    assert not any(d.name.startswith("dev") for d in k.init_net.devices())


def test_port_moved_away_leaves_bridge(k: Kernel) -> None:
    ok(k, "ip netns add x")
    ok(k, "ip link set p0 master br0")
    ok(k, "ip link set p1 master br0")
    ok(k, "ip link set p1 netns x")
    assert "master" not in link(k, "p1", ns="x")
    assert link(k, "br0")["address"] == "02:00:00:00:00:20"
    assert [x["ifname"] for x in json.loads(ok(k, "ip -j link show master br0"))] == ["p0"]


def test_delete_bridge_keeps_ports(k: Kernel) -> None:
    ok(k, "ip link set p0 master br0")
    ok(k, "ip link set p0 up")
    ok(k, "ip link del br0")
    p0 = link(k, "p0")
    assert "master" not in p0
    assert "UP" in p0["flags"]
    assert {x["ifname"] for x in all_links(k)} == {"lo", "p0", "q0", "p1", "q1"}


def test_deleting_port_releases_it(k: Kernel) -> None:
    ok(k, "ip link set p0 master br0")
    ok(k, "ip link set p1 master br0")
    ok(k, "ip link del q1")  # takes p1 with it
    br = k.init_net.dev_get_by_name("br0")
    assert isinstance(br, Bridge)
    assert [d.name for d in br.ports] == ["p0"]
    assert link(k, "br0")["address"] == "02:00:00:00:00:20"


def _info(k: Kernel, ns: str, dev: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(k.cmd(f"ip -n {ns} -d -j link show {dev}").stdout)[0]
    return data["linkinfo"]["info_data"]  # type: ignore[no-any-return]


def test_bridge_options_as_the_kernel_printed_them() -> None:
    """Values from the kernel's `ip -d -j link show` after the same commands
    (gc_timer runs there, so this is pinned here rather than in a scenario)."""
    k = Kernel()
    k.cmd("ip netns add bo")
    res = k.cmd("ip -n bo link add br0 address 02:00:00:00:0d:01 type bridge "
                "forward_delay 400 ageing_time 1000 priority 7 mcast_snooping 0")
    assert res.rc == 0, res.stderr
    assert k.cmd("ip -n bo link set br0 type bridge hello_time 300 max_age 1000 "
                 "group_fwd_mask 8").rc == 0
    info = _info(k, "bo", "br0")
    assert {key: info[key] for key in ("forward_delay", "hello_time", "max_age",
                                       "ageing_time", "stp_state", "priority",
                                       "mcast_snooping", "bridge_id", "root_id",
                                       "group_fwd_mask")} == {
        "forward_delay": 400, "hello_time": 300, "max_age": 1000, "ageing_time": 1000,
        "stp_state": 0, "priority": 7, "mcast_snooping": 0,
        "bridge_id": "0007.2:0:0:0:d:1", "root_id": "0007.2:0:0:0:d:1",
        "group_fwd_mask": "0x8"}
    text = k.cmd("ip -n bo -d link show br0").stdout
    assert "bridge forward_delay 400 hello_time 300 max_age 1000 ageing_time 1000 " \
           "stp_state 0 priority 7 vlan_filtering 0 bridge_id 0007.2:0:0:0:d:1 " in text
    assert "group_fwd_mask 0x8 group_address 01:80:c2:00:00:00 mcast_snooping 0 " in text


def test_stp_and_vlan_filtering_are_refused_not_ignored() -> None:
    k = Kernel()
    k.cmd("ip netns add bo")
    k.cmd("ip -n bo link add br0 type bridge")
    before = _info(k, "bo", "br0")
    for opt, what in (("stp_state 1", "STP"), ("vlan_filtering 1", "VLAN filtering"),
                      ("hello_time 300 stp_state 1", "STP")):
        res = k.cmd(f"ip -n bo link set br0 type bridge {opt}")
        assert (res.rc, res.stderr) == (2, f"Error: usernet does not implement {what} yet.\n")
    assert _info(k, "bo", "br0") == before  # nothing applied, not even hello_time
    res = k.cmd("ip -n bo link add br1 type bridge stp_state 1")
    assert res.rc == 2 and "br1" not in k.cmd("ip -n bo link").stdout
