"""RTM_NEWLINK / RTM_SETLINK (``net/core/rtnetlink.c``): creating links of a
kind and changing a link's attributes.

Every attribute is validated before anything changes, so a refused request
leaves the kernel exactly as it was -- the real kernel does the same for the
combinations ``ip link set`` sends.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import KernelError
from . import core
from .bridge import Bridge, check_enslave, enslave, release
from .bridge_opts import check_bridge_opts
from .dummy import Dummy
from .netdevice import BROADCAST_MAC, IFF_UP, NET_ADDR_RANDOM, NET_ADDR_SET, NetDevice
from .veth import Veth

if TYPE_CHECKING:
    from ..net import Net


@dataclass
class LinkAttrs:
    """The attributes of one link request (IFLA_*)."""

    name: str | None = None
    mtu: int | None = None
    address: bytes | None = None
    broadcast: bytes | None = None
    txqlen: int | None = None
    net: Net | None = None  # IFLA_NET_NS_FD: where the device goes / is created
    up: bool | None = None
    master: NetDevice | None = None
    nomaster: bool = False
    group: int | None = None
    kind: str | None = None
    peer: LinkAttrs | None = None  # veth's VETH_INFO_PEER
    kind_data: dict[str, int] = field(default_factory=dict)  # IFLA_INFO_DATA (bridge)
    flags: int = 0  # ifi_flags for the bits in ``change`` (arp, multicast, promisc, ...)
    change: int = 0
    alias: str | None = None  # IFLA_IFALIAS; "" removes it
    carrier: bool | None = None  # IFLA_CARRIER
    ifindex: int = 0  # ifi_index asked for at creation
    queues: tuple[int, int] | None = None  # IFLA_NUM_TX_QUEUES / IFLA_NUM_RX_QUEUES
    link_mode: int | None = None  # IFLA_LINKMODE
    operstate: int | None = None  # IFLA_OPERSTATE


Factory = Callable[[str, bytes, int], NetDevice]
LINK_KINDS: dict[str, Factory] = {
    "veth": Veth,
    "bridge": Bridge,
    "dummy": Dummy,
}


def _alloc_mac(net: Net, attrs: LinkAttrs) -> tuple[bytes, int]:
    if attrs.address is not None:
        return attrs.address, NET_ADDR_SET
    return net.kernel.random_ether_addr(), NET_ADDR_RANDOM


def _check_attrs(dev_like: NetDevice, attrs: LinkAttrs) -> None:
    """What a request may not do to this device (also before it exists)."""
    if attrs.mtu is not None:
        core.check_mtu(dev_like, attrs.mtu)
    if attrs.address is not None:
        core.check_mac(dev_like, attrs.address)
    if attrs.carrier is not None and not dev_like.can_change_carrier:
        raise KernelError(errno.EOPNOTSUPP)


def _pick_name(net: Net, name: str | None, kind: str, taken: set[str]) -> str:
    if name is not None:
        return name
    i = 0
    while (cand := f"{kind}{i}") in net.dev_by_name or cand in taken:
        i += 1
    return cand


def _apply_new(dev: NetDevice, attrs: LinkAttrs) -> None:
    """Attributes set on a device before it is registered."""
    if attrs.mtu is not None:
        dev.mtu = attrs.mtu
        if isinstance(dev, Bridge):
            dev.mtu_set_by_user = True
    if attrs.txqlen is not None:
        dev.txqlen = attrs.txqlen
    if attrs.broadcast is not None:
        dev.broadcast = attrs.broadcast
    if attrs.group is not None:
        dev.group = attrs.group
    if attrs.queues is not None:  # a 0 keeps the kind's default for that direction
        tx, rx = dev.num_tx_rx_queues()
        dev.queues = (attrs.queues[0] or tx, attrs.queues[1] or rx)
    if attrs.link_mode is not None:
        dev.link_mode = attrs.link_mode
    _apply_misc(dev, attrs)


def _apply_misc(dev: NetDevice, attrs: LinkAttrs) -> None:
    """Flag bits, alias and link mode: the same on creation and on set."""
    keep = dev.flags & ~(attrs.change & core.IFF_USER_CHANGEABLE)
    dev.flags = keep | (attrs.flags & attrs.change & core.IFF_USER_CHANGEABLE)
    if attrs.alias is not None:
        dev.ifalias = attrs.alias or None


def newlink(net: Net, attrs: LinkAttrs) -> NetDevice:
    """``ip link add``: create (and register) a device of ``attrs.kind``."""
    kind = attrs.kind or ""
    factory = LINK_KINDS.get(kind)
    if factory is None:
        raise KernelError(errno.EOPNOTSUPP, "Unknown device type")
    link_net = attrs.net or net
    if kind == "veth":
        return _newlink_veth(link_net, attrs)
    name = _pick_name(link_net, attrs.name, kind, set())
    core.check_new_name(link_net, name)
    _check_kind_data(kind, attrs.kind_data)
    mac, assign = _alloc_mac(link_net, attrs)
    dev = factory(name, mac, assign)
    _check_attrs(dev, attrs)
    if isinstance(dev, Bridge):
        dev.changelink(attrs.kind_data)
    if attrs.master is not None:
        check_enslave(dev, attrs.master)
    if attrs.ifindex and attrs.ifindex in link_net.dev_by_index:
        raise KernelError(errno.EEXIST)
    _apply_new(dev, attrs)
    core.register_netdevice(link_net, dev, attrs.ifindex)
    _configure(dev, attrs)
    return dev


def _newlink_veth(net: Net, attrs: LinkAttrs) -> NetDevice:
    """veth_newlink: the peer is registered first, so it gets the lower ifindex."""
    pattrs = attrs.peer or LinkAttrs()
    peer_net = pattrs.net or net
    peer_name = _pick_name(peer_net, pattrs.name, "veth", set())
    taken = {peer_name} if peer_net is net else set()
    name = _pick_name(net, attrs.name, "veth", taken)
    if attrs.name is not None:
        core.check_new_name(net, name)  # rtnl_newlink: an existing name fails first
    core.check_new_name(peer_net, peer_name)
    if peer_net is net and name == peer_name:
        # Linux registers the peer before it finds the clash: the ifindex it
        # took stays used up.
        peer_net.alloc_ifindex()
        raise KernelError(errno.EEXIST)
    core.check_new_name(net, name)
    pmac, passign = _alloc_mac(peer_net, pattrs)
    mac, assign = _alloc_mac(net, attrs)
    peer = Veth(peer_name, pmac, passign)
    dev = Veth(name, mac, assign)
    _check_attrs(peer, pattrs)
    _check_attrs(dev, attrs)
    if attrs.master is not None:
        check_enslave(dev, attrs.master)
    if pattrs.ifindex and pattrs.ifindex in peer_net.dev_by_index:
        raise KernelError(errno.EEXIST)
    if attrs.ifindex and (attrs.ifindex in net.dev_by_index
                          or (peer_net is net and attrs.ifindex == pattrs.ifindex)):
        peer_net.alloc_ifindex()  # the peer was registered before the clash showed
        raise KernelError(errno.EEXIST)
    _apply_new(peer, pattrs)
    _apply_new(dev, attrs)
    core.register_netdevice(peer_net, peer, pattrs.ifindex)
    core.register_netdevice(net, dev, attrs.ifindex)
    dev.peer, peer.peer = peer, dev
    core.rtmsg_ifinfo(peer)
    core.rtmsg_ifinfo(dev)
    _configure(dev, attrs)
    return dev


def _configure(dev: NetDevice, attrs: LinkAttrs) -> None:
    """rtnl_configure_link + master: up, carrier and enslaving after registration."""
    if attrs.up:
        core.dev_open(dev)
    if attrs.master is not None:
        enslave(dev, attrs.master)
    if attrs.carrier is not None:
        dev.ndo_change_carrier(attrs.carrier)


def _check_kind_data(kind: str, data: dict[str, int]) -> None:
    if kind == "bridge":
        check_bridge_opts(data)
    elif data:
        raise KernelError(errno.EOPNOTSUPP)


def check_setlink(dev: NetDevice, attrs: LinkAttrs) -> None:
    """Everything do_setlink would refuse, checked before any change."""
    if attrs.kind is not None:
        # `ip link set DEV type KIND ...`: changelink of the device's own kind only
        if attrs.kind != dev.kind:
            raise KernelError(errno.EOPNOTSUPP)
        _check_kind_data(attrs.kind, attrs.kind_data)
    target = attrs.net or dev.net
    if attrs.net is not None:
        core.check_change_net_namespace(dev, attrs.net)
    if attrs.address is not None:
        core.check_mac(dev, attrs.address)
    if attrs.mtu is not None:
        core.check_mtu(dev, attrs.mtu)
    if attrs.name is not None and attrs.name != dev.name:
        if not core.dev_valid_name(attrs.name):
            raise KernelError(errno.EINVAL)
        other = target.dev_by_name.get(attrs.name)
        if other is not None and other is not dev:
            raise KernelError(errno.EEXIST)
    if attrs.master is not None and attrs.master is not dev.master:
        check_enslave(dev, attrs.master)
    if attrs.carrier is not None and not dev.can_change_carrier:
        raise KernelError(errno.EOPNOTSUPP)


def setlink(dev: NetDevice, attrs: LinkAttrs) -> None:
    """``ip link set``: do_setlink's order -- namespace, address, MTU, name,
    flags, then master."""
    check_setlink(dev, attrs)
    if isinstance(dev, Bridge) and attrs.kind_data:
        dev.changelink(attrs.kind_data)
    if attrs.net is not None:
        core.dev_change_net_namespace(dev, attrs.net)
    if attrs.address is not None:
        core.dev_set_mac_address(dev, attrs.address)
    if attrs.mtu is not None:
        core.dev_set_mtu(dev, attrs.mtu)
        if isinstance(dev, Bridge):
            dev.mtu_set_by_user = True
    if attrs.group is not None:
        dev.group = attrs.group
    if attrs.name is not None:
        core.dev_change_name(dev, attrs.name)
    if attrs.broadcast is not None:
        dev.broadcast = attrs.broadcast
    _apply_misc(dev, attrs)
    if attrs.up is True:
        core.dev_open(dev)
    elif attrs.up is False:
        core.dev_close(dev)
    if attrs.nomaster:
        release(dev)
    elif attrs.master is not None:
        enslave(dev, attrs.master)
    if attrs.carrier is not None:
        dev.ndo_change_carrier(attrs.carrier)
    if attrs.txqlen is not None:
        dev.txqlen = attrs.txqlen
    if attrs.operstate is not None:
        core.set_operstate(dev, attrs.operstate)
    if attrs.link_mode is not None:
        dev.link_mode = attrs.link_mode  # takes effect at the next linkwatch run


__all__ = ["BROADCAST_MAC", "IFF_UP", "LINK_KINDS", "LinkAttrs", "newlink", "setlink"]
