"""The shared neighbour table: namespace filtering, update rules, parameters."""

from __future__ import annotations

import errno

import pytest

from usernet import Kernel, KernelError
from usernet.ipv4.neighbour import HZ, NUD_PERMANENT, NUD_STALE, neigh_parm, neigh_parm_ms

MAC = bytes.fromhex("020000000001")


def _veth(k: Kernel, ns: str) -> None:
    assert k.cmd(f"ip -n {ns} link add x0 type veth peer name x1").rc == 0


def test_dump_is_filtered_by_namespace() -> None:
    k = Kernel()
    a, b = k.netns_add("a"), k.netns_add("b")
    _veth(k, "a")
    _veth(k, "b")
    dev_a, dev_b = a.dev_get_by_name("x0"), b.dev_get_by_name("x0")
    assert dev_a is not None and dev_b is not None
    tbl = k.neigh_tbl
    tbl.update(dev_a, 1, MAC, NUD_PERMANENT, create=True, replace=False, excl=True)
    tbl.update(dev_b, 1, MAC, NUD_PERMANENT, create=True, replace=False, excl=True)
    assert [n.dev for n in tbl.dump(a)] == [dev_a]
    assert [n.dev for n in tbl.dump(b)] == [dev_b]


def test_update_refusals_leave_table_unchanged() -> None:
    k = Kernel()
    net = k.netns_add("a")
    _veth(k, "a")
    dev = net.dev_get_by_name("x0")
    assert dev is not None
    tbl = k.neigh_tbl
    with pytest.raises(KernelError) as exc:
        tbl.update(dev, 5, MAC, NUD_STALE, create=False, replace=True, excl=False)
    assert exc.value.errno == errno.ENOENT
    with pytest.raises(KernelError) as exc:
        tbl.update(dev, 5, None, NUD_PERMANENT, create=True, replace=False, excl=True)
    assert exc.value.errno == errno.EINVAL
    assert tbl.dump(net) == []
    tbl.update(dev, 5, MAC, NUD_PERMANENT, create=True, replace=False, excl=True)
    with pytest.raises(KernelError) as exc:
        tbl.update(dev, 5, MAC, NUD_PERMANENT, create=True, replace=False, excl=True)
    assert exc.value.errno == errno.EEXIST


def test_device_down_and_delete_flush_entries() -> None:
    k = Kernel()
    net = k.netns_add("a")
    _veth(k, "a")
    dev = net.dev_get_by_name("x0")
    assert dev is not None
    k.cmd("ip -n a link set x0 up")
    k.neigh_tbl.update(dev, 5, MAC, NUD_PERMANENT, create=True, replace=False, excl=True)
    k.cmd("ip -n a link set x0 down")
    assert k.neigh_tbl.dump(net) == []
    k.neigh_tbl.update(dev, 6, MAC, NUD_PERMANENT, create=True, replace=False, excl=True)
    k.cmd("ip -n a link del x1")
    assert k.neigh_tbl.dump(net) == []


def test_parameters_default_and_per_device() -> None:
    k = Kernel()
    net = k.netns_add("a")
    _veth(k, "a")
    dev = net.dev_get_by_name("x0")
    assert dev is not None
    assert neigh_parm(dev, "mcast_probes") == 3
    assert neigh_parm_ms(dev, "retrans_time") == 1000
    assert neigh_parm_ms(dev, "proxy_delay") == 800
    k.neigh_tbl.set_parm(dev, "proxy_delay", 0)
    assert neigh_parm(dev, "proxy_delay") == 0
    assert neigh_parm(net.dev_get_by_name("x1"), "proxy_delay") == 8 * HZ // 10  # type: ignore[arg-type]


def test_default_parm_write_does_not_reach_other_namespaces() -> None:
    k = Kernel()
    net = k.netns_add("a")
    _veth(k, "a")
    dev = net.dev_get_by_name("x0")
    assert dev is not None
    k.neigh_tbl.set_default_parm("mcast_probes", 9, [dev])
    assert neigh_parm(dev, "mcast_probes") == 3
    assert k.neigh_tbl.parm(None, "mcast_probes") == 9


def test_teardown_flushes_only_the_dying_namespace_and_its_index() -> None:
    from usernet import Kernel

    k = Kernel()
    for ns in ("a", "b"):
        k.cmd(f"ip netns add {ns}")
        k.cmd(f"ip -n {ns} link add v0 type veth peer name v1")
        for i in range(1, 4):
            assert k.cmd(f"ip -n {ns} neigh add 10.0.0.{i} lladdr 02:00:00:00:00:0{i} "
                         "dev v0").rc == 0
    tbl = k.neigh_tbl
    assert len(tbl.entries) == 6
    k.cmd("ip netns del a")
    b = k.netns_get("b")
    assert len(tbl.entries) == 3
    assert all(dev.net is b for dev in tbl.by_dev)
    assert sum(len(a) for a in tbl.by_dev.values()) == 3
    assert [n.addr & 0xFF for n in tbl.dump(b)] == [1, 2, 3]
    k.cmd("ip -n b neigh del 10.0.0.2 dev v0")
    k.cmd("ip -n b link del v0")
    assert tbl.entries == {} and tbl.by_dev == {}
