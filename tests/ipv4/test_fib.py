"""FIB tables: LPM order, alias order, add/replace/append/delete semantics,
gateway validation and lookups through reject types."""

from __future__ import annotations

import errno

import pytest

from usernet import Kernel, KernelError
from usernet.ipv4.fib import (
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_BLACKHOLE,
    RTN_THROW,
    RTN_UNREACHABLE,
    Flow,
    fib_get_table,
)
from usernet.ipv4.fib_frontend import (
    NLM_F_APPEND,
    NLM_F_CREATE,
    NLM_F_REPLACE,
    NexthopConfig,
    RouteConfig,
    inet_rtm_delroute,
    inet_rtm_newroute,
    route_dump,
)
from usernet.ipv4.inet import aton
from usernet.ipv4.route import fib_lookup
from usernet.net import Net


def _setup() -> tuple[Kernel, Net]:
    k = Kernel()
    net = k.netns_add("a")
    for line in ("link add v0 type veth peer name v1", "link set v0 up", "link set v1 up",
                 "link set lo up", "addr add 10.0.0.1/24 dev v0"):
        assert k.cmd(f"ip -n a {line}").rc == 0
    return k, net


def _cfg(prefix: str, plen: int, gw: str = "", **kw: object) -> RouteConfig:
    nhs = [NexthopConfig(gw=aton(gw))] if gw else None
    return RouteConfig(dst=aton(prefix), plen=plen, nhs=nhs, **kw)  # type: ignore[arg-type]


def _gws(net: Net, prefix: str, plen: int) -> list[tuple[int, str]]:
    tb = fib_get_table(net, RT_TABLE_MAIN)
    assert tb is not None
    out = []
    for r in tb.aliases(aton(prefix), plen):
        gw = r.nh.gw if r.nh is not None else 0
        out.append((r.priority, f"{gw >> 24}.{gw >> 16 & 255}.{gw >> 8 & 255}.{gw & 255}"))
    return out


def test_longest_prefix_wins_and_backtracks() -> None:
    _, net = _setup()
    inet_rtm_newroute(net, _cfg("10.5.0.0", 16, "10.0.0.2"))
    inet_rtm_newroute(net, _cfg("10.5.1.0", 24, "10.0.0.3"))
    res = fib_lookup(net, Flow(aton("10.5.1.9")))
    assert res.nh is not None and res.nh.gw == aton("10.0.0.3")
    res = fib_lookup(net, Flow(aton("10.5.2.9")))
    assert res.nh is not None and res.nh.gw == aton("10.0.0.2")
    with pytest.raises(KernelError) as exc:
        fib_lookup(net, Flow(aton("10.6.0.1")))
    assert exc.value.errno == errno.ENETUNREACH


def test_metric_order_and_duplicate_metric() -> None:
    _, net = _setup()
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.10", priority=100))
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.20", priority=50))
    with pytest.raises(KernelError) as exc:
        inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.30", priority=100))
    assert exc.value.errno == errno.EEXIST
    assert _gws(net, "10.9.0.0", 16) == [(50, "10.0.0.20"), (100, "10.0.0.10")]


def test_append_prepend_replace_change() -> None:
    _, net = _setup()
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.2"))
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.3", nlflags=NLM_F_CREATE | NLM_F_APPEND))
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.4", nlflags=NLM_F_CREATE))
    assert [g for _, g in _gws(net, "10.9.0.0", 16)] == ["10.0.0.4", "10.0.0.2", "10.0.0.3"]
    # replace acts on the first of the group only
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.5", nlflags=NLM_F_CREATE | NLM_F_REPLACE))
    assert [g for _, g in _gws(net, "10.9.0.0", 16)] == ["10.0.0.5", "10.0.0.2", "10.0.0.3"]
    # an identical route further down the group is File exists, even for replace
    with pytest.raises(KernelError) as exc:
        inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.3",
                                    nlflags=NLM_F_CREATE | NLM_F_REPLACE))
    assert exc.value.errno == errno.EEXIST
    with pytest.raises(KernelError) as exc:  # change of a missing route
        inet_rtm_newroute(net, _cfg("10.8.0.0", 16, "10.0.0.3", nlflags=NLM_F_REPLACE))
    assert exc.value.errno == errno.ENOENT


def test_delete_matches_given_attributes_only() -> None:
    _, net = _setup()
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.2", priority=10))
    inet_rtm_newroute(net, _cfg("10.9.0.0", 16, "10.0.0.3", priority=20))
    any_ = {"type": 0, "protocol": 0, "scope": RT_SCOPE_NOWHERE}
    with pytest.raises(KernelError) as exc:
        inet_rtm_delroute(net, _cfg("10.9.0.0", 16, "10.0.0.9", **any_))
    assert exc.value.errno == errno.ESRCH
    with pytest.raises(KernelError):
        inet_rtm_delroute(net, _cfg("10.9.0.0", 16, priority=7, **any_))
    inet_rtm_delroute(net, _cfg("10.9.0.0", 16, **any_))  # lowest metric first
    assert _gws(net, "10.9.0.0", 16) == [(20, "10.0.0.3")]
    with pytest.raises(KernelError) as exc:  # missing table
        inet_rtm_delroute(net, _cfg("10.9.0.0", 16, table=4242, **any_))
    assert exc.value.extack == "FIB table does not exist"


def test_gateway_validation_and_failed_add_keeps_routes() -> None:
    _, net = _setup()
    before = [repr(r) for r in route_dump(net)]
    with pytest.raises(KernelError) as exc:
        inet_rtm_newroute(net, _cfg("10.7.0.0", 16, "192.0.2.1"))
    assert exc.value.extack == "Nexthop has invalid gateway"
    with pytest.raises(KernelError) as exc:  # a gateway route with scope link
        inet_rtm_newroute(net, _cfg("10.7.0.0", 16, "10.0.0.2", scope=RT_SCOPE_LINK))
    assert exc.value.extack == "Nexthop has invalid gateway"
    with pytest.raises(KernelError) as exc:
        inet_rtm_newroute(net, _cfg("10.7.1.0", 16, "10.0.0.2"))
    assert exc.value.extack == "Invalid prefix for given prefix length"
    with pytest.raises(KernelError) as exc:
        inet_rtm_newroute(net, _cfg("10.7.0.0", 16, "10.0.0.2", prefsrc=aton("10.9.9.9")))
    assert exc.value.extack == "Invalid prefsrc address"
    assert [repr(r) for r in route_dump(net)] == before
    inet_rtm_newroute(net, _cfg("10.7.0.0", 16, "10.0.0.1"))  # own address is fine


def test_reject_types_in_lookup() -> None:
    _, net = _setup()
    for rtype, prefix in ((RTN_BLACKHOLE, "10.60.0.0"), (RTN_UNREACHABLE, "10.61.0.0"),
                          (RTN_THROW, "10.63.0.0")):
        inet_rtm_newroute(net, RouteConfig(dst=aton(prefix), plen=16, type=rtype))
    expect = {"10.60.1.1": errno.EINVAL, "10.61.1.1": errno.EHOSTUNREACH,
              "10.63.1.1": errno.ENETUNREACH}
    for addr, err in expect.items():
        with pytest.raises(KernelError) as exc:
            fib_lookup(net, Flow(aton(addr)))
        assert exc.value.errno == err, addr


def test_local_and_main_are_merged_until_rules_change() -> None:
    k, net = _setup()
    res = fib_lookup(net, Flow(aton("10.0.0.1")))
    assert res.table == RT_TABLE_MAIN  # one merged trie reports main
    assert k.cmd("ip -n a rule add from 10.99.0.0/16 table 5").rc == 0
    res = fib_lookup(net, Flow(aton("10.0.0.1")))
    assert res.table == RT_TABLE_LOCAL


def test_tables_exist_only_once_created() -> None:
    k = Kernel()
    net = k.netns_add("a")
    with pytest.raises(KernelError) as exc:
        route_dump(net, RT_TABLE_LOCAL)
    assert exc.value.extack == "ipv4: FIB table does not exist"
    assert route_dump(net) == []
    # Linux creates the table before it validates the route.
    with pytest.raises(KernelError):
        inet_rtm_newroute(net, _cfg("10.1.0.0", 16, "1.2.3.4", table=55))
    assert route_dump(net, 55) == []
