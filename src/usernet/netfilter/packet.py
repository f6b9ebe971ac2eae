"""What the rules see of a packet, and what they answer.

:class:`PktView` is the interface between the data path and the rule engine:
the data path fills one per packet and hook from the frame, its route and its
conntrack entry, and hands it to :func:`usernet.netfilter.tables.ipt_do_table`.
Targets that change the packet (MARK, TTL, CONNMARK, the NAT targets) write
their result back into the view (``mark``, ``ttl``, ``ctmark``, ``nat``); the
data path applies it to the frame afterwards.  Nothing here touches a frame.

Addresses are host-order ``int`` (``0x0a000001`` is 10.0.0.1), ports are ints,
``tcp_flags`` is the flags byte (FIN=0x01 ... URG=0x20).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ipv4.fib import RTN_UNICAST

# -- hooks (enum nf_inet_hooks) -----------------------------------------------

NF_INET_PRE_ROUTING = 0
NF_INET_LOCAL_IN = 1
NF_INET_FORWARD = 2
NF_INET_LOCAL_OUT = 3
NF_INET_POST_ROUTING = 4
HOOK_NAMES = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")

# -- verdicts -------------------------------------------------------------------

NF_DROP = 0
NF_ACCEPT = 1
NF_STOLEN = 2
NF_QUEUE = 3
NF_REPEAT = 4
XT_CONTINUE = 0xFFFFFFFF  # a target that lets the traversal go on (LOG, MARK...)
XT_RETURN = -(NF_REPEAT + 1)  # the standard target's RETURN

# -- conntrack states (--ctstate / --state bits, xt_conntrack.h) ---------------

CT_INVALID = 1 << 0
CT_NEW = 1 << 3
CT_ESTABLISHED = 1 << 1
CT_RELATED = 1 << 2
CT_SNAT = 1 << 6
CT_DNAT = 1 << 7
CT_UNTRACKED = 1 << 8

# -- conntrack status bits (--ctstatus) ---------------------------------------

IPS_EXPECTED = 1 << 0
IPS_SEEN_REPLY = 1 << 1
IPS_ASSURED = 1 << 2
IPS_CONFIRMED = 1 << 3

# -- directions (--ctdir) --------------------------------------------------------

IP_CT_DIR_ORIGINAL = 0
IP_CT_DIR_REPLY = 1



@dataclass(slots=True)
class NatRequest:
    """What a NAT target asked for: the data path sets up the mapping.

    ``kind`` is "SNAT", "DNAT", "MASQUERADE" or "REDIRECT"; addresses and
    ports are inclusive ranges (0 means "keep"); ``flags`` are the NAT range
    flags (random, persistent, fully-random).
    """

    kind: str
    min_ip: int = 0
    max_ip: int = 0
    min_port: int = 0
    max_port: int = 0
    flags: int = 0
    base_port: int = 0


@dataclass(slots=True)
class RejectRequest:
    """REJECT's answer: ``with_`` is the --reject-with name (e.g. "tcp-reset",
    "icmp-port-unreachable"); the data path builds and sends it."""

    with_: str


@dataclass(slots=True)
class LogRequest:
    """LOG's request: the prefix, level and flags; the data path formats it."""

    prefix: str
    level: int
    flags: int


@dataclass(slots=True)
class PktView:
    """One packet at one hook, as the rules see it.

    The data path fills the first block.  ``iif``/``oif`` are device names
    ("" when there is none: no input device on OUTPUT, no output device on
    PREROUTING/INPUT).  ``ctstate`` is a ``CT_*`` bit set (``CT_UNTRACKED``
    for untracked packets, ``CT_INVALID`` when conntrack could not classify
    it), ``ctstatus`` the ``IPS_*`` bits; the ``ct*`` original/reply tuple
    fields are those of the conntrack entry, 0 when there is none.
    ``saddr_type``/``daddr_type`` are the ``RTN_*`` types of the addresses
    (what the addrtype match asks ``inet_addr_type`` for); with the
    ``--limit-iface-*`` options the data path provides the per-device answer
    through the same fields.  ``fragment`` is true for a non-first fragment
    (the ``-f`` flag); ``length`` is the IP total length.

    The second block is written by targets: ``mark``/``ctmark`` are updated in
    place, ``ttl`` too (TTL target), ``nat``, ``reject``, ``log`` and
    ``notrack`` are requests for the data path.

    The last block is the data path's own, carried from hook to hook with the
    packet: its conntrack entry and ``ctinfo`` (skb->_nfct) and its tuple.
    ``sk`` is skb->sk, the socket of a locally generated packet (OUTPUT and
    POSTROUTING; see ``ip_output``), None for any other.
    """

    # filled by the data path
    hook: int = NF_INET_LOCAL_IN
    iif: str = ""
    oif: str = ""
    saddr: int = 0
    daddr: int = 0
    proto: int = 0
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0
    tcp_options: tuple[int, ...] = ()
    icmp_type: int = 0
    icmp_code: int = 0
    length: int = 0
    ttl: int = 64
    tos: int = 0
    fragment: bool = False
    mark: int = 0
    ctstate: int = CT_UNTRACKED
    ctstatus: int = 0
    ctdir: int = IP_CT_DIR_ORIGINAL
    ctmark: int = 0
    ctexpire: int = 0
    ctproto: int = 0
    ctorigsrc: int = 0
    ctorigdst: int = 0
    ctreplsrc: int = 0
    ctrepldst: int = 0
    ctorigsrcport: int = 0
    ctorigdstport: int = 0
    ctreplsrcport: int = 0
    ctrepldstport: int = 0
    saddr_type: int = RTN_UNICAST
    daddr_type: int = RTN_UNICAST
    now_ns: int = 0
    # written by targets
    nat: NatRequest | None = None
    reject: RejectRequest | None = None
    log: list[LogRequest] | None = None
    notrack: bool = False
    # the data path's (not read by rules)
    ct: Any = None
    ctinfo: int = -1
    key: tuple[int, ...] | None = None
    sk: Any = None
