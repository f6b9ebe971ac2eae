"""The route cache: resolved routes reused until the configuration changes.

Linux caches input and output routes in the FIB nexthops and invalidates
them with a generation number (``rt_genid``) bumped by every change that can
alter a lookup: routes, rules, addresses, device events, sysctls.  Here each
namespace keeps a dict from the lookup key to the resolved route (or the
errno the lookup failed with); one global generation invalidates them all,
so a change costs nothing until the next lookup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..net import Net

_genid = 0
RT_CACHE_MAX = 4096  # bounded: a flood of distinct sources must not grow it forever


def rt_cache_flush() -> None:
    """rt_cache_flush(): every cached route is stale from now on."""
    global _genid
    _genid += 1


def rt_cache(net: Net) -> dict[Any, Any]:
    """The namespace's cache, emptied first if the configuration changed."""
    ipv4 = net.ipv4
    cache = ipv4.rt_cache
    if cache is None or ipv4.rt_gen != _genid or len(cache) >= RT_CACHE_MAX:
        cache = ipv4.rt_cache = {}
        ipv4.rt_gen = _genid
    return cache


def rt_cache_genid() -> int:
    return _genid
