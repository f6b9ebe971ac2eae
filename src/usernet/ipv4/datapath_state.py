"""Per-namespace IPv4 data-path state, made by the namespace's first packet.

Linux keeps these in ``struct netns_ipv4`` and its MIBs: the inet_peer tree
(per-destination ICMP and redirect rate limits), the fragment queues, raw
sockets, the IP ID generator and the SNMP counters.  None of it exists for a
namespace that never carries a packet, so 100,000 idle namespaces stay cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..sysctl_defaults import NET_DEFAULTS

if TYPE_CHECKING:
    from ..net import Net
    from .fnhe import FibNhException
    from .ip_fragment import IpFragQueues
    from .raw import RawSocket

# Counters named as in /proc/net/snmp (Ip:, Icmp:) and /proc/net/netstat.
SNMP_NAMES = (
    "InReceives", "InHdrErrors", "InAddrErrors", "ForwDatagrams", "InUnknownProtos",
    "InDiscards", "InDelivers", "OutRequests", "OutDiscards", "OutNoRoutes",
    "ReasmTimeout", "ReasmReqds", "ReasmOKs", "ReasmFails", "FragOKs", "FragFails",
    "FragCreates", "InNoRoutes", "InTruncatedPkts", "InCsumErrors", "InMartians",
    "IcmpInMsgs", "IcmpInErrors", "IcmpOutMsgs", "IcmpOutRateLimitGlobal",
    "IcmpOutRateLimitHost", "UdpNoPorts", "UdpInErrors", "UdpInDatagrams",
    "UdpOutDatagrams", "UdpRcvbufErrors", "UdpSndbufErrors", "UdpInCsumErrors",
    "UdpIgnoredMulti", "UdpMemErrors",
)


class InetPeer:
    """inet_peer: what this namespace remembers about one remote address."""

    __slots__ = ("n_redirects", "rate_last", "rate_tokens", "redirect_last")

    def __init__(self, jiffies: int) -> None:
        self.rate_tokens = 0
        # "60*HZ is arbitrary, but chosen enough high so that first calls to
        # inet_peer_xrlim_allow() return true" (inet_getpeer)
        self.rate_last = jiffies - 60 * 250
        self.n_redirects = 0
        self.redirect_last = 0


class IPv4Datapath:
    __slots__ = ("fnhe", "frags", "icmp_credit", "icmp_stamp", "mib", "peers", "raw_socks")

    def __init__(self, net: Net) -> None:
        self.peers: dict[int, InetPeer] = {}
        self.frags: IpFragQueues | None = None
        self.fnhe: dict[tuple[int, int], FibNhException] = {}  # see fnhe.py
        self.raw_socks: list[RawSocket] = []
        self.mib: dict[str, int] = dict.fromkeys(SNMP_NAMES, 0)
        self.icmp_credit = -1  # icmp_global_allow's bucket, filled on first use
        self.icmp_stamp = 0

    def peer(self, addr: int, jiffies: int) -> InetPeer:
        p = self.peers.get(addr)
        if p is None:
            if len(self.peers) >= 65536:  # inet_peer GC: forget the oldest
                self.peers.pop(next(iter(self.peers)))
            p = self.peers[addr] = InetPeer(jiffies)
        return p


def ipv4_dp(net: Net) -> IPv4Datapath:
    dp = net.ipv4.dp
    if dp is None:
        dp = net.ipv4.dp = IPv4Datapath(net)
    return dp


def jiffies(net: Net) -> int:
    """The kernel's jiffies at HZ=250 (the recording kernel's tick rate)."""
    return net.kernel.sched.now // 4_000_000


def sysctl_int(net: Net, key: str) -> int:
    """A plain per-namespace integer sysctl (net.ipv4.icmp_ratelimit, ...)."""
    own: dict[str, Any] | None = net.sysctls
    if own is not None and key in own:
        return int(own[key])
    value = _DEFAULT_INTS.get(key)
    if value is None:
        value = _DEFAULT_INTS[key] = int(NET_DEFAULTS[key])
    return value


_DEFAULT_INTS: dict[str, int] = {}
