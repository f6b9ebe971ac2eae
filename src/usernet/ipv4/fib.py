"""FIB tables (``net/ipv4/fib_trie.c``, ``fib_semantics.c``): routes, their
order, longest-prefix-match lookup.

A table keeps one dict per prefix length (prefix -> routes), so a lookup
probes at most the prefix lengths in use.  Routes of one prefix are kept in
Linux's alias order: TOS descending, then metric ascending, then insertion.
A dump lists prefixes in ascending address order, longer prefixes first for
the same address -- the order of a walk over Linux's trie.

Tables exist only once something created them (``fib_new_table``): a fresh
namespace has none at all, which is what ``ip route show table local`` sees.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import KernelError
from .inet import mask
from .rt_cache import rt_cache_flush

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net

# route types (RTN_*)
RTN_UNSPEC = 0
RTN_UNICAST = 1
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_ANYCAST = 4
RTN_MULTICAST = 5
RTN_BLACKHOLE = 6
RTN_UNREACHABLE = 7
RTN_PROHIBIT = 8
RTN_THROW = 9
RTN_NAT = 10
RTN_XRESOLVE = 11
RTN_MAX = 11
RTN_NAMES = {
    RTN_UNSPEC: "none", RTN_UNICAST: "unicast", RTN_LOCAL: "local",
    RTN_BROADCAST: "broadcast", RTN_ANYCAST: "anycast", RTN_MULTICAST: "multicast",
    RTN_BLACKHOLE: "blackhole", RTN_UNREACHABLE: "unreachable", RTN_PROHIBIT: "prohibit",
    RTN_THROW: "throw", RTN_NAT: "nat", RTN_XRESOLVE: "xresolve",
}

# scopes (RT_SCOPE_*)
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_SITE = 200
RT_SCOPE_LINK = 253
RT_SCOPE_HOST = 254
RT_SCOPE_NOWHERE = 255

# tables (RT_TABLE_*)
RT_TABLE_UNSPEC = 0
RT_TABLE_COMPAT = 252
RT_TABLE_DEFAULT = 253
RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255
RT_TABLE_MAX = 0xFFFFFFFF

# protocols (RTPROT_*)
RTPROT_UNSPEC = 0
RTPROT_REDIRECT = 1
RTPROT_KERNEL = 2
RTPROT_BOOT = 3
RTPROT_STATIC = 4

# nexthop flags (RTNH_F_*) and route message flags (RTM_F_*)
RTNH_F_DEAD = 1
RTNH_F_PERVASIVE = 2
RTNH_F_ONLINK = 4
RTNH_F_OFFLOAD = 8
RTNH_F_LINKDOWN = 16
RTNH_F_UNRESOLVED = 32
RTNH_F_TRAP = 64
RTNH_COMPARE_MASK = RTNH_F_DEAD | RTNH_F_LINKDOWN | RTNH_F_OFFLOAD | RTNH_F_TRAP
RTM_F_NOTIFY = 0x100
RTM_F_CLONED = 0x200

# route metrics (RTAX_*)
RTAX_LOCK = 1
RTAX_MTU = 2
RTAX_WINDOW = 3
RTAX_RTT = 4
RTAX_RTTVAR = 5
RTAX_SSTHRESH = 6
RTAX_CWND = 7
RTAX_ADVMSS = 8
RTAX_REORDERING = 9
RTAX_HOPLIMIT = 10
RTAX_INITCWND = 11
RTAX_FEATURES = 12
RTAX_RTO_MIN = 13
RTAX_INITRWND = 14
RTAX_QUICKACK = 15
RTAX_CC_ALGO = 16
RTAX_FASTOPEN_NO_COOKIE = 17
RTAX_MAX = 17
RTAX_FEATURE_ECN = 1
RTAX_FEATURE_MASK = 0xF

# lookup flags (FIB_LOOKUP_*)
FIB_LOOKUP_IGNORE_LINKSTATE = 2

LOOPBACK_IFINDEX = 1

# fib_props[]: the narrowest scope a type allows and what hitting it means
TYPE_SCOPE = {
    RTN_UNSPEC: RT_SCOPE_NOWHERE, RTN_UNICAST: RT_SCOPE_UNIVERSE, RTN_LOCAL: RT_SCOPE_HOST,
    RTN_BROADCAST: RT_SCOPE_LINK, RTN_ANYCAST: RT_SCOPE_LINK,
    RTN_MULTICAST: RT_SCOPE_UNIVERSE, RTN_BLACKHOLE: RT_SCOPE_UNIVERSE,
    RTN_UNREACHABLE: RT_SCOPE_UNIVERSE, RTN_PROHIBIT: RT_SCOPE_UNIVERSE,
    RTN_THROW: RT_SCOPE_UNIVERSE, RTN_NAT: RT_SCOPE_NOWHERE, RTN_XRESOLVE: RT_SCOPE_NOWHERE,
}
TYPE_ERRNO = {
    RTN_BLACKHOLE: errno.EINVAL,
    RTN_UNREACHABLE: errno.EHOSTUNREACH,
    RTN_PROHIBIT: errno.EACCES,
    RTN_THROW: errno.EAGAIN,
    RTN_NAT: errno.EINVAL,  # route NAT is gone from Linux; such routes only refuse
    RTN_XRESOLVE: errno.EINVAL,
}
TYPE_ERRORS = {t: errno.errorcode[e] for t, e in TYPE_ERRNO.items()}  # kept for old callers


Metrics = dict[int, int | str]


class FibNexthop:
    __slots__ = ("dev", "flags", "gw", "scope", "weight")

    def __init__(self, gw: int, dev: NetDevice | None, flags: int = 0, weight: int = 1) -> None:
        self.gw = gw
        self.dev = dev
        self.flags = flags
        self.weight = weight
        self.scope = RT_SCOPE_LINK if gw else RT_SCOPE_HOST

    def linkdown(self) -> bool:
        """RTNH_F_LINKDOWN: Linux sets it on every next hop of a device that
        lost carrier, except host-scope ones (local routes)."""
        dev = self.dev
        return dev is not None and self.scope != RT_SCOPE_NOWHERE and not dev.carrier

    def down(self) -> bool:
        """RTNH_F_DEAD proper: Linux sets it when the device goes down (host
        scope next hops excepted) and fib_sync_up clears it when it comes
        back, which is the device's admin state."""
        from ..dev.netdevice import IFF_UP

        dev = self.dev
        return bool(self.flags & RTNH_F_DEAD) or (
            dev is not None and self.scope != RT_SCOPE_NOWHERE and not dev.flags & IFF_UP)

    def report_flags(self) -> int:
        """fib_nexthop_info(): the flags a dump reports for this next hop."""
        flags = self.flags & (RTNH_F_ONLINK | RTNH_F_PERVASIVE)
        if self.down():
            flags |= RTNH_F_DEAD
        if self.linkdown():
            flags |= RTNH_F_LINKDOWN
            if ignore_linkdown(self.dev):
                flags |= RTNH_F_DEAD
        return flags

    def same(self, other: FibNexthop) -> bool:
        """nh_comp(): what makes two next hops equal for fib_find_info."""
        return (self.gw, self.dev, self.flags & ~RTNH_COMPARE_MASK, self.weight) == (
            other.gw, other.dev, other.flags & ~RTNH_COMPARE_MASK, other.weight)


def ignore_linkdown(dev: NetDevice | None) -> bool:
    """IN_DEV_IGNORE_ROUTES_WITH_LINKDOWN: the device's or the 'all' value."""
    if dev is None or dev.ip_ptr is None:
        return False
    if dev.ip_ptr.conf_get("ignore_routes_with_linkdown"):
        return True
    ipv4 = dev.net.ipv4
    return ipv4 is not None and bool(ipv4.devconf_all.get("ignore_routes_with_linkdown"))


class FibRoute:
    """A route: Linux's fib_alias together with its fib_info."""

    __slots__ = (
        "dst", "flags", "magic", "metrics", "nhs", "plen", "prefsrc", "priority", "protocol",
        "scope", "table", "tos", "type",
    )

    def __init__(
        self, table: int, dst: int, plen: int, rtype: int = RTN_UNICAST, *,
        tos: int = 0, protocol: int = RTPROT_BOOT, scope: int = RT_SCOPE_UNIVERSE,
        priority: int = 0, prefsrc: int = 0, nhs: list[FibNexthop] | None = None,
        metrics: Metrics | None = None, magic: bool = False, flags: int = 0,
    ) -> None:
        self.table = table
        self.dst = dst
        self.plen = plen
        self.type = rtype
        self.tos = tos
        self.protocol = protocol
        self.scope = scope
        self.priority = priority
        self.prefsrc = prefsrc
        self.nhs = nhs or []
        self.metrics = metrics or None
        self.magic = magic  # added by the kernel for an address (fib_magic)
        self.flags = flags  # fib_flags: the rtm_flags the route was added with

    @property
    def nh(self) -> FibNexthop | None:
        return self.nhs[0] if self.nhs else None

    def uses_dev(self, dev: NetDevice) -> bool:
        return any(nh.dev is dev for nh in self.nhs)

    def same_info(self, other: FibRoute) -> bool:
        """fib_find_info() equality: identical routes share one fib_info."""
        return (
            self.type == other.type and self.protocol == other.protocol
            and self.scope == other.scope and self.prefsrc == other.prefsrc
            and self.priority == other.priority and self.metrics == other.metrics
            and not (self.flags ^ other.flags) & ~RTNH_COMPARE_MASK
            and len(self.nhs) == len(other.nhs)
            and all(a.same(b) for a, b in zip(self.nhs, other.nhs, strict=True))
        )

    def __repr__(self) -> str:
        from .inet import prefix_str

        name = RTN_NAMES.get(self.type)
        return f"<FibRoute {name} {prefix_str(self.dst, self.plen)} t{self.table}>"


class FibTable:
    __slots__ = ("by_plen", "id", "plens")

    def __init__(self, table_id: int) -> None:
        self.id = table_id
        self.by_plen: dict[int, dict[int, list[FibRoute]]] = {}
        self.plens: list[int] = []  # prefix lengths in use, longest first

    def aliases(self, dst: int, plen: int) -> list[FibRoute]:
        """The routes of one prefix, in alias order (a copy)."""
        bucket = self.by_plen.get(plen)
        if bucket is None:
            return []
        return list(bucket.get(dst, ()))

    def insert_at(self, route: FibRoute, pos: int) -> None:
        rt_cache_flush()
        bucket = self.by_plen.get(route.plen)
        if bucket is None:
            bucket = self.by_plen[route.plen] = {}
            self.plens = sorted(self.by_plen, reverse=True)
        bucket.setdefault(route.dst, []).insert(pos, route)

    def insert(self, route: FibRoute, append: bool = False) -> None:
        """Insert in alias order; ``append`` puts it after equal-keyed routes."""
        rt_cache_flush()
        routes = self.aliases(route.dst, route.plen)
        pos = len(routes)
        for i, other in enumerate(routes):
            if other.tos < route.tos or (other.tos == route.tos and (
                    other.priority > route.priority
                    or (other.priority == route.priority and not append))):
                pos = i
                break
        self.insert_at(route, pos)

    def replace(self, old: FibRoute, new: FibRoute) -> None:
        routes = self.by_plen[old.plen][old.dst]
        rt_cache_flush()
        routes[routes.index(old)] = new

    def remove(self, route: FibRoute) -> None:
        rt_cache_flush()
        bucket = self.by_plen[route.plen]
        routes = bucket[route.dst]
        routes.remove(route)
        if not routes:
            del bucket[route.dst]
            if not bucket:
                del self.by_plen[route.plen]
                self.plens = sorted(self.by_plen, reverse=True)

    def routes(self) -> list[FibRoute]:
        """All routes in dump order."""
        out: list[tuple[int, int, list[FibRoute]]] = []
        for plen, bucket in self.by_plen.items():
            for dst, routes in bucket.items():
                out.append((dst, -plen, routes))
        out.sort(key=lambda item: (item[0], item[1]))
        return [r for _, _, routes in out for r in routes]

    def __len__(self) -> int:
        return sum(len(rs) for b in self.by_plen.values() for rs in b.values())


# -- tables of a namespace -------------------------------------------------------


def fib_get_table(net: Net, table_id: int) -> FibTable | None:
    """The table if it exists; never creates one."""
    tables = net.ipv4.tables
    return tables.get(table_id) if tables is not None else None


def fib_new_table(net: Net, table_id: int) -> FibTable:
    """fib_new_table(): the table, created on first use.  While the namespace
    has no custom rules the local table shares main's trie, so creating it
    creates main first."""
    ipv4 = net.ipv4
    if ipv4.tables is None:
        ipv4.tables = {}
    tb = ipv4.tables.get(table_id)
    if tb is not None:
        return tb
    if table_id == RT_TABLE_LOCAL and not has_custom_rules(net):
        fib_new_table(net, RT_TABLE_MAIN)
    tb = ipv4.tables[table_id] = FibTable(table_id)
    return tb


def fib_tables(net: Net) -> list[FibTable]:
    """Existing tables in dump order: by hash bucket (id & 255), newest first
    within a bucket, as Linux's fib_table_hash."""
    tables = net.ipv4.tables
    if not tables:
        return []
    order = list(tables.values())
    return sorted(order, key=lambda tb: (tb.id & 255, -order.index(tb)))


def has_custom_rules(net: Net) -> bool:
    """fib_has_custom_rules: set once a rule was ever added or deleted.

    Until then Linux keeps local and main merged and looks up main (then
    default) without walking rules.
    """
    return bool(net.ipv4.custom_rules)


# -- lookup ------------------------------------------------------------------------


@dataclass(slots=True)
class Flow:
    """The part of struct flowi4 a FIB lookup reads."""

    daddr: int
    saddr: int = 0
    tos: int = 0
    scope: int = RT_SCOPE_UNIVERSE
    oif: int = 0  # ifindex, 0 for any
    iif: int = LOOPBACK_IFINDEX
    mark: int = 0


@dataclass(slots=True)
class FibResult:
    """struct fib_result: the route and next hop a lookup chose."""

    route: FibRoute
    nh: FibNexthop | None
    table: int  # the table the lookup ran in (main for merged lookups)

    @property
    def type(self) -> int:
        return self.route.type

    @property
    def prefixlen(self) -> int:
        return self.route.plen


def _good_nh(nh: FibNexthop, flow: Flow, flags: int) -> bool:
    """fib_lookup_good_nhc()."""
    if nh.down():
        return False
    if (not flags & FIB_LOOKUP_IGNORE_LINKSTATE and nh.linkdown()
            and ignore_linkdown(nh.dev)):
        return False
    return not (flow.oif and (nh.dev is None or nh.dev.ifindex != flow.oif))


def table_lookup(tables: list[FibTable], flow: Flow, flags: int = 0) -> FibResult:
    """fib_table_lookup() over one trie.  ``tables`` share that trie (local
    then main while they are merged); the result reports the last, the table
    the lookup ran in.  Raises EAGAIN when nothing matches (or ``throw``) and
    the type's error for the other reject types."""
    if len(tables) == 1:
        plens = tables[0].plens
    else:
        plens = sorted({p for tb in tables for p in tb.plens}, reverse=True)
    daddr = flow.daddr
    for plen in plens:
        key = daddr & mask(plen)
        for tb in tables:
            bucket = tb.by_plen.get(plen)
            routes = bucket.get(key) if bucket is not None else None
            if not routes:
                continue
            for route in routes:
                res = _try_alias(route, flow, flags, tables[-1].id)
                if res is not None:
                    return res
    raise KernelError(errno.EAGAIN)


def _try_alias(route: FibRoute, flow: Flow, flags: int, table: int) -> FibResult | None:
    if route.tos and route.tos != flow.tos:
        return None
    if route.scope < flow.scope:
        return None
    err = TYPE_ERRNO.get(route.type)
    if err is not None:
        raise KernelError(err)
    if route.flags & RTNH_F_DEAD:
        return None
    for nh in route.nhs:
        if _good_nh(nh, flow, flags):
            return FibResult(route, nh, table)
    return None
