"""``Kernel``: one emulated machine holding many network namespaces.

It owns what Linux keeps global: the list of namespaces, the pernet registry,
the netdevice notifier chain, linkwatch, the shared hash tables (neighbours;
later sockets and conntrack) and the named namespaces of ``/run/netns``.
"""

from __future__ import annotations

import contextlib
import errno
import random
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .dev import core as devcore
from .dev.addr_lists import addr_lists_register
from .dev.bridge import bridge_register
from .dev.ether import EtherNIC
from .dev.loopback import loopback_net_ops
from .dev.netdevice import NetDevice
from .errors import KernelError
from .ipv4 import ipv4_register
from .ipv4.devinet import InetaddrNotifier
from .ipv4.ip_ident import IpIdents
from .ipv4.neighbour import NeighTable
from .net import NET_DEAD, NET_DYING, Net
from .netfilter import netfilter_register
from .pernet import PernetOperations, PernetRegistry
from .process import Process, spawn
from .sched import Scheduler
from .sysctl import sysctl_register
from .task import Cred, Task, current_task, task_context
from .unix.names import UnixTable

if TYPE_CHECKING:
    import os

    from .dev.capture import PacketCapture
    from .printk import KernelLog
    from .tools import Result


class Kernel:
    """An emulated Linux kernel.  ``Kernel()`` boots with ``init_net`` holding
    only ``lo``, DOWN, as a fresh ``unshare -n`` shows."""

    def __init__(self, seed: int = 0, link_delay_ns: int = 10_000) -> None:
        self.rng = random.Random(seed)
        self.ip_idents = IpIdents(seed)  # the kernel-wide IP ID generator
        self.sched = Scheduler()
        # One-way propagation delay of a veth link: RTTs are realistic and
        # stable in virtual time (0 is allowed).
        self.link_delay_ns = link_delay_ns
        self.cpu_debt = 0  # charge_cpu's account for code outside tasks
        self.processes: dict[int, Process] = {}
        self.last_pid = 1  # pid 1 is the init task
        self.pernet = PernetRegistry(self)
        self.nets: dict[int, Net] = {}
        self.netdev_chain: list[devcore.Notifier] = []
        self.inetaddr_chain: list[InetaddrNotifier] = []
        self.linkwatch_pending: dict[NetDevice, None] = {}
        self.netns_names: dict[str, Net] = {}
        self.neigh_tbl = NeighTable()
        self.unix_table = UnixTable()  # AF_UNIX names (abstract ones per namespace)
        self.kmsg: KernelLog | None = None  # the printk buffer, made by the first message
        self._next_cookie = 1
        self._rtnl_depth = 0
        self.init_net = Net(self, 0, is_init_net=True)
        self._boot()
        self.init_task = Task(self, self.init_net)
        self.init_net.put()  # the init task holds it now

    def _boot(self) -> None:
        """Register the built-in subsystems, then bring up init_net."""
        ipv4_register(self)
        sysctl_register(self)
        bridge_register(self)
        addr_lists_register(self)
        netfilter_register(self)
        self.pernet.register_device(loopback_net_ops)
        self.pernet.register_device(
            PernetOperations("default_device", exit=devcore.default_device_exit))
        self.pernet.setup_net(self.init_net)
        self.nets[0] = self.init_net
        self.rtnl_unlock()

    # -- namespaces --------------------------------------------------------------

    def net_list(self) -> list[Net]:
        return list(self.nets.values())

    def create_net(self) -> Net:
        """copy_net_ns: a new namespace with one reference, owned by the caller."""
        net = Net(self, self._next_cookie)
        self._next_cookie += 1
        self.pernet.setup_net(net)  # on failure nothing became visible
        self.nets[net.cookie] = net
        self.rtnl_unlock()
        return net

    def _destroy_net(self, net: Net) -> None:
        """cleanup_net: unlist, drop peers' ids for it, run every exit."""
        if net.is_init_net or net.state != 0:
            return
        net.state = NET_DYING
        del self.nets[net.cookie]
        net.unhash_nsids()
        self.pernet.cleanup_net(net)
        self.rtnl_unlock()
        net.state = NET_DEAD

    def netns_add(self, name: str) -> Net:
        """``ip netns add NAME``: a new namespace held by its name."""
        if name in self.netns_names:
            raise KernelError(errno.EEXIST)
        net = self.create_net()
        self.netns_names[name] = net
        return net

    def netns_attach(self, name: str, net: Net) -> None:
        """``ip netns attach``: give an existing namespace a name."""
        if name in self.netns_names:
            raise KernelError(errno.EEXIST)
        self.netns_names[name] = net.get()

    def netns_del(self, name: str) -> None:
        """``ip netns del NAME``: drop the name; teardown when nothing else holds it."""
        net = self.netns_names.pop(name, None)
        if net is None:
            raise KernelError(errno.ENOENT)
        net.put()

    def netns_get(self, name: str) -> Net:
        net = self.netns_names.get(name)
        if net is None:
            raise KernelError(errno.ENOENT)
        return net

    def netns_name(self, net: Net) -> str | None:
        for name, other in self.netns_names.items():
            if other is net:
                return name
        return None

    # -- tasks ---------------------------------------------------------------------

    def current_task(self) -> Task:
        return current_task(self)

    @property
    def current_net(self) -> Net:
        return current_task(self).net

    def netns(self, target: str | Net,
              cred: Cred | None = None) -> contextlib.AbstractContextManager[Task]:
        """``with kernel.netns("a"):`` -- run the block as a task in namespace
        ``a``, with ``cred`` or the caller's credentials."""
        net = self.netns_get(target) if isinstance(target, str) else target
        return task_context(self, net, cred)

    # -- devices -------------------------------------------------------------------

    # -- processes --------------------------------------------------------------------

    def spawn(self, fn: Callable[..., Any], *args: Any, netns: str | Net | None = None,
              name: str | None = None, cred: Cred | None = None, **kwargs: Any) -> Process:
        """Run ``fn(*args, **kwargs)`` as a task in ``netns`` (default: the
        caller's namespace) with ``cred`` (default: the caller's credentials,
        root for the init task) under the scheduler; see :mod:`usernet.process`."""
        if netns is None:
            net = self.current_net
        elif isinstance(netns, str):
            net = self.netns_get(netns)
        else:
            net = netns
        return spawn(self, fn, args, kwargs, net, name, cred)

    def run(self, until: float | None = None) -> None:
        """Drive the scheduler until every spawned process has ended, or until
        ``until`` seconds of virtual time from now."""
        deadline = None if until is None else self.sched.now + int(until * 1_000_000_000)
        self.sched.run_until(deadline, stop=lambda: not self.processes)

    def add_nic(self, name: str, mac: bytes | None = None) -> NetDevice:
        """Plug in a physical Ethernet NIC; its driver registers it in init_net."""
        net = self.init_net
        devcore.check_new_name(net, name)
        dev = EtherNIC(name, mac or self.random_ether_addr())
        devcore.register_netdevice(net, dev)
        self.rtnl_unlock()
        return dev

    def random_ether_addr(self) -> bytes:
        """eth_random_addr: random, unicast, locally administered."""
        b = bytearray(self.rng.randbytes(6))
        b[0] = (b[0] & 0xFE) | 0x02
        return bytes(b)

    # -- rtnl ------------------------------------------------------------------------

    @contextlib.contextmanager
    def rtnl(self) -> Iterator[None]:
        """Hold the rtnl lock for a configuration change; linkwatch runs on release."""
        self._rtnl_depth += 1
        try:
            yield
        finally:
            self._rtnl_depth -= 1
            if self._rtnl_depth == 0:
                self.rtnl_unlock()

    def rtnl_unlock(self) -> None:
        if self._rtnl_depth == 0 and self.linkwatch_pending:
            devcore.linkwatch_run(self.linkwatch_pending)

    # -- commands --------------------------------------------------------------------

    def cmd(self, line: str | list[str], netns: str | Net | None = None) -> Result:
        """Run one command line (``ip``, ``sysctl``, ...) as a task of this kernel."""
        from .tools import run_line

        if netns is None:
            return run_line(self, line)
        with self.netns(netns):
            return run_line(self, line)

    def script(self, text: str) -> list[Result]:
        """Run a script: one command a line, ``#`` comments and blank lines skipped."""
        from .tools import run_script

        return [res for _, res in run_script(self, text)]

    def capture(self, netns: str | Net, dev_name: str,
                path: str | os.PathLike[str] | None = None, filter: str | None = None,
                count: int | None = None) -> PacketCapture:
        """Attach a packet capture to ``dev_name`` in ``netns``, as ``tcpdump -i
        DEV [-c COUNT] [-w PATH] [FILTER]`` would see it, while other commands run.

        ``filter`` is a tcpdump expression (FilterError when invalid); ``path``
        gets a pcap.  Frames collect in ``.packets``; ``.close()`` detaches the
        capture and closes the file (the object is also a context manager)."""
        from .tools.tcpdump import open_capture

        return open_capture(self, netns, dev_name, path, filter, count)


__all__ = ["Kernel"]
