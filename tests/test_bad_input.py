"""Bad input never breaks the kernel: random command sequences drawn from a
grammar of valid and invalid ``ip`` commands never raise, and a command that
fails (rc != 0) leaves every observable piece of state exactly as it was."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usernet import Kernel, Result

# -- the grammar -------------------------------------------------------------------------------

NAMESPACES = ["n1", "n2", "n3"]
BAD_NAMESPACES = ["nosuch", "a/b", "..", ".", ""]
DEVS = ["v0", "v1", "v2", "br0", "br1", "d0", "lo"]
BAD_DEVS = [
    "0123456789abcdef",  # 16 characters: too long
    "x/y", "a:b", "", "with space", "..", "nosuchdev", "dev", "type", "up",
    "v0" * 8,
]
MACS = ["02:00:00:00:00:01", "02:00:00:00:00:02", "02:aa:bb:cc:dd:ee"]
BAD_MACS = ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00", "zz:zz",
            "02:00:00:00:00", "02:00:00:00:00:00:01", "garbage", "1:2:3:4:5:6:7:8"]
MTUS = ["68", "1280", "1500", "9000", "65535"]
BAD_MTUS = ["0", "67", "65536", "-1", "abc", "", "4294967296", "99999999999", "0x", "1e3"]
PREFIXES = ["10.0.0.1/24", "10.0.0.2/24", "10.0.1.1/16", "192.168.1.1/32", "172.16.0.1/31"]
BAD_PREFIXES = ["10.0.0.300/24", "10.0.0.1/33", "garbage", "10.0.0.1/", "/24", "0.0.0.0/0",
                "10.0.0.1/-1", "1.2.3.4.5/8", "::1/128"]
ROUTES = ["10.9.0.0/16", "default", "10.0.0.0/24", "192.168.7.0/24"]
BAD_ROUTES = ["10.9.0.1/16", "10.9.0.0/40", "nonsense", "300.1.1.1"]
GATEWAYS = ["10.0.0.2", "10.0.1.9", "192.168.1.254"]
BAD_GATEWAYS = ["10.0.0.300", "gw", "0.0.0.0"]
GARBAGE = ["frobnicate", "help", "--", "-x", "add", "del", "set", "show", "type", "dev",
           "master", "netns", "peer", "name", "mtu", "address", "up", "down"]



def mix(good: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    """Mostly valid values, sometimes invalid ones."""
    return st.integers(0, 4).flatmap(
        lambda i: st.sampled_from(bad) if i == 0 else st.sampled_from(good))


names = mix(DEVS, BAD_DEVS)
valid_names = st.sampled_from(DEVS[:-1])
existing = mix(["v0", "v1", "br0", "d0", "lo"], [*BAD_DEVS, "v2", "br1"])
namespaces = mix(NAMESPACES, BAD_NAMESPACES)
garbage = st.lists(st.sampled_from(GARBAGE) | names, max_size=3)
# a trailing garbage word now and then
tail = st.integers(0, 5).flatmap(
    lambda i: st.lists(st.sampled_from(GARBAGE), min_size=1, max_size=1) if i == 0
    else st.just([]))


@st.composite
def netns_prefix(draw: st.DrawFn) -> list[str]:
    if draw(st.integers(0, 2)):
        return []
    return ["-n", draw(mix(NAMESPACES[:2], ["nosuch", "n3"]))]


@st.composite
def netns_cmd(draw: st.DrawFn) -> list[str]:
    verb = draw(st.sampled_from(["add", "add", "add", "del", "delete", "list", "frob"]))
    if verb in ("list",):
        return ["ip", "netns", verb]
    ns = draw(namespaces)
    return ["ip", "netns", verb, ns, *draw(tail)]


@st.composite
def link_add(draw: st.DrawFn) -> list[str]:
    kind = draw(st.sampled_from(["veth", "veth", "bridge", "dummy", "nosuchkind", None]))
    argv = ["ip", *draw(netns_prefix()), "link", "add"]
    if draw(st.integers(0, 4)):
        argv.append(draw(valid_names if draw(st.booleans()) else names))
    if draw(st.integers(0, 3)) == 0:
        argv += ["mtu", draw(mix(MTUS, BAD_MTUS))]
    if draw(st.integers(0, 3)) == 0:
        argv += ["address", draw(mix(MACS, BAD_MACS))]
    if draw(st.integers(0, 4)) == 0:
        argv += ["netns", draw(namespaces)]
    if kind is not None:
        argv += ["type", kind]
    if kind == "veth" and draw(st.booleans()):
        argv += ["peer", "name", draw(names)]
        if draw(st.booleans()):
            argv += ["netns", draw(namespaces)]
        if draw(st.integers(0, 3)) == 0:
            argv += ["mtu", draw(mix(MTUS, BAD_MTUS))]
    return argv + draw(tail)


@st.composite
def link_set(draw: st.DrawFn) -> list[str]:
    argv = ["ip", *draw(netns_prefix()), "link", "set"]
    if draw(st.booleans()):
        argv.append("dev")
    argv.append(draw(existing))
    attrs = draw(st.lists(st.sampled_from(
        ["up", "down", "mtu", "address", "name", "netns", "master", "nomaster", "txqlen"]),
        min_size=1, max_size=4))
    for attr in attrs:
        if attr == "mtu":
            argv += ["mtu", draw(mix(MTUS, BAD_MTUS))]
        elif attr == "address":
            argv += ["address", draw(mix(MACS, BAD_MACS))]
        elif attr == "name":
            argv += ["name", draw(names)]
        elif attr == "netns":
            argv += ["netns", draw(mix(NAMESPACES[:2], BAD_NAMESPACES))]
        elif attr == "master":
            argv += ["master", draw(existing)]
        elif attr == "txqlen":
            argv += ["txqlen", draw(st.sampled_from(["0", "500", "-3", "x"]))]
        else:
            argv.append(attr)
    return argv + draw(tail)


@st.composite
def link_del(draw: st.DrawFn) -> list[str]:
    argv = ["ip", *draw(netns_prefix()), "link", draw(st.sampled_from(["del", "delete"]))]
    if draw(st.booleans()):
        argv.append("dev")
    return [*argv, draw(existing), *draw(tail)]


@st.composite
def addr_cmd(draw: st.DrawFn) -> list[str]:
    argv = ["ip", *draw(netns_prefix()), "addr", draw(st.sampled_from(["add", "del", "flush"]))]
    if draw(st.integers(0, 5)):
        argv.append(draw(mix(PREFIXES, BAD_PREFIXES)))
    if draw(st.integers(0, 5)):
        argv += ["dev", draw(names)]
    if draw(st.integers(0, 4)) == 0:
        argv += [draw(st.sampled_from(["brd", "label", "scope", "peer"])),
                 draw(st.sampled_from(["+", "v0:1", "link", "10.0.0.9", "x" * 20, "bogus"]))]
    return argv + draw(tail)


@st.composite
def route_cmd(draw: st.DrawFn) -> list[str]:
    argv = ["ip", *draw(netns_prefix()), "route",
            draw(st.sampled_from(["add", "del", "replace", "change", "append"]))]
    if draw(st.integers(0, 5)):
        argv.append(draw(mix(ROUTES, BAD_ROUTES)))
    if draw(st.booleans()):
        argv += ["via", draw(mix(GATEWAYS, BAD_GATEWAYS))]
    if draw(st.booleans()):
        argv += ["dev", draw(names)]
    if draw(st.integers(0, 3)) == 0:
        argv += [draw(st.sampled_from(["table", "metric", "proto", "scope", "type"])),
                 draw(st.sampled_from(["100", "main", "local", "x", "-1", "link", "static"]))]
    return argv + draw(tail)


@st.composite
def garbage_cmd(draw: st.DrawFn) -> list[str]:
    head = draw(st.sampled_from([["ip"], ["ip", "link"], ["ip", "addr"], ["ip", "netns"],
                                 ["ip", "route"], ["ip", "-n"], ["ip", "-j"], ["nosuchtool"]]))
    return head + draw(garbage)


commands = st.one_of(
    netns_cmd(), link_add(), link_add(), link_set(), link_set(), link_set(), link_del(),
    addr_cmd(), addr_cmd(), route_cmd(), garbage_cmd(),
)

# -- the state snapshot ---------------------------------------------------------------------------

SNAPSHOT_CMDS = (
    "ip -j link show",
    "ip -j addr show",
    "ip -j route show table all",
    "ip -j rule show",
    "ip -j neigh show",
)


def _out(res: Result) -> tuple[int, str, str]:
    return res.rc, res.stdout, res.stderr


def snapshot(k: Kernel) -> dict[str, Any]:
    """Everything a user can observe, per namespace (MACs included)."""
    snap: dict[str, Any] = {"netns list": _out(k.cmd("ip netns list"))}
    for name, net in [("<init>", k.init_net), *sorted(k.netns_names.items())]:
        for line in SNAPSHOT_CMDS:
            snap[f"{name}: {line}"] = _out(k.cmd(line, netns=net))
    return snap


def check_result(argv: list[str], res: object) -> Result:
    assert isinstance(res, Result), argv
    assert isinstance(res.rc, int), argv
    assert isinstance(res.stdout, str) and isinstance(res.stderr, str), argv
    assert "Traceback" not in res.stderr, (argv, res.stderr)
    return res


def setup_kernel() -> Kernel:
    k = Kernel(seed=1)
    for line in ("ip netns add n1", "ip netns add n2", "ip link add v0 type veth peer name v1",
                 "ip link add br0 type bridge", "ip link add d0 type dummy",
                 "ip addr add 10.0.0.1/24 dev v0", "ip link set v0 up",
                 "ip link set v1 master br0",
                 "ip -n n1 link add v0 type veth peer name v2 netns n2",
                 "ip -n n1 link add br0 type bridge", "ip -n n1 link add d0 type dummy",
                 "ip -n n1 addr add 10.0.1.1/16 dev d0"):
        assert k.cmd(line).rc == 0, line
    return k


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(commands, min_size=1, max_size=30))
def test_random_commands_never_raise_and_failures_change_nothing(
        cmds: list[list[str]]) -> None:
    k = setup_kernel()
    before = snapshot(k)
    for argv in cmds:
        res = check_result(argv, k.cmd(argv))
        after = snapshot(k)
        if res.rc != 0:
            changed = {key: (before[key], after.get(key)) for key in before
                       if before[key] != after.get(key)}
            assert after == before, (argv, res.rc, res.stderr, changed)
        before = after


# -- a curated list of malformed commands ----------------------------------------------------------

MALFORMED = [
    "ip",
    "ip frob",
    "ip link frob",
    "ip addr frob",
    "ip netns frob",
    "ip -frob link show",
    "ip -n",
    "ip -n nosuch link show",
    "ip netns add",
    "ip netns add a/b",
    "ip netns add ..",
    "ip netns del nosuch",
    "ip netns del .",
    "ip netns exec nosuch ip link",
    "ip link add",
    "ip link add x0",
    "ip link add x0 type nosuch",
    "ip link add x0 type veth frob",
    "ip link add 0123456789abcdef type dummy",
    "ip link add x/y type dummy",
    "ip link add v0 type veth peer name v1",  # exists
    "ip link add x0 type veth peer name x0",
    "ip link add x0 mtu 10 type veth",
    "ip link add x0 mtu abc type dummy",
    "ip link add x0 address 01:00:00:00:00:01 type dummy",
    "ip link add x0 address zz type dummy",
    "ip link add x0 netns nosuch type dummy",
    "ip link set",
    "ip link set dev",
    "ip link set nosuch up",
    "ip link set v0 frob",
    "ip link set v0 mtu",
    "ip link set v0 mtu 67",
    "ip link set v0 mtu 65536",
    "ip link set v0 mtu jumbo",
    "ip link set v0 mtu 4294967296",
    "ip link set v0 mtu 1500 mtu 1400",
    "ip link set v0 address 01:00:5e:00:00:01",
    "ip link set v0 address 00:00:00:00:00:00",
    "ip link set v0 address 02:00:00:00:00",
    "ip link set v0 address nonsense",
    "ip link set v0 name v1",
    "ip link set v0 name 0123456789abcdef",
    "ip link set v0 name a/b",
    "ip link set v0 netns nosuch",
    "ip link set lo netns n1",
    "ip link set br0 netns n1",
    "ip link set v0 master nosuch",
    "ip link set v0 master v1",
    "ip link set br0 master br0",
    "ip link set lo master br0",
    "ip link set v0 txqlen -1",
    "ip link del",
    "ip link del nosuch",
    "ip link del lo",
    "ip link show nosuch",
    "ip link show dev",
    "ip addr add",
    "ip addr add 10.0.0.5/24",
    "ip addr add 10.0.0.300/24 dev v0",
    "ip addr add 10.0.0.5/33 dev v0",
    "ip addr add 10.0.0.1/24 dev v0",  # already assigned
    "ip addr add 10.0.0.5/24 dev nosuch",
    "ip addr add 10.0.0.5/24 dev v0 frobnicate",
    "ip addr add 10.0.0.5/24 dev v0 label 0123456789abcdef0",
    "ip addr del 10.9.9.9/24 dev v0",
    "ip addr del 10.0.0.1/24 dev nosuch",
    "ip addr flush",
    "ip addr show dev nosuch",
    "ip route add",
    "ip route add 10.9.0.0/16 via 10.0.0.300",
    "ip route add 10.9.0.0/16 dev nosuch",
    "ip route del 10.99.0.0/16",
    "ip route frob",
    "nosuchtool",
]


@pytest.mark.parametrize("line", MALFORMED)
def test_malformed_command_fails_cleanly(line: str) -> None:
    k = setup_kernel()
    before = snapshot(k)
    res = check_result([line], k.cmd(line))
    assert res.rc != 0, (line, res)
    assert res.stderr.strip(), line
    assert "Traceback" not in res.stderr
    assert snapshot(k) == before


def test_unbalanced_quotes_fail_cleanly() -> None:
    k = setup_kernel()
    res = k.cmd("ip link add 'x0 type dummy")
    assert res.rc != 0
    assert res.stderr
    assert "Traceback" not in res.stderr
