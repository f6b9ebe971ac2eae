"""The device life cycle (``net/core/dev.c``): register, open, close, rename,
move between namespaces, unregister -- and the notifier chain and linkwatch.

Subsystems learn about devices through netdevice notifiers, as in Linux: IPv4
drops a device's addresses on ``NETDEV_UNREGISTER``, the FIB removes routes on
``NETDEV_DOWN``, the bridge releases a port that leaves.  That is what makes a
device move flush everything the old namespace knew about it.

Linkwatch: carrier changes are queued and the operational state is computed
when the kernel runs the queue -- at the end of each top-level operation
(:meth:`Kernel.rtnl_unlock`), which is the state the real kernel settles in.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..errors import KernelError, einval
from ..ipv4.rt_cache import rt_cache_flush
from .netdevice import (
    IF_LINK_MODE_DORMANT,
    IF_LINK_MODE_TESTING,
    IF_OPER_DORMANT,
    IF_OPER_DOWN,
    IF_OPER_LOWERLAYERDOWN,
    IF_OPER_TESTING,
    IF_OPER_UNKNOWN,
    IF_OPER_UP,
    IFF_ALLMULTI,
    IFF_AUTOMEDIA,
    IFF_DEBUG,
    IFF_DYNAMIC,
    IFF_MULTICAST,
    IFF_NOARP,
    IFF_NOTRAILERS,
    IFF_PORTSEL,
    IFF_PROMISC,
    IFF_UP,
    NETREG_REGISTERED,
    NETREG_UNREGISTERED,
    NetDevice,
)

if TYPE_CHECKING:
    from ..net import Net

# netdevice notifier events (include/linux/netdevice.h)
NETDEV_UP = 1
NETDEV_DOWN = 2
NETDEV_REBOOT = 3
NETDEV_CHANGE = 4
NETDEV_REGISTER = 5
NETDEV_UNREGISTER = 6
NETDEV_CHANGEMTU = 7
NETDEV_CHANGEADDR = 8
NETDEV_GOING_DOWN = 9
NETDEV_CHANGENAME = 10
NETDEV_CHANGEUPPER = 27

IFNAMSIZ = 16

Notifier = Callable[[int, NetDevice], None]


def dev_valid_name(name: str) -> bool:
    """Linux's dev_valid_name(): what a device may be called."""
    if not name or len(name.encode()) >= IFNAMSIZ:
        return False
    if name in (".", ".."):
        return False
    return not any(c == "/" or c == ":" or c.isspace() for c in name)


def call_netdevice_notifiers(event: int, dev: NetDevice) -> None:
    rt_cache_flush()
    for notifier in dev.net.kernel.netdev_chain:
        notifier(event, dev)


# -- registration --------------------------------------------------------------


def check_new_name(net: Net, name: str) -> None:
    if not dev_valid_name(name):
        raise einval()
    if name in net.dev_by_name:
        raise KernelError(errno.EEXIST)


def register_netdevice(net: Net, dev: NetDevice, ifindex: int = 0) -> None:
    """Give ``dev`` an ifindex in ``net`` and announce it.

    Callers validate first (:func:`check_new_name`); this cannot fail halfway.
    """
    if ifindex and ifindex in net.dev_by_index:
        raise KernelError(errno.EEXIST)  # dev_index_reserve: -EBUSY, reported as -EEXIST
    dev.net = net
    dev.ifindex = ifindex or net.alloc_ifindex()
    net.dev_by_name[dev.name] = dev
    net.dev_by_index[dev.ifindex] = dev
    dev.reg_state = NETREG_REGISTERED
    if not dev.carrier:
        linkwatch_fire_event(dev)  # linkwatch_init_dev
    call_netdevice_notifiers(NETDEV_REGISTER, dev)
    rtmsg_ifinfo(dev)


def _unlist(dev: NetDevice) -> None:
    net = dev.net
    del net.dev_by_name[dev.name]
    del net.dev_by_index[dev.ifindex]


def unregister_netdevice_many(devs: Iterable[NetDevice]) -> None:
    """Close and unregister a batch of devices (unregister_netdevice_many)."""
    batch = [d for d in dict.fromkeys(devs) if d.reg_state == NETREG_REGISTERED]
    dev_close_many(batch)
    for dev in batch:
        call_netdevice_notifiers(NETDEV_UNREGISTER, dev)
        _unlist(dev)
        dev.reg_state = NETREG_UNREGISTERED
    for dev in batch:
        dev.uninit()


def delete_link(dev: NetDevice) -> None:
    """``ip link del``: the kind's dellink decides what dies with the device."""
    if not dev.kind:
        raise KernelError(errno.EOPNOTSUPP)
    batch: list[NetDevice] = []
    dev.dellink(batch)
    unregister_netdevice_many(batch)


# -- open / close --------------------------------------------------------------


def dev_open(dev: NetDevice) -> None:
    if dev.flags & IFF_UP:
        return
    dev.ndo_open()
    dev.flags |= IFF_UP
    dev.qdisc = "noqueue"  # dev_activate attaches the default qdisc (none on soft devices)
    call_netdevice_notifiers(NETDEV_UP, dev)
    rtmsg_ifinfo(dev)


def dev_close_many(devs: Iterable[NetDevice]) -> None:
    ups = [d for d in devs if d.flags & IFF_UP]
    for dev in ups:
        call_netdevice_notifiers(NETDEV_GOING_DOWN, dev)
    for dev in ups:
        dev.flags &= ~IFF_UP
        dev.ndo_stop()
    for dev in ups:
        call_netdevice_notifiers(NETDEV_DOWN, dev)
        rtmsg_ifinfo(dev)


def dev_close(dev: NetDevice) -> None:
    dev_close_many((dev,))


# -- attributes ------------------------------------------------------------------


def dev_change_name(dev: NetDevice, name: str) -> None:
    if name == dev.name:
        return
    # Linux 6.x renames running devices too (netif_change_name; no EBUSY).
    check_new_name(dev.net, name)
    net = dev.net
    del net.dev_by_name[dev.name]
    dev.name = name
    net.dev_by_name[name] = dev
    call_netdevice_notifiers(NETDEV_CHANGENAME, dev)


def check_mtu(dev: NetDevice, mtu: int) -> None:
    if mtu < dev.min_mtu:
        raise einval("mtu less than device minimum")
    if dev.max_mtu and mtu > dev.max_mtu:
        raise einval("mtu greater than device maximum")


def dev_set_mtu(dev: NetDevice, mtu: int) -> None:
    check_mtu(dev, mtu)
    if mtu == dev.mtu:
        return
    dev.mtu = mtu
    call_netdevice_notifiers(NETDEV_CHANGEMTU, dev)


def check_mac(dev: NetDevice, addr: bytes) -> None:
    if len(addr) != len(dev.dev_addr):
        raise einval()
    if dev.link_type == "ether" and (addr[0] & 1 or not any(addr)):
        raise KernelError(errno.EADDRNOTAVAIL)


def dev_set_mac_address(dev: NetDevice, addr: bytes) -> None:
    from .netdevice import NET_ADDR_SET

    check_mac(dev, addr)
    dev.ndo_set_mac_address(addr)
    dev.addr_assign_type = NET_ADDR_SET
    call_netdevice_notifiers(NETDEV_CHANGEADDR, dev)


# -- moving between namespaces ------------------------------------------------------


def check_change_net_namespace(dev: NetDevice, net: Net, pattern: str | None = None) -> None:
    if dev.net is net:
        return
    if dev.netns_immutable:
        raise einval("The interface netns is immutable")
    if dev.name in net.dev_by_name and pattern is None:
        raise KernelError(errno.EEXIST,
                          "An interface with the same name exists in the target netns")


def dev_change_net_namespace(dev: NetDevice, net: Net, pattern: str | None = None) -> None:
    """Move ``dev`` into ``net`` (__dev_change_net_namespace).

    The device is closed, the old namespace forgets it (addresses, routes,
    bridge membership go with NETDEV_UNREGISTER), it keeps its ifindex when
    that is free in the target and arrives DOWN.
    """
    check_change_net_namespace(dev, net, pattern)
    if dev.net is net:
        return
    old = dev.net
    name = dev.name
    if name in net.dev_by_name:
        assert pattern is not None
        name = dev_alloc_name(net, pattern)
    dev_close(dev)
    call_netdevice_notifiers(NETDEV_UNREGISTER, dev)
    old.peernet2id_alloc(net)  # RTM_DELLINK in the old namespace carries the new nsid
    _unlist(dev)
    ifindex = dev.ifindex if dev.ifindex not in net.dev_by_index else net.alloc_ifindex()
    dev.net = net
    dev.name = name
    dev.ifindex = ifindex
    dev.qdisc = "noop"  # dev_shutdown: the qdisc is rebuilt on the next open
    net.dev_by_name[name] = dev
    net.dev_by_index[ifindex] = dev
    call_netdevice_notifiers(NETDEV_REGISTER, dev)
    rtmsg_ifinfo(dev)


def dev_alloc_name(net: Net, pattern: str) -> str:
    """First free name for a ``dev%d``-style pattern."""
    if "%d" not in pattern:
        if pattern in net.dev_by_name:
            raise KernelError(errno.EEXIST)
        return pattern
    i = 0
    while (name := pattern.replace("%d", str(i), 1)) in net.dev_by_name:
        i += 1
    return name


# -- carrier and operational state (linkwatch) -------------------------------------


def netif_carrier_on(dev: NetDevice) -> None:
    if not dev.carrier:
        dev.carrier = True
        if dev.reg_state == NETREG_REGISTERED:
            linkwatch_fire_event(dev)


def netif_carrier_off(dev: NetDevice) -> None:
    if dev.carrier:
        dev.carrier = False
        if dev.reg_state == NETREG_REGISTERED:
            linkwatch_fire_event(dev)


def linkwatch_fire_event(dev: NetDevice) -> None:
    rt_cache_flush()
    dev.net.kernel.linkwatch_pending[dev] = None


def default_operstate(dev: NetDevice) -> int:
    """RFC 2863 state as linkwatch computes it (net/core/link_watch.c)."""
    if dev.carrier:
        return IF_OPER_UP
    iflink = dev.iflink()
    if iflink == dev.ifindex:
        return IF_OPER_DOWN
    # Linux looks the lower device up by ifindex in the device's OWN namespace.
    peer = dev.net.dev_by_index.get(iflink)
    if peer is None or peer.carrier:
        return IF_OPER_DOWN
    return IF_OPER_LOWERLAYERDOWN


def rfc2863_policy(dev: NetDevice) -> int:
    """The state linkwatch settles on: an up link reads DORMANT or TESTING
    when its link mode says so."""
    operstate = default_operstate(dev)
    if operstate == dev.operstate or operstate != IF_OPER_UP:
        return operstate
    if dev.link_mode == IF_LINK_MODE_DORMANT:
        return IF_OPER_DORMANT
    if dev.link_mode == IF_LINK_MODE_TESTING:
        return IF_OPER_TESTING
    return operstate


def set_operstate(dev: NetDevice, transition: int) -> None:
    """IFLA_OPERSTATE from userspace (a supplicant): up, dormant or testing."""
    operstate = dev.operstate
    if transition == IF_OPER_UP:
        if operstate in (IF_OPER_DORMANT, IF_OPER_TESTING, IF_OPER_UNKNOWN):
            operstate = IF_OPER_UP
    elif transition in (IF_OPER_DORMANT, IF_OPER_TESTING) and dev.oper_up():
        operstate = transition
    dev.operstate = operstate


# Flags userspace may change with ip link set (dev_change_flags), besides UP.
IFF_USER_CHANGEABLE = (IFF_DEBUG | IFF_NOTRAILERS | IFF_NOARP | IFF_DYNAMIC | IFF_MULTICAST
                       | IFF_PORTSEL | IFF_AUTOMEDIA | IFF_PROMISC | IFF_ALLMULTI)


def dev_change_flags(dev: NetDevice, flags: int, change: int) -> None:
    """The flag bits of ``change`` take their value from ``flags``; up/down opens
    or closes the device."""
    keep = dev.flags & ~(change & IFF_USER_CHANGEABLE)
    dev.flags = keep | (flags & change & IFF_USER_CHANGEABLE)
    if change & IFF_UP:
        if flags & IFF_UP:
            dev_open(dev)
        else:
            dev_close(dev)


def linkwatch_run(pending: dict[NetDevice, None]) -> None:
    while pending:
        dev = next(iter(pending))
        del pending[dev]
        if dev.reg_state != NETREG_REGISTERED:
            continue
        dev.operstate = rfc2863_policy(dev)
        if dev.flags & IFF_UP:
            call_netdevice_notifiers(NETDEV_CHANGE, dev)
            rtmsg_ifinfo(dev)


def rtmsg_ifinfo(dev: NetDevice) -> None:
    """A link notification: like Linux's, filling it assigns a peer nsid."""
    link_net = dev.link_net()
    if link_net is not None and link_net is not dev.net:
        dev.net.peernet2id_alloc(link_net)


# -- a dying namespace's devices (default_device_exit) ------------------------------


def default_device_exit(net: Net) -> None:
    """Physical devices go home to init_net as ``dev<ifindex>``; virtual ones
    die, taking what dies with them (a veth's peer in another namespace)."""
    init = net.kernel.init_net
    for dev in list(net.devices()):
        if dev.netns_immutable or not dev.netns_refund:
            continue
        name = f"dev{dev.ifindex}"
        pattern = name if name not in init.dev_by_name else "dev%d"
        dev_change_net_namespace(dev, init, pattern)
    batch: list[NetDevice] = []
    for dev in reversed(list(net.devices())):
        if dev is net.loopback_dev or dev in batch:
            continue  # lo goes last, with loopback's own pernet exit
        dev.dellink(batch)
    unregister_netdevice_many(batch)
