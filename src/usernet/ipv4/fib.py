"""FIB tables (``net/ipv4/fib_trie.c``, ``fib_semantics.c``): routes, their
order, longest-prefix-match lookup.

A table keeps one dict per prefix length (prefix -> routes), so a lookup
probes at most the prefix lengths in use.  Routes of one prefix are kept in
Linux's alias order: TOS descending, then metric ascending, then insertion.
A dump lists prefixes in ascending address order, longer prefixes first for
the same address -- the order of a walk over Linux's trie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .inet import mask

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice

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
RTN_NAMES = {
    RTN_UNICAST: "unicast", RTN_LOCAL: "local", RTN_BROADCAST: "broadcast",
    RTN_ANYCAST: "anycast", RTN_MULTICAST: "multicast", RTN_BLACKHOLE: "blackhole",
    RTN_UNREACHABLE: "unreachable", RTN_PROHIBIT: "prohibit", RTN_THROW: "throw",
    RTN_NAT: "nat",
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

# protocols (RTPROT_*)
RTPROT_UNSPEC = 0
RTPROT_REDIRECT = 1
RTPROT_KERNEL = 2
RTPROT_BOOT = 3
RTPROT_STATIC = 4

# nexthop flags (RTNH_F_*)
RTNH_F_DEAD = 1
RTNH_F_PERVASIVE = 2
RTNH_F_ONLINK = 4
RTNH_F_LINKDOWN = 16

# what a lookup hitting each route type means (fib_props[].error)
TYPE_ERRORS = {
    RTN_BLACKHOLE: "EINVAL",
    RTN_UNREACHABLE: "EHOSTUNREACH",
    RTN_PROHIBIT: "EACCES",
    RTN_THROW: "EAGAIN",
}


class FibNexthop:
    __slots__ = ("dev", "flags", "gw", "scope", "weight")

    def __init__(self, gw: int, dev: NetDevice | None, flags: int = 0, weight: int = 1) -> None:
        self.gw = gw
        self.dev = dev
        self.flags = flags
        self.weight = weight
        self.scope = RT_SCOPE_LINK if gw else RT_SCOPE_HOST

    def linkdown(self) -> bool:
        dev = self.dev
        return dev is not None and not dev.carrier

    def same(self, other: FibNexthop) -> bool:
        return (self.gw, self.dev, self.flags & RTNH_F_ONLINK, self.weight) == (
            other.gw, other.dev, other.flags & RTNH_F_ONLINK, other.weight)


class FibRoute:
    """A route: Linux's fib_alias together with its fib_info."""

    __slots__ = (
        "dst", "magic", "metrics", "nhs", "plen", "prefsrc", "priority", "protocol",
        "scope", "table", "tos", "type",
    )

    def __init__(
        self, table: int, dst: int, plen: int, rtype: int = RTN_UNICAST, *,
        tos: int = 0, protocol: int = RTPROT_BOOT, scope: int = RT_SCOPE_UNIVERSE,
        priority: int = 0, prefsrc: int = 0, nhs: list[FibNexthop] | None = None,
        metrics: dict[str, int] | None = None, magic: bool = False,
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
        self.metrics = metrics
        self.magic = magic  # added by the kernel for an address (fib_magic)

    @property
    def nh(self) -> FibNexthop | None:
        return self.nhs[0] if self.nhs else None

    def uses_dev(self, dev: NetDevice) -> bool:
        return any(nh.dev is dev for nh in self.nhs)

    def same_info(self, other: FibRoute) -> bool:
        """fib_info equality: what makes `ip route append` a duplicate."""
        return (
            self.type == other.type and self.protocol == other.protocol
            and self.scope == other.scope and self.prefsrc == other.prefsrc
            and self.priority == other.priority and self.metrics == other.metrics
            and len(self.nhs) == len(other.nhs)
            and all(a.same(b) for a, b in zip(self.nhs, other.nhs, strict=True))
        )

    def __repr__(self) -> str:
        from .inet import prefix_str

        return f"<FibRoute {RTN_NAMES.get(self.type)} {prefix_str(self.dst, self.plen)} t{self.table}>"


class FibTable:
    __slots__ = ("by_plen", "id", "plens")

    def __init__(self, table_id: int) -> None:
        self.id = table_id
        self.by_plen: dict[int, dict[int, list[FibRoute]]] = {}
        self.plens: list[int] = []  # prefix lengths in use, longest first

    def aliases(self, dst: int, plen: int) -> list[FibRoute]:
        bucket = self.by_plen.get(plen)
        if bucket is None:
            return []
        return bucket.get(dst, [])

    def insert(self, route: FibRoute, append: bool = False) -> None:
        bucket = self.by_plen.get(route.plen)
        if bucket is None:
            bucket = self.by_plen[route.plen] = {}
            self.plens = sorted(self.by_plen, reverse=True)
        routes = bucket.setdefault(route.dst, [])
        pos = 0
        for pos, other in enumerate(routes):  # noqa: B007 - pos is used after the loop
            if other.tos < route.tos:
                break
            if other.tos == route.tos and (
                other.priority > route.priority
                or (other.priority == route.priority and not append)
            ):
                break
        else:
            pos = len(routes)
        routes.insert(pos, route)

    def replace(self, old: FibRoute, new: FibRoute) -> None:
        routes = self.by_plen[old.plen][old.dst]
        routes[routes.index(old)] = new

    def remove(self, route: FibRoute) -> None:
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

    def lookup(self, daddr: int, scope: int = RT_SCOPE_UNIVERSE, tos: int = 0,
               oif: NetDevice | None = None, ignore_linkstate: bool = True) -> FibRoute | None:
        """Longest prefix match (fib_table_lookup): the route, or None."""
        for plen in self.plens:
            routes = self.by_plen[plen].get(daddr & mask(plen))
            if not routes:
                continue
            for route in routes:
                if route.tos and route.tos != tos:
                    continue
                if route.scope < scope:
                    continue
                if route.type not in (RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST,
                                      RTN_ANYCAST):
                    return route
                if route_usable(route, oif, ignore_linkstate):
                    return route
        return None


def route_usable(route: FibRoute, oif: NetDevice | None, ignore_linkstate: bool) -> bool:
    for nh in route.nhs:
        if nh.flags & RTNH_F_DEAD:
            continue
        if not ignore_linkstate and nh.linkdown():
            continue
        if oif is not None and nh.dev is not oif:
            continue
        return True
    return not route.nhs
