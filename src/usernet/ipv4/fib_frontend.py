"""The FIB's front end (``net/ipv4/fib_frontend.c``, ``fib_semantics.c``,
``fib_trie.c`` insert/delete): adding and deleting routes with Linux's
checks in Linux's order, dumps, the kernel routes that addresses bring
(``fib_magic``), and what device events do to routes.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import KernelError, einval
from .devinet import IFA_F_NOPREFIXROUTE, InIfAddr
from .fib import (
    FIB_LOOKUP_IGNORE_LINKSTATE,
    RT_SCOPE_HOST,
    RT_SCOPE_LINK,
    RT_SCOPE_NOWHERE,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTAX_ADVMSS,
    RTAX_CC_ALGO,
    RTAX_FEATURE_MASK,
    RTAX_FEATURES,
    RTAX_HOPLIMIT,
    RTAX_MAX,
    RTAX_MTU,
    RTN_ANYCAST,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_MAX,
    RTN_MULTICAST,
    RTN_UNICAST,
    RTNH_F_DEAD,
    RTNH_F_LINKDOWN,
    RTNH_F_ONLINK,
    RTPROT_BOOT,
    RTPROT_KERNEL,
    TYPE_ERRNO,
    TYPE_SCOPE,
    FibNexthop,
    FibRoute,
    FibTable,
    Flow,
    Metrics,
    fib_get_table,
    fib_new_table,
    fib_tables,
    table_lookup,
)
from .inet import is_lbcast, is_multicast, is_zeronet, mask

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

# netlink request flags (NLM_F_*) that decide add/replace/append/change
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800

ERROR_TYPES = tuple(TYPE_ERRNO)


@dataclass
class NexthopConfig:
    """One struct rtnexthop of RTA_MULTIPATH (or the single next hop)."""

    gw: int = 0
    dev: NetDevice | None = None
    onlink: bool = False
    weight: int = 1


@dataclass
class RouteConfig:
    """An RTM_NEWROUTE/RTM_DELROUTE request (struct fib_config).

    ``type`` 0, ``protocol`` 0 and ``scope`` RT_SCOPE_NOWHERE mean 'any' to a
    delete, as in Linux; ``nhs`` with more than one entry is RTA_MULTIPATH.
    """

    dst: int = 0
    plen: int = 0
    table: int = RT_TABLE_MAIN
    type: int = RTN_UNICAST
    protocol: int = RTPROT_BOOT
    scope: int = 0
    tos: int = 0
    priority: int = 0
    prefsrc: int = 0
    nhs: list[NexthopConfig] | None = None
    multipath: bool = False
    metrics: Metrics | None = None
    flags: int = 0  # rtm_flags (RTNH_F_ONLINK)
    nlflags: int = NLM_F_CREATE | NLM_F_EXCL

    @property
    def oif(self) -> NetDevice | None:
        return self.nhs[0].dev if self.nhs and not self.multipath else None

    @property
    def gw(self) -> int:
        return self.nhs[0].gw if self.nhs and not self.multipath else 0


# -- tables and dumps ----------------------------------------------------------------


def route_dump(net: Net, table_id: int = 0) -> list[FibRoute]:
    """RTM_GETROUTE dump: every route of one table, or of all (``table_id`` 0)."""
    if table_id:
        tb = fib_get_table(net, table_id)
        if tb is None:
            raise KernelError(errno.ENOENT, "ipv4: FIB table does not exist")
        return tb.routes()
    return [r for tb in fib_tables(net) for r in tb.routes()]


def route_flags(route: FibRoute) -> int:
    """rtm_flags of a dumped route (fib_dump_info): a single next hop's own
    flags, or the route's flags plus linkdown when every path is down."""
    if len(route.nhs) == 1:
        return route.nh.report_flags() if route.nh is not None else 0
    flags = route.flags & ~(RTNH_F_DEAD | RTNH_F_LINKDOWN)
    if route.nhs and all(nh.linkdown() for nh in route.nhs):
        flags |= RTNH_F_LINKDOWN
    return flags


# -- building a route (fib_create_info) ------------------------------------------------


def _metrics_init(metrics: Metrics | None) -> Metrics | None:
    """ip_fib_metrics_init(): validate, clamp, and drop zero values (Linux
    neither stores nor reports a zero metric)."""
    if not metrics:
        return None
    out: Metrics = {}
    for key, value in metrics.items():
        if key > RTAX_MAX or key < 1:
            raise einval()
        if key == RTAX_CC_ALGO:
            if value:
                out[key] = value
            continue
        assert isinstance(value, int)
        if key == RTAX_FEATURES and value & ~RTAX_FEATURE_MASK:
            raise einval("Unknown flag set in feature mask in metrics attribute")
        clamp = {RTAX_ADVMSS: 65535 - 40, RTAX_MTU: 65535 - 15, RTAX_HOPLIMIT: 255}.get(key)
        if clamp is not None:
            value = min(value, clamp)
        if value:
            out[key] = value
    return out or None


def _check_request(cfg: RouteConfig) -> None:
    """rtm_to_fib_config() refusals."""
    if cfg.tos & 3:
        raise einval("Invalid dsfield (tos): ECN bits must be 0")
    if cfg.type > RTN_MAX:
        raise einval("Invalid route type")


def _check_key(cfg: RouteConfig) -> None:
    """fib_valid_key_len()."""
    if cfg.plen > 32:
        raise einval("Invalid prefix length")
    if cfg.dst & ~mask(cfg.plen) & 0xFFFFFFFF:
        raise einval("Invalid prefix for given prefix length")


def _build_route(net: Net, cfg: RouteConfig) -> FibRoute:
    """fib_create_info(): a validated route, not yet in any table."""
    if TYPE_SCOPE.get(cfg.type, RT_SCOPE_NOWHERE) > cfg.scope:
        raise einval("Invalid scope")
    if cfg.flags & (RTNH_F_DEAD | RTNH_F_LINKDOWN):
        raise einval("Invalid rtm_flags - can not contain DEAD or LINKDOWN")
    if cfg.multipath and not cfg.nhs:
        raise einval("Invalid nexthop configuration - no valid nexthops")
    route = FibRoute(cfg.table, cfg.dst, cfg.plen, cfg.type, tos=cfg.tos,
                     protocol=cfg.protocol, scope=cfg.scope, priority=cfg.priority,
                     prefsrc=cfg.prefsrc, metrics=_metrics_init(cfg.metrics), flags=cfg.flags)
    nhcs = cfg.nhs or [NexthopConfig(onlink=bool(cfg.flags & RTNH_F_ONLINK))]
    if cfg.type in ERROR_TYPES:
        if cfg.nhs and (cfg.multipath or cfg.gw or cfg.oif is not None):
            raise einval("Gateway, device and multipath can not be specified for this route type")
        return route
    if cfg.type not in (RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST, RTN_MULTICAST):
        raise einval("Invalid route type")
    if cfg.scope > RT_SCOPE_HOST:
        raise einval("Invalid scope")
    if cfg.scope == RT_SCOPE_HOST:
        route.nhs = [_host_nh(nhcs)]
    else:
        route.nhs = [_check_nh(net, cfg, nhc) for nhc in nhcs]
    if cfg.prefsrc and not _valid_prefsrc(net, cfg):
        raise einval("Invalid prefsrc address")
    return route


def _host_nh(nhcs: list[NexthopConfig]) -> FibNexthop:
    if len(nhcs) != 1:
        raise einval("Route with host scope can not have multiple nexthops")
    nhc = nhcs[0]
    if nhc.gw:
        raise einval("Route with host scope can not have a gateway")
    if nhc.dev is None:
        raise KernelError(errno.ENODEV)
    nh = FibNexthop(0, nhc.dev, RTNH_F_ONLINK if nhc.onlink else 0, nhc.weight)
    nh.scope = RT_SCOPE_NOWHERE
    return nh


def _check_nh(net: Net, cfg: RouteConfig, nhc: NexthopConfig) -> FibNexthop:
    """fib_check_nh(): resolve and validate one next hop."""
    if nhc.gw:
        if nhc.onlink:
            return _check_onlink(net, cfg, nhc)
        return _check_gw(net, cfg, nhc)
    if nhc.onlink:
        raise einval("Invalid flags for nexthop - PERVASIVE and ONLINK can not be set")
    dev = nhc.dev
    if dev is None or dev.ip_ptr is None:
        raise KernelError(errno.ENODEV)
    from ..dev.netdevice import IFF_UP

    if not dev.flags & IFF_UP:
        raise KernelError(errno.ENETDOWN, "Device for nexthop is not up")
    return FibNexthop(0, dev, 0, nhc.weight)


def _check_onlink(net: Net, cfg: RouteConfig, nhc: NexthopConfig) -> FibNexthop:
    from ..dev.netdevice import IFF_UP

    dev = nhc.dev
    if cfg.scope >= RT_SCOPE_LINK:
        raise einval("Nexthop has invalid scope")
    if dev is None:
        raise KernelError(errno.ENODEV, "Nexthop device required for onlink")
    if not dev.flags & IFF_UP:
        raise KernelError(errno.ENETDOWN, "Nexthop device is not up")
    if inet_addr_type(net, nhc.gw, dev) != RTN_UNICAST:
        raise einval("Nexthop has invalid gateway")
    nh = FibNexthop(nhc.gw, dev, RTNH_F_ONLINK, nhc.weight)
    nh.scope = RT_SCOPE_LINK
    return nh


def _check_gw(net: Net, cfg: RouteConfig, nhc: NexthopConfig) -> FibNexthop:
    """fib_check_nh_v4_gw(): the gateway must be reachable by a link-scope
    route (of the route's own table first, then through the rules)."""
    from ..dev.netdevice import IFF_UP
    from .route import fib_lookup

    flow = Flow(nhc.gw, scope=max(cfg.scope + 1, RT_SCOPE_LINK),
                oif=nhc.dev.ifindex if nhc.dev is not None else 0)
    res = None
    tb = fib_get_table(net, cfg.table) if cfg.table != RT_TABLE_MAIN else None
    if tb is not None:
        try:
            res = table_lookup([tb], flow, FIB_LOOKUP_IGNORE_LINKSTATE)
        except KernelError:
            res = None
    if res is None:
        try:
            res = fib_lookup(net, flow, FIB_LOOKUP_IGNORE_LINKSTATE)
        except KernelError:
            raise einval("Nexthop has invalid gateway") from None
    if res.type not in (RTN_UNICAST, RTN_LOCAL):
        raise einval("Nexthop has invalid gateway")
    dev = res.nh.dev if res.nh is not None else None
    if dev is None:
        raise einval("No egress device for nexthop gateway")
    if not dev.flags & IFF_UP:
        raise KernelError(errno.ENETDOWN)
    nh = FibNexthop(nhc.gw, dev, 0, nhc.weight)
    nh.scope = res.route.scope
    return nh


def _valid_prefsrc(net: Net, cfg: RouteConfig) -> bool:
    """fib_valid_prefsrc(): a local address of the route's table or of local."""
    if cfg.type == RTN_LOCAL and cfg.dst and cfg.prefsrc == cfg.dst:
        return True
    tb_id = RT_TABLE_LOCAL if cfg.table == RT_TABLE_MAIN else cfg.table
    if _addr_type_table(net, cfg.prefsrc, tb_id) == RTN_LOCAL:
        return True
    return (tb_id != RT_TABLE_LOCAL
            and _addr_type_table(net, cfg.prefsrc, RT_TABLE_LOCAL) == RTN_LOCAL)


# -- adding (fib_table_insert) ---------------------------------------------------------


def inet_rtm_newroute(net: Net, cfg: RouteConfig) -> None:
    """``ip route add/change/replace/prepend/append``.  As in Linux the table
    is created before the route is validated, so a refused route still leaves
    its (empty) table behind; nothing else changes."""
    _check_request(cfg)
    tb = fib_new_table(net, cfg.table)
    _check_key(cfg)
    route = _build_route(net, cfg)
    _table_insert(tb, route, cfg.nlflags)


def _table_insert(tb: FibTable, route: FibRoute, nlflags: int) -> None:
    aliases = tb.aliases(route.dst, route.plen)
    group = [i for i, r in enumerate(aliases)
             if r.tos == route.tos and r.priority == route.priority]
    if group:
        _insert_existing(tb, aliases, group, route, nlflags)
        return
    if not nlflags & NLM_F_CREATE:
        raise KernelError(errno.ENOENT)
    tb.insert(route)


def _insert_existing(tb: FibTable, aliases: list[FibRoute], group: list[int],
                     route: FibRoute, nlflags: int) -> None:
    """Same prefix, TOS and metric exist already: replace, append or refuse."""
    if nlflags & NLM_F_EXCL:
        raise KernelError(errno.EEXIST)
    first = aliases[group[0]]
    match = next((aliases[i] for i in group
                  if aliases[i].type == route.type and aliases[i].same_info(route)), None)
    if nlflags & NLM_F_REPLACE:
        if match is not None:
            if match is not first:
                raise KernelError(errno.EEXIST)
            return
        tb.replace(first, route)
        return
    if match is not None:
        raise KernelError(errno.EEXIST)
    if not nlflags & NLM_F_CREATE:
        raise KernelError(errno.ENOENT)
    tb.insert_at(route, group[-1] + 1 if nlflags & NLM_F_APPEND else group[0])


# -- deleting (fib_table_delete) --------------------------------------------------------


def inet_rtm_delroute(net: Net, cfg: RouteConfig) -> None:
    """``ip route del``: the first route of the prefix matching all that is given."""
    _check_request(cfg)
    tb = fib_get_table(net, cfg.table)
    if tb is None:
        raise KernelError(errno.ESRCH, "FIB table does not exist")
    _check_key(cfg)
    metrics = cfg.metrics or None
    for route in tb.aliases(cfg.dst, cfg.plen):
        if route.tos == cfg.tos and _del_match(route, cfg, metrics):
            tb.remove(route)
            return
    raise KernelError(errno.ESRCH)


def _del_match(route: FibRoute, cfg: RouteConfig, metrics: Metrics | None) -> bool:
    if cfg.type and route.type != cfg.type:
        return False
    if cfg.scope != RT_SCOPE_NOWHERE and route.scope != cfg.scope:
        return False
    if cfg.prefsrc and route.prefsrc != cfg.prefsrc:
        return False
    if cfg.protocol and route.protocol != cfg.protocol:
        return False
    if metrics and any((route.metrics or {}).get(k) != v for k, v in metrics.items()):
        return False
    return _nh_match(route, cfg)


def _nh_match(route: FibRoute, cfg: RouteConfig) -> bool:
    """fib_nh_match()."""
    if cfg.priority and cfg.priority != route.priority:
        return False
    if not cfg.multipath:
        if cfg.oif is None and not cfg.gw:
            return True
        nh = route.nh
        if nh is None:
            return False
        if cfg.oif is not None and nh.dev is not cfg.oif:
            return False
        return not cfg.gw or nh.gw == cfg.gw
    wanted = cfg.nhs or []
    if len(wanted) < len(route.nhs):
        return False  # Linux runs out of rtnexthops: -EINVAL, no match
    for nhc, nh in zip(wanted, route.nhs, strict=False):
        if nhc.dev is not None and nh.dev is not nhc.dev:
            return False
        if nhc.gw and nh.gw != nhc.gw:
            return False
    return True


def route_remove(net: Net, route: FibRoute) -> None:
    """Delete one dumped route (``ip route flush`` sends each one back)."""
    tb = fib_get_table(net, route.table)
    if tb is None or route not in tb.aliases(route.dst, route.plen):
        raise KernelError(errno.ESRCH)
    tb.remove(route)


# -- address types ----------------------------------------------------------------------


def _addr_type_table(net: Net, addr: int, tb_id: int, dev: NetDevice | None = None) -> int:
    """__inet_dev_addr_type() on one table."""
    if is_zeronet(addr) or is_lbcast(addr):
        return RTN_BROADCAST
    if is_multicast(addr):
        return RTN_MULTICAST
    from .route import tables_for_local

    if tb_id == RT_TABLE_LOCAL:
        tables = tables_for_local(net)
    else:
        tb = fib_get_table(net, tb_id)
        tables = [tb] if tb is not None else []
    if not tables:
        return RTN_UNICAST
    try:
        res = table_lookup(tables, Flow(addr))
    except KernelError:
        return RTN_UNICAST
    if dev is None or (res.nh is not None and res.nh.dev is dev):
        return res.type
    return RTN_UNICAST


def inet_addr_type(net: Net, addr: int, dev: NetDevice | None = None) -> int:
    """What ``addr`` is to this namespace (or to ``dev``), from the local table."""
    return _addr_type_table(net, addr, RT_TABLE_LOCAL, dev)


def inet_addr_is_local(net: Net, addr: int) -> bool:
    return inet_addr_type(net, addr) == RTN_LOCAL


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
        tb = fib_new_table(net, route.table)
        if any(r.same_info(route) for r in tb.aliases(route.dst, route.plen)):
            continue  # fib_magic appends; an identical route is EEXIST, ignored
        tb.insert(route, append=True)


def fib_del_ifaddr(ifa: InIfAddr) -> None:
    """Drop kernel routes of ``ifa``'s device that no remaining address needs."""
    dev = ifa.in_dev.dev
    net = dev.net
    wanted = {_magic_key(r) for other in ifa.in_dev.ifa_list for r in _magic_routes(other)}
    for table_id in (RT_TABLE_LOCAL, RT_TABLE_MAIN):
        tb = fib_get_table(net, table_id)
        if tb is None:
            continue
        for route in tb.routes():
            if route.magic and route.uses_dev(dev) and _magic_key(route) not in wanted:
                tb.remove(route)
    if not inet_addr_is_local(net, ifa.local):
        fib_sync_down_addr(net, ifa.local)


def fib_sync_down_addr(net: Net, local: int) -> None:
    """Main-table routes whose preferred source was a now-gone local address
    go too (fib_sync_down_addr marks only fib_infos of table main)."""
    tb = fib_get_table(net, RT_TABLE_MAIN)
    if tb is None:
        return
    for route in tb.routes():
        if route.prefsrc == local:
            tb.remove(route)


def fib_sync_down_dev(dev: NetDevice, force: bool) -> None:
    """A device went down (or away, ``force``): routes through it die.

    On a plain down, next hops of host scope (local addresses) survive, as in
    Linux's fib_sync_down_dev; a route dies when all its next hops are dead.
    A surviving multipath route keeps the next hop, which counts as dead
    while the device is down (:meth:`FibNexthop.down`).
    """
    net = dev.net
    for tb in fib_tables(net):
        for route in tb.routes():
            if not route.uses_dev(dev):
                continue
            alive = [nh for nh in route.nhs
                     if not (nh.dev is dev and (force or nh.scope != RT_SCOPE_NOWHERE))
                     and not nh.down()]
            if not alive:
                tb.remove(route)
            elif force:
                for nh in route.nhs:
                    if nh.dev is dev:
                        nh.flags |= RTNH_F_DEAD  # the device is gone for good
