"""Pernet operations: ordering, rollback, registration while namespaces exist,
net_generic and the netns_ok refusal rule (RFC; linux-netns-semantics L2-L5,
L10, L11, L30)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

import pytest

from usernet import Kernel, KernelError, Net, PernetOperations, net_generic

Log = list[tuple[str, str, Any]]


def net_label(kernel: Kernel, net: Net) -> str:
    if net.is_init_net:
        return "init"
    return kernel.netns_name(net) or f"net#{net.cookie}"


def recording_ops(
    kernel: Kernel,
    name: str,
    log: Log,
    *,
    fail_init: Callable[[Net], bool] | None = None,
    generic: Callable[[], Any] | None = None,
    netns_ok: bool = True,
) -> PernetOperations:
    """An ops whose hooks append (hook, ops name, net) to ``log``."""

    def init(net: Net) -> None:
        log.append(("init", name, net))
        if fail_init is not None and fail_init(net):
            raise KernelError(errno.ENOMEM, f"{name} init failed")

    def pre_exit(net: Net) -> None:
        log.append(("pre_exit", name, net))

    def exit_(net: Net) -> None:
        log.append(("exit", name, net))

    return PernetOperations(name, init=init, exit=exit_, pre_exit=pre_exit,
                            generic=generic, netns_ok=netns_ok)


def fail_unless_init(err: int = errno.EIO) -> Callable[[Net], None]:
    def init(net: Net) -> None:
        if not net.is_init_net:
            raise KernelError(err)
    return init


def for_net(log: Log, net: Net) -> list[tuple[str, str]]:
    return [(hook, name) for hook, name, n in log if n is net]


# -- init order -----------------------------------------------------------------------


def test_init_runs_in_registration_order_subsystems_before_devices() -> None:
    k = Kernel()
    log: Log = []
    seen_lo: dict[str, bool] = {}

    def mark(name: str) -> Callable[[Net], bool]:
        def check(net: Net) -> bool:
            seen_lo[name] = net.loopback_dev is not None
            return False
        return check

    dev1 = recording_ops(k, "dev1", log, fail_init=mark("dev1"))
    sub1 = recording_ops(k, "sub1", log, fail_init=mark("sub1"))
    dev2 = recording_ops(k, "dev2", log, fail_init=mark("dev2"))
    sub2 = recording_ops(k, "sub2", log, fail_init=mark("sub2"))
    k.pernet.register_device(dev1)
    k.pernet.register_subsys(sub1)  # registered after a device ops ...
    k.pernet.register_device(dev2)
    k.pernet.register_subsys(sub2)
    log.clear()

    net = k.netns_add("a")
    # ... but still runs before every device ops, loopback included.
    assert [n for hook, n in for_net(log, net) if hook == "init"] == [
        "sub1", "sub2", "dev1", "dev2"]
    assert seen_lo == {"sub1": False, "sub2": False, "dev1": True, "dev2": True}

    # The registry itself has subsystems first, each group in registration order.
    names = [ops.name for ops in k.pernet.ops]
    assert names.index("sub2") < names.index("loopback") < names.index("dev1")
    assert names.index("sub1") < names.index("sub2")
    assert names.index("dev1") < names.index("dev2")


def test_loopback_is_first_device_and_destroyed_last() -> None:
    k = Kernel()
    events: list[tuple[str, str, bool, list[str]]] = []

    def hooks(name: str) -> PernetOperations:
        def snap(hook: str) -> Callable[[Net], None]:
            def fn(net: Net) -> None:
                if not net.is_init_net:
                    events.append((hook, name, net.dev_get_by_name("lo") is not None,
                                   sorted(net.dev_by_name)))
            return fn
        return PernetOperations(name, init=snap("init"), pre_exit=snap("pre_exit"),
                                exit=snap("exit"))

    k.pernet.register_device(hooks("mydev"))
    k.pernet.register_subsys(hooks("mysub"))
    k.netns_add("a")
    assert events == [
        ("init", "mysub", False, []),
        ("init", "mydev", True, ["lo"]),  # lo exists before any other device hook
    ]
    events.clear()
    k.cmd("ip -n a link add v0 type veth peer name v1")
    k.netns_del("a")
    assert events == [
        ("pre_exit", "mydev", True, ["lo", "v0", "v1"]),
        ("pre_exit", "mysub", True, ["lo", "v0", "v1"]),
        # default_device (registered at boot, before mydev) has not run yet
        ("exit", "mydev", True, ["lo", "v0", "v1"]),
        # subsystems exit after every device hook: lo is already gone
        ("exit", "mysub", False, []),
    ]


def test_lo_outlives_device_hooks_registered_at_boot_order() -> None:
    """default_device (which destroys veths) runs before loopback's exit."""
    k = Kernel()
    names = [ops.name for ops in k.pernet.ops]
    assert names.index("loopback") < names.index("default_device")
    assert names.index("ipv4") < names.index("loopback")


# -- teardown --------------------------------------------------------------------------


def test_teardown_runs_all_pre_exit_then_all_exit_in_reverse() -> None:
    k = Kernel()
    log: Log = []
    for name in ("A", "B", "C"):
        k.pernet.register_subsys(recording_ops(k, name, log))
    k.pernet.register_device(recording_ops(k, "D", log))
    net = k.netns_add("a")
    log.clear()
    k.netns_del("a")
    assert for_net(log, net) == [
        ("pre_exit", "D"), ("pre_exit", "C"), ("pre_exit", "B"), ("pre_exit", "A"),
        ("exit", "D"), ("exit", "C"), ("exit", "B"), ("exit", "A"),
    ]
    assert not net.alive
    assert net not in k.net_list()


# -- init failure ------------------------------------------------------------------------


@pytest.mark.parametrize("failing_kind", ["subsys", "device"])
def test_init_failure_rolls_back_and_namespace_never_appears(failing_kind: str) -> None:
    k = Kernel()
    log: Log = []
    created: list[Net] = []
    k.pernet.register_subsys(PernetOperations("spy", init=created.append))
    k.pernet.register_subsys(recording_ops(k, "A", log))
    k.pernet.register_subsys(recording_ops(k, "B", log))
    bad = recording_ops(k, "BAD", log, fail_init=lambda net: not net.is_init_net)
    if failing_kind == "subsys":
        k.pernet.register_subsys(bad)
    else:
        k.pernet.register_device(bad)
    k.pernet.register_device(recording_ops(k, "AFTER", log))
    log.clear()
    before = k.net_list()

    with pytest.raises(KernelError) as info:
        k.netns_add("x")
    assert info.value.errno == errno.ENOMEM
    assert k.net_list() == before
    assert "x" not in k.netns_names
    net = created[-1]
    assert net not in k.net_list()
    assert k.netns_name(net) is None
    steps = for_net(log, net)
    # A, B ran and are undone in reverse; BAD's own exit does not run; AFTER never ran
    assert steps == [("init", "A"), ("init", "B"), ("init", "BAD"),
                     ("pre_exit", "B"), ("pre_exit", "A"),
                     ("exit", "B"), ("exit", "A")]
    assert net.ipv4 is None  # the built-in ipv4 subsystem was undone too
    if failing_kind == "device":
        # lo had been created by then; the rollback removed it again
        assert net.dev_by_name == {}
        assert net.loopback_dev is None

    # The ip tool reports it and nothing is listed.
    res = k.cmd("ip netns add y")
    assert res.rc != 0
    assert res.stderr
    assert k.cmd("ip netns list").stdout == ""
    # init_net is unaffected and a later namespace works once the fault is gone.
    k.pernet.unregister(bad)
    k.netns_add("z")
    assert [n for n in k.netns_names] == ["z"]
    assert k.cmd("ip -n z -j link show").rc == 0


def test_failed_namespace_does_not_leak_veth_or_names() -> None:
    k = Kernel()
    k.pernet.register_device(PernetOperations("late_fail", init=fail_unless_init(errno.ENOSPC)))
    with pytest.raises(KernelError):
        k.netns_add("x")
    assert list(k.nets) == [0]
    assert k.netns_names == {}
    # The ifindex tables of init_net are untouched.
    assert list(k.init_net.dev_by_name) == ["lo"]


# -- registering while namespaces exist ---------------------------------------------------


def test_register_runs_init_in_every_existing_namespace() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    log: Log = []
    ops = recording_ops(k, "late", log)
    k.pernet.register_subsys(ops)
    assert sorted((h, net_label(k, n)) for h, _, n in log) == [
        ("init", "a"), ("init", "b"), ("init", "init")]
    assert ops in k.pernet.ops
    log.clear()
    c = k.netns_add("c")
    assert for_net(log, c) == [("init", "late")]
    assert for_net(log, a) == for_net(log, b) == []


def test_register_failure_undoes_done_namespaces_and_stays_unregistered() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    c = k.netns_add("c")
    log: Log = []
    ops = recording_ops(k, "late", log, fail_init=lambda net: net is b)
    n_ops = len(k.pernet.ops)
    with pytest.raises(KernelError):
        k.pernet.register_subsys(ops)
    assert ops not in k.pernet.ops
    assert len(k.pernet.ops) == n_ops
    # init ran in init_net and a (before b), then b failed; c never saw it
    assert for_net(log, k.init_net)[0] == ("init", "late")
    assert for_net(log, a)[0] == ("init", "late")
    assert for_net(log, b) == [("init", "late")]
    assert for_net(log, c) == []
    # the namespaces already done got their exit
    assert ("exit", "late") in for_net(log, k.init_net)
    assert ("exit", "late") in for_net(log, a)
    # and the namespaces themselves survived
    assert set(k.net_list()) == {k.init_net, a, b, c}
    # not registered: a new namespace does not run it, deleting one does not exit it
    log.clear()
    k.netns_add("d")
    k.netns_del("a")
    assert log == []


def test_register_failure_runs_pre_exit_too() -> None:
    """Linux's free_exit_list: the undo is pre_exit then exit, like a teardown."""
    k = Kernel()
    a = k.netns_add("a")
    k.netns_add("b")
    log: Log = []
    ops = recording_ops(k, "late", log, fail_init=lambda net: k.netns_name(net) == "b")
    with pytest.raises(KernelError):
        k.pernet.register_subsys(ops)
    assert for_net(log, a) == [("init", "late"), ("pre_exit", "late"), ("exit", "late")]


def test_register_failure_clears_generic_storage() -> None:
    k = Kernel()
    a = k.netns_add("a")
    k.netns_add("b")
    b = k.netns_get("b")

    def init(net: Net) -> None:
        if net is b:
            raise KernelError(errno.EIO)

    ops = PernetOperations("gen_fail", generic=dict, init=init)
    with pytest.raises(KernelError):
        k.pernet.register_subsys(ops)
    with pytest.raises(KernelError) as info:
        net_generic(a, ops)
    assert info.value.errno == errno.EINVAL


def test_register_twice_is_refused() -> None:
    k = Kernel()
    ops = PernetOperations("twice")
    k.pernet.register_subsys(ops)
    with pytest.raises(KernelError) as info:
        k.pernet.register_subsys(ops)
    assert info.value.errno == errno.EEXIST
    assert k.pernet.ops.count(ops) == 1


def test_unregister_runs_exit_everywhere() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    log: Log = []
    ops = recording_ops(k, "late", log, generic=dict)
    k.pernet.register_subsys(ops)
    log.clear()
    k.pernet.unregister(ops)
    for net in (k.init_net, a, b):
        assert for_net(log, net) == [("pre_exit", "late"), ("exit", "late")]
        with pytest.raises(KernelError):
            net_generic(net, ops)
    assert ops not in k.pernet.ops
    log.clear()
    k.netns_add("c")
    k.netns_del("b")
    assert log == []


def test_unregister_keeps_subsystem_device_split() -> None:
    k = Kernel()
    log: Log = []
    s1 = recording_ops(k, "s1", log)
    k.pernet.register_subsys(s1)
    k.pernet.unregister(s1)
    s2 = recording_ops(k, "s2", log)
    d = recording_ops(k, "d", log)
    k.pernet.register_device(d)
    k.pernet.register_subsys(s2)
    log.clear()
    net = k.netns_add("a")
    assert for_net(log, net) == [("init", "s2"), ("init", "d")]
    names = [ops.name for ops in k.pernet.ops]
    assert names.index("s2") < names.index("loopback")


# -- net_generic -------------------------------------------------------------------------


def test_net_generic_is_per_namespace_and_ready_before_init() -> None:
    k = Kernel()
    seen: dict[int, Any] = {}

    class State:
        def __init__(self) -> None:
            self.inited = False

    ops: PernetOperations

    def init(net: Net) -> None:
        st = net_generic(net, ops)  # already there when init runs
        assert isinstance(st, State)
        assert not st.inited
        st.inited = True
        seen[net.cookie] = st

    ops = PernetOperations("gen", init=init, generic=State)
    k.pernet.register_subsys(ops)
    a = k.netns_add("a")
    b = k.netns_add("b")
    sa, sb, si = net_generic(a, ops), net_generic(b, ops), net_generic(k.init_net, ops)
    assert sa is not sb and sa is not si and sb is not si
    assert sa.inited and sb.inited and si.inited
    assert seen[a.cookie] is sa
    sa.inited = "changed"
    assert net_generic(b, ops).inited is True  # no sharing
    # another ops gets its own slot
    other = PernetOperations("gen2", generic=list)
    k.pernet.register_subsys(other)
    assert other.id != ops.id
    assert net_generic(a, other) == []
    assert net_generic(a, ops) is sa


def test_net_generic_storage_released_at_exit() -> None:
    k = Kernel()
    at_exit: list[Any] = []
    ops: PernetOperations

    def exit_(net: Net) -> None:
        at_exit.append(net_generic(net, ops))  # still readable in exit

    ops = PernetOperations("gen", exit=exit_, generic=dict)
    k.pernet.register_subsys(ops)
    a = k.netns_add("a")
    st = net_generic(a, ops)
    k.netns_del("a")
    assert at_exit == [st]
    assert a.gen_get(ops.id) is None


def test_generic_storage_cleared_when_own_init_fails() -> None:
    k = Kernel()
    ops = PernetOperations("gen_bad", generic=dict, init=fail_unless_init())
    k.pernet.register_subsys(ops)
    created: list[Net] = []
    k.pernet.register_subsys(PernetOperations("spy", init=created.append))
    # spy is after gen_bad, so it never runs for the failing namespace
    created.clear()
    with pytest.raises(KernelError):
        k.netns_add("a")
    assert created == []
    assert k.netns_names == {}


# -- netns_ok=False (not namespace-aware) ---------------------------------------------------


def test_not_netns_ok_runs_only_for_init_net() -> None:
    k = Kernel()
    a = k.netns_add("a")
    log: Log = []
    ops = recording_ops(k, "legacy", log, generic=dict, netns_ok=False)
    k.pernet.register_subsys(ops)
    assert [(h, net_label(k, n)) for h, _, n in log] == [("init", "init")]
    log.clear()
    b = k.netns_add("b")
    k.netns_del("a")
    assert log == []
    assert net_generic(k.init_net, ops) == {}
    for net in (a, b):
        with pytest.raises(KernelError) as info:
            net_generic(net, ops)
        assert info.value.errno == errno.EAFNOSUPPORT
    k.pernet.unregister(ops)
    assert [(h, net_label(k, n)) for h, _, n in log] == [("pre_exit", "init"),
                                                           ("exit", "init")]


def test_not_netns_ok_refuses_even_with_storage_slot() -> None:
    """The refusal does not depend on whether storage happens to exist."""
    k = Kernel()
    ops = PernetOperations("legacy", generic=dict, netns_ok=False)
    k.pernet.register_subsys(ops)
    a = k.netns_add("a")
    a.gen_set(ops.id, {"smuggled": True})
    with pytest.raises(KernelError) as info:
        net_generic(a, ops)
    assert info.value.errno == errno.EAFNOSUPPORT


def test_net_generic_without_state_is_einval() -> None:
    k = Kernel()
    ops = PernetOperations("nogen")
    with pytest.raises(KernelError) as info:
        net_generic(k.init_net, ops)
    assert info.value.errno == errno.EINVAL
