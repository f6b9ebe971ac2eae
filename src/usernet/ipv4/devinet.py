"""IPv4 addresses on devices (``net/ipv4/devinet.c``).

Each device has an :class:`InDevice` with its address list and its IPv4 conf
(``net.ipv4.conf.DEV.*``).  Primary addresses come first, ordered by scope;
an address in the subnet of an existing one becomes its secondary.  Deleting
a primary deletes its secondaries, or promotes the first of them when
``promote_secondaries`` is on.  Address events drive the FIB's kernel routes.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..errors import KernelError
from .fib import RT_SCOPE_HOST, RT_SCOPE_UNIVERSE
from .inet import mask
from .rt_cache import rt_cache_flush

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_OPTIMISTIC = 0x04
IFA_F_DADFAILED = 0x08
IFA_F_HOMEADDRESS = 0x10
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400
INFINITY_LIFE_TIME = 0xFFFFFFFF
INADDR_LOOPBACK = 0x7F000001


class InIfAddr:
    """One IPv4 address (``struct in_ifaddr``)."""

    __slots__ = (
        "address", "broadcast", "flags", "in_dev", "label", "local", "mask", "preferred_lft",
        "prefixlen", "rt_priority", "scope", "valid_lft",
    )

    def __init__(self, in_dev: InDevice, local: int, prefixlen: int, *, address: int | None = None,
                 broadcast: int = 0, label: str = "", scope: int = RT_SCOPE_UNIVERSE,
                 flags: int = IFA_F_PERMANENT, rt_priority: int = 0,
                 valid_lft: int = INFINITY_LIFE_TIME,
                 preferred_lft: int = INFINITY_LIFE_TIME) -> None:
        self.in_dev = in_dev
        self.local = local
        self.address = local if address is None else address
        self.prefixlen = prefixlen
        self.mask = mask(prefixlen)
        self.broadcast = broadcast
        self.label = label or in_dev.dev.name
        self.scope = scope
        self.flags = flags
        self.rt_priority = rt_priority
        self.valid_lft = valid_lft
        self.preferred_lft = preferred_lft

    @property
    def prefix(self) -> int:
        return self.address & self.mask

    def match(self, addr: int) -> bool:
        """inet_ifa_match: ``addr`` is in this address's subnet."""
        return (addr ^ self.address) & self.mask == 0

    @property
    def secondary(self) -> bool:
        return bool(self.flags & IFA_F_SECONDARY)


# inetaddr_chain: what happens to an address ("up", "down", "promote")
InetaddrNotifier = Callable[[str, "InIfAddr"], None]


def inetaddr_notify(in_dev: InDevice, what: str, ifa: InIfAddr) -> None:
    rt_cache_flush()
    for notifier in in_dev.dev.net.kernel.inetaddr_chain:
        notifier(what, ifa)


class InDevice:
    """Per-device IPv4 state (``struct in_device``).

    Conf values (``net.ipv4.conf.DEV.*``) are stored only where they differ
    from the namespace's ``conf.default``: ``_conf`` holds the values written
    explicitly (Linux's ``cnf.state`` bits) and those pinned before a
    non-propagating default changed.  Everything else is read through to the
    namespace's *current* default, which is how a ``conf.default`` write
    reaches devices never written explicitly -- at no cost per device.
    """

    __slots__ = ("_conf", "dev", "ifa_list")

    def __init__(self, dev: NetDevice, conf: Mapping[str, int] | None = None) -> None:
        self.dev = dev
        self.ifa_list: list[InIfAddr] = []
        ipv4 = dev.net.ipv4
        dflt = ipv4.devconf_dflt if conf is None else conf
        # inetdev_init copies conf.default *with* its state bits: a key written
        # in conf.default is explicit in the new device and stops following.
        self._conf: dict[str, int] | None = (
            {key: dflt[key] for key in ipv4.dflt_state} if ipv4.dflt_state else None)
        from ..dev.netdevice import IFF_LOOPBACK

        if dev.flags & IFF_LOOPBACK:
            self.conf_set("disable_xfrm", 1)
            self.conf_set("disable_policy", 1)

    @property
    def conf(self) -> Mapping[str, int]:
        """The full conf as a snapshot (for reading several values at once)."""
        return {**self.dev.net.ipv4.devconf_dflt, **(self._conf or {})}

    def conf_get(self, key: str) -> int:
        over = self._conf
        if over is not None:
            value = over.get(key)
            if value is not None:
                return value
        return self.dev.net.ipv4.devconf_dflt[key]

    def conf_set(self, key: str, value: int) -> None:
        """Set ``key`` explicitly (IN_DEV_CONF_SET): later conf.default writes
        no longer reach it."""
        if self._conf is None:
            self._conf = {}
        self._conf[key] = value

    def conf_is_explicit(self, key: str) -> bool:
        return self._conf is not None and key in self._conf

    def conf_follow(self, key: str) -> None:
        """Forget an own value: ``key`` reads the namespace default again."""
        if self._conf is not None:
            self._conf.pop(key, None)
            if not self._conf:
                self._conf = None

    def primary_for(self, prefix: int, msk: int) -> InIfAddr | None:
        """inet_ifa_byprefix: the primary address of a subnet."""
        for ifa in self.ifa_list:
            if not ifa.secondary and ifa.mask == msk and ifa.prefix == prefix:
                return ifa
        return None


def inetdev_init(dev: NetDevice) -> InDevice:
    in_dev = InDevice(dev, dev.net.ipv4.devconf_dflt)
    dev.ip_ptr = in_dev
    return in_dev


def check_insert_ifa(in_dev: InDevice, ifa: InIfAddr) -> None:
    """__inet_insert_ifa's refusals, before anything changes."""
    if ifa.local == 0:
        raise KernelError(errno.EINVAL)
    for other in in_dev.ifa_list:
        if other.mask == ifa.mask and other.match(ifa.address):
            if other.local == ifa.local:
                raise KernelError(errno.EEXIST, "ipv4: Address already assigned")
            if other.scope != ifa.scope:
                raise KernelError(errno.EINVAL, "ipv4: Invalid scope value")


def insert_ifa(in_dev: InDevice, ifa: InIfAddr) -> None:
    check_insert_ifa(in_dev, ifa)
    ifa.flags &= ~IFA_F_SECONDARY
    last_primary = 0
    for i, other in enumerate(in_dev.ifa_list):
        if not other.secondary and ifa.scope <= other.scope:
            last_primary = i + 1
        if other.mask == ifa.mask and other.match(ifa.address):
            ifa.flags |= IFA_F_SECONDARY
    if ifa.secondary:
        in_dev.ifa_list.append(ifa)
    else:
        in_dev.ifa_list.insert(last_primary, ifa)
    inetaddr_notify(in_dev, "up", ifa)


def delete_ifa(in_dev: InDevice, ifa1: InIfAddr, may_promote: bool = True) -> None:
    """__inet_del_ifa: remove ``ifa1``; its secondaries go too, or get promoted
    (never while the whole device goes away: nothing would keep them)."""
    lst = in_dev.ifa_list
    promote: InIfAddr | None = None
    if not ifa1.secondary:
        do_promote = may_promote and bool(in_dev.conf_get("promote_secondaries"))
        for ifa in list(lst[lst.index(ifa1) + 1:]):
            if not ifa.secondary or ifa.mask != ifa1.mask or not ifa1.match(ifa.address):
                continue
            if not do_promote:
                lst.remove(ifa)
                inetaddr_notify(in_dev, "down", ifa)
                continue
            promote = ifa
            break
    lst.remove(ifa1)
    inetaddr_notify(in_dev, "down", ifa1)
    if promote is not None:
        promote.flags &= ~IFA_F_SECONDARY
        lst.remove(promote)
        pos = 0
        for i, other in enumerate(lst):
            if not other.secondary and promote.scope <= other.scope:
                pos = i + 1
        lst.insert(pos, promote)
        inetaddr_notify(in_dev, "promote", promote)


def _find_matching_ifa(in_dev: InDevice, ifa: InIfAddr) -> InIfAddr | None:
    """find_matching_ifa: same local address in the same subnet."""
    for other in in_dev.ifa_list:
        if other.local == ifa.local and other.mask == ifa.mask and other.match(ifa.address):
            return other
    return None


def inet_rtm_newaddr(dev: NetDevice, ifa_req: InIfAddr, *, replace: bool) -> None:
    """RTM_NEWADDR.  A new address is inserted (also by ``change``: Linux does
    not ask for NLM_F_CREATE); an existing one is an error unless replacing,
    and then only its metric follows the request (broadcast, label and scope
    stay), moving the prefix route to the new metric."""
    in_dev = dev.ip_ptr
    if in_dev is None:
        raise KernelError(errno.ENOBUFS)
    existing = _find_matching_ifa(in_dev, ifa_req)
    if existing is None:
        insert_ifa(in_dev, ifa_req)
        return
    if not replace:
        raise KernelError(errno.EEXIST, "ipv4: Address already assigned")
    if existing.rt_priority != ifa_req.rt_priority:
        existing.rt_priority = ifa_req.rt_priority
        inetaddr_notify(in_dev, "metric", existing)


def inet_rtm_deladdr(dev: NetDevice, local: int, *, prefixlen: int | None = None,
                     address: int | None = None, label: str | None = None) -> None:
    """RTM_DELADDR: the first address matching what is given.  Without a
    prefix length (``ip addr del A dev D``) only the local address counts."""
    in_dev = dev.ip_ptr
    for ifa in in_dev.ifa_list if in_dev is not None else ():
        if ifa.local != local or (label is not None and ifa.label != label):
            continue
        if address is not None and (prefixlen != ifa.prefixlen or not ifa.match(address)):
            continue
        assert in_dev is not None
        delete_ifa(in_dev, ifa)
        return
    raise KernelError(errno.EADDRNOTAVAIL, "ipv4: Address not found")


def inet_select_addr(dev: NetDevice | None, dst: int, scope: int) -> int:
    """Pick a source address for ``dst`` out of ``dev`` (inet_select_addr)."""
    addr = 0
    if dev is not None and dev.ip_ptr is not None:
        for ifa in dev.ip_ptr.ifa_list:
            if ifa.secondary or ifa.scope > scope:
                continue
            if not dst or ifa.match(dst):
                return ifa.local
            if not addr:
                addr = ifa.local
    if addr or dev is None:
        return addr
    # Not on this device: any address of suitable scope in the namespace
    # (lo first), as Linux does.
    net = dev.net
    for other in net.devices():
        if other.ip_ptr is None:
            continue
        for ifa in other.ip_ptr.ifa_list:
            if not ifa.secondary and ifa.scope != 253 and ifa.scope <= scope:
                return ifa.local
    return 0


def inetdev_up(dev: NetDevice) -> None:
    """NETDEV_UP: lo gets 127.0.0.1/8 the first time it comes up."""
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    from ..dev.netdevice import IFF_LOOPBACK

    if dev.flags & IFF_LOOPBACK:
        ifa = InIfAddr(in_dev, INADDR_LOOPBACK, 8, scope=RT_SCOPE_HOST)
        try:
            check_insert_ifa(in_dev, ifa)
        except KernelError:
            return
        insert_ifa(in_dev, ifa)


def inetdev_destroy(dev: NetDevice) -> None:
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    while in_dev.ifa_list:
        delete_ifa(in_dev, in_dev.ifa_list[0], may_promote=False)
    dev.ip_ptr = None


def find_ifa(net: Net, local: int) -> InIfAddr | None:
    for dev in net.dev_by_index.values():
        in_dev = dev.ip_ptr
        if in_dev is not None:
            for ifa in in_dev.ifa_list:
                if ifa.local == local:
                    return ifa
    return None
