"""Next-hop exceptions (``fib_nh_exception``): what a namespace learned
about single destinations from ICMP -- a smaller path MTU (Frag needed) or a
better first hop (Redirect).  They hang off the FIB next hop that routes the
destination, expire on their own, and vanish with ``ip route flush cache``.
``ip route get`` shows them as ``cache <redirected> expires 299sec`` and
``cache expires 599sec mtu 1400``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .datapath_state import ipv4_dp
from .rt_cache import rt_cache_flush

if TYPE_CHECKING:
    from ..net import Net
    from ..sched import Timer
    from .fib import FibNexthop

RT_GC_TIMEOUT_S = 300  # ip_rt_gc_timeout: how long a redirect is remembered
NSEC = 1_000_000_000


class FibNhException:
    __slots__ = ("daddr", "expires", "gw", "nh", "pmtu", "timer")

    def __init__(self, nh: FibNexthop, daddr: int) -> None:
        self.nh = nh
        self.daddr = daddr
        self.gw = 0
        self.pmtu = 0
        self.expires = 0  # virtual ns; 0: never
        self.timer: Timer | None = None


def fnhe_find(net: Net, nh: FibNexthop, daddr: int) -> FibNhException | None:
    dp = net.ipv4.dp
    if dp is None or not dp.fnhe:
        return None
    fnhe = dp.fnhe.get((id(nh), daddr))
    if fnhe is None or fnhe.nh is not nh:
        return None
    return fnhe


def update_or_create_fnhe(net: Net, nh: FibNexthop, daddr: int, gw: int, pmtu: int,
                          expires_ns: int) -> None:
    """Record a redirect (gw) or a path MTU (pmtu) for ``daddr``; each kind
    refreshes its own expiry, as update_or_create_fnhe does."""
    table = ipv4_dp(net).fnhe
    key = (id(nh), daddr)
    fnhe = table.get(key)
    if fnhe is None or fnhe.nh is not nh:
        fnhe = table[key] = FibNhException(nh, daddr)
    if gw:
        fnhe.gw = gw
    if pmtu:
        fnhe.pmtu = pmtu
    fnhe.expires = max(fnhe.expires, expires_ns)
    if fnhe.timer is not None:
        fnhe.timer.cancel()
    fnhe.timer = net.kernel.sched.call_at(fnhe.expires, _expire, net, key, fnhe)
    rt_cache_flush()


def _expire(net: Net, key: tuple[int, int], fnhe: FibNhException) -> None:
    table = ipv4_dp(net).fnhe
    if table.get(key) is fnhe:
        del table[key]
        rt_cache_flush()


def fnhe_flush(net: Net) -> None:
    """`ip route flush cache` (fnhe_genid_bump): forget every exception."""
    dp = net.ipv4.dp
    if dp is None or not dp.fnhe:
        return
    for fnhe in dp.fnhe.values():
        if fnhe.timer is not None:
            fnhe.timer.cancel()
    dp.fnhe.clear()
    rt_cache_flush()
