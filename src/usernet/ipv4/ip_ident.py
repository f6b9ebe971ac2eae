"""IPv4 header IDs, as ip_select_ident_segs chooses them (include/net/ip.h).

* A socket connected to a peer (``inet_daddr`` set) numbers its packets
  itself: UDP takes ``++inet_id`` (the counter starts at a random value
  when the socket connects), TCP its own way (tcp_output.py).
* A packet that must not be fragmented -- DF set, and a socket whose
  pmtudisc mode does not let the stack ignore DF (``IP_PMTUDISC_DO``,
  ``PROBE``, ``INTERFACE``) -- carries ID 0.
* Everything else takes the "big hammer", __ip_select_ident: a counter
  per hash bucket of (daddr, saddr, protocol, namespace), shared by the
  whole kernel, which jumps ahead by a random amount below the number of
  jiffies since the bucket was last used (ip_idents_reserve), so that an
  observer cannot count the packets sent in between.  That covers UDP
  with the default ``IP_PMTUDISC_WANT`` (DF set, yet ignorable), raw
  sockets (ping) and ICMP errors and replies.

The randoms come from a generator of their own, seeded from the kernel's
seed, so that adding them changed no other random choice of a run.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ..jhash import jhash_3words
from .datapath_state import jiffies

if TYPE_CHECKING:
    from ..net import Net

IP_IDENTS_BUCKETS = 2048  # a power of two; the kernel sizes it by memory
IP_PMTUDISC_DO = 2
IP_PMTUDISC_OMIT = 5


def inet_next_id(sk: Any) -> int:
    """A connected socket's next ID: ``++inet_id`` (atomic_add_return)."""
    ident: int = (sk.inet_id + 1) & 0xFFFF
    sk.inet_id = ident
    return ident


def ip_sk_ignore_df(pmtudisc: int) -> bool:
    """ip_sk_ignore_df: modes below DO (and OMIT) let DF be ignored."""
    return pmtudisc < IP_PMTUDISC_DO or pmtudisc == IP_PMTUDISC_OMIT


class IpIdents:
    """The kernel's ip_idents and ip_tstamps arrays, and the hash secrets."""

    __slots__ = ("hash_mix", "hashrnd", "idents", "rng", "tstamps")

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"ip-idents-{seed}")
        self.hashrnd = self.rng.getrandbits(32)
        self.idents: dict[int, int] = {}  # bucket -> next ID (random at boot)
        self.tstamps: dict[int, int] = {}  # bucket -> jiffies of its last use
        self.hash_mix: dict[int, int] = {}  # net cookie -> net_hash_mix

    def select(self, net: Net, daddr: int, saddr: int, proto: int, segs: int = 1) -> int:
        """__ip_select_ident: the ID of the first of ``segs`` packets."""
        return self.take(net, self.bucket(net, daddr, saddr, proto), segs)

    def bucket(self, net: Net, daddr: int, saddr: int, proto: int) -> int:
        """The bucket of a flow (a pure function of it: callers may keep it)."""
        mix = self.hash_mix.get(net.cookie)
        if mix is None:
            mix = self.hash_mix[net.cookie] = self.rng.getrandbits(32)
        return jhash_3words(daddr, saddr, proto ^ mix, self.hashrnd) & (IP_IDENTS_BUCKETS - 1)

    def take(self, net: Net, bucket: int, segs: int = 1) -> int:
        """ip_idents_reserve: ``segs`` IDs from ``bucket``; the first."""
        ident = self.idents.get(bucket)
        if ident is None:
            ident = self.rng.getrandbits(32)
        now = jiffies(net)
        old = self.tstamps.get(bucket, 0)
        delta = 0
        if old != now:
            self.tstamps[bucket] = now
            if now > old:
                delta = self.rng.randrange(now - old)
        ident = (ident + delta) & 0xFFFFFFFF
        self.idents[bucket] = (ident + segs) & 0xFFFFFFFF
        return ident & 0xFFFF


def ip_select_ident(net: Net, daddr: int, saddr: int, proto: int, df: bool,
                    pmtudisc: int, sk: Any = None) -> int:
    """ip_select_ident_segs for one packet sent on ``sk`` (a UDP or raw
    socket, the control socket, or None)."""
    if sk is not None and sk.daddr:
        return inet_next_id(sk)
    if df and not ip_sk_ignore_df(pmtudisc):
        return 0
    return net.kernel.ip_idents.select(net, daddr, saddr, proto)
