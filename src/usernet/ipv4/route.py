"""Route resolution (``net/ipv4/route.c``): the policy-rule walk and the
routes (``rtable``) that ``ip route get`` reports and the data path uses."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from .devinet import inet_select_addr
from .fib import (
    FIB_LOOKUP_IGNORE_LINKSTATE,
    LOOPBACK_IFINDEX,
    RT_SCOPE_HOST,
    RT_SCOPE_LINK,
    RT_TABLE_DEFAULT,
    RT_TABLE_LOCAL,
    RT_TABLE_MAIN,
    RTN_BROADCAST,
    RTN_LOCAL,
    RTN_MULTICAST,
    RTN_UNICAST,
    RTN_UNREACHABLE,
    FibResult,
    FibTable,
    Flow,
    Metrics,
    fib_get_table,
    has_custom_rules,
    table_lookup,
)
from .fib_rules import (
    ACTION_ERRNO,
    FR_ACT_GOTO,
    FR_ACT_NOP,
    FR_ACT_TO_TBL,
    FibRule,
    goto_target,
    rules_of,
)
from .fnhe import fnhe_find
from .inet import is_lbcast, is_loopback, is_multicast, is_zeronet
from .rt_cache import rt_cache

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

RTCF_DOREDIRECT = 0x01000000
RTCF_REDIRECTED = 0x00040000
RTCF_BROADCAST = 0x10000000
RTCF_MULTICAST = 0x20000000
RTCF_LOCAL = 0x80000000
IGMP_ALL_HOSTS = 0xE0000001


# -- FIB lookup through the rules ---------------------------------------------------


def fib_lookup(net: Net, flow: Flow, flags: int = 0) -> FibResult:
    """fib_lookup(): the route for ``flow``, or KernelError as Linux's."""
    if has_custom_rules(net):
        return _rules_lookup(net, flow, flags)
    err = KernelError(errno.ENETUNREACH)
    main = fib_get_table(net, RT_TABLE_MAIN)
    if main is not None:
        local = fib_get_table(net, RT_TABLE_LOCAL)
        merged = [local, main] if local is not None else [main]  # one shared trie
        try:
            return table_lookup(merged, flow, flags)
        except KernelError as exc:
            err = exc
    default = fib_get_table(net, RT_TABLE_DEFAULT)
    if default is not None:
        # Linux asks default even when main answered with a reject type.
        try:
            return table_lookup([default], flow, flags)
        except KernelError as exc:
            err = exc
    if err.errno == errno.EAGAIN:
        raise KernelError(errno.ENETUNREACH)
    raise err


def _rules_lookup(net: Net, flow: Flow, flags: int) -> FibResult:
    """fib_rules_lookup(): the first rule that gives an answer decides."""
    rules = rules_of(net)
    i = 0
    while i < len(rules):
        rule = rules[i]
        i += 1
        if not rule.matches(net, flow) or rule.action == FR_ACT_NOP:
            continue
        if rule.action == FR_ACT_GOTO:
            target = goto_target(rules, rule)
            if target is not None:
                i = rules.index(target)  # the target is matched next
            continue
        res = _rule_action(net, rule, flow, flags)
        if res is not None and not _suppressed(rule, res):
            return res
    raise KernelError(errno.ENETUNREACH)


def _rule_action(net: Net, rule: FibRule, flow: Flow, flags: int) -> FibResult | None:
    """fib4_rule_action(): None means 'try the next rule' (EAGAIN)."""
    if rule.action != FR_ACT_TO_TBL:
        raise KernelError(ACTION_ERRNO.get(rule.action, errno.EINVAL))
    tb = fib_get_table(net, rule.table)
    if tb is None:
        return None
    try:
        return table_lookup([tb], flow, flags)
    except KernelError as exc:
        if exc.errno == errno.EAGAIN:
            return None
        raise


def _suppressed(rule: FibRule, res: FibResult) -> bool:
    """fib4_rule_suppress()."""
    if res.prefixlen <= rule.suppress_prefixlen:
        return True
    nh = res.nh
    return (rule.suppress_ifgroup != -1 and nh is not None and nh.dev is not None
            and nh.dev.group == rule.suppress_ifgroup)


def tables_for_local(net: Net) -> list[FibTable]:
    """The trie a 'local table' lookup walks: merged with main until rules exist."""
    local = fib_get_table(net, RT_TABLE_LOCAL)
    if local is None:
        return []
    main = fib_get_table(net, RT_TABLE_MAIN)
    if main is not None and not has_custom_rules(net):
        return [local, main]
    return [local]


# -- output routes -----------------------------------------------------------------


@dataclass(slots=True)
class OutputRoute:
    """A resolved route (struct rtable) and the flow it was made for."""

    type: int
    daddr: int
    saddr: int
    dev: NetDevice
    gateway: int = 0
    table: int = RT_TABLE_MAIN  # 0: no FIB lookup decided it
    flags: int = 0  # RTCF_*
    res: FibResult | None = None
    is_input: bool = False
    iif: int = 0
    mark: int = 0
    metrics: Metrics | None = None
    # The data path's memo: the next hop's neighbour entry (dst->neighbour);
    # checked for liveness on every use, so a stale one only costs a lookup.
    neigh: Any = None
    pmtu: int = 0  # from a next-hop exception (Frag needed)
    expires: int = 0  # virtual ns when that exception lapses; 0: none


def _apply_exception(net: Net, rt: OutputRoute) -> OutputRoute:
    """find_exception + rt_bind_exception: a learned gateway or PMTU for this
    destination overrides the FIB's."""
    res = rt.res
    if res is None or res.nh is None:
        return rt
    fnhe = fnhe_find(net, res.nh, rt.daddr)
    if fnhe is None:
        return rt
    if fnhe.gw:
        rt.gateway = fnhe.gw
        rt.flags |= RTCF_REDIRECTED
    if fnhe.pmtu:
        rt.pmtu = fnhe.pmtu
    rt.expires = fnhe.expires
    return rt


def ip_route_output(net: Net, daddr: int, saddr: int = 0, oif: NetDevice | None = None,
                    mark: int = 0, tos: int = 0) -> OutputRoute:
    """ip_route_output_key_hash_rcu(): the route a locally sent packet takes."""
    flow = Flow(daddr, saddr, tos=tos, oif=oif.ifindex if oif else 0, mark=mark)
    _check_output_saddr(net, flow)
    if oif is not None:
        early = _output_oif(net, flow, oif)
        if early is not None:
            return early
    lo = net.loopback_dev
    assert lo is not None
    if not flow.daddr:
        flow.daddr = flow.saddr = flow.saddr or 0x7F000001
        return _mkroute_output(net, None, flow, lo, RTN_LOCAL, RTCF_LOCAL, table=0)
    try:
        res = fib_lookup(net, flow)
    except KernelError:
        if oif is not None:
            # "Apparently, routing tables are wrong. Assume the destination is on link."
            flow.saddr = flow.saddr or inet_select_addr(oif, 0, RT_SCOPE_LINK)
            return _mkroute_output(net, None, flow, oif, RTN_UNICAST, 0, table=0)
        raise
    if res.type == RTN_LOCAL:
        flow.saddr = flow.saddr or res.route.prefsrc or flow.daddr
        return _mkroute_output(net, res, flow, lo, RTN_LOCAL, RTCF_LOCAL, res.table)
    nh = res.nh
    assert nh is not None and nh.dev is not None
    if not flow.saddr:
        flow.saddr = res.route.prefsrc or inet_select_addr(nh.dev, nh.gw, res.route.scope)
    return _mkroute_output(net, res, flow, nh.dev, res.type, 0, res.table)


def ip_route_output_cached(net: Net, daddr: int, saddr: int = 0, oif: NetDevice | None = None,
                           mark: int = 0, tos: int = 0) -> OutputRoute:
    """ip_route_output through the namespace's route cache (the nexthop's
    cached output dst): a repeated flow costs one dict lookup."""
    cache = rt_cache(net)
    key = ("out", daddr, saddr, oif, mark, tos)
    rt = cache.get(key)
    if rt is None:
        try:
            rt = ip_route_output(net, daddr, saddr, oif, mark, tos)
        except KernelError as exc:
            rt = exc.errno or errno.EINVAL
        cache[key] = rt
    if isinstance(rt, int):
        raise KernelError(rt)
    if rt.expires and rt.expires <= net.kernel.sched.now:
        del cache[key]  # an exception lapsed: look again
        return ip_route_output_cached(net, daddr, saddr, oif, mark, tos)
    return rt


def _check_output_saddr(net: Net, flow: Flow) -> None:
    saddr = flow.saddr
    if not saddr:
        return
    if is_multicast(saddr) or is_lbcast(saddr) or is_zeronet(saddr):
        raise KernelError(errno.EINVAL)
    if not _is_local_addr(net, saddr):
        raise KernelError(errno.ENETUNREACH)


def _output_oif(net: Net, flow: Flow, oif: NetDevice) -> OutputRoute | None:
    """The oif-specific shortcuts: local multicast and limited broadcast go
    straight out of the device."""
    from ..dev.netdevice import IFF_UP

    if not oif.flags & IFF_UP or oif.ip_ptr is None:
        raise KernelError(errno.ENETUNREACH)
    daddr = flow.daddr
    if is_lbcast(daddr) or daddr >> 8 == 0xE00000:
        flow.saddr = flow.saddr or inet_select_addr(oif, 0, RT_SCOPE_LINK)
        return _mkroute_output(net, None, flow, oif, RTN_UNICAST, 0, table=0)
    if not flow.saddr:
        if is_multicast(daddr):
            flow.saddr = inet_select_addr(oif, 0, flow.scope)
        elif not daddr:
            flow.saddr = inet_select_addr(oif, 0, RT_SCOPE_HOST)
    return None


def _mkroute_output(net: Net, res: FibResult | None, flow: Flow, dev: NetDevice, rtype: int,
                    flags: int, table: int) -> OutputRoute:
    """__mkroute_output(): broadcast and multicast get their own type and flags."""
    from ..dev.netdevice import IFF_LOOPBACK

    if dev.ip_ptr is None:
        raise KernelError(errno.EINVAL)
    if (is_loopback(flow.saddr) and not dev.flags & IFF_LOOPBACK
            and not dev.ip_ptr.conf_get("route_localnet")):
        raise KernelError(errno.EINVAL)
    daddr = flow.daddr
    use_fi = res is not None
    if is_lbcast(daddr):
        rtype = RTN_BROADCAST
        use_fi = False
    elif is_multicast(daddr):
        rtype = RTN_MULTICAST
    elif is_zeronet(daddr):
        raise KernelError(errno.EINVAL)
    if dev.flags & IFF_LOOPBACK:
        flags |= RTCF_LOCAL
    if rtype == RTN_BROADCAST:
        flags |= RTCF_BROADCAST | RTCF_LOCAL
    elif rtype == RTN_MULTICAST:
        flags |= RTCF_MULTICAST
        if _mc_joined(dev, daddr):
            flags |= RTCF_LOCAL
        if res is not None and res.prefixlen < 4:
            use_fi = False  # a default route is used without its gateway
    gw = 0
    if use_fi and res is not None and res.nh is not None:
        if res.nh.gw and res.nh.scope == RT_SCOPE_LINK:
            gw = res.nh.gw
    metrics = res.route.metrics if res is not None else None
    # rt_iif: what a looped-back packet reports as its input interface
    rt = OutputRoute(rtype, daddr, flow.saddr, dev, gw, table, flags, res, mark=flow.mark,
                     iif=flow.oif or dev.ifindex, metrics=metrics)
    return _apply_exception(net, rt) if use_fi and rtype == RTN_UNICAST else rt


def _mc_joined(dev: NetDevice, group: int) -> bool:
    """ip_check_mc_rcu(): every up IPv4 device is in the all-hosts group."""
    from ..dev.netdevice import IFF_UP

    return group == IGMP_ALL_HOSTS and bool(dev.flags & IFF_UP) and dev.ip_ptr is not None


def _is_local_addr(net: Net, addr: int) -> bool:
    """__ip_dev_find: some device of this namespace has ``addr``."""
    from .devinet import find_ifa
    from .fib_frontend import inet_addr_is_local

    # __ip_dev_find: the address hash, then the local table (127.5.6.7 is
    # local through "local 127.0.0.0/8 dev lo").
    return find_ifa(net, addr) is not None or inet_addr_is_local(net, addr)


# -- input routes (``ip route get ... iif DEV``) -------------------------------------


def ip_route_input(net: Net, daddr: int, saddr: int, dev: NetDevice, mark: int = 0,
                   tos: int = 0) -> OutputRoute:
    """ip_route_input_slow(): the route a packet received on ``dev`` takes."""
    in_dev = dev.ip_ptr
    if in_dev is None:
        raise KernelError(errno.EINVAL)
    if is_multicast(saddr) or is_lbcast(saddr):
        raise KernelError(errno.EINVAL)
    if is_lbcast(daddr) or (saddr == 0 and daddr == 0):
        return _brd_input(net, daddr, saddr, dev)
    if is_zeronet(saddr) or is_zeronet(daddr):
        raise KernelError(errno.EINVAL)
    localnet = bool(in_dev.conf_get("route_localnet")
                    or net.ipv4.devconf_all.get("route_localnet"))
    if (is_loopback(daddr) or is_loopback(saddr)) and not localnet:
        raise KernelError(errno.EINVAL)
    flow = Flow(daddr, saddr, tos=tos, iif=dev.ifindex, mark=mark)
    try:
        res = fib_lookup(net, flow)
    except KernelError as exc:
        err = exc.errno if _forwarding(dev) else errno.EHOSTUNREACH
        raise KernelError(err or errno.EINVAL) from None
    if res.type == RTN_BROADCAST:
        return _brd_input(net, daddr, saddr, dev, res)
    if res.type == RTN_LOCAL:
        validate_source(net, saddr, daddr, dev, tos)
        return _local_input(net, daddr, saddr, dev, res, RTN_LOCAL, 0)
    if not _forwarding(dev):
        raise KernelError(errno.EHOSTUNREACH)
    if res.type != RTN_UNICAST:
        raise KernelError(errno.EINVAL)
    return _mkroute_input(net, res, flow, dev)


def _forwarding(dev: NetDevice) -> bool:
    in_dev = dev.ip_ptr
    return in_dev is not None and bool(in_dev.conf_get("forwarding"))


def _brd_input(net: Net, daddr: int, saddr: int, dev: NetDevice,
               res: FibResult | None = None) -> OutputRoute:
    if saddr:
        validate_source(net, saddr, 0, dev, 0)
    return _local_input(net, daddr, saddr, dev, res, RTN_BROADCAST, RTCF_BROADCAST)


def _local_input(net: Net, daddr: int, saddr: int, dev: NetDevice, res: FibResult | None,
                 rtype: int, flags: int) -> OutputRoute:
    lo = net.loopback_dev
    assert lo is not None
    table = res.table if res is not None else 0
    return OutputRoute(rtype, daddr, saddr, lo, 0, table, flags | RTCF_LOCAL, res,
                       is_input=True, iif=dev.ifindex)


def _mkroute_input(net: Net, res: FibResult, flow: Flow, in_dev: NetDevice) -> OutputRoute:
    nh = res.nh
    assert nh is not None and nh.dev is not None
    out = nh.dev
    if out.ip_ptr is None:
        raise KernelError(errno.EINVAL)
    direct = validate_source(net, flow.saddr, flow.daddr, in_dev, flow.tos, out.ifindex)
    flags = 0
    if out is in_dev and direct and _send_redirects(out):
        flags |= RTCF_DOREDIRECT
    gw = nh.gw if nh.gw and nh.scope == RT_SCOPE_LINK else 0
    rt = OutputRoute(res.type, flow.daddr, flow.saddr, out, gw, res.table, flags, res,
                     is_input=True, iif=in_dev.ifindex, metrics=res.route.metrics)
    return _apply_exception(net, rt)


def _send_redirects(dev: NetDevice) -> bool:
    """IN_DEV_TX_REDIRECTS: IN_DEV_ORCONF -- 'all' or the device."""
    in_dev = dev.ip_ptr
    conf_all = dev.net.ipv4.devconf_all
    return in_dev is not None and bool(in_dev.conf_get("send_redirects")
                                       or conf_all.get("send_redirects"))


def validate_source(net: Net, src: int, dst: int, dev: NetDevice, tos: int,
                    oif: int = 0) -> bool:
    """fib_validate_source(): raises for a martian source; True when the
    source is directly connected (the reverse route has host scope)."""
    in_dev = dev.ip_ptr
    assert in_dev is not None
    conf_all = net.ipv4.devconf_all
    rpf = max(in_dev.conf_get("rp_filter"), conf_all.get("rp_filter", 0))
    accept_local = bool(in_dev.conf_get("accept_local") or conf_all.get("accept_local"))
    if not rpf and (dev.ifindex != oif or not _send_redirects(dev)):
        if accept_local:
            return False
        if not has_custom_rules(net):
            if _is_local_addr(net, src):
                raise KernelError(errno.EINVAL)
            return False
    return _full_validate_source(net, src, dst, dev, tos, oif, rpf, accept_local)


def _full_validate_source(net: Net, src: int, dst: int, dev: NetDevice, tos: int, oif: int,
                          rpf: int, accept_local: bool) -> bool:
    """__fib_validate_source()."""
    flow = Flow(src, dst, tos=tos, iif=oif or LOOPBACK_IFINDEX)
    try:
        res = fib_lookup(net, flow)
    except KernelError:
        if rpf:
            raise KernelError(errno.EXDEV) from None
        return False
    if res.type != RTN_UNICAST and (res.type != RTN_LOCAL or not accept_local):
        raise KernelError(errno.EINVAL)
    if res.route.uses_dev(dev) or (res.type == RTN_LOCAL and dev is net.loopback_dev):
        return res.nh is not None and res.nh.scope >= RT_SCOPE_HOST
    if dev.ip_ptr is not None and not dev.ip_ptr.ifa_list:
        if rpf:
            raise KernelError(errno.EXDEV)
        return False
    if rpf == 1:
        raise KernelError(errno.EXDEV)
    flow.oif = dev.ifindex
    try:
        res = fib_lookup(net, flow, FIB_LOOKUP_IGNORE_LINKSTATE)
    except KernelError:
        return False
    return res.type == RTN_UNICAST and res.nh is not None and res.nh.scope >= RT_SCOPE_HOST


# -- ``ip route get`` -----------------------------------------------------------------


def route_get(net: Net, daddr: int, saddr: int = 0, iif: NetDevice | None = None,
              oif: NetDevice | None = None, mark: int = 0, tos: int = 0) -> OutputRoute:
    """inet_rtm_getroute(): the input route when ``iif`` is given, else the
    output route.  Errors of the input path that are not errnos of their own
    (martians) surface as EINVAL, as Linux's drop reasons do."""
    if iif is not None:
        try:
            rt = ip_route_input(net, daddr, saddr, iif, mark, tos)
        except KernelError as exc:
            if exc.errno == errno.EXDEV:
                raise KernelError(errno.EINVAL) from None
            raise
    else:
        rt = ip_route_output(net, daddr, saddr, oif, mark, tos)
    if rt.type == RTN_UNREACHABLE:
        raise KernelError(errno.EHOSTUNREACH)
    return rt


def fib_match(rt: OutputRoute) -> FibResult:
    """RTM_F_FIB_MATCH: the FIB entry behind ``rt``, or the error Linux gives."""
    if rt.res is None:
        raise KernelError(errno.EHOSTUNREACH)
    return rt.res


__all__ = ["RTCF_BROADCAST", "RTCF_LOCAL", "RTCF_MULTICAST", "OutputRoute", "fib_lookup",
           "ip_route_input", "ip_route_output", "route_get", "tables_for_local"]
