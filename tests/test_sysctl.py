"""Kernel side of sysctl: per-namespace storage, IPv4 conf semantics, the
global net.core table as a not-namespace-aware pernet subsystem."""

from __future__ import annotations

import errno
import sys
import tracemalloc

import pytest

from usernet import Kernel, KernelError, net_generic
from usernet.sysctl import (
    NetCoreGlobal,
    core_global,
    net_core_global_ops,
    sysctl_get,
    sysctl_set,
)


def test_values_are_per_namespace_and_copy_on_write() -> None:
    k = Kernel()
    a, b = k.netns_add("a"), k.netns_add("b")
    assert a.sysctls is None
    sysctl_set(a, "net.ipv4.ip_default_ttl", "99")
    assert sysctl_get(a, "net.ipv4.ip_default_ttl") == "99"
    assert sysctl_get(b, "net.ipv4.ip_default_ttl") == "64"
    assert b.sysctls is None


@pytest.mark.parametrize("value", ["0", "256", "abc", "", "99999999999"])
def test_refused_values_change_nothing(value: str) -> None:
    k = Kernel()
    net = k.netns_add("a")
    with pytest.raises(KernelError) as exc:
        sysctl_set(net, "net.ipv4.ip_default_ttl", value)
    assert exc.value.errno == errno.EINVAL
    assert sysctl_get(net, "net.ipv4.ip_default_ttl") == "64"


def test_missing_key_is_enoent() -> None:
    k = Kernel()
    with pytest.raises(KernelError) as exc:
        sysctl_get(k.netns_add("a"), "net.ipv4.no_such_key")
    assert exc.value.errno == errno.ENOENT


def test_port_range_partial_write_and_order() -> None:
    k = Kernel()
    net = k.netns_add("a")
    sysctl_set(net, "net.ipv4.ip_local_port_range", "40000")
    assert sysctl_get(net, "net.ipv4.ip_local_port_range") == "40000\t60999"
    with pytest.raises(KernelError):
        sysctl_set(net, "net.ipv4.ip_local_port_range", "50000 30000")


def test_ip_forward_is_conf_all_forwarding_and_pushes_on_change_only() -> None:
    k = Kernel()
    net = k.netns_add("a")
    k.cmd("ip -n a link add x0 type veth peer name x1")
    x0 = net.dev_get_by_name("x0")
    assert x0 is not None and x0.ip_ptr is not None
    sysctl_set(net, "net.ipv4.ip_forward", "1")
    assert sysctl_get(net, "net.ipv4.conf.all.forwarding") == "1"
    assert sysctl_get(net, "net.ipv4.conf.default.forwarding") == "1"
    assert sysctl_get(net, "net.ipv4.conf.all.accept_redirects") == "0"
    assert x0.ip_ptr.conf_get("forwarding") == 1
    sysctl_set(net, "net.ipv4.conf.x0.forwarding", "0")
    sysctl_set(net, "net.ipv4.ip_forward", "1")  # unchanged: not pushed
    assert x0.ip_ptr.conf_get("forwarding") == 0


def test_default_write_reaches_only_devices_not_written() -> None:
    k = Kernel()
    net = k.netns_add("a")
    k.cmd("ip -n a link add x0 type veth peer name x1")
    sysctl_set(net, "net.ipv4.conf.x1.accept_redirects", "1")
    sysctl_set(net, "net.ipv4.conf.default.accept_redirects", "0")
    assert sysctl_get(net, "net.ipv4.conf.x0.accept_redirects") == "0"
    assert sysctl_get(net, "net.ipv4.conf.lo.accept_redirects") == "0"
    assert sysctl_get(net, "net.ipv4.conf.x1.accept_redirects") == "1"


def test_device_created_after_default_write_keeps_it_explicitly() -> None:
    """inetdev_init copies conf.default with its state bits (oracle-checked)."""
    k = Kernel()
    net = k.netns_add("a")
    sysctl_set(net, "net.ipv4.conf.default.rp_filter", "2")
    k.cmd("ip -n a link add x0 type veth peer name x1")
    sysctl_set(net, "net.ipv4.conf.default.rp_filter", "1")
    assert sysctl_get(net, "net.ipv4.conf.x0.rp_filter") == "2"
    assert sysctl_get(net, "net.ipv4.conf.lo.rp_filter") == "1"


def test_flushing_entries_do_not_propagate() -> None:
    k = Kernel()
    net = k.netns_add("a")
    k.cmd("ip -n a link add x0 type veth peer name x1")
    sysctl_set(net, "net.ipv4.conf.default.promote_secondaries", "1")
    assert sysctl_get(net, "net.ipv4.conf.x0.promote_secondaries") == "0"


def test_moved_device_gets_target_defaults_and_neigh_parms() -> None:
    k = Kernel()
    a, b = k.netns_add("a"), k.netns_add("b")
    k.cmd("ip -n a link add x0 type veth peer name x1")
    sysctl_set(a, "net.ipv4.conf.x0.arp_ignore", "2")
    sysctl_set(a, "net.ipv4.neigh.x0.mcast_solicit", "7")
    sysctl_set(b, "net.ipv4.conf.default.arp_ignore", "1")
    assert k.cmd("ip -n a link set x0 netns b").rc == 0
    assert sysctl_get(b, "net.ipv4.conf.x0.arp_ignore") == "1"
    assert sysctl_get(b, "net.ipv4.neigh.x0.mcast_solicit") == "3"
    with pytest.raises(KernelError):
        sysctl_get(a, "net.ipv4.conf.x0.arp_ignore")


def test_neigh_times_round_trip_through_jiffies() -> None:
    k = Kernel()
    net = k.netns_add("a")
    k.cmd("ip -n a link add x0 type veth peer name x1")
    sysctl_set(net, "net.ipv4.neigh.x0.retrans_time_ms", "5")
    assert sysctl_get(net, "net.ipv4.neigh.x0.retrans_time_ms") == "8"  # 2 jiffies at HZ 250
    assert sysctl_get(net, "net.ipv4.neigh.x0.retrans_time") == "0"
    sysctl_set(net, "net.ipv4.neigh.x0.base_reachable_time", "10")
    assert sysctl_get(net, "net.ipv4.neigh.x0.base_reachable_time_ms") == "10000"
    with pytest.raises(KernelError):
        sysctl_set(net, "net.ipv4.neigh.x0.mcast_solicit", "-1")


def test_global_core_table_is_not_namespace_aware() -> None:
    k = Kernel()
    net = k.netns_add("a")
    state = net_generic(k.init_net, net_core_global_ops)
    assert isinstance(state, NetCoreGlobal)
    with pytest.raises(KernelError) as exc:
        net_generic(net, net_core_global_ops)
    assert exc.value.errno == errno.EAFNOSUPPORT
    assert sysctl_get(k.init_net, "net.core.netdev_max_backlog") == "1000"
    sysctl_set(k.init_net, "net.core.rmem_max", "500000")
    with pytest.raises(KernelError) as exc:
        sysctl_get(net, "net.core.netdev_max_backlog")
    assert exc.value.errno == errno.ENOENT
    assert sysctl_get(net, "net.core.rmem_max") == "500000"  # a read-only view
    with pytest.raises(KernelError) as exc:
        sysctl_set(net, "net.core.rmem_max", "1")
    assert exc.value.errno == errno.EACCES


def test_init_only_keys_exist_in_init_net_alone() -> None:
    k = Kernel()
    assert sysctl_get(k.init_net, "net.core.devconf_inherit_init_net") == "0"
    assert core_global(k.init_net).values["net.core.devconf_inherit_init_net"] == "0"
    assert sysctl_get(k.init_net, "net.ipv4.neigh.default.mcast_solicit") == "3"
    net = k.netns_add("a")
    for key in ("net.core.devconf_inherit_init_net", "net.ipv4.neigh.default.mcast_solicit"):
        with pytest.raises(KernelError) as exc:
            sysctl_get(net, key)
        assert exc.value.errno == errno.ENOENT


def test_devconf_inherit_modes() -> None:
    k = Kernel()
    sysctl_set(k.init_net, "net.ipv4.conf.all.rp_filter", "1")
    assert sysctl_get(k.netns_add("a"), "net.ipv4.conf.all.rp_filter") == "1"
    sysctl_set(k.init_net, "net.core.devconf_inherit_init_net", "2")
    assert sysctl_get(k.netns_add("b"), "net.ipv4.conf.all.rp_filter") == "0"


def test_empty_namespaces_stay_small() -> None:
    k = Kernel()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    nets = [k.create_net() for _ in range(300)]
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    per_net = sum(s.size_diff for s in after.compare_to(before, "filename")) / len(nets)
    assert per_net < 2048, per_net
    assert all(n.sysctls is None for n in nets)
    assert sys.getsizeof(nets) > 0
