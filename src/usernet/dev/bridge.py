"""The bridge device and its ports (``net/bridge``), without STP.

A port forwards as soon as it is enabled (bridge up, port up with carrier);
the bridge has carrier while at least one port forwards.  Without a MAC set by
the user, a bridge takes the smallest MAC of its ports (the STP bridge id).
Its MTU follows the smallest port MTU unless the user set one.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from .addr_lists import dev_mc_add, dev_mc_del
from .bridge_opts import DEFAULTS as BRIDGE_DEFAULTS
from .bridge_opts import check_bridge_opts
from .core import (
    NETDEV_CHANGE,
    NETDEV_CHANGEADDR,
    NETDEV_CHANGEMTU,
    NETDEV_DOWN,
    NETDEV_UNREGISTER,
    NETDEV_UP,
    call_netdevice_notifiers,
    netif_carrier_off,
    netif_carrier_on,
)
from .netdevice import IFF_UP, NET_ADDR_SET, ZERO_MAC, NetDevice

if TYPE_CHECKING:
    from ..kernel import Kernel

BR_STATE_DISABLED = 0
BR_STATE_LISTENING = 1
BR_STATE_LEARNING = 2
BR_STATE_FORWARDING = 3
BR_STATE_BLOCKING = 4
BR_STATE_NAMES = ("disabled", "listening", "learning", "forwarding", "blocking")
BR_MAX_PORTS = 1 << 10
MRD_V4 = bytes.fromhex("01005e00006a")  # 224.0.0.106: multicast router discovery
MRD_V6 = bytes.fromhex("33330000006a")  # ff02::6a

# FDB entry states, in the NUD_* values Linux reports them with
FDB_PERMANENT = 0x80  # NUD_PERMANENT: a local address (the port's own MAC), or "permanent"
FDB_STATIC = 0x40  # NUD_NOARP: added with "static"
FDB_DYNAMIC = 0x02  # NUD_REACHABLE: learned, or added with "dynamic"


class FdbEntry:
    """One forwarding-database entry of a port (``struct net_bridge_fdb_entry``)."""

    __slots__ = ("mac", "seq", "state")

    def __init__(self, mac: bytes, state: int, seq: int) -> None:
        self.mac = mac
        self.state = state
        self.seq = seq  # creation order: a dump lists the newest first


class BridgePort:
    """``struct net_bridge_port``: a device's membership in a bridge."""

    __slots__ = ("br", "designated_mac", "designated_prio", "dev", "fdb", "own", "path_cost",
                 "port_no", "priority", "state")

    def __init__(self, br: Bridge, dev: NetDevice, port_no: int) -> None:
        self.br = br
        self.dev = dev
        self.port_no = port_no
        self.priority = 32
        self.path_cost = 2  # br_get_path_cost: 10 Gb/s and faster (veth reports 10G)
        self.state = BR_STATE_DISABLED
        self.fdb: list[FdbEntry] = []  # entries added with `bridge fdb add ... master`
        self.own = br.fdb_entry(dev.dev_addr, FDB_PERMANENT)  # br_fdb_insert of its MAC
        self.become_designated()

    def become_designated(self) -> None:
        """br_become_designated_port: the port's designated bridge (and root,
        without STP) is the bridge's id as it is now."""
        self.designated_prio = self.br.opt("priority")
        self.designated_mac = self.br.dev_addr

    def fdb_entries(self) -> list[FdbEntry]:
        """The port's entries as a dump lists them: newest first."""
        return sorted([*self.fdb, self.own], key=lambda e: -e.seq)

    def fdb_add(self, mac: bytes, state: int, *, replace: bool) -> None:
        """``bridge fdb add|replace MAC dev PORT master`` (br_fdb_add)."""
        found = next((e for e in self.fdb if e.mac == mac), None)
        if found is None and self.own.mac != mac:
            self.fdb.append(self.br.fdb_entry(mac, state))
        elif not replace or found is None:
            raise KernelError(errno.EEXIST)
        else:
            found.state = state

    def fdb_del(self, mac: bytes) -> None:
        found = next((e for e in self.fdb if e.mac == mac), None)
        if found is None:
            raise KernelError(errno.ENOENT)
        self.fdb.remove(found)

    @property
    def port_id(self) -> int:
        return (self.priority << 10) | self.port_no


class Bridge(NetDevice):
    __slots__ = ("fdb_seq", "mtu_set_by_user", "opts", "ports")
    kind = "bridge"
    netns_immutable = True  # br_dev_setup: a bridge is netns-local

    def __init__(self, name: str, dev_addr: bytes, addr_assign_type: int) -> None:
        super().__init__(name, dev_addr, addr_assign_type)
        self.ports: dict[NetDevice, BridgePort] = {}
        self.fdb_seq = 0
        self.opts: dict[str, int] | None = None  # IFLA_BR_* set by hand; None: defaults
        self.mtu_set_by_user = False

    def opt(self, key: str) -> int:
        """An IFLA_BR_* value by its JSON key (bridge_opts.BRIDGE_OPTIONS)."""
        if self.opts is not None and key in self.opts:
            return self.opts[key]
        return BRIDGE_DEFAULTS[key]

    def changelink(self, opts: dict[str, int]) -> None:
        """br_changelink: validate everything, then apply."""
        check_bridge_opts(opts)
        if opts:
            self.opts = {**(self.opts or {}), **opts}
        if "priority" in opts:  # br_stp_set_bridge_priority: enabled ports follow
            for port in self.ports.values():
                if port.state != BR_STATE_DISABLED:
                    port.designated_prio = opts["priority"]

    def change_bridge_id(self, addr: bytes) -> None:
        """br_stp_change_bridge_id: ports designated by the old id follow the MAC."""
        old, self.dev_addr = self.dev_addr, addr
        for port in self.ports.values():
            if port.designated_mac == old:
                port.designated_mac = addr

    def ndo_set_mac_address(self, addr: bytes) -> None:
        self.change_bridge_id(addr)

    def fdb_entry(self, mac: bytes, state: int) -> FdbEntry:
        self.fdb_seq += 1
        return FdbEntry(mac, state, self.fdb_seq)

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
        dev.master = self
        dev.rx_handler = port
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
        port.state = BR_STATE_DISABLED
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
            port.own = self.fdb_entry(dev.dev_addr, FDB_PERMANENT)  # br_fdb_changeaddr
            if self.recalculate_bridge_id():
                call_netdevice_notifiers(NETDEV_CHANGEADDR, self)
        elif event == NETDEV_CHANGEMTU:
            self.mtu_auto_adjust()

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
