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


class BridgePort:
    """``struct net_bridge_port``: a device's membership in a bridge."""

    __slots__ = ("br", "dev", "path_cost", "port_no", "priority", "state")

    def __init__(self, br: Bridge, dev: NetDevice, port_no: int) -> None:
        self.br = br
        self.dev = dev
        self.port_no = port_no
        self.priority = 32
        self.path_cost = 2  # br_get_path_cost: 10 Gb/s and faster (veth reports 10G)
        self.state = BR_STATE_DISABLED

    @property
    def port_id(self) -> int:
        return (self.priority << 10) | self.port_no


class Bridge(NetDevice):
    __slots__ = ("mtu_set_by_user", "ports")
    kind = "bridge"
    netns_immutable = True  # br_dev_setup: a bridge is netns-local

    def __init__(self, name: str, dev_addr: bytes, addr_assign_type: int) -> None:
        super().__init__(name, dev_addr, addr_assign_type)
        self.ports: dict[NetDevice, BridgePort] = {}
        self.mtu_set_by_user = False

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
        for port in self.ports.values():
            if port.dev.flags & IFF_UP and port.dev.oper_up():
                self.enable_port(port)

    def ndo_stop(self) -> None:
        for port in self.ports.values():
            if port.state != BR_STATE_DISABLED:
                self.disable_port(port)

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
        self.dev_addr = addr
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
