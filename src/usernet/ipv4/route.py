"""Route resolution (``net/ipv4/route.c``): the policy-rule walk and the
output route that ``ip route get`` reports and the data path will use."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import KernelError
from .devinet import inet_select_addr
from .fib import (
    RT_SCOPE_LINK,
    RT_SCOPE_UNIVERSE,
    RT_TABLE_MAIN,
    RTN_BLACKHOLE,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_MULTICAST,
    RTN_PROHIBIT,
    RTN_THROW,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    FibRoute,
)
from .fib_rules import ACTION_ERRNO, FR_ACT_GOTO, FR_ACT_NOP, FR_ACT_TO_TBL
from .inet import is_lbcast, is_loopback, is_multicast, is_zeronet

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

ROUTE_TYPE_ERRNO = {
    RTN_BLACKHOLE: errno.EINVAL,
    RTN_UNREACHABLE: errno.EHOSTUNREACH,
    RTN_PROHIBIT: errno.EACCES,
}

RTCF_LOCAL = 0x80000000
RTCF_BROADCAST = 0x10000000
RTCF_MULTICAST = 0x20000000


def fib_lookup(net: Net, daddr: int, saddr: int = 0, *, scope: int = RT_SCOPE_UNIVERSE,
               oif: NetDevice | None = None, iif: str = "lo", mark: int = 0, tos: int = 0,
               ignore_linkstate: bool = True) -> FibRoute:
    """Walk the rules; the route found, or KernelError as Linux's fib_lookup."""
    ipv4 = net.ipv4
    oifname = oif.name if oif is not None else ""
    rules = ipv4.rules if ipv4.rules is not None else ipv4.get_rules()
    goto_pref = -1
    for rule in rules:
        if goto_pref >= 0:
            if rule.pref < goto_pref:
                continue
            goto_pref = -1
        if not rule.matches(daddr, saddr, iif, oifname, mark, tos):
            continue
        if rule.action == FR_ACT_GOTO:
            goto_pref = rule.target
            continue
        if rule.action == FR_ACT_NOP:
            continue
        if rule.action != FR_ACT_TO_TBL:
            raise KernelError(ACTION_ERRNO.get(rule.action, errno.EINVAL))
        tb = ipv4.get_table(rule.table)
        if tb is None:
            continue
        route = tb.lookup(daddr, scope, tos, oif, ignore_linkstate)
        if route is None or route.type == RTN_THROW:
            continue
        if rule.suppress_prefixlen >= 0 and route.plen <= rule.suppress_prefixlen:
            continue
        err = ROUTE_TYPE_ERRNO.get(route.type)
        if err is not None:
            raise KernelError(err)
        return route
    raise KernelError(errno.ENETUNREACH)


@dataclass
class OutputRoute:
    """What ip_route_output resolved (the rtable of a flow)."""

    type: int
    daddr: int
    saddr: int
    dev: NetDevice
    gateway: int = 0
    table: int = RT_TABLE_MAIN
    flags: int = 0


def ip_route_output(net: Net, daddr: int, saddr: int = 0, oif: NetDevice | None = None,
                    mark: int = 0, tos: int = 0) -> OutputRoute:
    """ip_route_output_key_hash_rcu: the route a locally sent packet takes."""
    from ..dev.netdevice import IFF_LOOPBACK, IFF_UP

    if saddr:
        if is_multicast(saddr) or is_lbcast(saddr) or is_zeronet(saddr):
            raise KernelError(errno.EINVAL)
        if not _is_local_addr(net, saddr):
            raise KernelError(errno.ENETUNREACH)
    if oif is not None:
        if not oif.flags & IFF_UP or oif.ip_ptr is None:
            raise KernelError(errno.ENETUNREACH)
        if is_lbcast(daddr) or (is_multicast(daddr) and daddr >> 8 == 0xE00000):
            src = saddr or inet_select_addr(oif, 0, RT_SCOPE_LINK)
            return _make(daddr, src, oif, RTN_UNICAST, 0, RT_TABLE_MAIN)
        if not saddr and not daddr:
            saddr = inet_select_addr(oif, 0, 254)
    lo = net.loopback_dev
    assert lo is not None
    if not daddr:
        daddr = saddr or 0x7F000001
        saddr = saddr or 0x7F000001
        return OutputRoute(RTN_LOCAL, daddr, saddr, lo, 0, RT_TABLE_MAIN, RTCF_LOCAL)
    try:
        res = fib_lookup(net, daddr, saddr, oif=oif, mark=mark, tos=tos,
                         ignore_linkstate=False)
    except KernelError:
        if oif is not None:
            # "Apparently, routing tables are wrong. Assume the destination is on link."
            src = saddr or inet_select_addr(oif, 0, RT_SCOPE_LINK)
            return _make(daddr, src, oif, RTN_UNICAST, 0, RT_TABLE_MAIN)
        raise
    if res.type == RTN_LOCAL:
        src = saddr or res.prefsrc or daddr
        return OutputRoute(RTN_LOCAL, daddr, src, lo, 0, res.table, RTCF_LOCAL)
    nh = next((n for n in res.nhs if oif is None or n.dev is oif), res.nhs[0])
    dev = nh.dev
    assert dev is not None
    src = saddr or res.prefsrc or inet_select_addr(dev, nh.gw, res.scope)
    if is_loopback(src) and not dev.flags & IFF_LOOPBACK:
        raise KernelError(errno.EINVAL)
    gw = nh.gw if nh.scope == RT_SCOPE_LINK and nh.gw else 0
    return _make(daddr, src, dev, res.type, gw, res.table)


def _make(daddr: int, saddr: int, dev: NetDevice, rtype: int, gw: int, table: int) -> OutputRoute:
    """__mkroute_output: broadcast and multicast get their own type and flags."""
    from ..dev.netdevice import IFF_LOOPBACK

    flags = 0
    if is_lbcast(daddr):
        rtype = RTN_BROADCAST
    elif is_multicast(daddr):
        rtype = RTN_MULTICAST
    elif is_zeronet(daddr):
        raise KernelError(errno.EINVAL)
    if dev.flags & IFF_LOOPBACK:
        flags |= RTCF_LOCAL
    if rtype == RTN_BROADCAST:
        flags |= RTCF_BROADCAST | RTCF_LOCAL
        gw = 0
    elif rtype == RTN_MULTICAST:
        flags |= RTCF_MULTICAST
    return OutputRoute(rtype, daddr, saddr, dev, gw, table, flags)


def _is_local_addr(net: Net, addr: int) -> bool:
    """__ip_dev_find: some device of this namespace has ``addr``."""
    from .fib_frontend import inet_addr_is_local

    return inet_addr_is_local(net, addr)
