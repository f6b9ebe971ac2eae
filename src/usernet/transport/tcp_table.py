"""TCP's lookup tables (``net/ipv4/inet_hashtables.c``), shared by every namespace.

As the netns RFC asks of large hash tables, there is one of each for the
whole kernel, with the namespace as part of the key, so a lookup costs the
same whatever the number of namespaces:

* ``ehash``: (net, local addr, local port, remote addr, remote port) ->
  the connection -- a full socket, a request socket (``TCP_NEW_SYN_RECV``,
  a SYN queue entry) or a TIME_WAIT socket;
* ``bhash``: (net, port) -> :class:`BindBucket`, the sockets bound to a
  local port (including TIME_WAIT ones, which keep their port);
* ``lhash``: (net, port) -> the listening sockets of that port.

Small per-namespace TCP state -- SNMP counters, the count of TIME_WAIT
sockets, the ephemeral-port perturbation table and the hash secrets -- is
replicated in :class:`TcpNet`, made by a namespace's first TCP use and
dropped when it dies (the pernet exit also purges its TIME_WAIT sockets,
which, as in Linux, do not hold the namespace).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..net import Net

EhashKey = tuple["Net", int, int, int, int]

ehash: dict[EhashKey, Any] = {}
bhash: dict[tuple[Net, int], BindBucket] = {}
lhash: dict[tuple[Net, int], list[Any]] = {}

INET_TABLE_PERTURB_SIZE = 256

# Counters as /proc/net/snmp (Tcp:) and /proc/net/netstat (TcpExt:) name them
TCP_MIB_NAMES = (
    "ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "InSegs", "OutSegs",
    "RetransSegs", "InErrs", "OutRsts", "InCsumErrors",
    # TcpExt
    "SyncookiesSent", "SyncookiesRecv", "SyncookiesFailed", "EmbryonicRsts", "TW", "TWKilled",
    "PAWSEstab", "DelayedACKs", "ListenOverflows", "ListenDrops", "TCPRenoRecovery",
    "TCPSackRecovery", "TCPLossProbes", "TCPTimeouts", "TCPFastRetrans", "TCPSlowStartRetrans",
    "TCPLostRetransmit", "TCPAbortOnData", "TCPAbortOnClose", "TCPAbortOnTimeout",
    "TCPAbortOnLinger", "TCPAbortFailed", "TCPChallengeACK", "TCPSYNChallenge",
    "TCPTimeWaitOverflow", "TCPReqQFullDoCookies", "TCPReqQFullDrop", "TCPACKSkippedSeq",
    "TCPACKSkippedChallenge", "TCPACKSkippedTimeWait", "TCPACKSkippedSynRecv",
    "TCPACKSkippedPAWS", "TCPACKSkippedFinWait2", "TCPWinProbe", "TCPKeepAlive", "TCPOFOQueue",
    "TCPSackShifted", "TCPDSACKRecv", "TCPDSACKOldSent", "TCPDSACKOfoSent",
    "TCPZeroWindowDrop", "TCPRcvQDrop", "TCPToZeroWindowAdv", "TCPFromZeroWindowAdv",
    "TCPWantZeroWindowAdv", "TCPHystartTrainDetect", "TCPHystartDelayDetect",
    "TCPSpuriousRTOs", "TCPOrphanFailed", "TCPMemoryPressures", "BeyondWindow",
    "TCPHPHits", "TCPPureAcks", "TCPHPAcks", "TCPBacklogDrop", "DelayedACKLost",
    "TCPDSACKOfoRecv", "TCPOFODrop", "TCPOFOMerge", "TCPSACKReneging", "TCPLossUndo",
    "TCPFullUndo", "TCPDSACKUndo", "TCPPartialUndo", "TCPSACKReorder", "TCPTSReorder",
    "TCPRenoReorder", "TCPLossProbeRecovery", "PAWSActiveRejected", "OutOfWindowIcmps",
)


class BindBucket:
    """inet_bind_bucket: the sockets bound to one (namespace, port).

    ``fastreuse`` is -1 for a bucket made by connect()'s automatic bind
    (such ports are shared by connections to different destinations and
    never handed to bind(0)), else 1 while every owner allows SO_REUSEADDR
    and none listens (a bind needs no conflict check then)."""

    __slots__ = ("fastreuse", "key", "owners")

    def __init__(self, key: tuple[Net, int], fastreuse: int) -> None:
        self.key = key
        self.fastreuse = fastreuse
        self.owners: list[Any] = []

    def add(self, sk: Any) -> None:
        self.owners.append(sk)
        sk.bucket = self

    def remove(self, sk: Any) -> None:
        try:
            self.owners.remove(sk)
        except ValueError:
            return
        sk.bucket = None
        if not self.owners:
            bhash.pop(self.key, None)


class TcpNet:
    """The per-namespace part of TCP (``net->ipv4`` TCP fields and MIBs)."""

    __slots__ = (
        "cookie_secret",
        "mib",
        "orphans",
        "perturb",
        "port_secret",
        "seq_secret",
        "ts_secret",
        "tw_count",
    )

    def __init__(self, net: Net) -> None:
        rng = net.kernel.rng
        self.mib: dict[str, int] = dict.fromkeys(TCP_MIB_NAMES, 0)
        self.tw_count = 0
        self.orphans = 0
        self.perturb = [0] * INET_TABLE_PERTURB_SIZE
        self.seq_secret = rng.getrandbits(64)
        self.ts_secret = rng.getrandbits(64)
        self.port_secret = rng.getrandbits(64)
        self.cookie_secret = (rng.getrandbits(64), rng.getrandbits(64))


_tcp_nets: dict[Net, TcpNet] = {}


def tcp_net(net: Net) -> TcpNet:
    tn = _tcp_nets.get(net)
    if tn is None:
        tn = _tcp_nets[net] = TcpNet(net)
    return tn


def tcp_net_peek(net: Net) -> TcpNet | None:
    return _tcp_nets.get(net)


def tcp_net_exit(net: Net) -> None:
    """tcp_sk_exit_batch + inet_twsk_purge: TIME_WAIT sockets and whatever else
    TCP still keeps of the namespace go with it."""
    for key in [k for k in ehash if k[0] is net]:
        obj = ehash.get(key)
        if obj is not None:
            obj.purge()
    for bkey in [k for k in bhash if k[0] is net]:
        bhash.pop(bkey, None)
    for lkey in [k for k in lhash if k[0] is net]:
        lhash.pop(lkey, None)
    _tcp_nets.pop(net, None)


def sockets_of(net: Net) -> list[Any]:
    """Every connection-table entry of ``net`` (for ss-like dumps and tests)."""
    return [v for k, v in ehash.items() if k[0] is net]


def listeners_of(net: Net) -> list[Any]:
    return [sk for k, socks in lhash.items() if k[0] is net for sk in socks]
