"""Per-namespace init and teardown: Linux's pernet operations.

A subsystem that keeps per-namespace state registers a :class:`PernetOperations`
with the kernel.  Every new namespace runs all ``init`` hooks in registration
order -- every *subsystem* before any *device* hook (Linux's ``first_device``
split), so loopback, the first device hook, is created after all subsystems are
ready and destroyed before any of them goes away.  Teardown runs ``pre_exit``
then ``exit`` in reverse order.

A failing ``init`` undoes the hooks already run for that namespace, in reverse,
and the namespace never becomes visible (``net/core/net_namespace.c``:
``setup_net``).  Registering a subsystem while namespaces exist runs its
``init`` in each; a failure undoes it where it already ran.  Unregistering runs
``exit`` everywhere.

Per-namespace storage (``net_generic``): an ops with a ``generic`` factory gets
a fresh object in every namespace *before* its ``init`` runs.

The RFC's incremental path: an ops registered with ``netns_ok=False`` belongs
to a component that is not namespace-aware yet.  Its hooks run only for
``init_net`` and :func:`net_generic` refuses any other namespace with
``EAFNOSUPPORT``, so such a component can never act on the wrong namespace.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import KernelError

if TYPE_CHECKING:
    from .net import Net

Hook = Callable[["Net"], None]


class PernetOperations:
    """One subsystem's per-namespace hooks (``struct pernet_operations``)."""

    __slots__ = ("exit", "generic", "id", "init", "name", "netns_ok", "pre_exit")

    def __init__(
        self,
        name: str,
        init: Hook | None = None,
        exit: Hook | None = None,
        pre_exit: Hook | None = None,
        generic: Callable[[], Any] | None = None,
        netns_ok: bool = True,
    ) -> None:
        self.name = name
        self.init = init
        self.exit = exit
        self.pre_exit = pre_exit
        self.generic = generic
        self.netns_ok = netns_ok
        self.id = -1  # slot in Net.gen, assigned at registration when generic is set

    def applies_to(self, net: Net) -> bool:
        return self.netns_ok or net.is_init_net

    def __repr__(self) -> str:
        return f"<PernetOperations {self.name}>"


class PernetRegistry:
    """The ordered list of pernet operations of one kernel."""

    __slots__ = ("_first_device", "_next_gen_id", "kernel", "ops")

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel
        self.ops: list[PernetOperations] = []
        self._first_device = 0  # index of the first device ops in self.ops
        self._next_gen_id = 0

    # -- registration ----------------------------------------------------------

    def register_subsys(self, ops: PernetOperations) -> None:
        """Register a subsystem: placed before every device ops."""
        self._register(ops, self._first_device, device=False)

    def register_device(self, ops: PernetOperations) -> None:
        """Register a device ops: placed after every other ops."""
        self._register(ops, len(self.ops), device=True)

    def _register(self, ops: PernetOperations, pos: int, device: bool) -> None:
        if ops in self.ops:
            raise KernelError(errno.EEXIST, f"pernet operations {ops.name} already registered")
        if ops.generic is not None and ops.id < 0:
            ops.id = self._next_gen_id
            self._next_gen_id += 1
        done: list[Net] = []
        try:
            for net in self.kernel.net_list():
                if ops.applies_to(net):
                    _init_one(ops, net)
                    done.append(net)
        except BaseException:
            # free_exit_list: pre_exit, then exit, on every namespace already done
            for net in reversed(done):
                if ops.pre_exit is not None:
                    ops.pre_exit(net)
            for net in reversed(done):
                _exit_one(ops, net)
            raise
        self.ops.insert(pos, ops)
        if not device:
            self._first_device += 1

    def unregister(self, ops: PernetOperations) -> None:
        idx = self.ops.index(ops)
        for net in self.kernel.net_list():
            if ops.applies_to(net):
                if ops.pre_exit is not None:
                    ops.pre_exit(net)
                _exit_one(ops, net)
        del self.ops[idx]
        if idx < self._first_device:
            self._first_device -= 1

    # -- namespace life ----------------------------------------------------------

    def setup_net(self, net: Net) -> None:
        """Run every init for a new namespace; undo all on failure."""
        done: list[PernetOperations] = []
        try:
            for ops in self.ops:
                if ops.applies_to(net):
                    _init_one(ops, net)
                    done.append(ops)
        except BaseException:
            for ops in reversed(done):
                if ops.pre_exit is not None:
                    ops.pre_exit(net)
            for ops in reversed(done):
                _exit_one(ops, net)
            raise

    def cleanup_net(self, net: Net) -> None:
        """Tear a namespace down: pre_exit, then exit, each in reverse order."""
        live = [ops for ops in self.ops if ops.applies_to(net)]
        for ops in reversed(live):
            if ops.pre_exit is not None:
                ops.pre_exit(net)
        for ops in reversed(live):
            _exit_one(ops, net)


def _init_one(ops: PernetOperations, net: Net) -> None:
    if ops.generic is not None:
        net.gen_set(ops.id, ops.generic())
    try:
        if ops.init is not None:
            ops.init(net)
    except BaseException:
        if ops.generic is not None:
            net.gen_set(ops.id, None)
        raise


def _exit_one(ops: PernetOperations, net: Net) -> None:
    if ops.exit is not None:
        ops.exit(net)
    if ops.generic is not None:
        net.gen_set(ops.id, None)


def net_generic(net: Net, ops: PernetOperations) -> Any:
    """The per-namespace storage of ``ops`` in ``net`` (Linux's ``net_generic``).

    A component that is not namespace-aware refuses every namespace but
    ``init_net`` with ``EAFNOSUPPORT`` (the RFC's rule for such components).
    """
    if not ops.applies_to(net):
        raise KernelError(errno.EAFNOSUPPORT, f"{ops.name} is not namespace aware")
    data = net.gen_get(ops.id)
    if data is None:
        raise KernelError(errno.EINVAL, f"{ops.name} has no state in this namespace")
    return data
