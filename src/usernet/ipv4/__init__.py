"""IPv4: addresses, FIB tables and rules, neighbours, route resolution.

:func:`ipv4_register` plugs it into a kernel the way Linux's ``inet_init``
does: a pernet subsystem for the per-namespace state and notifiers that let
addresses, routes and neighbours follow what happens to devices.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dev import core as devcore
from .devinet import InIfAddr, inetdev_destroy, inetdev_init, inetdev_up
from .fib_frontend import fib_add_ifaddr, fib_del_ifaddr, fib_sync_down_dev
from .netns import ipv4_net_ops

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..kernel import Kernel

MIN_MTU = 68  # inetdev_valid_mtu


def ipv4_netdev_event(event: int, dev: NetDevice) -> None:
    """inetdev_event + fib_netdev_event + arp_netdev_event, in that order."""
    if event == devcore.NETDEV_REGISTER:
        if dev.mtu >= MIN_MTU or dev.link_type == "loopback":
            inetdev_init(dev)
        return
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    if event == devcore.NETDEV_UP:
        inetdev_up(dev)
        for ifa in list(in_dev.ifa_list):
            fib_add_ifaddr(ifa)
    elif event == devcore.NETDEV_DOWN:
        fib_sync_down_dev(dev, force=False)
        dev.net.kernel.neigh_tbl.ifdown(dev)
    elif event == devcore.NETDEV_UNREGISTER:
        fib_sync_down_dev(dev, force=True)
        dev.net.kernel.neigh_tbl.ifdown(dev)
        inetdev_destroy(dev)


def inetaddr_event(what: str, ifa: InIfAddr) -> None:
    """fib_inetaddr_event: addresses bring and take their kernel routes."""
    if what == "metric":  # fib_modify_prefix_metric: the prefix route moves
        fib_del_ifaddr(ifa)
        fib_add_ifaddr(ifa)
    elif what in ("up", "promote"):
        fib_add_ifaddr(ifa)
        if what == "promote":
            for other in ifa.in_dev.ifa_list:
                if other.secondary and other.mask == ifa.mask and ifa.match(other.address):
                    fib_add_ifaddr(other)
    else:
        fib_del_ifaddr(ifa)


def ipv4_register(kernel: Kernel) -> None:
    from ..transport.tcp import tcp_register
    from ..transport.udp import udp_register
    from .ip_input import ip_input_register

    ip_input_register()
    udp_register()
    kernel.pernet.register_subsys(ipv4_net_ops)
    tcp_register(kernel)
    kernel.netdev_chain.append(ipv4_netdev_event)
    kernel.inetaddr_chain.append(inetaddr_event)
