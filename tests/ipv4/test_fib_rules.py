"""Policy rules: priority allocation, duplicates, deletion and lookups
through goto, throw, suppress_prefixlength and reject actions."""

from __future__ import annotations

import errno

import pytest

from usernet import Kernel, KernelError
from usernet.ipv4.fib import Flow
from usernet.ipv4.fib_rules import (
    FR_ACT_BLACKHOLE,
    FR_ACT_GOTO,
    FR_ACT_UNREACHABLE,
    FibRule,
    rule_add,
    rule_delete,
    rules_of,
)
from usernet.ipv4.inet import aton
from usernet.ipv4.route import fib_lookup
from usernet.net import Net


def _net() -> tuple[Kernel, Net]:
    k = Kernel()
    net = k.netns_add("a")
    for line in ("link add v0 type veth peer name v1", "link set v0 up", "link set v1 up",
                 "addr add 10.0.0.1/24 dev v0", "addr add 10.1.0.1/24 dev v1",
                 "route add default via 10.0.0.2",
                 "route add default via 10.1.0.2 table 100"):
        assert k.cmd(f"ip -n a {line}").rc == 0
    return k, net


def _prefs(net: Net) -> list[int]:
    return [r.pref for r in rules_of(net)]


def test_auto_pref_is_second_rule_minus_one() -> None:
    _, net = _net()
    rule_add(net, FibRule(table=10, src=aton("10.1.0.0"), src_len=16), pref_given=False)
    rule_add(net, FibRule(table=10, src=aton("10.1.0.0"), src_len=16), pref_given=False)
    assert _prefs(net) == [0, 32764, 32765, 32766, 32767]
    rule_add(net, FibRule(pref=0, table=11), pref_given=True)
    rule_add(net, FibRule(table=12), pref_given=False)  # second rule has pref 0 now
    assert _prefs(net)[:3] == [0, 0, 0]


def test_duplicate_explicit_pref_and_delete() -> None:
    _, net = _net()
    rule_add(net, FibRule(pref=100, table=30, dst=aton("10.3.0.0"), dst_len=16), True)
    with pytest.raises(KernelError) as exc:
        rule_add(net, FibRule(pref=100, table=30, dst=aton("10.3.0.0"), dst_len=16), True)
    assert exc.value.errno == errno.EEXIST
    rule_add(net, FibRule(pref=100, table=40, dst=aton("10.4.0.0"), dst_len=16), True)
    with pytest.raises(KernelError) as exc:
        rule_delete(net, FibRule(action=0, table=99), pref_given=False)
    assert exc.value.errno == errno.ENOENT
    rule_delete(net, FibRule(action=0, pref=100), pref_given=True)  # the first of the two
    assert [r.table for r in rules_of(net) if r.pref == 100] == [40]


def test_rule_sends_source_to_other_table() -> None:
    _, net = _net()
    rule_add(net, FibRule(pref=100, table=100, src=aton("10.0.0.0"), src_len=24), True)
    res = fib_lookup(net, Flow(aton("8.8.8.8"), aton("10.0.0.1")))
    assert res.table == 100 and res.nh is not None and res.nh.gw == aton("10.1.0.2")
    res = fib_lookup(net, Flow(aton("8.8.8.8")))
    assert res.nh is not None and res.nh.gw == aton("10.0.0.2")


def test_throw_falls_through_and_reject_actions_fail() -> None:
    k, net = _net()
    assert k.cmd("ip -n a route add throw 8.8.0.0/16 table 100").rc == 0
    rule_add(net, FibRule(pref=100, table=100), True)
    res = fib_lookup(net, Flow(aton("8.8.8.8")))
    assert res.table == 254  # thrown out of 100, main answered
    rule_add(net, FibRule(pref=50, action=FR_ACT_UNREACHABLE, dst=aton("9.0.0.0"), dst_len=8),
             True)
    with pytest.raises(KernelError) as exc:
        fib_lookup(net, Flow(aton("9.9.9.9")))
    assert exc.value.errno == errno.ENETUNREACH


def test_goto_skips_rules_and_unresolved_goto_is_ignored() -> None:
    _, net = _net()
    rule_add(net, FibRule(pref=10, action=FR_ACT_GOTO, target=30), True)
    rule_add(net, FibRule(pref=20, action=FR_ACT_BLACKHOLE), True)
    with pytest.raises(KernelError):  # goto 30 is unresolved: the blackhole answers
        fib_lookup(net, Flow(aton("8.8.8.8")))
    rule_add(net, FibRule(pref=30, table=100), True)
    res = fib_lookup(net, Flow(aton("8.8.8.8")))
    assert res.table == 100
    with pytest.raises(KernelError) as exc:
        rule_add(net, FibRule(pref=40, action=FR_ACT_GOTO, target=35), True)
    assert exc.value.extack == "Backward goto not supported"


def test_suppress_prefixlength_skips_default_route() -> None:
    _, net = _net()
    rule_add(net, FibRule(pref=10, table=254, suppress_prefixlen=0), True)
    rule_add(net, FibRule(pref=20, table=100), True)
    res = fib_lookup(net, Flow(aton("8.8.8.8")))
    assert res.table == 100
    res = fib_lookup(net, Flow(aton("10.0.0.9")))
    assert res.table == 254  # a /24 is longer than the suppressed /0


def test_tos_refusals_leave_rules_untouched() -> None:
    _, net = _net()
    for tos, msg in ((0x03, "Invalid dsfield (tos): ECN bits must be 0"), (0x20, "Invalid tos")):
        with pytest.raises(KernelError) as exc:
            rule_add(net, FibRule(table=5, tos=tos), False)
        assert exc.value.extack == msg
    assert net.ipv4.rules is None  # nothing was customised
