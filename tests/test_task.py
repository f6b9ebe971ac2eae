"""Tasks and the current namespace: contextvars, asyncio, threads, setns and
unshare moving references."""

from __future__ import annotations

import asyncio
import contextvars
import json
import threading

import pytest

from usernet import Cred, Kernel, KernelError, Net, Task


def ifnames(k: Kernel) -> list[str]:
    res = k.cmd("ip -j link show")
    assert res.rc == 0, res.stderr
    return [x["ifname"] for x in json.loads(res.stdout)]


def test_current_net_defaults_to_init_net() -> None:
    k = Kernel()
    assert k.current_net is k.init_net
    assert k.current_task() is k.init_task
    assert k.init_task.net is k.init_net


def test_netns_block_sets_current_net_and_restores_it() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    with k.netns("a") as task:
        assert k.current_net is a
        assert k.current_task() is task
        assert task.net is a
        with k.netns(b):
            assert k.current_net is b
        assert k.current_net is a
    assert k.current_net is k.init_net


def test_netns_block_restores_on_exception() -> None:
    k = Kernel()
    a = k.netns_add("a")
    refs = a.refcnt
    with pytest.raises(RuntimeError), k.netns("a"):
        raise RuntimeError("boom")
    assert k.current_net is k.init_net
    assert a.refcnt == refs


def test_netns_block_unknown_name() -> None:
    k = Kernel()
    with pytest.raises(KernelError), k.netns("nope"):
        pass  # pragma: no cover


def test_cmd_inside_block_runs_in_that_namespace() -> None:
    k = Kernel()
    k.netns_add("a")
    with k.netns("a"):
        assert k.cmd("ip link add d0 type dummy").rc == 0
        assert ifnames(k) == ["lo", "d0"]
        assert "d0" in k.cmd("ip link show").stdout
        # an explicit netns= still wins
        assert k.cmd("ip -j link show", netns=k.init_net).stdout.count("ifname") == 1
    assert ifnames(k) == ["lo"]
    assert [d.name for d in k.netns_get("a").devices()] == ["lo", "d0"]


def test_current_task_is_per_kernel() -> None:
    k1, k2 = Kernel(), Kernel()
    a = k1.netns_add("a")
    with k1.netns("a"):
        assert k1.current_net is a
        assert k2.current_net is k2.init_net  # another kernel's task is not ours
        assert ifnames(k2) == ["lo"]


def test_asyncio_task_inherits_current_namespace() -> None:
    k = Kernel()
    a = k.netns_add("a")
    k.netns_add("b")
    seen: dict[str, Net] = {}

    async def child(tag: str) -> None:
        await asyncio.sleep(0)
        seen[tag] = k.current_net
        assert k.cmd(f"ip link add {tag} type dummy").rc == 0

    async def main() -> None:
        seen["main"] = k.current_net
        t1 = asyncio.create_task(child("t1"))
        with k.netns("b"):
            t2 = asyncio.create_task(child("t2"))  # created inside: in b
        t3 = asyncio.create_task(child("t3"))
        await asyncio.gather(t1, t2, t3)
        seen["after"] = k.current_net

    with k.netns("a"):
        asyncio.run(main())
    assert seen["main"] is a
    assert seen["t1"] is a
    assert seen["t2"] is k.netns_get("b")
    assert seen["t3"] is a
    assert seen["after"] is a
    assert [d.name for d in a.devices()] == ["lo", "t1", "t3"]
    assert [d.name for d in k.netns_get("b").devices()] == ["lo", "t2"]
    assert ifnames(k) == ["lo"]


def test_asyncio_setns_in_one_task_does_not_leak_to_siblings() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    seen: dict[str, Net] = {}

    async def mover() -> None:
        with k.netns(b):
            await asyncio.sleep(0)
            seen["mover"] = k.current_net
            await asyncio.sleep(0)

    async def stayer() -> None:
        await asyncio.sleep(0)
        seen["stayer"] = k.current_net
        await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(mover(), stayer())

    with k.netns(a):
        asyncio.run(main())
    assert seen == {"mover": b, "stayer": a}


def test_thread_with_copied_context_inherits_namespace() -> None:
    k = Kernel()
    a = k.netns_add("a")
    seen: list[Net] = []
    with k.netns("a"):
        ctx = contextvars.copy_context()
    t = threading.Thread(target=ctx.run, args=(lambda: seen.append(k.current_net),))
    t.start()
    t.join()
    plain: list[Net] = []
    t2 = threading.Thread(target=lambda: plain.append(k.current_net))
    t2.start()
    t2.join()
    assert seen == [a]
    assert plain == [k.init_net]


# -- Task objects --------------------------------------------------------------------------


def test_task_holds_a_reference() -> None:
    k = Kernel()
    a = k.netns_add("a")
    before = a.refcnt
    t = Task(k, a)
    assert a.refcnt == before + 1
    t.exit()
    assert a.refcnt == before
    t.exit()
    assert a.refcnt == before


def test_setns_moves_the_reference_and_frees_the_old_namespace() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    assert k.cmd("ip -n a link add v0 type veth peer name v1 netns b").rc == 0
    t = Task(k, a)
    k.netns_del("a")
    assert a.alive
    b_refs = b.refcnt
    t.setns(b)
    assert t.net is b
    assert b.refcnt == b_refs + 1
    assert not a.alive  # the task held the last reference
    assert a not in k.net_list()
    assert [d.name for d in b.devices()] == ["lo"]  # v1 died with v0
    t.exit()
    assert b.alive  # still named
    assert b.refcnt == b_refs


def test_setns_to_same_namespace_keeps_it() -> None:
    k = Kernel()
    a = k.netns_add("a")
    t = Task(k, a)
    k.netns_del("a")
    t.setns(a)  # get before put: the namespace survives
    assert a.alive
    assert t.net is a
    t.exit()
    assert not a.alive


def test_setns_into_dead_namespace_is_refused() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    t = Task(k, b)
    k.netns_del("a")
    with pytest.raises(KernelError):
        t.setns(a)
    assert t.net is b
    assert b.alive


def test_unshare_creates_a_new_namespace_and_drops_the_old() -> None:
    k = Kernel()
    a = k.netns_add("a")
    t = Task(k, a)
    k.netns_del("a")
    new = t.unshare()
    assert new is t.net
    assert new is not a
    assert new.alive and new in k.net_list()
    assert not a.alive
    assert [d.name for d in new.devices()] == ["lo"]
    assert k.netns_name(new) is None
    assert new.refcnt == 1
    t.exit()
    assert not new.alive
    assert k.net_list() == [k.init_net]


def test_unshare_keeps_old_namespace_when_still_referenced() -> None:
    k = Kernel()
    with k.netns(k.init_net) as task:
        new = task.unshare()
        assert k.current_net is new
        assert k.cmd("ip link add d0 type dummy").rc == 0
        assert [d.name for d in new.devices()] == ["lo", "d0"]
    assert k.init_net.alive
    assert not new.alive
    assert ifnames(k) == ["lo"]
    assert k.current_net is k.init_net


def test_setns_inside_block_changes_current_namespace() -> None:
    k = Kernel()
    a = k.netns_add("a")
    b = k.netns_add("b")
    with k.netns(a) as task:
        task.setns(b)
        assert k.current_net is b
        assert k.cmd("ip link add d0 type dummy").rc == 0
    assert [d.name for d in b.devices()] == ["lo", "d0"]
    assert [d.name for d in a.devices()] == ["lo"]
    assert a.refcnt == 1 and b.refcnt == 1


# -- credentials ----------------------------------------------------------------------------------


def test_tasks_are_root_unless_told() -> None:
    k = Kernel()
    assert k.init_task.cred == Cred(0, 0)
    with k.netns(k.init_net) as task:
        assert task.cred == Cred(0, 0)
    proc = k.spawn(lambda: k.current_task().cred)
    k.run()
    assert proc.result() == Cred(0, 0)


def test_cred_given_at_spawn_is_inherited_by_children() -> None:
    """As fork copies the parent's credentials: a process started by a
    non-root process is non-root too, unless given others."""
    k = Kernel()
    k.netns_add("a")

    def parent() -> tuple[Cred, Cred, Cred]:
        child = k.spawn(lambda: k.current_task().cred)
        other = k.spawn(lambda: k.current_task().cred, cred=Cred(7, 8))
        with k.netns("a") as task:
            block = task.cred
        return child.result(), other.result(), block

    proc = k.spawn(parent, netns="a", cred=Cred(1000, 100))
    k.run()
    assert proc.result() == (Cred(1000, 100), Cred(7, 8), Cred(1000, 100))
    with k.netns("a", cred=Cred(5, 6)) as task:
        assert task.cred == Cred(5, 6) and k.current_task().cred.uid == 5
