"""The FIB's front end (``net/ipv4/fib_frontend.c``, ``fib_semantics.c``):
adding and deleting routes with Linux's checks, the kernel routes that
addresses bring (``fib_magic``), and what device events do to routes.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import KernelError, einval
from .devinet import IFA_F_NOPREFIXROUTE, InIfAddr
from .fib import (
    RT_SCOPE_HOST,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_BLACKHOLE,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_PROHIBIT,
    RTN_THROW,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    RTNH_F_DEAD,
    RTNH_F_ONLINK,
    RTPROT_KERNEL,
    FibNexthop,
    FibRoute,
    FibTable,
)
from .inet import is_zeronet, mask

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

ERROR_TYPES = (RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW)


@dataclass
class NexthopConfig:
    gw: int = 0
    dev: NetDevice | None = None
    onlink: bool = False
    weight: int = 1


@dataclass
class RouteConfig:
    """An RTM_NEWROUTE/RTM_DELROUTE request (struct fib_config)."""

    dst: int = 0
    plen: int = 0
    table: int = RT_TABLE_MAIN
    type: int = RTN_UNICAST
    protocol: int = 3
    scope: int = 0
    tos: int = 0
    priority: int = 0
    prefsrc: int = 0
    nhs: list[NexthopConfig] = field(default_factory=list)
    metrics: dict[str, int] | None = None


# -- kernel routes for addresses (fib_magic) -----------------------------------------


def _magic_routes(ifa: InIfAddr) -> list[FibRoute]:
    """The routes fib_add_ifaddr installs for one address."""
    in_dev = ifa.in_dev
    dev = in_dev.dev
    prim: InIfAddr | None = ifa
    if ifa.secondary:
        prim = in_dev.primary_for(ifa.prefix, ifa.mask)
        if prim is None:
            return []
    assert prim is not None
    src = prim.local

    def mk(rtype: int, dst: int, plen: int, prio: int = 0) -> FibRoute:
        table = RT_TABLE_MAIN if rtype == RTN_UNICAST else RT_TABLE_LOCAL
        scope = RT_SCOPE_HOST if rtype == RTN_LOCAL else RT_SCOPE_LINK
        nh = FibNexthop(0, dev)
        if rtype == RTN_LOCAL:
            nh.scope = RT_SCOPE_NOWHERE
        return FibRoute(table, dst, plen, rtype, protocol=RTPROT_KERNEL, scope=scope,
                        priority=prio, prefsrc=src, nhs=[nh], magic=True)

    out = [mk(RTN_LOCAL, ifa.local, 32)]
    from ..dev.netdevice import IFF_LOOPBACK, IFF_UP

    if not dev.flags & IFF_UP:
        return out
    if ifa.broadcast and ifa.broadcast != 0xFFFFFFFF:
        out.append(mk(RTN_BROADCAST, ifa.broadcast, 32))
    prefix = ifa.prefix
    if not is_zeronet(prefix) and not ifa.secondary and (prefix != ifa.local or ifa.prefixlen < 32):
        if not ifa.flags & IFA_F_NOPREFIXROUTE:
            rtype = RTN_LOCAL if dev.flags & IFF_LOOPBACK else RTN_UNICAST
            out.append(mk(rtype, prefix, ifa.prefixlen, ifa.rt_priority))
        if ifa.prefixlen < 31:
            out.append(mk(RTN_BROADCAST, prefix | (~ifa.mask & 0xFFFFFFFF), 32))
    return out


def _magic_key(r: FibRoute) -> tuple[int, int, int, int, int, int, int]:
    nh = r.nh
    return (r.table, r.type, r.dst, r.plen, r.prefsrc, r.priority, id(nh.dev) if nh else 0)


def fib_add_ifaddr(ifa: InIfAddr) -> None:
    net = ifa.in_dev.dev.net
    for route in _magic_routes(ifa):
        tb = net.ipv4.get_table(route.table, create=True)
        assert tb is not None
        if any(r.same_info(route) for r in tb.aliases(route.dst, route.plen)):
            continue  # fib_magic appends; an identical route is EEXIST, ignored
        tb.insert(route, append=True)


def fib_del_ifaddr(ifa: InIfAddr) -> None:
    """Drop kernel routes of ``ifa``'s device that no remaining address needs."""
    dev = ifa.in_dev.dev
    net = dev.net
    wanted = {_magic_key(r) for other in ifa.in_dev.ifa_list for r in _magic_routes(other)}
    for table_id in (RT_TABLE_LOCAL, RT_TABLE_MAIN):
        tb = net.ipv4.get_table(table_id)
        assert tb is not None
        for route in tb.routes():
            if route.magic and route.uses_dev(dev) and _magic_key(route) not in wanted:
                tb.remove(route)
    if not inet_addr_is_local(net, ifa.local):
        fib_sync_down_addr(net, ifa.local)


def fib_sync_down_addr(net: Net, local: int) -> None:
    """Routes whose preferred source was a now-gone local address go too."""
    for tb in net.ipv4.all_tables():
        for route in tb.routes():
            if route.prefsrc == local:
                tb.remove(route)


def fib_sync_down_dev(dev: NetDevice, force: bool) -> None:
    """A device went down (or away, ``force``): routes through it die.

    On a plain down, next hops of host scope (local addresses) survive, as in
    Linux's fib_sync_down_dev; a route dies when all its next hops are dead.
    """
    net = dev.net
    if net.ipv4 is None or net.ipv4.tables is None:
        return
    for tb in net.ipv4.all_tables():
        for route in tb.routes():
            if not route.uses_dev(dev):
                continue
            dead = [nh for nh in route.nhs
                    if nh.dev is dev and (force or nh.scope != RT_SCOPE_NOWHERE)]
            if len(dead) == len(route.nhs):
                tb.remove(route)
            elif dead:
                for nh in dead:
                    nh.flags |= RTNH_F_DEAD


def inet_addr_type(net: Net, addr: int, dev: NetDevice | None = None) -> int:
    """What ``addr`` is to this namespace, from the local table."""
    tb = net.ipv4.get_table(RT_TABLE_LOCAL)
    assert tb is not None
    route = tb.lookup(addr, oif=dev)
    if route is not None and route.type in (RTN_LOCAL, RTN_BROADCAST):
        return route.type
    return RTN_UNICAST


def inet_addr_is_local(net: Net, addr: int) -> bool:
    return inet_addr_type(net, addr) == RTN_LOCAL


# -- user routes -------------------------------------------------------------------


def _check_nh(net: Net, cfg: RouteConfig, nhc: NexthopConfig) -> FibNexthop:
    """fib_check_nh: resolve and validate one next hop."""
    from ..dev.netdevice import IFF_UP
    from .route import fib_lookup

    dev = nhc.dev
    if nhc.gw:
        if nhc.onlink:
            if cfg.scope >= RT_SCOPE_LINK:
                raise einval("Nexthop has invalid scope")
            if dev is None:
                raise KernelError(errno.ENODEV, "Nexthop device required for onlink")
            if not dev.flags & IFF_UP:
                raise KernelError(errno.ENETDOWN, "Nexthop device is not up")
            if inet_addr_type(net, nhc.gw, dev) != RTN_UNICAST:
                raise einval("Nexthop has invalid gateway")
            nh = FibNexthop(nhc.gw, dev, RTNH_F_ONLINK, nhc.weight)
            return nh
        scope = max(cfg.scope + 1, RT_SCOPE_LINK)
        res: FibRoute | None = None
        if cfg.table and cfg.table != RT_TABLE_MAIN:
            tb = net.ipv4.get_table(cfg.table)
            if tb is not None:
                res = tb.lookup(nhc.gw, scope, oif=dev)
        if res is None:
            try:
                res = fib_lookup(net, nhc.gw, scope=scope, oif=dev)
            except KernelError:
                res = None
        if res is None or res.type not in (RTN_UNICAST, RTN_LOCAL):
            raise einval("Nexthop has invalid gateway")
        out_dev = next((nh.dev for nh in res.nhs if dev is None or nh.dev is dev), None)
        if out_dev is None:
            raise einval("No egress device for nexthop gateway")
        if not out_dev.flags & IFF_UP:
            raise KernelError(errno.ENETDOWN, "Nexthop device is not up")
        nh = FibNexthop(nhc.gw, out_dev, 0, nhc.weight)
        nh.scope = res.scope
        return nh
    if nhc.onlink:
        raise einval("Invalid flags for nexthop - PERVASIVE and ONLINK can not be set")
    if dev is None or dev.ip_ptr is None:
        raise KernelError(errno.ENODEV)
    if not dev.flags & IFF_UP:
        raise KernelError(errno.ENETDOWN, "Device for nexthop is not up")
    return FibNexthop(0, dev, 0, nhc.weight)


def _build_route(net: Net, cfg: RouteConfig) -> FibRoute:
    """fib_create_info: a validated route, not yet in any table."""
    if cfg.plen > 32:
        raise einval("Invalid prefix length")
    if cfg.dst & ~mask(cfg.plen) & 0xFFFFFFFF:
        raise einval("Invalid prefix for given prefix length")
    if cfg.scope > RT_SCOPE_HOST:
        raise einval("Invalid scope")
    route = FibRoute(cfg.table, cfg.dst, cfg.plen, cfg.type, tos=cfg.tos, protocol=cfg.protocol,
                     scope=cfg.scope, priority=cfg.priority, prefsrc=cfg.prefsrc,
                     metrics=cfg.metrics)
    if cfg.type in ERROR_TYPES:
        if cfg.nhs:
            raise einval("Gateway, device and multipath can not be specified for this route type")
        return route
    if not cfg.nhs:
        raise KernelError(errno.ENODEV)
    if cfg.scope == RT_SCOPE_HOST:
        if len(cfg.nhs) != 1:
            raise einval("Route with host scope can not have multiple nexthops")
        nhc = cfg.nhs[0]
        if nhc.gw:
            raise einval("Route with host scope can not have a gateway")
        if nhc.dev is None:
            raise KernelError(errno.ENODEV)
        nh = FibNexthop(0, nhc.dev, 0, nhc.weight)
        nh.scope = RT_SCOPE_NOWHERE
        route.nhs = [nh]
    else:
        route.nhs = [_check_nh(net, cfg, nhc) for nhc in cfg.nhs]
    if cfg.prefsrc and not _valid_prefsrc(net, cfg):
        raise einval("Invalid prefsrc address")
    return route


def _valid_prefsrc(net: Net, cfg: RouteConfig) -> bool:
    if cfg.type == RTN_LOCAL and cfg.dst and cfg.prefsrc == cfg.dst:
        return True
    return inet_addr_is_local(net, cfg.prefsrc)


def route_add(net: Net, cfg: RouteConfig, *, replace: bool = False, append: bool = False,
              excl: bool = True, create: bool = True) -> None:
    """``ip route add/replace/append/prepend/change`` (fib_table_insert)."""
    route = _build_route(net, cfg)
    tb = net.ipv4.get_table(cfg.table)
    if tb is None and not create:
        raise KernelError(errno.ESRCH)
    aliases = tb.aliases(cfg.dst, cfg.plen) if tb is not None else []
    match = next((r for r in aliases if r.tos == cfg.tos and r.priority == cfg.priority), None)
    if match is not None:
        if replace:
            assert tb is not None
            tb.replace(match, route)
            return
        if excl:
            raise KernelError(errno.EEXIST)
        if any(r.same_info(route) and r.tos == cfg.tos for r in aliases):
            raise KernelError(errno.EEXIST)
    elif not create:
        raise KernelError(errno.ENOENT)
    tb = net.ipv4.get_table(cfg.table, create=True)
    assert tb is not None
    tb.insert(route, append=append)


def route_delete(net: Net, cfg: RouteConfig, type_given: bool, scope_given: bool,
                 proto_given: bool) -> None:
    """``ip route del`` (fib_table_delete): the first route matching what is given."""
    tb = net.ipv4.get_table(cfg.table)
    if tb is None:
        raise KernelError(errno.ESRCH)
    if cfg.dst & ~mask(cfg.plen) & 0xFFFFFFFF:
        raise einval("Invalid prefix for given prefix length")
    for route in tb.aliases(cfg.dst, cfg.plen):
        if route.tos != cfg.tos:
            continue
        if type_given and route.type != cfg.type:
            continue
        if scope_given and route.scope != cfg.scope:
            continue
        if cfg.prefsrc and route.prefsrc != cfg.prefsrc:
            continue
        if proto_given and route.protocol != cfg.protocol:
            continue
        if cfg.priority and route.priority != cfg.priority:
            continue
        if not _nh_match(route, cfg):
            continue
        tb.remove(route)
        return
    raise KernelError(errno.ESRCH)


def _nh_match(route: FibRoute, cfg: RouteConfig) -> bool:
    if not cfg.nhs:
        return True
    if len(cfg.nhs) == 1:
        nhc = cfg.nhs[0]
        for nh in route.nhs[:1]:
            if nhc.dev is not None and nh.dev is not nhc.dev:
                return False
            if nhc.gw and nh.gw != nhc.gw:
                return False
        return bool(route.nhs) or (nhc.dev is None and not nhc.gw)
    if len(cfg.nhs) != len(route.nhs):
        return False
    return all((c.gw == n.gw and (c.dev is None or c.dev is n.dev))
               for c, n in zip(cfg.nhs, route.nhs, strict=True))
