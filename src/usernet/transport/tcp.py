"""TCP sockets (``net/ipv4/tcp.c``, ``af_inet.c``, ``inet_connection_sock.c``).

:class:`TcpSock` is a :class:`usernet.sock.Sock` with Linux's TCP behind the
socket operations: bind/connect/listen/accept, send and receive buffers,
shutdown and close (FIN, or RST for unread data and SO_LINGER 0), poll as
``tcp_poll`` computes it, and the SOL_SOCKET / IPPROTO_TCP options.  The
protocol itself lives next to it: segment arrival in :mod:`.tcp_input`,
transmission in :mod:`.tcp_output`, timers in :mod:`.tcp_timer`, congestion
control in :mod:`.tcp_cong`, the shared lookup tables in :mod:`.tcp_table`.

Sequence numbers are kept unwrapped inside the socket (plain Python ints
that keep growing past 2**32): comparisons are ordinary ``<``; only the wire
sees them modulo 2**32, and incoming ones are unwrapped against the nearest
reference (``rcv_nxt``, ``snd_una``).

The request sockets of a listener's SYN queue (:class:`TcpRequest`) and
TIME_WAIT sockets (:class:`TcpTimeWait`) are small objects of their own, as
Linux's ``request_sock`` and ``inet_timewait_sock`` are: connection setup and
teardown stay cheap, and a TIME_WAIT socket does not hold its namespace.
"""

from __future__ import annotations

import errno
import random
import socket as _s
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from ..ipv4.datapath_state import sysctl_int
from ..ipv4.inet import is_multicast
from ..ipv4.route import RTCF_BROADCAST, RTCF_MULTICAST, ip_route_output_cached
from ..sock import (
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLPRI,
    POLLRDHUP,
    RCV_SHUTDOWN,
    SEND_SHUTDOWN,
    Address,
    Sock,
)
from ..sysctl import core_global
from ..sysctl_defaults import NET_DEFAULTS
from ..task import current_cred
from ..wait import WaitQueue, wait_event
from ..wire.ipv4 import IPPROTO_TCP
from .tcp_cong import (
    TCP_INFINITE_SSTHRESH,
    CongestionOps,
    Cubic,
    TCP_CA_Open,
    ca_create,
)
from .tcp_table import (
    BindBucket,
    TcpNet,
    bhash,
    ehash,
    lhash,
    tcp_net,
)

if TYPE_CHECKING:
    from ..ipv4.route import OutputRoute
    from ..net import Net
    from ..sched import Timer

# sk_state (include/net/tcp_states.h)
TCP_ESTABLISHED = 1
TCP_SYN_SENT = 2
TCP_SYN_RECV = 3
TCP_FIN_WAIT1 = 4
TCP_FIN_WAIT2 = 5
TCP_TIME_WAIT = 6
TCP_CLOSE = 7
TCP_CLOSE_WAIT = 8
TCP_LAST_ACK = 9
TCP_LISTEN = 10
TCP_CLOSING = 11
_CLOSING_STATES = (4, 11, 9)  # sk_stream_closing: FIN_WAIT1, CLOSING, LAST_ACK
TCP_NEW_SYN_RECV = 12
STATE_NAMES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
               6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
               11: "CLOSING", 12: "NEW_SYN_RECV"}

# struct socket state (socket->state)
SS_UNCONNECTED = 1
SS_CONNECTING = 2
SS_CONNECTED = 3
SS_DISCONNECTING = 4

SHUTDOWN_MASK = RCV_SHUTDOWN | SEND_SHUTDOWN

# tp->nonagle
TCP_NAGLE_OFF = 1
TCP_NAGLE_CORK = 2
TCP_NAGLE_PUSH = 4

TCP_TIMEWAIT_LEN_NS = 60_000_000_000
TCP_TIMEOUT_INIT_NS = 1_000_000_000
TCP_RTO_MIN_NS = 200_000_000
TCP_RTO_MAX_NS = 120_000_000_000
TCP_MSS_DEFAULT = 536
TCP_MIN_MSS = 88
TCP_INIT_CWND = 10
TCP_MAX_QUICKACKS = 16
MAX_TCP_KEEPIDLE = 32767
MAX_TCP_KEEPINTVL = 32767
MAX_TCP_KEEPCNT = 127
MAX_TCP_SYNCNT = 127
MAX_TCP_WINDOW = 32767
TCP_MAX_WSCALE = 14
SOCK_MIN_SNDBUF = 4608
SOCK_MIN_RCVBUF = 2304
TCP_RMEM_TO_WIN_SCALE = 8
GSO_MAX_SIZE = 65536
MAX_TCP_HEADER = 320  # L1_CACHE_ALIGN(128 + MAX_HEADER), what tcp_tso_autosize leaves
SEQ_MASK = 0xFFFFFFFF

# txseg.sacked bits (TCPCB_*)
TCPCB_SACKED_ACKED = 0x01
TCPCB_SACKED_RETRANS = 0x02
TCPCB_LOST = 0x04
TCPCB_EVER_RETRANS = 0x80

# icsk_ack.pending
ICSK_ACK_SCHED = 1
ICSK_ACK_TIMER = 2
ICSK_ACK_PUSHED = 4
ICSK_ACK_PUSHED2 = 8
ICSK_ACK_NOW = 16

# tp->urg_data
TCP_URG_VALID = 0x0100
TCP_URG_NOTYET = 0x0200
TCP_URG_READ = 0x0400

_LINGER = struct.Struct("ii")
# plain ints: the socket module's are enum flags, slow to combine
_MSG_OOB = int(_s.MSG_OOB)
_MSG_PEEK = int(_s.MSG_PEEK)
_MSG_MORE = int(_s.MSG_MORE)
_SO_OOBINLINE = int(_s.SO_OOBINLINE)


def rand_below(rng: random.Random, n: int) -> int:
    """``rng.randrange(n)`` (n > 0) for a plain Random, in one frame: the same
    getrandbits draws as CPython's _randbelow_with_getrandbits, so the same
    numbers and the same generator state afterwards."""
    if type(rng) is not random.Random or n <= 0:
        return rng.randrange(n)
    getrandbits = rng.getrandbits
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def unwrap(ref: int, wire: int) -> int:
    """The unwrapped sequence number closest to ``ref`` that is ``wire`` mod 2**32."""
    return ref + ((wire - ref + 0x80000000) & SEQ_MASK) - 0x80000000


def sysctl_str(net: Net, key: str) -> str:
    own = net.sysctls
    if own is not None and key in own:
        return str(own[key])
    return NET_DEFAULTS[key]


_VEC_CACHE: dict[str, tuple[int, ...]] = {}


def sysctl_vec(net: Net, key: str) -> tuple[int, ...]:
    """A vector sysctl (tcp_rmem, ip_local_port_range ...), parsed once per value."""
    own = net.sysctls
    text = str(own[key]) if own is not None and key in own else NET_DEFAULTS[key]
    vec = _VEC_CACHE.get(text)
    if vec is None:
        vec = _VEC_CACHE[text] = tuple(int(x) for x in text.split())
    return vec


def _core_sysctl(net: Net, key: str, default: int) -> int:
    """A global net.core value (rmem_max, wmem_max ...): init_net's, as in Linux."""
    try:
        return int(core_global(net.kernel.init_net).values[key])
    except (KernelError, KeyError, ValueError):
        return default


class TxSeg:
    """A sent segment in the retransmission queue (an skb of tcp_rtx_queue).

    The data itself stays in the socket's send buffer; a segment is its
    sequence range, how many MSS-sized packets it counts for, when it was
    last sent, and its scoreboard bits."""

    __slots__ = ("end", "flags", "pcount", "sacked", "seq", "ts")

    def __init__(self, seq: int, end: int, flags: int, pcount: int, ts: int) -> None:
        self.seq = seq
        self.end = end
        self.flags = flags  # SYN / FIN it carries
        self.pcount = pcount
        self.ts = ts  # virtual ns of the last transmission
        self.sacked = 0

    def __repr__(self) -> str:
        return f"<TxSeg {self.seq}-{self.end} x{self.pcount} sacked={self.sacked:#x}>"


# The Sock slots TcpSock.clone and TcpSock.__init__ set, spelled out there
# (a test keeps this equal to Sock.__slots__ less __weakref__).
_CLONE_SLOTS = frozenset(("bound_dev", "closed", "family", "file_cred", "mark", "msg_flags",
                          "net", "opts", "protocol", "rcvbuf", "sk_err", "sk_shutdown", "sk_uid",
                          "sndbuf", "type", "wq"))
# Options a child inherits from its listener (what sk_clone_lock copies).
_INHERITED = ("reuse", "keepalive", "linger", "nonagle", "user_mss", "keepidle", "keepintvl",
              "keepcnt", "syn_retries", "linger2", "user_timeout", "window_clamp_opt",
              "sndbuf_locked", "rcvbuf_locked", "ttl", "tos", "rcvlowat", "ca_setsockopt",
              "bind_addr_locked")


class _TcpFields(Sock):
    """TcpSock's fields with their initial values: TcpSock keeps them in
    slots (faster to read and write than a 100-key instance dict) and its
    __init__ and clone give every one of them the value below."""

    __slots__ = ()

    # -- identity ------------------------------------------------------------------
    state = TCP_CLOSE
    ss_state = SS_UNCONNECTED
    saddr = 0  # inet_saddr: source address of our segments
    rcv_saddr = 0  # the address bound (0: any)
    sport = 0
    daddr = 0
    dport = 0
    bucket: BindBucket | None = None
    ekey: tuple[Any, ...] | None = None
    bind_addr_locked = False
    bind_port_locked = False
    dead = False  # SOCK_DEAD: orphaned (closed by the user, still in the protocol)
    exiting = False  # closed by an exiting task: SO_LINGER does not hold close
    orphaned = False  # counted in the namespace's orphans
    listening = False  # in lhash
    done = False  # SOCK_DONE: a FIN (or the end) was seen
    holds_net = True  # whether this socket still holds its namespace reference
    parent: TcpSock | None = None  # the listener of a child not yet accepted
    # -- options --------------------------------------------------------------------
    reuse = False
    reuseport = False
    keepalive = False
    linger: int | None = None  # SO_LINGER seconds when l_onoff
    nonagle = 0
    user_mss = 0
    keepidle = 0
    keepintvl = 0
    keepcnt = 0
    syn_retries = 0
    linger2 = 0
    user_timeout = 0
    window_clamp_opt = 0
    sndbuf_locked = False
    rcvbuf_locked = False
    ttl = 0
    tos = 0
    rcvlowat = 1
    ca_setsockopt = False
    # -- listener ------------------------------------------------------------------
    max_ack_backlog = 0
    acceptq: deque[TcpSock] | None = None
    syn_qlen = 0
    # -- route -----------------------------------------------------------------------
    dst: OutputRoute | None = None
    dst_gen = -1
    gso_max_segs = 1
    gso_ok = False  # the route's device takes super-segments
    inet_id = 0
    ip_ttl = 64
    ip_csum_base = 0
    confirm_neigh = False
    tcp_psum_base = 0
    # -- sender ----------------------------------------------------------------------
    iss = 0
    snd_una = 0
    snd_nxt = 0
    snd_sml = 0
    write_seq = 0
    pushed_seq = 0
    fin_seq = -1
    snd_wnd = 0
    snd_wl1 = 0
    max_window = 0
    snd_wscale = 0
    rcv_wscale = 0
    sndq_seq = 0
    packets_out = 0
    sacked_out = 0
    lost_out = 0
    retrans_out = 0
    snd_cwnd = TCP_INIT_CWND
    snd_ssthresh = TCP_INFINITE_SSTHRESH
    snd_cwnd_cnt = 0
    snd_cwnd_clamp = 0xFFFFFFFF
    snd_cwnd_stamp = 0
    prior_cwnd = 0
    prior_ssthresh = 0
    prr_delivered = 0
    prr_out = 0
    ca_state = TCP_CA_Open
    high_seq = 0
    undo_marker = 0
    undo_retrans = -1
    retrans_stamp = 0
    total_retrans = 0
    total_rto = 0
    retransmits = 0
    backoff = 0
    probes_out = 0
    rto = TCP_TIMEOUT_INIT_NS
    srtt_us = 0
    mdev_us = 0
    mdev_max_us = 0
    rttvar_us = 0
    rtt_seq = 0
    min_rtt_us = 0xFFFFFFFF  # ~0U until the first sample, as minmax starts
    is_cwnd_limited = False
    max_packets_out = 0
    lsndtime = 0
    rcv_tstamp = 0  # jiffies of the last ACK received
    mss_cache = TCP_MSS_DEFAULT
    advmss = 1460
    mss_clamp = TCP_MSS_DEFAULT
    pmtu = 0
    reordering = 3
    sack_ok = False
    ts_ok = False
    wscale_ok = False
    ts_off = 0
    highest_sack = 0  # seq of the highest SACKed segment's end
    rack_mstamp = 0
    rack_end_seq = 0
    rack_rtt_us = 0
    rack_reord = False
    tlp_high_seq = 0
    dup_acks = 0  # NewReno's sacked_out emulation (tcp_add_reno_sack)
    last_oow_ack_time = 0
    timer_kind = 0  # what the retransmit timer is for (ICSK_TIME_*)
    # -- receiver --------------------------------------------------------------------
    irs = 0
    rcv_nxt = 0
    rcv_wnd = 0
    rcv_wup = 0
    copied_seq = 0
    rcv_ssthresh = 0
    window_clamp = 0
    rcvq_bytes = 0
    fin_rcvd = False
    ts_recent = 0
    ts_recent_stamp = 0
    saw_ts = False
    rcv_tsval = 0
    rcv_tsecr = 0
    ack_pending = 0
    ack_quick = 0
    ack_pingpong = 0
    ack_ato = 0
    ack_lrcvtime = 0
    ack_timeout = 0
    rcv_mss = TCP_MSS_DEFAULT
    dsack: tuple[int, int] | None = None
    rcv_rtt_us = 0
    rcv_rtt_seq = 0
    rcv_rtt_time = 0
    rcvq_space = 0
    rcvq_space_seq = 0
    rcvq_space_time = 0
    scaling_ratio = 1 << (TCP_RMEM_TO_WIN_SCALE - 1)
    urg_data = 0
    urg_seq = 0
    snd_up = 0  # the urgent pointer we send (urgent mode while != snd_una)
    ecn_ok = False  # ECN is not negotiated
    tcp_header_len = 20  # 32 with timestamps
    fast_ok = False  # header prediction on (tcp_fast_path_check)
    last_seg_size = 0
    rcv_rtt_last_tsecr = 0
    passive = False  # made by a listener: no user socket until accepted
    queue_shrunk = False  # SOCK_QUEUE_SHRUNK: ACKs freed send buffer space
    nospace = False  # SOCK_NOSPACE: a writer found the buffer full
    snt_synack = 0  # when our SYN-ACK left (simultaneous open)
    # -- loss recovery (tcp_recovery.c) -------------------------------------------------
    delivered = 0
    lost = 0
    rack_advanced = False
    reord_seen = 0
    reo_wnd_steps = 1
    tlp_retrans = False
    dsack_dups = 0
    cwnd_usage_seq = 0
    snd_cwnd_used = 0
    # -- listener: SYN queue bookkeeping -------------------------------------------------
    syn_young = 0
    synq_overflow_ts = -1  # jiffies of the last SYN cookie sent; -1: never
    # -- statistics ------------------------------------------------------------------
    bytes_acked = 0
    bytes_received = 0
    segs_in = 0
    segs_out = 0
    sk_err_soft = 0


_FIELDS: dict[str, Any] = {k: v for k, v in vars(_TcpFields).items() if not k.startswith("__")}


def _gen(name: str, lines: list[str]) -> Any:
    """A straight-line function (one attribute store a line) from ``lines``."""
    ns: dict[str, Any] = {}
    exec(f"def {name}(sk, src=None):\n" + "\n".join(f"    {ln}" for ln in lines), ns)
    return ns[name]


def _literal(value: Any) -> str:
    # every initial value is a plain int, bool or None: its repr rebuilds it
    if value is not None and type(value) not in (int, bool):
        raise TypeError(f"TcpSock field default {value!r} is not a plain literal")
    return repr(value)


# _init_fields(sk): every field to its initial value; _inherit(child, listener):
# the options a child takes over from its listener (what sk_clone_lock copies).
_init_fields = _gen("_init_fields", [f"sk.{k} = {_literal(v)}" for k, v in _FIELDS.items()])
_inherit = _gen("_inherit", [f"sk.{k} = src.{k}" for k in _INHERITED])


class TcpSock(_TcpFields):
    """A SOCK_STREAM socket.  Attributes mirror ``struct tcp_sock`` where they can."""

    # the fields, what __init__/clone add, and a __dict__ for anything else
    __slots__ = (*_FIELDS, "ca", "dack_timer", "ka_timer", "ofo", "rcvq", "rtx", "rtx_timer",
                 "sack_blocks", "sndq", "tcp_net", "__dict__")

    def __init__(self, net: Net, family: int = _s.AF_INET, type: int = _s.SOCK_STREAM,
                 protocol: int = IPPROTO_TCP) -> None:
        _init_fields(self)
        # Sock.__init__ inlined (_CLONE_SLOTS lists what it sets) without its
        # net.core buffer defaults, which tcp_rmem/tcp_wmem replace here
        self.net = net.get()
        cred = self.file_cred = current_cred(net.kernel)
        self.sk_uid = cred.uid
        self.family = family
        self.type = type
        self.protocol = protocol or IPPROTO_TCP
        self.wq = WaitQueue()
        self.sk_err = 0
        self.sk_shutdown = 0
        self.closed = False
        self.bound_dev = None
        self.mark = 0
        self.msg_flags = 0
        self.opts = {}
        self.tcp_net: TcpNet = tcp_net(net)
        self.rcvbuf = net.ipv4.sysctl.tcp_rmem[1]
        self.sndbuf = net.ipv4.sysctl.tcp_wmem[1]
        self.ca: CongestionOps = ca_create(sysctl_str(net, "net.ipv4.tcp_congestion_control")) \
            or Cubic()
        self._init_queues()

    def _init_queues(self) -> None:
        # the send buffer from sndq_seq: bytes chunks, the last possibly a
        # bytearray that small writes extend
        self.sndq: deque[bytes | bytearray | memoryview] = deque()
        self.rtx: deque[TxSeg] = deque()
        self.rcvq: deque[bytes | memoryview] = deque()
        self.ofo: list[list[Any]] = []  # [seq, end, data, fin], sorted, disjoint
        self.sack_blocks: list[list[int]] = []  # blocks we report, most recent first
        self.rtx_timer, self.dack_timer, self.ka_timer = timer.sock_timers(self)

    @classmethod
    def clone(cls, listener: TcpSock) -> TcpSock:
        """sk_clone_lock + inet_csk_clone_lock: a child of ``listener`` that
        inherits its socket options, cheaply (the handshake path)."""
        child = cls.__new__(cls)
        _init_fields(child)
        # Sock's slots one by one (_CLONE_SLOTS lists them: a test keeps it
        # equal to Sock.__slots__): copied, or fresh for the child
        child.net = listener.net.get()
        child.file_cred = None  # no file until accept() (sk_socket is NULL)
        child.sk_uid = listener.sk_uid  # sk_clone_lock copies the listener
        child.family = listener.family
        child.type = listener.type
        child.protocol = listener.protocol
        child.wq = WaitQueue()
        child.sk_err = 0
        child.sk_shutdown = 0
        child.closed = False
        child.bound_dev = listener.bound_dev
        child.mark = listener.mark
        child.msg_flags = 0
        child.rcvbuf = listener.rcvbuf
        child.sndbuf = listener.sndbuf
        child.opts = dict(listener.opts) if listener.opts else {}
        _inherit(child, listener)
        child.tcp_net = listener.tcp_net
        child.ca = type(listener.ca)()
        child._init_queues()
        return child

    def __repr__(self) -> str:
        from ..wire.ipv4 import addr_str

        return (f"<TcpSock {STATE_NAMES.get(self.state, self.state)} "
                f"{addr_str(self.saddr or self.rcv_saddr)}:{self.sport} -> "
                f"{addr_str(self.daddr)}:{self.dport}>")

    # -- small helpers ------------------------------------------------------------------

    @property
    def now(self) -> int:
        return self.net.kernel.sched.now

    def jiffies(self) -> int:
        return self.net.kernel.sched.now // 4_000_000

    def ts_now(self) -> int:
        """tcp_time_stamp_ts: the TSval clock (1 kHz) with the connection's offset."""
        return (self.net.kernel.sched.now // 1_000_000 + self.ts_off) & SEQ_MASK

    def in_flight(self) -> int:
        """tcp_packets_in_flight."""
        return self.packets_out - (self.sacked_out + self.lost_out) + self.retrans_out

    def receive_window(self) -> int:
        """tcp_receive_window: what is left of the window we last advertised."""
        win = self.rcv_wup + self.rcv_wnd - self.rcv_nxt
        return win if win > 0 else 0

    def hystart_ack_delay(self) -> int:
        """hystart_ack_delay: how long a GSO burst takes at the pacing rate (us)."""
        if not self.srtt_us:
            return 0
        rate = 2 * self.snd_cwnd * self.mss_cache * 8_000_000 // max(self.srtt_us, 1)
        if not rate:
            return 0
        return min(1000, GSO_MAX_SIZE * 4 * 1_000_000 // rate)

    def mib(self, name: str, n: int = 1) -> None:
        self.tcp_net.mib[name] += n

    def sk_err_soft_set(self, err: int) -> None:
        self.sk_err_soft = err

    # -- bind --------------------------------------------------------------------------

    def bind(self, addr: Address) -> None:
        """__inet_bind + inet_csk_get_port: a local, broadcast or multicast
        address (any with IP_FREEBIND/IP_TRANSPARENT/ip_nonlocal_bind)."""
        from ..ipv4.fib import RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST

        self._check_open()
        ip, port = addr
        if not 0 <= port <= 0xFFFF:
            raise KernelError(errno.EINVAL)
        addr_type = _addr_type(self.net, ip) if ip else RTN_LOCAL
        if ip and addr_type not in (RTN_LOCAL, RTN_MULTICAST, RTN_BROADCAST) \
                and not sysctl_int(self.net, "net.ipv4.ip_nonlocal_bind") \
                and not self.ip_opt(_IP_FREEBIND) and not self.ip_opt(_IP_TRANSPARENT):
            raise KernelError(errno.EADDRNOTAVAIL)
        if self.state != TCP_CLOSE or self.bucket is not None:
            raise KernelError(errno.EINVAL)
        self.rcv_saddr = ip
        # a broadcast or multicast bind leaves the source to the route
        self.saddr = 0 if addr_type in (RTN_MULTICAST, RTN_BROADCAST) else ip
        try:
            port = get_port(self, port)
        except KernelError:
            self.rcv_saddr = self.saddr = 0
            raise
        self.sport = port
        self.bind_addr_locked = bool(ip)
        self.bind_port_locked = bool(addr[1])

    def _check_open(self) -> None:
        if self.closed:
            raise KernelError(errno.EBADF)

    # -- connect -------------------------------------------------------------------------

    def connect(self, addr: Address) -> None:
        """inet_stream_connect: start the handshake (EINPROGRESS), or report
        how a previous one went (EALREADY, EISCONN, the error)."""
        if self.connect_start(addr):
            raise KernelError(errno.EINPROGRESS)

    def connect_start(self, addr: Address) -> int:
        """connect, with EINPROGRESS returned rather than raised."""
        self._check_open()
        ss = self.ss_state
        if ss == SS_CONNECTED:
            raise KernelError(errno.EISCONN)
        if ss == SS_CONNECTING:
            if self.state in (TCP_SYN_SENT, TCP_SYN_RECV):
                raise KernelError(errno.EALREADY)
            if self.state == TCP_CLOSE:
                self._connect_failed()
            self.ss_state = SS_CONNECTED
            return 0
        if ss != SS_UNCONNECTED:
            raise KernelError(errno.EINVAL)
        if self.state != TCP_CLOSE:
            raise KernelError(errno.EISCONN)  # a listener too
        daddr, dport = addr
        if self.family != _s.AF_INET:
            raise KernelError(errno.EAFNOSUPPORT)
        tcp_v4_connect(self, daddr, dport)
        self.ss_state = SS_CONNECTING
        return errno.EINPROGRESS

    def _connect_failed(self) -> None:
        err = self.sock_error() or errno.ECONNABORTED
        self.ss_state = SS_UNCONNECTED
        tcp_disconnect(self)
        raise KernelError(err)

    # -- listen / accept ---------------------------------------------------------------------

    def listen(self, backlog: int) -> None:
        """inet_listen: backlog clamped to net.core.somaxconn."""
        self._check_open()
        if self.ss_state != SS_UNCONNECTED or self.type != _s.SOCK_STREAM:
            raise KernelError(errno.EINVAL)
        somaxconn = sysctl_int(self.net, "net.core.somaxconn")
        if backlog < 0 or backlog > somaxconn:
            backlog = somaxconn
        if self.state == TCP_LISTEN:
            self.max_ack_backlog = backlog
            return
        if self.state != TCP_CLOSE:
            raise KernelError(errno.EINVAL)
        listen_start(self, backlog)

    def accept(self) -> TcpSock:
        """inet_csk_accept: the oldest established child, or EAGAIN."""
        self._check_open()
        if self.state != TCP_LISTEN:
            raise KernelError(errno.EINVAL)
        q = self.acceptq
        if not q:
            if self.sk_err:
                raise KernelError(self.sock_error())
            raise KernelError(errno.EAGAIN)
        child = q.popleft()
        child.parent = None
        child.ss_state = SS_CONNECTED
        # sock_graft into the file accept() makes, stamped with the accepting
        # task's credentials (not the listener's)
        cred = child.file_cred = current_cred(self.net.kernel)
        child.sk_uid = cred.uid
        return child

    # -- data ---------------------------------------------------------------------------------

    def sendmsg(self, data: bytes | memoryview, addr: Address | None, flags: int) -> int:
        """tcp_sendmsg: queue what fits in the send buffer and push it out."""
        self._check_open()
        state = self.state
        if state not in (TCP_ESTABLISHED, TCP_CLOSE_WAIT):
            if self.sk_err:
                raise KernelError(self.sock_error())
            if state in (TCP_SYN_SENT, TCP_SYN_RECV):
                raise KernelError(errno.EAGAIN)
            raise KernelError(errno.EPIPE)
        if self.sk_err:
            raise KernelError(self.sock_error())
        if self.sk_shutdown & SEND_SHUTDOWN:
            raise KernelError(errno.EPIPE)
        n = len(data)
        if not n:
            return 0
        room = self.sndbuf - (self.write_seq - self.snd_una)
        if room <= 0:
            self.nospace = True
            raise KernelError(errno.EAGAIN)
        if n > room:
            data = memoryview(data)[:room]
            n = room
            self.nospace = True
        if self.write_seq == self.snd_nxt:
            timer.tcp_slow_start_after_idle_check(self)
        q = self.sndq
        tail = q[-1] if q else None
        if tail is not None and tail.__class__ is bytearray and len(tail) + n <= 65536:
            try:
                tail += data
            except BufferError:
                q.append(bytes(data))
        elif n < 16384:
            q.append(bytearray(data))
        elif isinstance(data, bytes) or (isinstance(data, memoryview) and data.readonly
                                         and data.obj.__class__ is bytes and data.nbytes == n):
            q.append(data)  # immutable: kept as it is, no copy (Linux copies; same bytes)
        else:
            q.append(bytes(data))
        self.write_seq += n
        if flags & _MSG_OOB:
            self.snd_up = self.write_seq  # tcp_mark_urg
        more = flags & _MSG_MORE
        out.tcp_push(self, TCP_NAGLE_CORK if more else self.nonagle)
        return n

    def recvmsg(self, bufsize: int, flags: int) -> tuple[bytes, Address | None]:
        """tcp_recvmsg: in-order data; b"" at EOF; ECONNRESET once after a reset.
        A read stops at the urgent mark; without SO_OOBINLINE the urgent byte
        is not part of the stream (MSG_OOB reads it)."""
        self._check_open()
        if self.state == TCP_LISTEN:
            raise KernelError(errno.ENOTCONN)
        if flags & _MSG_OOB:
            return self._recv_urg(bufsize, flags), None
        if bufsize < 0:
            raise KernelError(errno.EINVAL)
        peek = bool(flags & _MSG_PEEK)
        if self.rcvq_bytes:
            if bufsize == 0:
                return b"", None
            n = bufsize
            skip = 0
            if self.urg_data:
                off = self.urg_seq - self.copied_seq
                if off == 0 and not self.sock_flag(_SO_OOBINLINE):
                    skip = 1  # the urgent byte is not in the stream
                    if self.rcvq_bytes == 1:
                        if not peek:
                            self._take(1, False)
                            self.copied_seq += 1
                            self._urg_passed()
                        raise KernelError(errno.EAGAIN)
                elif 0 < off < n:
                    n = off
            if skip:
                data = self._take(n + 1, peek)[1:]
            else:
                data = self._take(n, peek)
            if not peek:
                self.copied_seq += len(data) + skip
                if self.urg_data:
                    self._urg_passed()
                out.tcp_rcv_space_adjust(self)
                out.tcp_cleanup_rbuf(self, len(data))
            return data, None
        if self.done:
            return b"", None
        if self.sk_err:
            raise KernelError(self.sock_error())
        if self.sk_shutdown & RCV_SHUTDOWN:
            return b"", None
        if self.state == TCP_CLOSE:
            raise KernelError(errno.ENOTCONN)
        raise KernelError(errno.EAGAIN)

    def recvmsg_into(self, view: memoryview, flags: int) -> int:
        """recvmsg into the caller's buffer (recv_into): the same rules as
        :meth:`recvmsg`, one copy less -- straight from the queued segments."""
        n = len(view)
        if (flags & (_MSG_OOB | _MSG_PEEK) or self.urg_data or not self.rcvq_bytes
                or self.closed or self.state == TCP_LISTEN or not n):
            data = self.recvmsg(n, flags)[0]
            view[:len(data)] = data
            return len(data)
        q = self.rcvq
        got = 0
        while q and got < n:
            chunk = q[0]
            k = len(chunk)
            if got + k > n:
                k = n - got
                view[got:n] = chunk[:k]
                q[0] = memoryview(chunk)[k:]
            else:
                view[got:got + k] = chunk
                q.popleft()
            got += k
        self.rcvq_bytes -= got
        self.copied_seq += got
        out.tcp_rcv_space_adjust(self)
        out.tcp_cleanup_rbuf(self, got)
        return got

    def _urg_passed(self) -> None:
        if self.copied_seq > self.urg_seq:
            self.urg_data = 0
            from .tcp_input import tcp_fast_path_check

            tcp_fast_path_check(self)

    def _recv_urg(self, bufsize: int, flags: int) -> bytes:
        """tcp_recv_urg: the urgent byte, once; never blocks."""
        urg = self.urg_data
        if self.sock_flag(_SO_OOBINLINE) or not urg or urg == TCP_URG_READ:
            raise KernelError(errno.EINVAL)
        if self.state == TCP_CLOSE and not self.done:
            raise KernelError(errno.ENOTCONN)
        if urg & TCP_URG_VALID:
            if not flags & _MSG_PEEK:
                self.urg_data = TCP_URG_READ
            return bytes((urg & 0xFF,)) if bufsize > 0 else b""
        if self.state == TCP_CLOSE or self.sk_shutdown & RCV_SHUTDOWN:
            return b""
        raise KernelError(errno.EAGAIN)

    def _take(self, n: int, peek: bool) -> bytes:
        q = self.rcvq
        first = q[0]
        if len(first) >= n:
            if peek:
                return bytes(first[:n])
            if len(first) == n:
                q.popleft()
                self.rcvq_bytes -= n
                return first if isinstance(first, bytes) else bytes(first)
            q[0] = memoryview(first)[n:]
            self.rcvq_bytes -= n
            return bytes(first[:n])
        parts: list[bytes | memoryview] = []
        got = 0
        if peek:
            for chunk in q:
                take = min(len(chunk), n - got)
                parts.append(chunk[:take])
                got += take
                if got >= n:
                    break
            return b"".join(parts)
        while q and got < n:
            chunk = q[0]
            take = len(chunk)
            if got + take > n:
                take = n - got
                parts.append(memoryview(chunk)[:take])
                q[0] = memoryview(chunk)[take:]
            else:
                parts.append(chunk)
                q.popleft()
            got += take
        self.rcvq_bytes -= got
        return b"".join(parts)

    # -- shutdown / close -------------------------------------------------------------------------

    def shutdown(self, how: int) -> None:
        """inet_shutdown + tcp_shutdown."""
        self._check_open()
        how += 1
        if how & ~SHUTDOWN_MASK or not how:
            raise KernelError(errno.EINVAL)
        if self.ss_state == SS_CONNECTING:
            if self.state in (TCP_SYN_SENT, TCP_SYN_RECV, TCP_CLOSE):
                self.ss_state = SS_DISCONNECTING
            else:
                self.ss_state = SS_CONNECTED
        err = 0
        state = self.state
        if state == TCP_LISTEN:
            if how & RCV_SHUTDOWN:
                tcp_disconnect(self)
                self.ss_state = SS_UNCONNECTED
        elif state == TCP_SYN_SENT:
            tcp_disconnect(self)
            self.ss_state = SS_UNCONNECTED
        else:
            if state == TCP_CLOSE:
                err = errno.ENOTCONN
            self.sk_shutdown |= how
            if how & SEND_SHUTDOWN and state in (TCP_ESTABLISHED, TCP_SYN_RECV,
                                                 TCP_CLOSE_WAIT):
                if tcp_close_state(self):
                    out.tcp_send_fin(self)
        self.wq.wake_up()
        if err:
            raise KernelError(err)

    def close_exiting(self) -> None:
        self.exiting = True
        self.close()

    def close(self) -> None:
        """tcp_close: FIN (or RST when data was left unread, or for SO_LINGER 0),
        then the socket lives on as an orphan until the protocol is done."""
        if self.closed:
            return
        self.closed = True
        self.sk_shutdown = SHUTDOWN_MASK
        state = self.state
        if state == TCP_LISTEN:
            tcp_set_state(self, TCP_CLOSE)
            listen_stop(self)
        else:
            unread = self.rcvq_bytes
            self.rcvq.clear()
            self.rcvq_bytes = 0
            if state == TCP_CLOSE:
                pass
            elif unread:
                self.mib("TCPAbortOnClose")
                tcp_set_state(self, TCP_CLOSE)
                out.tcp_send_active_reset(self)
            elif self.linger == 0:
                tcp_disconnect(self)
                self.mib("TCPAbortOnData")  # as Linux counts it
            elif tcp_close_state(self):
                out.tcp_send_fin(self)
        self.wq.wake_up()
        if self.linger and not self.exiting and self.state in _CLOSING_STATES:
            # sk_stream_wait_close: SO_LINGER holds close() (even on a
            # non-blocking socket, as inet_release) until the FIN is
            # acknowledged or the linger time passes
            wait_event(self.net.kernel, [self.wq], lambda: self.state not in _CLOSING_STATES,
                       self.linger * 1_000_000_000, what="close")
        self.dead = True  # sock_orphan: no socket, no file from here on
        self.file_cred = None
        state = self.state
        if state == TCP_FIN_WAIT2:
            if self.linger2 < 0:
                tcp_set_state(self, TCP_CLOSE)
                out.tcp_send_active_reset(self)
                self.mib("TCPAbortOnLinger")
            else:
                tmo = tcp_fin_time(self)
                if tmo > TCP_TIMEWAIT_LEN_NS:
                    self.ka_timer.arm(self.net.kernel.sched.now + tmo - TCP_TIMEWAIT_LEN_NS)
                else:
                    tcp_time_wait(self, TCP_FIN_WAIT2, tmo)
                    return
        if self.state == TCP_CLOSE:
            destroy_sock(self)
        else:
            self.tcp_net.orphans += 1
            self.orphaned = True

    # -- addresses and poll -----------------------------------------------------------------------

    def getsockname(self) -> Address:
        return (self.rcv_saddr or self.saddr, self.sport)

    def getpeername(self) -> Address:
        if not self.dport or self.state in (TCP_CLOSE, TCP_SYN_SENT):
            raise KernelError(errno.ENOTCONN)
        return (self.daddr, self.dport)

    def poll(self) -> int:
        """tcp_poll."""
        state = self.state
        if state == TCP_LISTEN:
            return POLLIN if self.acceptq else 0
        mask = 0
        shut = self.sk_shutdown
        if shut == SHUTDOWN_MASK or state == TCP_CLOSE:
            mask |= POLLHUP
        if shut & RCV_SHUTDOWN:
            mask |= POLLIN | POLLRDHUP
        if state != TCP_SYN_SENT and state != TCP_SYN_RECV:
            target = self.rcvlowat
            if self.urg_data and self.urg_seq == self.copied_seq and \
                    not self.sock_flag(_SO_OOBINLINE):
                target += 1  # the urgent byte at the mark does not count
            if self.rcvq_bytes >= target or (self.rcvq_bytes and self.done):
                mask |= POLLIN
            if not shut & SEND_SHUTDOWN:
                if self.stream_wspace() >= self.stream_min_wspace():
                    mask |= POLLOUT
                else:
                    # SOCK_NOSPACE, as tcp_poll sets it: the ACKs that free
                    # room must wake this poller (tcp_check_space), even if
                    # no send found the buffer full
                    self.nospace = True
            else:
                mask |= POLLOUT
            if self.urg_data & TCP_URG_VALID:
                mask |= POLLPRI
        if self.sk_err:
            mask |= POLLERR
        return mask

    def stream_wspace(self) -> int:
        return self.sndbuf - (self.write_seq - self.snd_una)

    def stream_min_wspace(self) -> int:
        return (self.write_seq - self.snd_una) >> 1

    # -- options ----------------------------------------------------------------------------------

    def setsockopt(self, level: int, name: int, value: Any) -> None:
        self._check_open()
        if level == _s.SOL_SOCKET:
            self._set_sol_socket(name, value)
        elif level == IPPROTO_TCP:
            self._set_tcp(name, value)
        elif level == _s.IPPROTO_IP and name == _s.IP_TTL:
            v = _int(value)
            if v != -1 and not 1 <= v <= 255:
                raise KernelError(errno.EINVAL)
            self.ttl = 0 if v == -1 else v
            self.dst_gen = -1
        elif level == _s.IPPROTO_IP and name == _s.IP_TOS:
            self.tos = _int(value) & 0xFC
            self.dst_gen = -1
        else:
            super().setsockopt(level, name, value)

    def _set_sol_socket(self, name: int, value: Any) -> None:
        if name == _s.SO_LINGER:
            if not isinstance(value, (bytes, bytearray, memoryview)) or len(value) < 8:
                raise KernelError(errno.EINVAL)
            onoff, secs = _LINGER.unpack_from(value)
            self.linger = max(secs, 0) if onoff else None
            return
        v = _int(value)
        if name == _s.SO_REUSEADDR:
            self.reuse = bool(v)
        elif name == _s.SO_REUSEPORT:
            self.reuseport = bool(v)
        elif name == _s.SO_KEEPALIVE:
            timer.tcp_set_keepalive(self, bool(v))
            self.keepalive = bool(v)
        elif name == _s.SO_RCVBUF:
            v = min(max(v, 0), _core_sysctl(self.net, "net.core.rmem_max", 212992))
            self.rcvbuf = max(v * 2, SOCK_MIN_RCVBUF)
            self.rcvbuf_locked = True
            self.window_clamp = min(self.window_clamp, out.win_from_space(self, self.rcvbuf)) \
                if self.window_clamp else 0
        elif name == _s.SO_SNDBUF:
            v = min(max(v, 0), _core_sysctl(self.net, "net.core.wmem_max", 212992))
            self.sndbuf = max(v * 2, SOCK_MIN_SNDBUF)
            self.sndbuf_locked = True
            self.wq.wake_up()
        elif name == _s.SO_RCVLOWAT:
            self.rcvlowat = max(v, 1)
        elif name == getattr(_s, "SO_MARK", 36):
            self.mark = v
            self.dst_gen = -1
        else:
            super().setsockopt(_s.SOL_SOCKET, name, value)

    def _set_tcp(self, name: int, value: Any) -> None:
        if name == _s.TCP_CONGESTION:
            cname = bytes(value).split(b"\0")[0].decode() if not isinstance(value, str) \
                else value
            ca = ca_create(cname)
            if ca is None:
                raise KernelError(errno.ENOENT)
            if self.ca.name != ca.name:
                self.ca = ca
                if self.state not in (TCP_CLOSE, TCP_LISTEN):
                    ca.init(self)
            self.ca_setsockopt = True
            return
        v = _int(value)
        if name == _s.TCP_NODELAY:
            if v:
                self.nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH
                out.tcp_push_pending_frames(self)
            else:
                self.nonagle &= ~TCP_NAGLE_OFF
        elif name == _s.TCP_CORK:
            if v:
                self.nonagle |= TCP_NAGLE_CORK
            else:
                self.nonagle &= ~TCP_NAGLE_CORK
                if self.nonagle & TCP_NAGLE_OFF:
                    self.nonagle |= TCP_NAGLE_PUSH
                out.tcp_push_pending_frames(self)
        elif name == _s.TCP_MAXSEG:
            if v and (v < TCP_MIN_MSS or v > 65535):
                raise KernelError(errno.EINVAL)
            self.user_mss = v
        elif name == _s.TCP_QUICKACK:
            out.tcp_set_quickack(self, v)
        elif name == _s.TCP_KEEPIDLE:
            if not 1 <= v <= MAX_TCP_KEEPIDLE:
                raise KernelError(errno.EINVAL)
            self.keepidle = v
            if self.keepalive:
                timer.tcp_set_keepalive(self, True)
        elif name == _s.TCP_KEEPINTVL:
            if not 1 <= v <= MAX_TCP_KEEPINTVL:
                raise KernelError(errno.EINVAL)
            self.keepintvl = v
        elif name == _s.TCP_KEEPCNT:
            if not 1 <= v <= MAX_TCP_KEEPCNT:
                raise KernelError(errno.EINVAL)
            self.keepcnt = v
        elif name == _s.TCP_SYNCNT:
            if not 1 <= v <= MAX_TCP_SYNCNT:
                raise KernelError(errno.EINVAL)
            self.syn_retries = v
        elif name == _s.TCP_LINGER2:
            self.linger2 = -1 if v < 0 else min(v, 60) * 1_000_000_000 if v else 0
        elif name == _s.TCP_USER_TIMEOUT:
            if v < 0:
                raise KernelError(errno.EINVAL)
            self.user_timeout = v
        elif name == _s.TCP_WINDOW_CLAMP:
            if v and v < SOCK_MIN_RCVBUF // 2:
                v = SOCK_MIN_RCVBUF // 2
            self.window_clamp_opt = v
            if v:
                self.window_clamp = v
        else:
            super().setsockopt(IPPROTO_TCP, name, value)

    def getsockopt(self, level: int, name: int) -> Any:
        if level == _s.SOL_SOCKET:
            if name == _s.SO_ERROR:
                return self.sock_error()
            if name == _s.SO_REUSEADDR:
                return int(self.reuse)
            if name == _s.SO_REUSEPORT:
                return int(self.reuseport)
            if name == _s.SO_KEEPALIVE:
                return int(self.keepalive)
            if name == _s.SO_LINGER:
                return _LINGER.pack(int(self.linger is not None), self.linger or 0)
            if name == _s.SO_RCVBUF:
                return self.rcvbuf
            if name == _s.SO_SNDBUF:
                return self.sndbuf
            if name == _s.SO_TYPE:
                return self.type
            if name == _s.SO_ACCEPTCONN:
                return int(self.state == TCP_LISTEN)
            if name == _s.SO_RCVLOWAT:
                return self.rcvlowat
            if name == getattr(_s, "SO_DOMAIN", 39):
                return self.family
            if name == getattr(_s, "SO_PROTOCOL", 38):
                return IPPROTO_TCP
        elif level == IPPROTO_TCP:
            if name == _s.TCP_NODELAY:
                return int(bool(self.nonagle & TCP_NAGLE_OFF))
            if name == _s.TCP_CORK:
                return int(bool(self.nonagle & TCP_NAGLE_CORK))
            if name == _s.TCP_MAXSEG:
                if self.state in (TCP_CLOSE, TCP_LISTEN):
                    return self.user_mss or TCP_MSS_DEFAULT
                return self.mss_cache
            if name == _s.TCP_QUICKACK:
                return int(not self.ack_pingpong)
            if name == _s.TCP_KEEPIDLE:
                return self.keepidle or sysctl_int(self.net, "net.ipv4.tcp_keepalive_time")
            if name == _s.TCP_KEEPINTVL:
                return self.keepintvl or sysctl_int(self.net, "net.ipv4.tcp_keepalive_intvl")
            if name == _s.TCP_KEEPCNT:
                return self.keepcnt or sysctl_int(self.net, "net.ipv4.tcp_keepalive_probes")
            if name == _s.TCP_SYNCNT:
                return self.syn_retries or sysctl_int(self.net, "net.ipv4.tcp_syn_retries")
            if name == _s.TCP_LINGER2:
                if self.linger2 < 0:
                    return -1
                return (self.linger2 or self.net.ipv4.sysctl.tcp_fin_timeout
                        * 1_000_000_000) // 1_000_000_000
            if name == _s.TCP_USER_TIMEOUT:
                return self.user_timeout
            if name == _s.TCP_WINDOW_CLAMP:
                return self.window_clamp
            if name == _s.TCP_CONGESTION:
                return self.ca.name.encode().ljust(16, b"\0")
            if name == _s.TCP_INFO:
                return tcp_info(self)
        elif level == _s.IPPROTO_IP:
            if name == _s.IP_TTL:
                return self.ttl or self.net.ipv4.sysctl.ip_default_ttl
            if name == _s.IP_TOS:
                return self.tos
        return super().getsockopt(level, name)

    # -- internal life cycle hooks used by tables -------------------------------------------------

    def purge(self) -> None:
        """The namespace is going: drop the socket from every table."""
        self.rtx_timer.cancel()
        self.dack_timer.cancel()
        self.ka_timer.cancel()
        unhash(self)
        if self.bucket is not None:
            self.bucket.remove(self)


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) >= 4:
        return int(struct.unpack_from("i", value)[0])
    raise KernelError(errno.EINVAL)


def _addr_type(net: Net, addr: int) -> int:
    """inet_addr_type: RTN_LOCAL, RTN_BROADCAST, RTN_MULTICAST, RTN_UNICAST ..."""
    from ..ipv4.fib_frontend import inet_addr_type

    try:
        return int(inet_addr_type(net, addr))
    except KernelError:
        return 0


_IP_FREEBIND = 15
_IP_TRANSPARENT = 19


# -- state changes --------------------------------------------------------------------------------


def tcp_set_state(sk: TcpSock, state: int) -> None:
    old = sk.state
    if state == TCP_ESTABLISHED:
        pass
    elif state == TCP_CLOSE:
        if old in (TCP_CLOSE_WAIT, TCP_ESTABLISHED):
            sk.mib("EstabResets")
        unhash(sk)
        if sk.bucket is not None and not sk.bind_port_locked:
            sk.bucket.remove(sk)
    sk.state = state


def unhash(sk: Any) -> None:
    key = sk.ekey
    if key is not None:
        if ehash.get(key) is sk:
            del ehash[key]
        sk.ekey = None
    if getattr(sk, "listening", False):
        lkey = (sk.net, sk.sport)
        socks = lhash.get(lkey)
        if socks is not None and sk in socks:
            socks.remove(sk)
            if not socks:
                del lhash[lkey]
        sk.listening = False


# tcp_close_state's new_state[]: where close() takes each state
_CLOSE_NEW_STATE = {TCP_ESTABLISHED: TCP_FIN_WAIT1, TCP_SYN_RECV: TCP_FIN_WAIT1,
                    TCP_CLOSE_WAIT: TCP_LAST_ACK, TCP_SYN_SENT: TCP_CLOSE, TCP_LISTEN: TCP_CLOSE,
                    TCP_CLOSE: TCP_CLOSE}


def tcp_close_state(sk: TcpSock) -> bool:
    """tcp_close_state: the state after our FIN; True when a FIN must go out."""
    nxt = _CLOSE_NEW_STATE.get(sk.state)
    if nxt is None:
        return False
    tcp_set_state(sk, nxt)
    return nxt in (TCP_FIN_WAIT1, TCP_LAST_ACK)


def tcp_fin_time(sk: TcpSock) -> int:
    fin_timeout = sk.linger2 or sk.net.ipv4.sysctl.tcp_fin_timeout * 1_000_000_000
    rto = sk.rto
    return max(fin_timeout, (rto << 2) - (rto >> 1))


def tcp_done(sk: TcpSock) -> None:
    """tcp_done: the connection is over."""
    if sk.state in (TCP_SYN_SENT, TCP_SYN_RECV):
        sk.mib("AttemptFails")
    tcp_set_state(sk, TCP_CLOSE)
    timer.tcp_clear_xmit_timers(sk)
    sk.sk_shutdown = SHUTDOWN_MASK
    if not sk.dead:
        sk.wq.wake_up()
    else:
        destroy_sock(sk)


def tcp_reset(sk: TcpSock) -> None:
    """tcp_reset: a valid RST arrived."""
    state = sk.state
    if state == TCP_SYN_SENT:
        err = errno.ECONNREFUSED
    elif state == TCP_CLOSE_WAIT:
        err = errno.EPIPE
    elif state == TCP_CLOSE:
        return
    else:
        err = errno.ECONNRESET
    sk.sk_err = err
    tcp_write_queue_purge(sk)
    tcp_done(sk)


def tcp_write_queue_purge(sk: TcpSock) -> None:
    sk.sndq = deque()
    sk.rtx.clear()
    sk.sndq_seq = sk.write_seq = sk.snd_nxt
    sk.fin_seq = -1
    sk.packets_out = sk.sacked_out = sk.lost_out = sk.retrans_out = 0


def tcp_disconnect(sk: TcpSock) -> None:
    """tcp_disconnect: abort; RST where the peer may still think we are connected."""
    old = sk.state
    if old != TCP_CLOSE:
        tcp_set_state(sk, TCP_CLOSE)
    if old == TCP_LISTEN:
        listen_stop(sk)
    elif old in (TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_SYN_RECV) \
            or (sk.snd_nxt != sk.write_seq and old in (TCP_CLOSING, TCP_LAST_ACK)):
        out.tcp_send_active_reset(sk)
        sk.sk_err = errno.ECONNRESET
    elif old == TCP_SYN_SENT:
        sk.sk_err = errno.ECONNRESET
    timer.tcp_clear_xmit_timers(sk)
    sk.rcvq.clear()
    sk.rcvq_bytes = 0
    sk.ofo.clear()
    tcp_write_queue_purge(sk)
    sk.sk_shutdown = 0
    sk.done = False
    sk.fin_rcvd = False
    sk.daddr = sk.dport = 0
    if not sk.bind_addr_locked:
        sk.saddr = sk.rcv_saddr = 0
    sk.srtt_us = sk.mdev_us = sk.rttvar_us = 0
    sk.rto = TCP_TIMEOUT_INIT_NS
    sk.snd_cwnd = TCP_INIT_CWND
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    sk.snd_cwnd_cnt = 0
    sk.ca_state = TCP_CA_Open
    sk.retransmits = sk.backoff = sk.probes_out = sk.total_rto = 0
    sk.dst = None
    sk.ack_pending = sk.ack_quick = sk.ack_pingpong = sk.ack_ato = 0
    sk.sack_blocks = []
    sk.dsack = None
    sk.ts_recent = sk.ts_recent_stamp = 0
    sk.wq.wake_up()


def destroy_sock(sk: TcpSock) -> None:
    """inet_csk_destroy_sock: an orphan's end; it lets go of the namespace."""
    timer.tcp_clear_xmit_timers(sk)  # the keepalive timer too
    unhash(sk)
    if sk.bucket is not None:
        sk.bucket.remove(sk)
    if sk.orphaned:
        sk.orphaned = False
        sk.tcp_net.orphans -= 1
    if sk.holds_net:
        sk.holds_net = False
        sk.net.put()


# -- listening ------------------------------------------------------------------------------------


def listen_start(sk: TcpSock, backlog: int) -> None:
    """inet_csk_listen_start: re-check the port as a listener, then hash."""
    sk.max_ack_backlog = backlog
    sk.acceptq = deque()
    sk.syn_qlen = 0
    old_state = sk.state
    sk.state = TCP_LISTEN
    try:
        sk.sport = get_port(sk, sk.sport if sk.bucket is not None else 0)
    except KernelError:
        sk.state = old_state
        sk.acceptq = None
        raise
    sk.listening = True
    lhash.setdefault((sk.net, sk.sport), []).append(sk)
    sk.wq.wake_up()


def listen_stop(sk: TcpSock) -> None:
    """inet_csk_listen_stop: children never accepted are aborted; the SYN
    queue is forgotten."""
    unhash(sk)
    from .tcp_input import reqsk_drop_all

    reqsk_drop_all(sk)
    q = sk.acceptq
    while q:
        child = q.popleft()
        child.parent = None
        child.closed = True
        child.dead = True
        tcp_disconnect(child)
        destroy_sock(child)
    sk.acceptq = None


def lookup_listener(net: Net, daddr: int, dport: int, saddr: int, sport: int,
                    dev: Any) -> TcpSock | None:
    """__inet_lookup_listener: the best-scoring listener of the port; a
    SO_REUSEPORT group shares connections by a hash of the 4-tuple."""
    socks = lhash.get((net, dport))
    if not socks:
        return None
    best: TcpSock | None = None
    best_score = -1
    group: list[TcpSock] = []
    for sk in socks:
        score = 1
        if sk.rcv_saddr:
            if sk.rcv_saddr != daddr:
                continue
            score += 4
        if sk.bound_dev is not None:
            if sk.bound_dev is not dev:
                continue
            score += 2
        if score > best_score:
            best, best_score = sk, score
            group = [sk] if sk.reuseport else []
        elif score == best_score and sk.reuseport and best is not None and best.reuseport:
            group.append(sk)
    if len(group) > 1:
        h = hash((saddr, sport, daddr, dport)) & 0xFFFFFFFF
        return group[(h * len(group)) >> 32]
    return best


# -- ports ----------------------------------------------------------------------------------------


def _port_range(net: Net) -> tuple[int, int]:
    lo, hi = net.ipv4.sysctl.ip_local_port_range
    return lo, hi


def _bind_conflict(sk: TcpSock, tb: BindBucket, relax: bool, reuseport_ok: bool) -> bool:
    """inet_csk_bind_conflict: another owner of the port whose address overlaps
    ours and whose SO_REUSEADDR / SO_REUSEPORT settings do not allow sharing
    (a listener never shares by SO_REUSEADDR)."""
    for sk2 in tb.owners:
        if sk2 is sk:
            continue
        d1, d2 = sk.bound_dev, sk2.bound_dev
        if d1 is not None and d2 is not None and d1 is not d2:
            continue
        if sk.reuse and sk2.reuse and sk2.state != TCP_LISTEN:
            if relax and (reuseport_ok or not (sk.reuseport and sk2.reuseport)):
                continue
        elif reuseport_ok and sk.reuseport and sk2.reuseport:
            continue
        if not sk.rcv_saddr or not sk2.rcv_saddr or sk.rcv_saddr == sk2.rcv_saddr:
            return True
    return False


def _update_fastreuse(tb: BindBucket, sk: TcpSock, was_empty: bool) -> None:
    """inet_csk_update_fastreuse: a bucket stays fast-reusable while every
    owner allows SO_REUSEADDR and none listens."""
    reuse = sk.reuse and sk.state != TCP_LISTEN
    if was_empty:
        tb.fastreuse = 1 if reuse else 0
    elif not reuse:
        tb.fastreuse = 0


def get_port(sk: TcpSock, port: int) -> int:
    """inet_csk_get_port: claim ``port`` (or a free ephemeral one for 0)."""
    net = sk.net
    if port:
        key = (net, port)
        tb = bhash.get(key)
        if tb is None:
            tb = bhash[key] = BindBucket(key, 0)
            tb.add(sk)
            _update_fastreuse(tb, sk, True)
            return port
        reuse = sk.reuse and sk.state != TCP_LISTEN
        others = [o for o in tb.owners if o is not sk]
        if others and not (tb.fastreuse > 0 and reuse) and _bind_conflict(sk, tb, True, True):
            raise KernelError(errno.EADDRINUSE)
        if sk.bucket is not tb:
            tb.add(sk)
        _update_fastreuse(tb, sk, not others)
        return port
    # inet_csk_find_open_port: bind(0) takes ports of the parity connect() avoids
    lo, hi = _port_range(net)
    high = hi + 1
    remaining = high - lo
    if remaining > 1:
        remaining &= ~1
    offset = net.kernel.rng.randrange(max(remaining, 1)) | 1
    for _parity in range(2):
        p = lo + offset
        for _i in range(0, remaining, 2):
            if p >= high:
                p -= remaining
            key = (net, p)
            tb = bhash.get(key)
            if tb is None:
                tb = bhash[key] = BindBucket(key, 0)
                tb.add(sk)
                _update_fastreuse(tb, sk, True)
                return p
            if not _bind_conflict(sk, tb, False, False):
                tb.add(sk)
                _update_fastreuse(tb, sk, False)
                return p
            p += 2
        offset -= 1
        if offset & 1:
            break
    raise KernelError(errno.EADDRINUSE)


def _port_offset(tn: TcpNet, saddr: int, daddr: int, dport: int) -> int:
    """secure_ipv4_port_ephemeral: a keyed hash of the destination."""
    return hash((tn.port_secret, saddr, daddr, dport)) & 0xFFFFFFFFFFFFFFFF


def hash_connect(sk: TcpSock) -> None:
    """inet_hash_connect: pick a local port for which the 4-tuple is unique
    (ports bound by bind() are not shared), then hash the connection."""
    net = sk.net
    if sk.bucket is not None:
        key = (net, sk.saddr, sk.sport, sk.daddr, sk.dport)
        other = ehash.get(key)
        if other is not None and not _tw_reusable(sk, other):
            raise KernelError(errno.EADDRNOTAVAIL)
        ehash_insert(sk, key)
        return
    tn = sk.tcp_net
    lo, hi = _port_range(net)
    high = hi + 1
    remaining = high - lo
    if remaining > 1:
        remaining &= ~1
    port_offset = _port_offset(tn, sk.saddr, sk.daddr, sk.dport)
    index = port_offset & 255
    offset = (tn.perturb[index] + (port_offset >> 32)) % remaining
    offset &= ~1
    step = 2
    while True:
        port = lo + offset
        i = 0
        while i < remaining:
            if port >= high:
                port -= remaining
            tb = bhash.get((net, port))
            ok = False
            if tb is None:
                ok = True
            elif tb.fastreuse < 0:
                key = (net, sk.saddr, port, sk.daddr, sk.dport)
                other = ehash.get(key)
                ok = other is None or _tw_reusable(sk, other)
            if ok:
                bkey = (net, port)
                if tb is None:
                    tb = bhash[bkey] = BindBucket(bkey, -1)
                tb.add(sk)
                sk.sport = port
                i = max(i, rand_below(net.kernel.rng, 8) * step)
                tn.perturb[index] += i + step
                key = (net, sk.saddr, port, sk.daddr, sk.dport)
                ehash_insert(sk, key)
                return
            i += step
            port += step
        offset += 1
        if not (offset & 1) or remaining <= 1:
            break
    raise KernelError(errno.EADDRNOTAVAIL)


def _tw_reusable(sk: TcpSock, other: Any) -> bool:
    """tcp_twsk_unique: a TIME_WAIT 4-tuple may be reused by connect() with
    net.ipv4.tcp_tw_reuse (2: loopback only) once its timestamp is old."""
    if not isinstance(other, TcpTimeWait):
        return False
    reuse = sysctl_int(sk.net, "net.ipv4.tcp_tw_reuse")
    if reuse == 2:
        from ..ipv4.inet import is_loopback

        if not (is_loopback(other.raddr) or is_loopback(other.laddr)):
            reuse = 0
    delay_ms = sysctl_int(sk.net, "net.ipv4.tcp_tw_reuse_delay")
    if other.ts_recent_stamp and reuse and \
            sk.now // 1_000_000 >= other.ts_recent_stamp // 1_000_000 + delay_ms:
        seq = (other.snd_nxt + 65535 + 2) & SEQ_MASK
        sk.write_seq = seq or 1
        sk.ts_recent = other.ts_recent
        sk.ts_recent_stamp = other.ts_recent_stamp
        other.kill()
        return True
    return False


def ehash_insert(sk: Any, key: tuple[Any, ...]) -> None:
    ehash[key] = sk
    sk.ekey = key


# -- connect --------------------------------------------------------------------------------------


def secure_seq(tn: TcpNet, saddr: int, daddr: int, sport: int, dport: int, now_ns: int) -> int:
    """secure_tcp_seq: a keyed hash of the 4-tuple plus a 64 ns clock (RFC 6528)."""
    h = hash((tn.seq_secret, saddr, daddr, sport, dport)) & SEQ_MASK
    return (h + (now_ns >> 6)) & SEQ_MASK


def secure_ts_off(tn: TcpNet, saddr: int, daddr: int) -> int:
    """secure_tcp_ts_off: a per-address-pair offset of the timestamp clock."""
    return hash((tn.ts_secret, saddr, daddr)) & SEQ_MASK


def tcp_v4_connect(sk: TcpSock, daddr: int, dport: int) -> None:
    """tcp_v4_connect: route, source address and port, ISN, then the SYN."""
    if is_multicast(daddr) or daddr == 0xFFFFFFFF:
        raise KernelError(errno.ENETUNREACH)
    net = sk.net
    daddr = daddr or sk.rcv_saddr or 0x7F000001  # connecting to 0.0.0.0 means ourselves
    rt = ip_route_output_cached(net, daddr, sk.rcv_saddr, sk.bound_dev, sk.mark, sk.tos)
    if rt.flags & (RTCF_MULTICAST | RTCF_BROADCAST):
        raise KernelError(errno.ENETUNREACH)
    if not sk.saddr:
        sk.saddr = rt.saddr
    if not sk.rcv_saddr:
        sk.rcv_saddr = sk.saddr
    sk.daddr = daddr
    sk.dport = dport
    tn = sk.tcp_net
    sk.state = TCP_SYN_SENT
    try:
        hash_connect(sk)
    except KernelError:
        sk.state = TCP_CLOSE
        sk.daddr = sk.dport = 0
        if not sk.bind_addr_locked:
            sk.saddr = sk.rcv_saddr = 0
        raise
    out.sk_set_route(sk, rt)
    if not sk.write_seq:
        sk.write_seq = secure_seq(tn, sk.saddr, daddr, sk.sport, dport, net.kernel.sched.now)
    if net.ipv4.sysctl.tcp_timestamps == 1:
        sk.ts_off = secure_ts_off(tn, sk.saddr, daddr)
    sk.inet_id = rand_below(net.kernel.rng, 0x10000)
    sk.mib("ActiveOpens")
    out.tcp_connect(sk)
    sk.wq.wake_up()


# -- TIME_WAIT and request sockets ----------------------------------------------------------------


class TcpTimeWait:
    """inet_timewait_sock: what is left of a connection after close, for
    2*MSL (60 s): it re-ACKs a retransmitted FIN, answers stray segments and
    keeps its port; substate FIN_WAIT2 for an orphan waiting for the FIN."""

    __slots__ = (
        "bound_dev",
        "bucket",
        "ekey",
        "laddr",
        "last_oow_ack_time",
        "lport",
        "net",
        "raddr",
        "rcv_nxt",
        "rcv_saddr",
        "rcv_wnd",
        "rcv_wscale",
        "reuse",
        "reuseport",
        "rport",
        "snd_nxt",
        "state",
        "substate",
        "timer",
        "tn",
        "tos",
        "ts_off",
        "ts_recent",
        "ts_recent_stamp",
        "ttl",
    )

    def __init__(self, sk: TcpSock, substate: int) -> None:
        self.net = sk.net
        self.tn = sk.tcp_net
        self.state = TCP_TIME_WAIT
        self.substate = substate
        self.laddr = sk.saddr
        self.rcv_saddr = sk.rcv_saddr
        self.lport = sk.sport
        self.raddr = sk.daddr
        self.rport = sk.dport
        self.rcv_nxt = sk.rcv_nxt & SEQ_MASK
        self.snd_nxt = sk.snd_nxt & SEQ_MASK
        self.rcv_wnd = sk.receive_window()
        self.rcv_wscale = sk.rcv_wscale
        self.ts_recent = sk.ts_recent
        self.ts_recent_stamp = sk.ts_recent_stamp if sk.ts_ok else 0
        self.ts_off = sk.ts_off
        self.last_oow_ack_time = 0
        self.reuse = sk.reuse
        self.reuseport = sk.reuseport
        self.tos = sk.tos
        self.ttl = sk.ttl
        self.bound_dev = sk.bound_dev
        self.bucket: BindBucket | None = None
        self.ekey: tuple[Any, ...] | None = None
        self.timer: Timer | None = None

    def schedule(self, timeo: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.net.kernel.sched.call_later(timeo, self.expire)

    def expire(self) -> None:
        """tw_timer_handler: TIME_WAIT (or the orphan's FIN_WAIT2 wait) is over."""
        self.timer = None
        self.tn.mib["TW"] += 1
        self.kill()

    def kill(self) -> None:
        """inet_twsk_deschedule_put: unhash, give the port back."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        unhash(self)
        if self.bucket is not None:
            self.bucket.remove(self)
            self.tn.tw_count -= 1
            self.bucket = None

    def purge(self) -> None:
        self.kill()

    def __repr__(self) -> str:
        from ..wire.ipv4 import addr_str

        return (f"<TcpTimeWait {STATE_NAMES[self.substate]} {addr_str(self.laddr)}:{self.lport}"
                f" -> {addr_str(self.raddr)}:{self.rport}>")


def tcp_time_wait(sk: TcpSock, substate: int, timeo: int) -> None:
    """tcp_time_wait: replace the socket by a TIME_WAIT socket (unless the
    namespace has net.ipv4.tcp_max_tw_buckets of them), then tcp_done."""
    tn = sk.tcp_net
    key = sk.ekey
    if tn.tw_count < sk.net.ipv4.sysctl.tcp_max_tw_buckets and key is not None \
            and sk.bucket is not None:
        tw = TcpTimeWait(sk, substate)
        rto = sk.rto
        rto_tw = (rto << 2) - (rto >> 1)
        if timeo < rto_tw:
            timeo = rto_tw
        if substate == TCP_TIME_WAIT:
            timeo = TCP_TIMEWAIT_LEN_NS
        tn.tw_count += 1
        bucket = sk.bucket
        bucket.owners.append(tw)
        tw.bucket = bucket
        ehash_insert(tw, key)
        sk.ekey = None
        bucket.owners.remove(sk)
        sk.bucket = None
        tw.schedule(timeo)
    else:
        tn.mib["TCPTimeWaitOverflow"] += 1
    tcp_done(sk)


class TcpRequest:
    """request_sock: a SYN queue entry (TCP_NEW_SYN_RECV) waiting for the
    handshake's final ACK; it retransmits its SYN-ACK on its own timer.  A
    SYN cookie's request is never queued: it lives only while the ACK that
    carries the cookie makes its child."""

    __slots__ = ("acked", "dev", "ekey", "irs", "iss", "laddr", "last_oow_ack_time", "listener",
                 "lport", "mss", "num_retrans", "num_timeout", "raddr", "rcv_wnd", "rcv_wscale",
                 "rport", "sack_ok", "snd_wscale", "snt_synack", "state", "syn_ts", "timer",
                 "tos", "ts_off", "ts_ok", "ts_recent", "window_clamp", "wscale_ok")

    acked: bool
    dev: Any  # the device the SYN came in on
    ekey: tuple[Any, ...] | None
    irs: int  # the peer's initial sequence number (its SYN's, 32 bits)
    iss: int  # ours
    laddr: int
    last_oow_ack_time: int
    listener: TcpSock
    lport: int
    mss: int  # the peer's MSS option (or 536), clamped by TCP_MAXSEG
    num_retrans: int
    num_timeout: int
    raddr: int
    rcv_wnd: int
    rcv_wscale: int
    rport: int
    sack_ok: bool
    snd_wscale: int
    snt_synack: int  # virtual ns the (last) SYN-ACK left
    state: int
    syn_ts: int | None  # a SYN cookie's TSval (the options live in its low bits)
    timer: Timer | None
    tos: int
    ts_off: int
    ts_ok: bool
    ts_recent: int
    window_clamp: int
    wscale_ok: bool

    def __init__(self, listener: TcpSock) -> None:
        self.listener = listener
        self.state = TCP_NEW_SYN_RECV
        self.acked = False
        self.num_retrans = 0
        self.num_timeout = 0
        self.timer = None
        self.ekey = None
        self.last_oow_ack_time = 0
        self.syn_ts = None
        self.snt_synack = 0

    @property
    def net(self) -> Net:
        return self.listener.net

    def purge(self) -> None:
        from .tcp_input import reqsk_drop

        reqsk_drop(self)

    def __repr__(self) -> str:
        from ..wire.ipv4 import addr_str

        return (f"<TcpRequest {addr_str(self.laddr)}:{self.lport} -> "
                f"{addr_str(self.raddr)}:{self.rport}>")


# -- TCP_INFO -------------------------------------------------------------------------------------

_TCP_INFO = struct.Struct("=8B24I4Q2I")


def tcp_info(sk: TcpSock) -> bytes:
    """struct tcp_info, its first fields (up to tcpi_bytes_received)."""
    opts = (1 if sk.ts_ok else 0) | (2 if sk.sack_ok else 0) | (4 if sk.wscale_ok else 0)
    now_j = sk.jiffies()
    return _TCP_INFO.pack(
        sk.state, sk.ca_state, sk.retransmits, sk.probes_out, sk.backoff, opts,
        (sk.snd_wscale | (sk.rcv_wscale << 4)) if sk.wscale_ok else 0, 0,
        sk.rto // 1000, sk.ack_ato // 1000, sk.mss_cache, sk.rcv_mss,
        sk.packets_out, sk.sacked_out, sk.lost_out, sk.retrans_out, 0,
        (now_j - sk.lsndtime) * 4, 0, (now_j - sk.ack_lrcvtime) * 4, (now_j - sk.rcv_tstamp) * 4,
        sk.pmtu, sk.rcv_ssthresh, sk.srtt_us >> 3, sk.mdev_us >> 2,
        min(sk.snd_ssthresh, 0xFFFFFFFF), sk.snd_cwnd, sk.advmss, sk.reordering,
        sk.rcv_rtt_us >> 3, sk.rcvq_space, sk.total_retrans,
        0, 0, sk.bytes_acked, sk.bytes_received, sk.segs_out, sk.segs_in)


def tcp_register(kernel: Any) -> None:
    """Plug TCP into IPv4 (inet_protos[6], ICMP errors) and the pernet list."""
    from ..ipv4.icmp import icmp_err_handlers
    from ..ipv4.ip_input import inet_protos
    from ..pernet import PernetOperations
    from .tcp_input import tcp_v4_err, tcp_v4_rcv
    from .tcp_table import tcp_net_exit

    inet_protos[IPPROTO_TCP] = tcp_v4_rcv
    icmp_err_handlers[IPPROTO_TCP] = tcp_v4_err
    kernel.pernet.register_subsys(PernetOperations("tcp", exit=tcp_net_exit))


def _tune_allocator() -> None:
    """Keep freed heap memory instead of giving it back to the system at once.

    A bulk transfer allocates and frees 64 KiB frames and receive buffers by
    the thousand; with glibc's defaults the heap top is trimmed and regrown
    all the time, and the page faults of regrowing cost more than the
    copies themselves (measured: 5.5 -> 7.6 Gbit/s over a veth).  A 64 MiB
    top pad and a 256 MiB trim threshold (mallopt) avoid that.  Only glibc;
    USERNET_MALLOC_TUNING=0 turns it off."""
    import ctypes
    import os
    import sys

    if os.environ.get("USERNET_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad = -1, -2
    mallopt(m_trim_threshold, 256 << 20)
    mallopt(m_top_pad, 64 << 20)


_tune_allocator()

# The protocol modules use the names above; they are imported last so that
# either side may be imported first.
from . import tcp_output as out  # noqa: E402
from . import tcp_timer as timer  # noqa: E402
