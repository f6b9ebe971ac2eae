"""Kernel and namespace life cycle: boot, netns add/del, reference counting,
teardown of devices and peers, nsids, and no leaks over many namespaces."""

from __future__ import annotations

import errno
import gc
import json
import weakref
from typing import Any

import pytest

from usernet import Kernel, KernelError, Net, Task
from usernet.dev.netdevice import NETREG_UNREGISTERED
from usernet.ipv4.neighbour import NUD_PERMANENT
from usernet.net import NET_DEAD


def links(k: Kernel, ns: str | None = None) -> list[dict[str, Any]]:
    res = k.cmd("ip -j link show") if ns is None else k.cmd(f"ip -n {ns} -j link show")
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def names(k: Kernel, ns: str | None = None) -> list[str]:
    return [link["ifname"] for link in links(k, ns)]


def netns_list(k: Kernel, ns: str | None = None) -> list[dict[str, Any]]:
    res = k.cmd("ip -j netns list") if ns is None else k.cmd(f"ip -n {ns} -j netns list")
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def ok(k: Kernel, line: str) -> str:
    res = k.cmd(line)
    assert res.rc == 0, f"{line}: rc={res.rc} {res.stderr}"
    return res.stdout


# -- boot ------------------------------------------------------------------------------


def test_boot_init_net_has_only_lo_down() -> None:
    k = Kernel()
    lst = links(k)
    assert len(lst) == 1
    lo = lst[0]
    assert lo["ifindex"] == 1
    assert lo["ifname"] == "lo"
    assert lo["flags"] == ["LOOPBACK"]
    assert lo["operstate"] == "DOWN"
    assert lo["mtu"] == 65536
    assert lo["link_type"] == "loopback"
    assert lo["address"] == "00:00:00:00:00:00"
    assert k.net_list() == [k.init_net]
    assert k.current_net is k.init_net
    assert k.netns_names == {}
    assert ok(k, "ip netns list") == ""
    assert k.init_net.alive
    # init_net is held by the init task only
    assert k.init_net.refcnt == 1


def test_init_net_is_never_destroyed() -> None:
    k = Kernel()
    k.init_net.put()  # even dropping the init task's reference ...
    assert k.init_net.alive  # ... cannot kill init_net
    assert k.init_net in k.net_list()


def test_fresh_namespace_has_only_lo_down() -> None:
    k = Kernel()
    ok(k, "ip netns add a")
    lst = links(k, "a")
    assert [(x["ifindex"], x["ifname"], x["flags"], x["operstate"]) for x in lst] == [
        (1, "lo", ["LOOPBACK"], "DOWN")]
    net = k.netns_get("a")
    assert net is not k.init_net
    assert net in k.net_list()
    assert net.loopback_dev is net.dev_get_by_name("lo")


# -- netns add / del ---------------------------------------------------------------------


def test_netns_add_del_and_errors() -> None:
    k = Kernel()
    ok(k, "ip netns add a")
    ok(k, "ip netns add b")
    assert ok(k, "ip netns list") == "b\na\n"  # newest first
    assert [n["name"] for n in netns_list(k)] == ["b", "a"]
    res = k.cmd("ip netns add a")
    assert res.rc != 0
    assert 'Cannot create namespace file "/run/netns/a"' in res.stderr
    assert len(k.net_list()) == 3
    ok(k, "ip netns del a")
    assert ok(k, "ip netns list") == "b\n"
    res = k.cmd("ip netns del a")
    assert res.rc != 0
    assert 'Cannot remove namespace file "/run/netns/a"' in res.stderr
    res = k.cmd("ip -n a link show")
    assert res.rc == 255
    assert res.stderr == 'Cannot open network namespace "a": No such file or directory\n'
    with pytest.raises(KernelError) as info:
        k.netns_del("a")
    assert info.value.errno == errno.ENOENT
    with pytest.raises(KernelError) as info:
        k.netns_add("b")
    assert info.value.errno == errno.EEXIST


@pytest.mark.parametrize("bad", ["a/b", ".", ".."])
def test_netns_invalid_names(bad: str) -> None:
    k = Kernel()
    for verb in ("add", "del"):
        res = k.cmd(["ip", "netns", verb, bad])
        assert res.rc == 255
        assert res.stderr == f'Invalid netns name "{bad}"\n'
    assert k.netns_names == {}
    assert k.net_list() == [k.init_net]


def test_netns_del_destroys_namespace_and_its_devices() -> None:
    k = Kernel()
    ok(k, "ip netns add a")
    net = k.netns_get("a")
    ok(k, "ip -n a link add v0 type veth peer name v1")
    ok(k, "ip -n a link add br0 type bridge")
    devs = list(net.devices())
    assert [d.name for d in devs] == ["lo", "v1", "v0", "br0"]
    ok(k, "ip netns del a")
    assert net.state == NET_DEAD
    assert not net.alive
    assert net not in k.net_list()
    assert net.dev_by_name == {}
    assert net.dev_by_index == {}
    assert all(d.reg_state == NETREG_UNREGISTERED for d in devs)
    with pytest.raises(KernelError):
        net.get()  # maybe_get_net fails once the count reached 0


def test_recreated_name_is_a_new_namespace() -> None:
    k = Kernel()
    first = k.netns_add("a")
    ok(k, "ip -n a link add d0 type dummy")
    k.netns_del("a")
    second = k.netns_add("a")
    assert second is not first
    assert second.cookie != first.cookie
    assert names(k, "a") == ["lo"]


def test_netns_attach_names_an_existing_namespace() -> None:
    k = Kernel()
    with k.netns(k.init_net) as task:
        new = task.unshare()
        k.netns_attach("x", new)
    # the task is gone but the name holds the namespace
    assert new.alive
    assert k.netns_get("x") is new
    with pytest.raises(KernelError) as info:
        k.netns_attach("x", new)
    assert info.value.errno == errno.EEXIST
    k.netns_del("x")
    assert not new.alive


# -- a namespace lives while referenced ------------------------------------------------------


def test_task_keeps_deleted_namespace_alive() -> None:
    k = Kernel()
    ok(k, "ip netns add a")
    ok(k, "ip -n a link add v0 type veth peer name v1")
    net = k.netns_get("a")
    task = Task(k, net)
    ok(k, "ip netns del a")
    assert net.alive
    assert net in k.net_list()
    assert "a" not in k.netns_names
    assert ok(k, "ip netns list") == ""
    # the task still sees and uses it
    res = k.cmd("ip -j link show", netns=net)
    assert [x["ifname"] for x in json.loads(res.stdout)] == ["lo", "v1", "v0"]
    v0 = net.dev_get_by_name("v0")
    task.exit()
    assert not net.alive
    assert net not in k.net_list()
    assert v0 is not None and v0.reg_state == NETREG_UNREGISTERED
    task.exit()  # a second exit is harmless
    assert k.init_net.alive


def test_netns_context_keeps_namespace_alive_until_block_ends() -> None:
    k = Kernel()
    k.netns_add("a")
    net = k.netns_get("a")
    with k.netns("a"):
        k.netns_del("a")
        assert net.alive
        ok(k, "ip link add d0 type dummy")  # runs in a, still usable
        assert names(k) == ["lo", "d0"]
    assert not net.alive
    assert net not in k.net_list()
    assert names(k) == ["lo"]  # the block's commands never touched init_net


def test_extra_reference_keeps_namespace_alive() -> None:
    k = Kernel()
    net = k.netns_add("a")
    assert net.get() is net
    k.netns_del("a")
    assert net.alive
    assert net in k.net_list()
    net.put()
    assert not net.alive
    assert net not in k.net_list()


def test_teardown_on_last_reference_removes_peers_in_other_namespaces() -> None:
    k = Kernel()
    for ns in ("a", "b"):
        ok(k, f"ip netns add {ns}")
    ok(k, "ip -n a link add va type veth peer name vb netns b")
    ok(k, "ip link add vinit type veth peer name vi netns a")
    net = k.netns_get("a")
    holder = Task(k, net)
    ok(k, "ip netns del a")
    # still referenced: the peers stay
    assert names(k, "b") == ["lo", "vb"]
    assert "vinit" in names(k)
    holder.exit()
    assert names(k, "b") == ["lo"]
    assert names(k) == ["lo"]


def test_delete_namespace_with_veths_to_several_namespaces() -> None:
    k = Kernel()
    for ns in ("hub", "s1", "s2", "s3"):
        ok(k, f"ip netns add {ns}")
    for i in (1, 2, 3):
        ok(k, f"ip -n hub link add h{i} type veth peer name p{i} netns s{i}")
    ok(k, "ip -n s1 link add keep0 type veth peer name keep1 netns s2")  # unrelated
    ok(k, "ip link add root0 type veth peer name root1 netns hub")
    ok(k, "ip netns del hub")
    assert names(k, "s1") == ["lo", "keep0"]
    assert names(k, "s2") == ["lo", "keep1"]
    assert names(k, "s3") == ["lo"]
    assert names(k) == ["lo"]
    assert sorted(n["name"] for n in netns_list(k)) == ["s1", "s2", "s3"]
    # and the hub's nsid is forgotten by everyone
    for ns in ("s1", "s2", "s3"):
        net = k.netns_get(ns)
        assert all(peer.alive for peer in (net.nsids or {}))


def test_dying_namespace_peer_veth_in_alive_task_namespace() -> None:
    """A veth peer dies even when its namespace is only held by a task."""
    k = Kernel()
    k.netns_add("a")
    with k.netns(k.init_net) as task:
        private = task.unshare()
        ok(k, "ip link add x0 type veth peer name x1 netns a")
        assert names(k) == ["lo", "x0"]
        k.netns_del("a")
        assert [d.name for d in private.devices()] == ["lo"]
    assert not private.alive


# -- nsids ---------------------------------------------------------------------------------


def test_nsids_allocated_when_a_veth_links_namespaces() -> None:
    k = Kernel()
    for ns in ("a", "b", "c"):
        ok(k, f"ip netns add {ns}")
    assert netns_list(k, "a") == [{"name": "c"}, {"name": "b"}, {"name": "a"}]
    ok(k, "ip -n a link add x type veth peer name y netns b")
    assert netns_list(k, "a") == [{"name": "c"}, {"name": "b", "id": 0}, {"name": "a"}]
    assert netns_list(k, "b") == [{"name": "c"}, {"name": "b"}, {"name": "a", "id": 0}]
    assert ok(k, "ip -n b netns list") == "c\nb\na (id: 0)\n"
    # c is not linked: it has no ids, and nobody has one for it
    assert netns_list(k, "c") == [{"name": "c"}, {"name": "b"}, {"name": "a"}]
    ok(k, "ip -n c link add z type veth peer name w netns b")
    assert netns_list(k, "b") == [{"name": "c", "id": 1}, {"name": "b"}, {"name": "a", "id": 0}]
    # deleting a removes its id everywhere; other ids are not renumbered
    ok(k, "ip netns del a")
    assert netns_list(k, "b") == [{"name": "c", "id": 1}, {"name": "b"}]
    # a re-created name gets no id until linked again
    ok(k, "ip netns add a")
    assert netns_list(k, "b")[0] == {"name": "a"}
    ok(k, "ip -n a link add p type veth peer name q netns b")
    assert netns_list(k, "b")[0] == {"name": "a", "id": 0}


def test_nsid_for_init_net_shows_as_link_netnsid() -> None:
    k = Kernel()
    ok(k, "ip netns add a")
    ok(k, "ip link add v0 type veth peer name v1 netns a")
    v1 = links(k, "a")[1]
    assert v1["ifname"] == "v1"
    assert v1["link_netnsid"] == 0
    assert v1["link_index"] == 2  # v0's ifindex in init_net
    v0 = links(k)[1]
    assert v0["link_netnsid"] == 0
    assert netns_list(k) == [{"name": "a", "id": 0}]
    text = ok(k, "ip -n a link show v1")
    assert "v1@if2:" in text
    assert "link-netnsid 0" in text
    assert "link-netns a" in ok(k, "ip link show v0")


def test_nsids_are_local_to_each_namespace() -> None:
    k = Kernel()
    for ns in ("a", "b", "c"):
        ok(k, f"ip netns add {ns}")
    ok(k, "ip -n a link add x0 type veth peer name x1 netns b")
    ok(k, "ip -n a link add y0 type veth peer name y1 netns c")
    ok(k, "ip -n b link add z0 type veth peer name z1 netns c")
    a, b, c = (k.netns_get(n) for n in "abc")
    assert a.peernet2id(b) == 0 and a.peernet2id(c) == 1
    assert b.peernet2id(a) == 0 and b.peernet2id(c) == 1
    assert c.peernet2id(a) == 0 and c.peernet2id(b) == 1
    assert a.get_net_ns_by_id(1) is c
    assert a.peernet2id(a) == -1


# -- many namespaces, no leaks ---------------------------------------------------------------


def test_thousand_namespaces_leave_no_trace() -> None:
    k = Kernel()
    k.netns_add("keep")
    ok(k, "ip -n keep link add k0 type veth peer name k1")
    refs: list[weakref.ref[Net]] = []
    for i in range(1000):
        name = f"n{i}"
        net = k.netns_add(name)
        refs.append(weakref.ref(net))
        if i % 10 == 0:
            # link some of them to the survivor and to init_net, with neighbours
            ok(k, f"ip -n {name} link add a{i} type veth peer name b{i} netns keep")
            ok(k, f"ip link add i{i} type veth peer name j{i} netns {name}")
            dev = net.dev_get_by_name(f"a{i}")
            assert dev is not None
            k.neigh_tbl.update(dev, 0x0A000001 + i, b"\x02\x00\x00\x00\x00\x01",
                               NUD_PERMANENT, create=True, replace=False, excl=True)
            del dev
        if i % 3 == 0:
            k.netns_del(name)
        del net
    assert len(k.net_list()) == 1 + 1 + (1000 - 334)
    for i in range(1000):
        if f"n{i}" in k.netns_names:
            k.netns_del(f"n{i}")
    assert list(k.netns_names) == ["keep"]
    assert k.net_list() == [k.init_net, k.netns_get("keep")]
    assert set(k.nets) == {0, k.netns_get("keep").cookie}
    assert k.neigh_tbl.entries == {}
    assert k.neigh_tbl.proxies == {}
    assert names(k) == ["lo"]
    assert names(k, "keep") == ["lo", "k1", "k0"]
    keep = k.netns_get("keep")
    assert not keep.nsids and not keep.nsid_holders
    assert not k.init_net.nsids and not k.init_net.nsid_holders
    assert not k.linkwatch_pending
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert alive == [], "a destroyed namespace is still referenced"


def test_init_net_reference_count_balanced_by_commands() -> None:
    k = Kernel()
    k.netns_add("a")
    before = (k.init_net.refcnt, k.netns_get("a").refcnt)
    for _ in range(5):
        ok(k, "ip -n a link show")
        ok(k, "ip netns exec a ip link show")
        with k.netns("a"):
            ok(k, "ip link show")
    assert (k.init_net.refcnt, k.netns_get("a").refcnt) == before
