"""The bridge device and its ports (``net/bridge``), without STP.

A port forwards as soon as it is enabled (bridge up, port up with carrier);
the bridge has carrier while at least one port forwards.  Without a MAC set by
the user, a bridge takes the smallest MAC of its ports (the STP bridge id).
Its MTU follows the smallest port MTU unless the user set one.

The data path lives beside this module: frames a port receives
(:mod:`.br_input`), forwarding, flooding and the bridge's own transmit
(:mod:`.br_forward`), and the forwarding database (:mod:`.br_fdb`).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from .addr_lists import dev_mc_add, dev_mc_del
from .br_fdb import (
    FdbEntry,
    fdb_add_local,
    fdb_change_mac_address,
    fdb_changeaddr,
    fdb_delete_by_port,
    fdb_flush,
    gc_kick,
)
from .br_forward import br_dev_xmit
from .br_input import br_handle_frame
from .br_private import (
    BR_DEFAULT_FLAGS,
    BR_STATE_BLOCKING,
    BR_STATE_DISABLED,
    BR_STATE_FORWARDING,
    BR_STATE_LEARNING,
    BR_STATE_LISTENING,
    BR_STATE_NAMES,
    CS_NS,
)
from .bridge_opts import DEFAULTS as BRIDGE_DEFAULTS
from .bridge_opts import check_bridge_opts
from .core import (
    NETDEV_CHANGE,
    NETDEV_CHANGEADDR,
    NETDEV_CHANGEMTU,
    NETDEV_DOWN,
    NETDEV_REGISTER,
    NETDEV_UNREGISTER,
    NETDEV_UP,
    call_netdevice_notifiers,
    netif_carrier_off,
    netif_carrier_on,
)
from .netdevice import IFF_UP, NET_ADDR_SET, ZERO_MAC, NetDevice

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..sched import Scheduler, Timer

__all__ = ["BR_STATE_BLOCKING", "BR_STATE_DISABLED", "BR_STATE_FORWARDING",
           "BR_STATE_LEARNING", "BR_STATE_LISTENING", "BR_STATE_NAMES", "Bridge",
           "BridgePort", "FdbEntry", "bridge_register", "check_enslave", "enslave",
           "release"]

BR_MAX_PORTS = 1 << 10
BR_MAX_PORT_PRIORITY = 63
BR_MAX_PATH_COST = 65535
MRD_V4 = bytes.fromhex("01005e00006a")  # 224.0.0.106: multicast router discovery
MRD_V6 = bytes.fromhex("33330000006a")  # ff02::6a


class BridgePort:
    """``struct net_bridge_port``: a device's membership in a bridge.  Its
    ``rx`` is the device's rx_handler (br_handle_frame)."""

    __slots__ = ("br", "designated_mac", "designated_prio", "dev", "flags", "path_cost",
                 "port_no", "priority", "state")

    rx = br_handle_frame

    def __init__(self, br: Bridge, dev: NetDevice, port_no: int) -> None:
        self.br = br
        self.dev = dev
        self.port_no = port_no
        self.priority = 32
        self.path_cost = 2  # br_get_path_cost: 10 Gb/s and faster (veth reports 10G)
        self.state = BR_STATE_DISABLED
        self.flags = BR_DEFAULT_FLAGS
        self.become_designated()

    def become_designated(self) -> None:
        """br_become_designated_port: the port's designated bridge (and root,
        without STP) is the bridge's id as it is now."""
        self.designated_prio = self.br.opt("priority")
        self.designated_mac = self.br.dev_addr

    @property
    def port_id(self) -> int:
        return (self.priority << 10) | self.port_no


class Bridge(NetDevice):
    __slots__ = ("ageing_ns", "fdb", "gc_timer", "mtu_set_by_user", "opts", "port_list",
                 "ports", "sched")
    kind = "bridge"
    netns_immutable = True  # br_dev_setup: a bridge is netns-local

    ndo_start_xmit = br_dev_xmit

    def __init__(self, name: str, dev_addr: bytes, addr_assign_type: int) -> None:
        super().__init__(name, dev_addr, addr_assign_type)
        self.ports: dict[NetDevice, BridgePort] = {}
        self.port_list: tuple[BridgePort, ...] = ()  # br->port_list: newest port first
        self.fdb: dict[bytes, FdbEntry] = {}  # by MAC, oldest first
        self.gc_timer: Timer | None = None
        self.sched: Scheduler | None = None  # the kernel's, once registered
        self.opts: dict[str, int] | None = None  # IFLA_BR_* set by hand; None: defaults
        self.ageing_ns = BRIDGE_DEFAULTS["ageing_time"] * CS_NS
        self.mtu_set_by_user = False

    def now(self) -> int:
        sched = self.sched
        return sched.now if sched is not None else 0

    def opt(self, key: str) -> int:
        """An IFLA_BR_* value by its JSON key (bridge_opts.BRIDGE_OPTIONS)."""
        if self.opts is not None and key in self.opts:
            return self.opts[key]
        return BRIDGE_DEFAULTS[key]

    def changelink(self, opts: dict[str, int]) -> None:
        """br_changelink: validate everything, then apply.  ``fdb_flush`` is an
        action, not an option: it deletes every entry that is not static."""
        check_bridge_opts(opts)
        opts = dict(opts)
        if opts.pop("fdb_flush", 0):
            fdb_flush(self)
        if opts:
            self.opts = {**(self.opts or {}), **opts}
        if "ageing_time" in opts:  # br_set_ageing_time: collect with the new time now
            self.ageing_ns = opts["ageing_time"] * CS_NS
            gc_kick(self)
        if "priority" in opts:  # br_stp_set_bridge_priority: enabled ports follow
            for port in self.ports.values():
                if port.state != BR_STATE_DISABLED:
                    port.designated_prio = opts["priority"]

    def change_bridge_id(self, addr: bytes) -> None:
        """br_stp_change_bridge_id: the bridge's local FDB entry and the ports
        designated by the old id follow the MAC."""
        fdb_change_mac_address(self, addr)
        old, self.dev_addr = self.dev_addr, addr
        for port in self.ports.values():
            if port.designated_mac == old:
                port.designated_mac = addr

    def ndo_set_mac_address(self, addr: bytes) -> None:
        self.change_bridge_id(addr)

    def registered(self) -> None:
        """NETDEV_REGISTER: the bridge's MAC becomes a local FDB entry."""
        self.sched = self.net.kernel.sched
        fdb_add_local(self, None, self.dev_addr)

    def uninit(self) -> None:
        if self.gc_timer is not None:
            self.gc_timer.cancel()
            self.gc_timer = None

    # -- ports ---------------------------------------------------------------------

    def check_add_if(self, dev: NetDevice) -> None:
        """br_add_if's refusals, before anything changes."""
        if isinstance(dev, Bridge):
            raise KernelError(errno.ELOOP, "Can not enslave a bridge to a bridge")
        if dev.link_type != "ether":
            raise KernelError(errno.EINVAL)
        if len(self.ports) >= BR_MAX_PORTS:
            raise KernelError(errno.EXFULL)

    def add_if(self, dev: NetDevice) -> None:
        if dev.master is self:
            return
        self.check_add_if(dev)
        used = {p.port_no for p in self.ports.values()}
        port_no = next(n for n in range(1, BR_MAX_PORTS) if n not in used)
        port = BridgePort(self, dev, port_no)
        self.ports[dev] = port
        self.port_list = (port, *self.port_list)
        dev.master = self
        dev.rx_handler = port
        fdb_add_local(self, port, dev.dev_addr)
        self.mtu_auto_adjust()
        changed = self.recalculate_bridge_id()
        if dev.flags & IFF_UP and dev.oper_up() and self.flags & IFF_UP:
            self.enable_port(port)
        else:
            # A port that cannot forward yet still makes the bridge re-evaluate
            # its carrier: an up bridge whose ports are all down has none.
            self.port_state_selection()
        if changed:
            call_netdevice_notifiers(NETDEV_CHANGEADDR, self)

    def del_if(self, dev: NetDevice) -> None:
        port = self.ports.get(dev)
        if port is None:
            return
        self.disable_port(port)
        del self.ports[dev]
        self.port_list = tuple(p for p in self.port_list if p is not port)
        fdb_delete_by_port(self, port, do_all=True)
        dev.master = None
        dev.rx_handler = None
        self.mtu_auto_adjust()
        if self.recalculate_bridge_id():
            call_netdevice_notifiers(NETDEV_CHANGEADDR, self)

    # -- port state (no STP: enabled ports forward at once) -----------------------

    def enable_port(self, port: BridgePort) -> None:
        port.become_designated()  # br_init_port
        port.state = BR_STATE_BLOCKING
        self.port_state_selection()

    def disable_port(self, port: BridgePort) -> None:
        """br_stp_disable_port: the port forgets what it learned."""
        port.state = BR_STATE_DISABLED
        fdb_delete_by_port(self, port, do_all=False)
        self.port_state_selection()

    def port_state_selection(self) -> None:
        live = 0
        for port in self.ports.values():
            if port.state == BR_STATE_DISABLED:
                continue
            if port.state == BR_STATE_BLOCKING:
                port.state = BR_STATE_FORWARDING
            if port.state == BR_STATE_FORWARDING:
                live += 1
        if live:
            netif_carrier_on(self)
        else:
            netif_carrier_off(self)

    def ndo_open(self) -> None:
        # br_multicast_open: snooping joins the router-discovery groups first
        dev_mc_add(self, MRD_V4)
        dev_mc_add(self, MRD_V6)
        for port in self.ports.values():
            if port.dev.flags & IFF_UP and port.dev.oper_up():
                self.enable_port(port)

    def ndo_stop(self) -> None:
        for port in self.ports.values():
            if port.state != BR_STATE_DISABLED:
                self.disable_port(port)
        dev_mc_del(self, MRD_V4)
        dev_mc_del(self, MRD_V6)

    def port_event(self, event: int, port: BridgePort) -> None:
        dev = port.dev
        if event == NETDEV_CHANGE:
            if dev.flags & IFF_UP and dev.oper_up():
                if port.state == BR_STATE_DISABLED and self.flags & IFF_UP:
                    self.enable_port(port)
            elif port.state != BR_STATE_DISABLED:
                self.disable_port(port)
        elif event == NETDEV_DOWN:
            if self.flags & IFF_UP:
                self.disable_port(port)
        elif event == NETDEV_UP:
            if self.flags & IFF_UP and dev.oper_up():
                self.enable_port(port)
        elif event == NETDEV_UNREGISTER:
            self.del_if(dev)
        elif event == NETDEV_CHANGEADDR:
            fdb_changeaddr(port, dev.dev_addr)
            if self.recalculate_bridge_id():
                call_netdevice_notifiers(NETDEV_CHANGEADDR, self)
        elif event == NETDEV_CHANGEMTU:
            self.mtu_auto_adjust()

    def setport(self, port: BridgePort, set_flags: int, clear_flags: int, cost: int,
                priority: int, state: int) -> None:
        """br_setport (``bridge link set``): flags, then path cost, priority and
        state (0 / -1: not asked); an error stops there, as in Linux."""
        port.flags = (port.flags | set_flags) & ~clear_flags
        if cost:
            if not 1 <= cost <= BR_MAX_PATH_COST:
                raise KernelError(errno.ERANGE)
            port.path_cost = cost
        if priority >= 0:
            if priority > BR_MAX_PORT_PRIORITY:
                raise KernelError(errno.ERANGE)
            port.priority = priority
        if state >= 0:
            if state > BR_STATE_BLOCKING:
                raise KernelError(errno.EINVAL)
            dev = port.dev
            if not dev.flags & IFF_UP or (not dev.oper_up() and state != BR_STATE_DISABLED):
                raise KernelError(errno.ENETDOWN)
            port.state = state
            self.port_state_selection()

    # -- address and MTU -------------------------------------------------------------

    def recalculate_bridge_id(self) -> bool:
        """br_stp_recalculate_bridge_id: the smallest port MAC, unless set by hand."""
        if self.addr_assign_type == NET_ADDR_SET:
            return False
        addr = ZERO_MAC
        for dev in self.ports:
            if addr == ZERO_MAC or dev.dev_addr < addr:
                addr = dev.dev_addr
        if addr == self.dev_addr:
            return False
        self.change_bridge_id(addr)
        return True

    def mtu_auto_adjust(self) -> None:
        if self.mtu_set_by_user:
            return
        mtu = min((d.mtu for d in self.ports), default=1500)
        if mtu != self.mtu:
            self.mtu = mtu
            call_netdevice_notifiers(NETDEV_CHANGEMTU, self)

    def dellink(self, batch: list[NetDevice]) -> None:
        for dev in list(self.ports):
            self.del_if(dev)
        batch.append(self)

    def linkinfo(self) -> dict[str, Any] | None:
        return {"info_kind": "bridge"}


def bridge_netdev_event(event: int, dev: NetDevice) -> None:
    """The bridge's netdevice notifier: follow what happens to ports."""
    port = dev.rx_handler
    if isinstance(port, BridgePort):
        port.br.port_event(event, port)
    elif event == NETDEV_REGISTER and isinstance(dev, Bridge):
        dev.registered()


def bridge_register(kernel: Kernel) -> None:
    kernel.netdev_chain.append(bridge_netdev_event)


def enslave(dev: NetDevice, master: NetDevice) -> None:
    """``ip link set DEV master M`` (do_set_master): leave the old master first."""
    if dev.master is master:
        return
    check_enslave(dev, master)
    assert isinstance(master, Bridge)
    release(dev)
    master.add_if(dev)


def check_enslave(dev: NetDevice, master: NetDevice) -> None:
    if dev.master is master:
        return
    if not isinstance(master, Bridge):
        raise KernelError(errno.EOPNOTSUPP)
    master.check_add_if(dev)


def release(dev: NetDevice) -> None:
    """``ip link set DEV nomaster``."""
    master = dev.master
    if isinstance(master, Bridge):
        master.del_if(dev)
