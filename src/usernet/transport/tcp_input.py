"""TCP input (``net/ipv4/tcp_input.c``, ``tcp_ipv4.c``, ``tcp_minisocks.c``,
``syncookies.c``, ``tcp_recovery.c``).

:func:`tcp_v4_rcv` is IPv4's handler for protocol 6.  It checks the header
(and the checksum when the frame did not cross a veth), looks the 4-tuple
up in the shared ``ehash`` -- a connection, a SYN queue entry or a
TIME_WAIT socket -- then the listeners, and answers what belongs to nobody
with a RST.

Segments of an established connection that are in order and carry nothing
unusual take the header-prediction fast path: a pure ACK goes straight to
:func:`tcp_ack`, a data segment is queued as a ``memoryview`` of the packet
(no copy) and ACKed as ``__tcp_ack_snd_check`` decides.  Everything else
goes through the RFC 9293 / Linux slow path: PAWS and sequence checks, RST
and SYN handling with RFC 5961 challenge ACKs, ACK processing with the SACK
scoreboard, RACK-TLP or NewReno loss detection, PRR during recovery and
undo, then the data (out-of-order queue, SACK and D-SACK blocks) and the
FIN.  Listeners make request sockets, or SYN cookies when the SYN queue
overflows; the ACK that completes a handshake makes the child socket and
queues it for ``accept``.

Sequence numbers on the wire are 32 bits; the socket keeps them unwrapped,
so incoming ones are unwrapped against ``rcv_nxt`` (data) and ``snd_una``
(acknowledgments) once, on entry.
"""

from __future__ import annotations

import errno
import struct
from typing import TYPE_CHECKING, Any

from ..ipv4.datapath_state import sysctl_int
from ..ipv4.route import RTCF_BROADCAST, RTCF_MULTICAST, ip_route_output_cached
from ..sock import RCV_SHUTDOWN, SEND_SHUTDOWN
from ..wire.checksum import csum_partial, pseudo_header_sum
from ..wire.tcp import ACK, CWR, ECE, FIN, PSH, RST, SYN, TCP_HDR, TS_PREFIX, URG, parse_options
from . import tcp_output as out
from . import tcp_timer as timer
from .tcp import (
    ICSK_ACK_NOW,
    ICSK_ACK_PUSHED,
    ICSK_ACK_PUSHED2,
    ICSK_ACK_SCHED,
    SEQ_MASK,
    SHUTDOWN_MASK,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_CLOSING,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT1,
    TCP_FIN_WAIT2,
    TCP_INIT_CWND,
    TCP_LAST_ACK,
    TCP_LISTEN,
    TCP_MAX_QUICKACKS,
    TCP_MIN_MSS,
    TCP_MSS_DEFAULT,
    TCP_NEW_SYN_RECV,
    TCP_RMEM_TO_WIN_SCALE,
    TCP_RTO_MAX_NS,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIME_WAIT,
    TCP_TIMEOUT_INIT_NS,
    TCP_TIMEWAIT_LEN_NS,
    TCP_URG_NOTYET,
    TCP_URG_VALID,
    TCPCB_EVER_RETRANS,
    TCPCB_LOST,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TcpRequest,
    TcpSock,
    TcpTimeWait,
    TxSeg,
    ehash_insert,
    lookup_listener,
    rand_below,
    secure_seq,
    secure_ts_off,
    tcp_done,
    tcp_fin_time,
    tcp_reset,
    tcp_set_state,
    tcp_time_wait,
)
from .tcp_cong import (
    CA_EVENT_COMPLETE_CWR,
    CA_EVENT_LOSS,
    TCP_CA_CWR,
    TCP_INFINITE_SSTHRESH,
    TCP_CA_Disorder,
    TCP_CA_Loss,
    TCP_CA_Open,
    TCP_CA_Recovery,
)
from .tcp_table import BindBucket, TcpNet, _tcp_nets, ehash, tcp_net

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute
    from ..net import Net

# flag bits of one ACK's processing (tcp_input.c FLAG_*)
FLAG_DATA = 0x01
FLAG_WIN_UPDATE = 0x02
FLAG_DATA_ACKED = 0x04
FLAG_RETRANS_DATA_ACKED = 0x08
FLAG_SYN_ACKED = 0x10
FLAG_DATA_SACKED = 0x20
FLAG_ECE = 0x40
FLAG_LOST_RETRANS = 0x80
FLAG_SLOWPATH = 0x100
FLAG_ORIG_SACK_ACKED = 0x200
FLAG_SND_UNA_ADVANCED = 0x400
FLAG_DSACKING_ACK = 0x800
FLAG_SET_XMIT_TIMER = 0x1000
FLAG_SACK_RENEGING = 0x2000
FLAG_UPDATE_TS_RECENT = 0x4000
FLAG_NO_CHALLENGE_ACK = 0x8000
FLAG_ACK_MAYBE_DELAYED = 0x10000
FLAG_DSACK_TLP = 0x20000
FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED
FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED
FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE | FLAG_DSACKING_ACK
FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED

REXMIT_NONE = 0
REXMIT_LOST = 1

TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS
TCP_REMNANT = FIN | URG | SYN | PSH
TCP_PAWS_WINDOW = 1
TCP_PAWS_MSL_S = 60
TCP_PAWS_WRAP_S = 24 * 24 * 3600
TCP_ATO_MIN_NS = 40_000_000
TCP_PINGPONG_THRESH = 1
JIFFY_NS = 4_000_000
HZ = 250
TCP_TIMEOUT_MIN_NS = 2 * JIFFY_NS
TCP_RACK_RECOVERY_THRESH = 16

# SYN cookies (syncookies.c)
COOKIEBITS = 24
COOKIEMASK = (1 << COOKIEBITS) - 1
MAX_SYNCOOKIE_AGE = 2
TCP_SYNCOOKIE_PERIOD_J = 60 * HZ
MSSTAB = (536, 1300, 1440, 1460)
TSBITS = 6
TS_OPT_WSCALE_MASK = 0xF
TS_OPT_SACK = 0x10

_HDR = TCP_HDR.unpack_from
_TS3 = struct.Struct("!III").unpack_from
_RTCF_BCAST_MCAST = RTCF_BROADCAST | RTCF_MULTICAST
_SO_OOBINLINE = 10


def _s32(x: int) -> int:
    """A 32-bit difference as a signed number (before/after)."""
    x &= SEQ_MASK
    return x - 0x100000000 if x & 0x80000000 else x


def _unwrap(ref: int, wire: int) -> int:
    d = (wire - ref) & SEQ_MASK
    return ref + d - 0x100000000 if d & 0x80000000 else ref + d


class Seg:
    """One incoming segment as the slow path sees it (TCP_SKB_CB)."""

    __slots__ = (
        "ack",
        "dev",
        "dlen",
        "doff",
        "dport",
        "end",
        "flags",
        "ihl",
        "n",
        "opts",
        "pkt",
        "rt",
        "sacks",
        "saw_ts",
        "seq",
        "sport",
        "tsecr",
        "tsval",
        "tw_isn",
        "urg",
        "wack",
        "win",
        "wseq",
    )

    def __init__(self, dev: NetDevice, pkt: bytes, ihl: int, rt: OutputRoute, n: int,
                 sport: int, dport: int, wseq: int, wack: int, doff: int, flags: int,
                 win: int) -> None:
        self.dev = dev
        self.pkt = pkt
        self.ihl = ihl
        self.rt = rt
        self.n = n
        self.sport = sport
        self.dport = dport
        self.wseq = wseq
        self.wack = wack
        self.doff = doff
        self.flags = flags
        self.win = win
        self.dlen = n - doff
        self.saw_ts = False
        self.tsval = 0
        self.tsecr = 0
        self.sacks: list[tuple[int, int]] | None = None
        self.opts: Any = None
        self.tw_isn = 0
        self.urg = 0
        self.seq = wseq
        self.end = wseq
        self.ack = wack

    def set_seq(self, sk: TcpSock) -> None:
        """Unwrap seq (against rcv_nxt) and ack (against snd_una)."""
        # _unwrap twice, inlined: every slow-path segment comes here
        ref = sk.rcv_nxt
        d = (self.wseq - ref) & SEQ_MASK
        seq = ref + d - 0x100000000 if d & 0x80000000 else ref + d
        self.seq = seq
        f = self.flags
        self.end = seq + self.dlen + (1 if f & SYN else 0) + (1 if f & FIN else 0)
        ref = sk.snd_una
        d = (self.wack - ref) & SEQ_MASK
        self.ack = ref + d - 0x100000000 if d & 0x80000000 else ref + d

    def data(self) -> memoryview:
        return memoryview(self.pkt)[self.ihl + self.doff:]

    def parse(self, syn: bool, net: Net) -> None:
        """tcp_parse_options on the segment (SYN options only when ``syn``)."""
        opt = parse_options(self.pkt, self.ihl + 20, self.ihl + self.doff, syn)
        self.opts = opt
        if opt.saw_ts and (not syn or net.ipv4.sysctl.tcp_timestamps):
            self.saw_ts = True
            self.tsval = opt.tsval
            self.tsecr = opt.tsecr
        self.sacks = opt.sack

    def fast_parse(self, sk: TcpSock) -> None:
        """tcp_fast_parse_options: the aligned timestamp, else the full walk."""
        doff = self.doff
        if doff == 20:
            return
        if sk.ts_ok and doff == 32:
            prefix, tsval, tsecr = _TS3(self.pkt, self.ihl + 20)
            if prefix == TS_PREFIX:
                self.saw_ts = True
                self.tsval = tsval
                self.tsecr = tsecr
                return
        opt = parse_options(self.pkt, self.ihl + 20, self.ihl + doff, False)
        if opt.saw_ts and sk.ts_ok:
            self.saw_ts = True
            self.tsval = opt.tsval
            self.tsecr = opt.tsecr
        if opt.sack and sk.sack_ok:
            self.sacks = opt.sack


# -- entry ----------------------------------------------------------------------------------------


def tcp_v4_rcv(dev: NetDevice, pkt: bytes | memoryview, ihl: int, rt: OutputRoute,
               summed: int) -> None:
    """tcp_v4_rcv: validate, look up, and hand the segment to its owner.
    ``pkt`` may be a view of the received frame (ip_list_rcv's): the
    established fast path keeps views of it; every other path gets bytes."""
    net = dev.net
    tn = _tcp_nets.get(net)
    if tn is None:
        tn = tcp_net(net)
    mib = tn.mib
    mib["InSegs"] += 1
    n = len(pkt) - ihl
    if n < 20:
        return
    sport, dport, wseq, wack, doff_byte, flags, win, _check, _urg = _HDR(pkt, ihl)
    doff = (doff_byte >> 4) << 2
    if doff < 20:
        mib["InErrs"] += 1
        return
    if doff > n:
        return
    if not summed and \
            csum_partial(pkt[ihl:], pseudo_header_sum(rt.saddr, rt.daddr, 6, n)) != 0xFFFF:
        mib["InCsumErrors"] += 1
        mib["InErrs"] += 1
        return
    if rt.flags & _RTCF_BCAST_MCAST:
        return
    sk = ehash.get((net, rt.daddr, dport, rt.saddr, sport))
    if sk is not None:
        state = sk.state
        if state == TCP_ESTABLISHED:
            sk.segs_in += 1
            if ((flags & 0xF7) == ACK and sk.fast_ok and doff == sk.tcp_header_len
                    and wseq == sk.rcv_nxt & SEQ_MASK
                    and _fast_path(sk, pkt, ihl, n, doff, wack, flags, win)):
                return
            whole = bytes(pkt) if isinstance(pkt, memoryview) else pkt
            seg = Seg(dev, whole, ihl, rt, n, sport, dport, wseq, wack, doff, flags, win)
            tcp_rcv_established_slow(sk, seg)
            return
    if isinstance(pkt, memoryview):  # only the fast path takes views
        pkt = bytes(pkt)
    if sk is not None:
        seg = Seg(dev, pkt, ihl, rt, n, sport, dport, wseq, wack, doff, flags, win)
        if state == TCP_TIME_WAIT:
            _tw_rcv(sk, seg, tn)
            return
        if state == TCP_NEW_SYN_RECV:
            _req_rcv(sk, seg)
            return
        sk.segs_in += 1
        if tcp_rcv_state_process(sk, seg):
            _send_reset_for(sk.net, seg)
        return
    seg = Seg(dev, pkt, ihl, rt, n, sport, dport, wseq, wack, doff, flags, win)
    listener = lookup_listener(net, rt.daddr, dport, rt.saddr, sport, dev)
    if listener is not None:
        tcp_listen_rcv(listener, seg)
        return
    _send_reset_for(net, seg)


def _send_reset_for(net: Net, seg: Seg) -> None:
    """tcp_v4_send_reset for a segment nobody wants (never for a RST)."""
    if seg.flags & RST:
        return
    rt = seg.rt
    out.tcp_v4_send_reset(net, rt.saddr, rt.daddr, seg.sport, seg.dport, seg.wseq, seg.wack,
                          seg.flags, seg.dlen, seg.pkt[1])


# -- the established fast path ------------------------------------------------------------------


def _fast_path(sk: TcpSock, pkt: bytes | memoryview, ihl: int, n: int, doff: int, wack: int,
               flags: int, win: int) -> bool:
    """Header prediction: in-order, ACK (and PSH), the expected options.
    False sends the segment down the slow path."""
    if doff == 32:
        prefix, tsval, tsecr = _TS3(pkt, ihl + 20)
        if prefix != TS_PREFIX or (tsval - sk.ts_recent) & 0x80000000:
            return False
    una = sk.snd_una
    d = (wack - una) & SEQ_MASK
    if d & 0x80000000:
        return False  # an old ACK: the slow path sorts it out
    ack = una + d
    if ack > sk.snd_nxt:
        return False
    rcv_nxt = sk.rcv_nxt
    now = sk.net.kernel.sched.now
    if doff == 32:
        sk.saw_ts = True
        sk.rcv_tsval = tsval
        sk.rcv_tsecr = tsecr
        if rcv_nxt == sk.rcv_wup:
            sk.ts_recent = tsval
            sk.ts_recent_stamp = now
    else:
        sk.saw_ts = False
    dlen = n - doff
    wchange = (win << sk.snd_wscale) != sk.snd_wnd
    if not dlen:
        # Bulk data transfer: sender
        if ack == una or not _fast_ack(sk, ack, rcv_nxt, win, now):
            tcp_ack(sk, ack, rcv_nxt, rcv_nxt, win, FLAG_SLOWPATH if wchange else 0, None)
        _data_snd_check(sk)
        sk.rcv_rtt_last_tsecr = sk.rcv_tsecr
        return True
    # Bulk data transfer: receiver
    if doff == 32:
        _rcv_rtt_measure_ts(sk, dlen)
    sk.tcp_net.mib["TCPHPHits"] += 1
    sk.rcvq.append(memoryview(pkt)[ihl + doff:])
    sk.rcvq_bytes += dlen
    sk.rcv_nxt = rcv_nxt + dlen
    sk.bytes_received += dlen
    _event_data_recv(sk, pkt, dlen, doff, flags, now)
    if ack != una or wchange:
        if ack == una or not _fast_ack(sk, ack, rcv_nxt, win, now):
            tcp_ack(sk, ack, rcv_nxt, rcv_nxt + dlen, win, FLAG_DATA | FLAG_SLOWPATH, None)
        _data_snd_check(sk)
        if not sk.ack_pending & ICSK_ACK_SCHED:
            sk.wq.wake_up()
            return True
    else:
        sk.snd_wl1 = rcv_nxt
    _ack_snd_check_now(sk, False)
    sk.wq.wake_up()
    return True


def _fast_ack(sk: TcpSock, ack: int, seq: int, win: int, now: int) -> bool:
    """tcp_ack for the common case of a sender making progress in the Open
    state with nothing SACKed, lost or retransmitted: the same bookkeeping as
    the general path, in one function.  False (nothing done) otherwise."""
    rtx = sk.rtx
    if sk.ca_state or sk.sacked_out or sk.lost_out or sk.retrans_out or sk.tlp_high_seq \
            or not rtx:
        return False
    for seg in rtx:
        if seg.sacked or seg.flags & SYN:
            return False
        if seg.end >= ack:
            break
    prior_snd_una = sk.snd_una
    # tcp_ack_update_window: ack > snd_una, so the window is taken
    sk.snd_wl1 = seq
    nwin = win << sk.snd_wscale
    if nwin != sk.snd_wnd:
        sk.snd_wnd = nwin
        tcp_fast_path_check(sk)
        if sk.write_seq > sk.snd_nxt:
            timer.tcp_slow_start_after_idle_check(sk)
        if nwin > sk.max_window:
            sk.max_window = nwin
            out.tcp_sync_mss(sk, sk.pmtu)
    sk.bytes_acked += ack - prior_snd_una
    sk.snd_una = ack
    sk.retransmits = 0
    sk.sk_err_soft = 0
    sk.probes_out = 0
    sk.rcv_tstamp = now // JIFFY_NS
    # tcp_clean_rtx_queue
    first_ackt = last_ackt = 0
    pkts = 0
    fully = True
    last: TxSeg | None = None
    while rtx:
        seg = rtx[0]
        if seg.end > ack:
            if seg.pcount == 1 or ack <= seg.seq:
                break
            before = seg.pcount
            out.seg_trim_head(sk, seg)
            acked = before - seg.pcount
            if not acked:
                break
            fully = False
        else:
            acked = seg.pcount
            rtx.popleft()
        last_ackt = seg.ts
        if not first_ackt:
            first_ackt = last_ackt
        pkts += acked
        last = seg
        if not fully:
            break
    sk.packets_out -= pkts
    sk.delivered += pkts
    if sk.snd_up and prior_snd_una <= sk.snd_up <= ack:
        sk.snd_up = ack
    limit = ack if ack < sk.write_seq else sk.write_seq
    q = sk.sndq
    s0 = sk.sndq_seq
    while q and s0 + len(q[0]) <= limit:
        s0 += len(q.popleft())
    sk.sndq_seq = s0
    sk.queue_shrunk = True
    flag = FLAG_SND_UNA_ADVANCED | FLAG_WIN_UPDATE | FLAG_DATA_ACKED
    if not pkts:
        return True
    if sk.sack_ok and last is not None:
        _rack_advance(sk, 0, last.end, last.ts)
    seq_rtt = (now - first_ackt) // 1000
    ca_rtt = (now - last_ackt) // 1000
    if pkts == 1 and fully and ack - prior_snd_una < sk.mss_cache:
        flag |= FLAG_ACK_MAYBE_DELAYED
    _ack_update_rtt(sk, flag, seq_rtt, -1, ca_rtt)
    sk.ca.pkts_acked(sk, pkts, ca_rtt)
    timer.tcp_set_xmit_timer(sk)
    sk.confirm_neigh = True
    # tcp_cong_control: Open, so tcp_may_raise_cwnd on data acked
    sk.ca.cong_avoid(sk, pkts)
    sk.snd_cwnd_stamp = now // JIFFY_NS
    return True


# -- data receive bookkeeping --------------------------------------------------------------------


def _truesize(pkt: bytes | memoryview, dlen: int) -> int:
    """skb->truesize of a received segment, roughly: a GRO aggregate of page
    fragments, or a linear skb for one frame."""
    if dlen > 2048:
        return ((dlen + 4095) & ~4095) + 1280
    return 2304


def _event_data_recv(sk: TcpSock, pkt: bytes | memoryview, dlen: int, doff: int, flags: int,
                     now: int) -> None:
    """tcp_event_data_recv: schedule an ACK, learn the peer's MSS, track the
    receiver RTT and the delayed-ACK timeout, grow the window."""
    pending = sk.ack_pending | ICSK_ACK_SCHED
    # tcp_measure_rcv_mss
    lss = sk.last_seg_size
    sk.last_seg_size = 0
    ln = dlen  # a GRO'd super-segment counts as its size: rcv_mss is capped by advmss
    rcv_mss = sk.rcv_mss
    if ln >= rcv_mss:
        if ln != rcv_mss:
            sk.scaling_ratio = ((dlen << TCP_RMEM_TO_WIN_SCALE) // _truesize(pkt, dlen)) or 1
        sk.rcv_mss = min(ln, sk.advmss)
        if flags & PSH:
            pending |= ICSK_ACK_PUSHED
    else:
        ln += doff
        settled = False
        if ln >= TCP_MSS_DEFAULT + 20 or (ln >= TCP_MIN_MSS + 20 and not flags & TCP_REMNANT):
            ln -= sk.tcp_header_len
            sk.last_seg_size = ln
            if ln == lss:
                sk.rcv_mss = ln
                settled = True
        if not settled:
            if pending & ICSK_ACK_PUSHED:
                pending |= ICSK_ACK_PUSHED2
            pending |= ICSK_ACK_PUSHED
    sk.ack_pending = pending
    # tcp_rcv_rtt_measure
    t0 = sk.rcv_rtt_time
    if t0 == 0 or sk.rcv_nxt >= sk.rcv_rtt_seq:
        if t0:
            _rcv_rtt_update(sk, max((now - t0) // 1000, 1), True)
        sk.rcv_rtt_seq = sk.rcv_nxt + sk.rcv_wnd
        sk.rcv_rtt_time = now
    # the delayed-ACK timeout (ato)
    now_j = now // JIFFY_NS
    ato = sk.ack_ato
    if not ato:
        out.tcp_incr_quickack(sk, TCP_MAX_QUICKACKS)
        sk.ack_ato = TCP_ATO_MIN_NS
    else:
        m = (now_j - sk.ack_lrcvtime) * JIFFY_NS
        if m <= TCP_ATO_MIN_NS // 2:
            sk.ack_ato = (ato >> 1) + TCP_ATO_MIN_NS // 2
        elif m < ato:
            ato = (ato >> 1) + m
            sk.ack_ato = min(ato, sk.rto)
        elif m > sk.rto:
            out.tcp_incr_quickack(sk, TCP_MAX_QUICKACKS)
    sk.ack_lrcvtime = now_j
    if dlen >= 128:
        _grow_window(sk, pkt, dlen)


def _rcv_rtt_update(sk: TcpSock, sample: int, win_dep: bool) -> None:
    """tcp_rcv_rtt_update: the receiver's RTT estimate (us << 3)."""
    est = sk.rcv_rtt_us
    m = sample
    if est:
        if not win_dep:
            m -= est >> 3
            est += m
        else:
            m <<= 3
            if m < est:
                est = m
    else:
        est = m << 3
    sk.rcv_rtt_us = est


def _rcv_rtt_measure_ts(sk: TcpSock, dlen: int) -> None:
    """tcp_rcv_rtt_measure_ts: a receiver RTT sample from the echoed TSval."""
    tsecr = sk.rcv_tsecr
    if tsecr == sk.rcv_rtt_last_tsecr:
        return
    sk.rcv_rtt_last_tsecr = tsecr
    if dlen >= sk.rcv_mss and tsecr:
        delta = (sk.ts_now() - tsecr) & SEQ_MASK
        if delta < 0x7FFFFFFF // 1000:
            _rcv_rtt_update(sk, max(delta, 1) * 1000, False)


def _grow_window(sk: TcpSock, pkt: bytes | memoryview, dlen: int) -> None:
    """tcp_grow_window: raise rcv_ssthresh while segments fit the buffer well."""
    room = min(sk.window_clamp, out.tcp_space(sk)) - sk.rcv_ssthresh
    if room <= 0:
        return
    truesize = _truesize(pkt, dlen)
    if out.win_from_space(sk, truesize) <= dlen:
        incr = 2 * sk.advmss
    else:
        incr = 0
        ts = out.win_from_space(sk, truesize) >> 1
        window = out.win_from_space(sk, sk.net.ipv4.sysctl.tcp_rmem[2]) >> 1
        while sk.rcv_ssthresh <= window:
            if ts <= dlen:
                incr = 2 * sk.rcv_mss
                break
            ts >>= 1
            window >>= 1
    if incr:
        incr = max(incr, 2 * dlen)
        sk.rcv_ssthresh += min(room, incr)
        sk.ack_quick |= 1


def tcp_fast_path_check(sk: TcpSock) -> None:
    """tcp_fast_path_check: header prediction while nothing is unusual."""
    # rcv_queued() and tcp_full_space() inlined: with no out-of-order queue
    # (checked first) the queued bytes are rcvq_bytes.
    sk.fast_ok = (not sk.ofo and sk.rcv_wnd > 0 and not sk.urg_data
                  and sk.rcvq_bytes < (sk.rcvbuf * sk.scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE)


def _ack_snd_check_now(sk: TcpSock, ofo_possible: bool) -> None:
    """__tcp_ack_snd_check: ACK now (a full frame and the window would not
    shrink, quick-ACK mode, or a state that wants it), else delay it."""
    if ((sk.rcv_nxt - sk.rcv_wup > sk.rcv_mss
         and (sk.rcv_nxt - sk.copied_seq < sk.rcvlowat
              or out.select_window_raw(sk) >= sk.rcv_wnd))
            or (sk.ack_quick and sk.ack_pingpong < TCP_PINGPONG_THRESH)
            or sk.ack_pending & ICSK_ACK_NOW):
        out.tcp_send_ack(sk)
        return
    if not ofo_possible or not sk.ofo:
        out.tcp_send_delayed_ack(sk)
        return
    out.tcp_send_ack(sk)  # SACK compression (tcp_comp_sack_*) is not emulated


def tcp_ack_snd_check(sk: TcpSock) -> None:
    if not sk.ack_pending & ICSK_ACK_SCHED:
        return
    _ack_snd_check_now(sk, True)


def _data_snd_check(sk: TcpSock) -> None:
    """tcp_data_snd_check: send what the ACK made room for, then wake a
    writer if the send buffer drained enough (tcp_check_space)."""
    if sk.write_seq > sk.snd_nxt or sk.fin_seq >= sk.snd_nxt:
        out.tcp_write_xmit(sk, sk.nonagle)
    if sk.queue_shrunk:
        sk.queue_shrunk = False
        if sk.nospace:
            out.tcp_new_space(sk)
            if sk.stream_wspace() >= sk.stream_min_wspace():
                sk.nospace = False
                sk.wq.wake_up()


# -- ACK processing -------------------------------------------------------------------------------


class SackState:
    """tcp_sacktag_state: what one ACK's SACK blocks revealed."""

    __slots__ = ("first_sackt", "flag", "last_sackt", "reord", "sack_delivered")

    def __init__(self, reord: int) -> None:
        self.first_sackt = 0
        self.last_sackt = 0
        self.reord = reord
        self.sack_delivered = 0
        self.flag = 0


_NO_SACKS = SackState(0)  # what an ACK without SACK blocks revealed: nothing, ever


def tcp_ack(sk: TcpSock, ack: int, seq: int, end_seq: int, win: int, flag: int,
            seg: Seg | None) -> int:
    """tcp_ack: >0 when the ACK is acceptable, 0 for an old one, <0 to drop
    the segment (an ACK of data never sent, or one too old)."""
    prior_snd_una = sk.snd_una
    sacks = seg.sacks if seg is not None else None
    if ack < prior_snd_una:
        max_window = min(sk.max_window, sk.bytes_acked)
        if ack < prior_snd_una - max_window:
            if not flag & FLAG_NO_CHALLENGE_ACK:
                out.tcp_send_challenge_ack(sk)
            return -1
        # old_ack: SACK information may still be news
        if sacks:
            st = SackState(sk.snd_nxt)
            flag |= tcp_sacktag_write_queue(sk, sacks, prior_snd_una, ack, st)
            flag, rexmit = tcp_fastretrans_alert(sk, prior_snd_una, 0, flag)
            tcp_xmit_recovery(sk, rexmit)
        return 0
    if ack > sk.snd_nxt:
        return -2
    if ack > prior_snd_una:
        flag |= FLAG_SND_UNA_ADVANCED
        sk.retransmits = 0
    sack_ok = sk.sack_ok
    prior_fack = (sk.highest_sack if sk.sacked_out else prior_snd_una) if sack_ok \
        else prior_snd_una
    prior_packets = sk.packets_out
    prior_delivered = sk.delivered
    prior_lost = sk.lost
    # only SACK tagging writes the state: without blocks, a shared empty one
    st = SackState(sk.snd_nxt) if sacks else _NO_SACKS
    if flag & FLAG_UPDATE_TS_RECENT and sk.saw_ts and seq <= sk.rcv_wup:
        if _paws_check(sk, sk.rcv_tsval, 0):
            sk.ts_recent = sk.rcv_tsval
            sk.ts_recent_stamp = sk.net.kernel.sched.now
    if (flag & (FLAG_SLOWPATH | FLAG_SND_UNA_ADVANCED)) == FLAG_SND_UNA_ADVANCED:
        # Window is constant, pure forward advance.
        sk.snd_wl1 = seq
        sk.bytes_acked += ack - prior_snd_una
        sk.snd_una = ack
        flag |= FLAG_WIN_UPDATE
        sk.tcp_net.mib["TCPHPAcks"] += 1
    else:
        if seq != end_seq:
            flag |= FLAG_DATA
        else:
            sk.tcp_net.mib["TCPPureAcks"] += 1
        flag |= _ack_update_window(sk, ack, seq, win, seg is not None and bool(seg.flags & SYN))
        if sacks:
            flag |= tcp_sacktag_write_queue(sk, sacks, prior_snd_una, ack, st)
        if seg is not None and seg.flags & ECE and sk.ecn_ok:
            flag |= FLAG_ECE
        if st.sack_delivered:
            sk.delivered += st.sack_delivered
    sk.sk_err_soft = 0
    sk.probes_out = 0
    sk.rcv_tstamp = sk.net.kernel.sched.now // JIFFY_NS
    if not prior_packets:
        # no_queue
        if flag & FLAG_DSACKING_ACK:
            flag, _r = tcp_fastretrans_alert(sk, prior_snd_una, 0, flag)
        _ack_probe(sk)
        if sk.tlp_high_seq:
            _process_tlp_ack(sk, ack, flag)
        return 1
    flag |= tcp_clean_rtx_queue(sk, prior_fack, prior_snd_una, st, flag)
    if sk.tlp_high_seq:
        _process_tlp_ack(sk, ack, flag)
    rexmit = REXMIT_NONE
    if not flag & FLAG_NOT_DUP or flag & FLAG_CA_ALERT or sk.ca_state != TCP_CA_Open:
        num_dupack = 0
        if not flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK):
            num_dupack = 1
        flag, rexmit = tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, flag)
    if flag & FLAG_SET_XMIT_TIMER:
        timer.tcp_set_xmit_timer(sk)
    if flag & FLAG_FORWARD_PROGRESS or not flag & FLAG_NOT_DUP:
        sk.confirm_neigh = True
    delivered = sk.delivered - prior_delivered
    _cong_control(sk, delivered, sk.lost - prior_lost, flag)
    tcp_xmit_recovery(sk, rexmit)
    return 1


def _ack_update_window(sk: TcpSock, ack: int, seq: int, win: int, syn: bool) -> int:
    """tcp_ack_update_window (and tcp_snd_una_update)."""
    flag = 0
    nwin = win if syn else win << sk.snd_wscale
    if ack > sk.snd_una or seq > sk.snd_wl1 or (seq == sk.snd_wl1 and
                                                (nwin > sk.snd_wnd or not nwin)):
        flag = FLAG_WIN_UPDATE
        sk.snd_wl1 = seq
        if sk.snd_wnd != nwin:
            sk.snd_wnd = nwin
            tcp_fast_path_check(sk)
            if sk.write_seq > sk.snd_nxt:
                timer.tcp_slow_start_after_idle_check(sk)
            if nwin > sk.max_window:
                sk.max_window = nwin
                out.tcp_sync_mss(sk, sk.pmtu)
    sk.bytes_acked += ack - sk.snd_una
    sk.snd_una = ack
    return flag


def tcp_clean_rtx_queue(sk: TcpSock, prior_fack: int, prior_snd_una: int, st: SackState,
                        flag_in: int) -> int:
    """tcp_clean_rtx_queue: free what the cumulative ACK covers, take an RTT
    sample (Karn: not from retransmitted data), release send buffer."""
    una = sk.snd_una
    rtx = sk.rtx
    prior_sacked = sk.sacked_out
    reord = sk.snd_nxt
    first_ackt = last_ackt = 0
    pkts_acked = 0
    flag = 0
    fully_acked = True
    sack_ok = sk.sack_ok
    high_seq = sk.high_seq
    head: TxSeg | None = None
    last_acked: TxSeg | None = None
    while rtx:
        seg = rtx[0]
        if seg.end > una:
            if seg.pcount == 1 or una <= seg.seq:
                head = seg
                break
            before = seg.pcount
            out.seg_trim_head(sk, seg)
            acked_pcount = before - seg.pcount
            if not acked_pcount:
                head = seg
                break
            fully_acked = False
        else:
            acked_pcount = seg.pcount
        sacked = seg.sacked
        if sacked & TCPCB_RETRANS:
            if sacked & TCPCB_SACKED_RETRANS:
                sk.retrans_out -= acked_pcount
            flag |= FLAG_RETRANS_DATA_ACKED
        elif not sacked & TCPCB_SACKED_ACKED:
            last_ackt = seg.ts
            if not first_ackt:
                first_ackt = last_ackt
            if seg.seq < reord:
                reord = seg.seq
            if seg.end <= high_seq:
                flag |= FLAG_ORIG_SACK_ACKED
        if sacked & TCPCB_SACKED_ACKED:
            sk.sacked_out -= acked_pcount
        elif sack_ok:
            sk.delivered += acked_pcount
            last_acked = seg
        if sacked & TCPCB_LOST:
            sk.lost_out -= acked_pcount
        sk.packets_out -= acked_pcount
        pkts_acked += acked_pcount
        if seg.flags & SYN:
            flag |= FLAG_SYN_ACKED
            sk.retrans_stamp = 0
        else:
            flag |= FLAG_DATA_ACKED
        if not fully_acked:
            head = seg
            break
        rtx.popleft()
    if last_acked is not None and not _spurious_retrans(sk, last_acked):
        _rack_advance(sk, last_acked.sacked, last_acked.end, last_acked.ts)
    if prior_snd_una <= sk.snd_up <= una:
        sk.snd_up = una  # the urgent data was acknowledged: urgent mode ends
    # the acknowledged bytes leave the send buffer
    limit = una if una < sk.write_seq else sk.write_seq
    q = sk.sndq
    s0 = sk.sndq_seq
    while q and s0 + len(q[0]) <= limit:
        s0 += len(q.popleft())
    if s0 != sk.sndq_seq:
        sk.sndq_seq = s0
    if limit > prior_snd_una:
        sk.queue_shrunk = True
    if head is not None and head.sacked & TCPCB_SACKED_ACKED:
        flag |= FLAG_SACK_RENEGING
    now = sk.net.kernel.sched.now
    seq_rtt_us = sack_rtt_us = ca_rtt_us = -1
    if first_ackt and not flag & FLAG_RETRANS_DATA_ACKED:
        seq_rtt_us = (now - first_ackt) // 1000
        ca_rtt_us = (now - last_ackt) // 1000
        if (pkts_acked == 1 and fully_acked and not prior_sacked
                and una - prior_snd_una < sk.mss_cache
                and not (flag | flag_in) & (FLAG_CA_ALERT | FLAG_SYN_ACKED)):
            flag |= FLAG_ACK_MAYBE_DELAYED
    if st.first_sackt:
        sack_rtt_us = (now - st.first_sackt) // 1000
        ca_rtt_us = (now - st.last_sackt) // 1000
    rtt_update = _ack_update_rtt(sk, flag | flag_in, seq_rtt_us, sack_rtt_us, ca_rtt_us)
    if flag & FLAG_ACKED:
        flag |= FLAG_SET_XMIT_TIMER
        if not sack_ok:
            _remove_reno_sacks(sk, pkts_acked)
            if flag & FLAG_RETRANS_DATA_ACKED:
                flag &= ~FLAG_ORIG_SACK_ACKED
        elif reord < prior_fack:
            _check_sack_reordering(sk, reord, False)
    elif head is not None and rtt_update and sack_rtt_us >= 0 and \
            sack_rtt_us > (now - head.ts) // 1000:
        flag |= FLAG_SET_XMIT_TIMER
    sk.ca.pkts_acked(sk, pkts_acked, ca_rtt_us if rtt_update or ca_rtt_us >= 0 else -1)
    return flag


def _spurious_retrans(sk: TcpSock, seg: TxSeg) -> bool:
    """tcp_skb_spurious_retrans: the echoed TSval predates the retransmission."""
    return bool(seg.sacked & TCPCB_RETRANS) and _tsecr_before(sk, seg.ts)


def _tsecr_before(sk: TcpSock, when_ns: int) -> bool:
    """tcp_tsopt_ecr_before: the echoed TSval is older than ``when``."""
    if not (sk.saw_ts and sk.rcv_tsecr):
        return False
    when_ts = (when_ns // 1_000_000 + sk.ts_off) & SEQ_MASK
    return bool((sk.rcv_tsecr - when_ts) & 0x80000000)


def _ack_update_rtt(sk: TcpSock, flag: int, seq_rtt_us: int, sack_rtt_us: int,
                    ca_rtt_us: int) -> bool:
    """tcp_ack_update_rtt: prefer the ACK's timing; fall back on TSecr (RFC 7323)."""
    if seq_rtt_us < 0:
        seq_rtt_us = sack_rtt_us
    if seq_rtt_us < 0 and sk.saw_ts and sk.rcv_tsecr and flag & FLAG_ACKED:
        delta = (sk.ts_now() - sk.rcv_tsecr) & SEQ_MASK
        if delta < 0x7FFFFFFF // 1000:
            seq_rtt_us = ca_rtt_us = max(delta, 1) * 1000
    if seq_rtt_us < 0:
        return False
    if not (flag & FLAG_ACK_MAYBE_DELAYED and ca_rtt_us > sk.min_rtt_us):
        sample = ca_rtt_us or JIFFY_NS // 1000
        if sample < sk.min_rtt_us:
            sk.min_rtt_us = sample
    tcp_rtt_estimator(sk, seq_rtt_us)
    tcp_set_rto(sk)
    sk.backoff = 0
    return True


def tcp_rtt_estimator(sk: TcpSock, mrtt_us: int) -> None:
    """tcp_rtt_estimator: Jacobson's SRTT and RTTVAR, in Linux's scaling
    (srtt_us << 3, mdev_us << 2), with rttvar never below the minimum RTO."""
    m = mrtt_us
    srtt = sk.srtt_us
    if srtt:
        m -= srtt >> 3
        srtt += m
        if m < 0:
            m = -m
            m -= sk.mdev_us >> 2
            if m > 0:
                m >>= 3
        else:
            m -= sk.mdev_us >> 2
        sk.mdev_us += m
        if sk.mdev_us > sk.mdev_max_us:
            sk.mdev_max_us = sk.mdev_us
            if sk.mdev_max_us > sk.rttvar_us:
                sk.rttvar_us = sk.mdev_max_us
        if sk.snd_una > sk.rtt_seq:
            if sk.mdev_max_us < sk.rttvar_us:
                sk.rttvar_us -= (sk.rttvar_us - sk.mdev_max_us) >> 2
            sk.rtt_seq = sk.snd_nxt
            sk.mdev_max_us = sk.net.ipv4.sysctl.tcp_rto_min_us
    else:
        srtt = m << 3
        sk.mdev_us = m << 1
        rto_min_us = sk.net.ipv4.sysctl.tcp_rto_min_us
        sk.rttvar_us = sk.mdev_us if sk.mdev_us > rto_min_us else rto_min_us
        sk.mdev_max_us = sk.rttvar_us
        sk.rtt_seq = sk.snd_nxt
    sk.srtt_us = srtt if srtt > 1 else 1  # not max(): a builtin call costs a tuple


def tcp_set_rto(sk: TcpSock) -> None:
    """tcp_set_rto: RTO = SRTT + max(4 * RTTVAR, RTO_min) (RFC 6298), in jiffies."""
    us = (sk.srtt_us >> 3) + sk.rttvar_us
    rto = -(-us * 1000 // JIFFY_NS) * JIFFY_NS
    sk.rto = rto if rto < TCP_RTO_MAX_NS else TCP_RTO_MAX_NS


def _ack_probe(sk: TcpSock) -> None:
    """tcp_ack_probe: a window update while probing a zero window."""
    if sk.write_seq <= sk.snd_nxt:
        return
    mss = out.tcp_current_mss(sk)
    head_end = sk.snd_nxt + min(sk.write_seq - sk.snd_nxt, mss)
    if head_end <= sk.snd_una + sk.snd_wnd:
        sk.backoff = 0
        if sk.timer_kind == timer.ICSK_TIME_PROBE0:
            timer.clear_xmit_timer(sk)
    else:
        timer.reset_xmit_timer(sk, timer.ICSK_TIME_PROBE0,
                               timer.tcp_probe0_when(sk, TCP_RTO_MAX_NS))


def _process_tlp_ack(sk: TcpSock, ack: int, flag: int) -> None:
    """tcp_process_tlp_ack: end a tail-loss-probe episode."""
    if ack < sk.tlp_high_seq:
        return
    if not sk.tlp_retrans or flag & FLAG_DSACK_TLP:
        sk.tlp_high_seq = 0
    elif ack > sk.tlp_high_seq:
        _init_cwnd_reduction(sk)
        _set_ca_state(sk, TCP_CA_CWR)
        _end_cwnd_reduction(sk)
        _try_keep_open(sk)
        sk.tcp_net.mib["TCPLossProbeRecovery"] += 1
    elif not flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED):
        sk.tlp_high_seq = 0


def _cong_control(sk: TcpSock, acked_sacked: int, newly_lost: int, flag: int) -> None:
    """tcp_cong_control: PRR while reducing, else the algorithm's increase."""
    state = sk.ca_state
    if state in (TCP_CA_CWR, TCP_CA_Recovery):
        tcp_cwnd_reduction(sk, acked_sacked, newly_lost, flag)
    elif flag & (FLAG_FORWARD_PROGRESS if sk.reordering > sk.net.ipv4.sysctl.tcp_reordering
                 else FLAG_DATA_ACKED):
        sk.ca.cong_avoid(sk, acked_sacked)
        sk.snd_cwnd_stamp = sk.net.kernel.sched.now // JIFFY_NS


# -- SACK scoreboard ------------------------------------------------------------------------------


def tcp_sacktag_write_queue(sk: TcpSock, sacks: list[tuple[int, int]], prior_snd_una: int,
                            ack: int, st: SackState) -> int:
    """tcp_sacktag_write_queue: mark what the SACK blocks cover, D-SACK first."""
    una = sk.snd_una
    blocks = [(_unwrap(una, s), _unwrap(una, e)) for s, e in sacks]
    mib = sk.tcp_net.mib
    found_dup = False
    s0, e0 = blocks[0]
    if s0 < ack:
        mib["TCPDSACKRecv"] += 1
        found_dup = True
    elif len(blocks) > 1:
        s1, e1 = blocks[1]
        if not (e0 > e1 or s0 < s1):
            mib["TCPDSACKOfoRecv"] += 1
            found_dup = True
    if found_dup:
        dup_segs = _dsack_seen(sk, s0, e0, st)
        if not dup_segs:
            found_dup = False
        elif sk.undo_marker and sk.undo_retrans > 0 and e0 <= prior_snd_una and \
                e0 > sk.undo_marker:
            sk.undo_retrans = max(0, sk.undo_retrans - dup_segs)
    rtx = sk.rtx
    for i, (start, end) in enumerate(blocks):
        dup = found_dup and i == 0
        if not _sackblock_valid(sk, dup, start, end):
            continue
        if not rtx:
            break
        j = 0
        while j < len(rtx):
            seg = rtx[j]
            if seg.end <= start:
                j += 1
                continue
            if seg.seq >= end:
                break
            in_sack = _match_seg_to_sack(sk, seg, start, end)
            if in_sack < 0:
                break
            if in_sack:
                seg.sacked = _sacktag_one(sk, st, seg.sacked, seg.seq, seg.end, dup,
                                          seg.pcount, seg.ts)
                if seg.sacked & TCPCB_SACKED_ACKED and seg.end > sk.highest_sack:
                    sk.highest_sack = seg.end
            j += 1
    if not sk.sack_ok:
        return st.flag
    if st.reord < sk.snd_nxt and sk.ca_state != TCP_CA_Loss:
        _check_sack_reordering(sk, st.reord, False)
    return st.flag


def _dsack_seen(sk: TcpSock, start: int, end: int, st: SackState) -> int:
    """tcp_dsack_seen: count a D-SACK unless it is dubious."""
    if start >= end:
        return 0
    seq_len = end - start
    if seq_len > sk.max_window:
        return 0
    dup_segs = 1
    if seq_len > sk.mss_cache:
        dup_segs = -(-seq_len // sk.mss_cache)
    elif sk.tlp_high_seq and sk.tlp_high_seq == end:
        st.flag |= FLAG_DSACK_TLP
    sk.dsack_dups += dup_segs
    if sk.dsack_dups > sk.total_retrans:
        return 0
    st.flag |= FLAG_DSACKING_ACK
    st.sack_delivered += dup_segs
    return dup_segs


def _sackblock_valid(sk: TcpSock, is_dsack: bool, start: int, end: int) -> bool:
    """tcp_is_sackblock_valid."""
    if end > sk.snd_nxt or start >= end:
        return False
    if start >= sk.snd_nxt:
        return False
    if start > sk.snd_una:
        return True
    if not is_dsack or not sk.undo_marker:
        return False
    if end > sk.snd_una:
        return False
    if start >= sk.undo_marker:
        return True
    if end <= sk.undo_marker:
        return False
    return start >= end - sk.max_window


def _match_seg_to_sack(sk: TcpSock, seg: TxSeg, start: int, end: int) -> int:
    """tcp_match_skb_to_sack: 1 when (the first part of) ``seg`` lies in the
    block, cutting a GSO segment at an MSS boundary; -1 on a bad cut."""
    in_sack = start <= seg.seq and end >= seg.end
    if seg.pcount > 1 and not in_sack and seg.end > start:
        mss = sk.mss_cache
        in_sack = start <= seg.seq
        if not in_sack:
            pkt_len = max(start - seg.seq, mss)
        else:
            pkt_len = end - seg.seq
            if pkt_len < mss:
                return -1
        if pkt_len > mss:
            new_len = (pkt_len // mss) * mss
            if not in_sack and new_len < pkt_len:
                new_len += mss
            pkt_len = new_len
        seg_len = seg.end - seg.seq - (1 if seg.flags & FIN else 0)
        if pkt_len >= seg_len:
            return 1 if in_sack else 0
        out.seg_fragment(sk, seg, pkt_len)
    return 1 if in_sack else 0


def _sacktag_one(sk: TcpSock, st: SackState, sacked: int, start: int, end: int, dup: bool,
                 pcount: int, xmit_ts: int) -> int:
    """tcp_sacktag_one: the scoreboard bits of one newly SACKed segment."""
    if dup and sacked & TCPCB_RETRANS:
        if sk.undo_marker and sk.undo_retrans > 0 and end > sk.undo_marker:
            sk.undo_retrans = max(0, sk.undo_retrans - pcount)
        if sacked & TCPCB_SACKED_ACKED and start < st.reord:
            st.reord = start
    if end <= sk.snd_una:
        return sacked
    if not sacked & TCPCB_SACKED_ACKED:
        _rack_advance(sk, sacked, end, xmit_ts)
        if sacked & TCPCB_SACKED_RETRANS:
            if sacked & TCPCB_LOST:
                sacked &= ~(TCPCB_LOST | TCPCB_SACKED_RETRANS)
                sk.lost_out -= pcount
                sk.retrans_out -= pcount
        else:
            if not sacked & TCPCB_RETRANS:
                if start < (sk.highest_sack if sk.sacked_out else sk.snd_una) and \
                        start < st.reord:
                    st.reord = start
                if end <= sk.high_seq:
                    st.flag |= FLAG_ORIG_SACK_ACKED
                if not st.first_sackt:
                    st.first_sackt = xmit_ts
                st.last_sackt = xmit_ts
            if sacked & TCPCB_LOST:
                sacked &= ~TCPCB_LOST
                sk.lost_out -= pcount
        sacked |= TCPCB_SACKED_ACKED
        st.flag |= FLAG_DATA_SACKED
        sk.sacked_out += pcount
        st.sack_delivered += pcount
    if dup and sacked & TCPCB_SACKED_RETRANS:
        sacked &= ~TCPCB_SACKED_RETRANS
        sk.retrans_out -= pcount
    return sacked


def _check_sack_reordering(sk: TcpSock, low_seq: int, ts: bool) -> None:
    """tcp_check_sack_reordering: a hole filled by original data is reordering."""
    fack = sk.highest_sack if sk.sacked_out else sk.snd_una
    if low_seq >= fack:
        return
    mss = sk.mss_cache
    metric = fack - low_seq
    if metric > sk.reordering * mss and mss:
        sk.reordering = min(-(-metric // mss),
                            sk.net.ipv4.sysctl.tcp_max_reordering)
    sk.reord_seen += 1
    sk.tcp_net.mib["TCPTSReorder" if ts else "TCPSACKReorder"] += 1


# -- NewReno's duplicate-ACK counting (no SACK) ---------------------------------------------------


def _check_reno_reordering(sk: TcpSock, addend: int) -> None:
    holes = sk.lost_out if sk.lost_out > 1 else 1  # not min()/max(): per connection
    if holes > sk.packets_out:
        holes = sk.packets_out
    if sk.sacked_out + holes > sk.packets_out:
        sk.sacked_out = sk.packets_out - holes
        sk.reordering = min(sk.packets_out + addend,
                            sk.net.ipv4.sysctl.tcp_max_reordering)
        sk.reord_seen += 1
        sk.tcp_net.mib["TCPRenoReorder"] += 1


def _add_reno_sack(sk: TcpSock, num_dupack: int) -> None:
    """tcp_add_reno_sack: a duplicate ACK stands for one segment that left."""
    if num_dupack:
        prior = sk.sacked_out
        sk.sacked_out += num_dupack
        _check_reno_reordering(sk, 0)
        delivered = sk.sacked_out - prior
        if delivered > 0:
            sk.delivered += delivered


def _remove_reno_sacks(sk: TcpSock, acked: int) -> None:
    if acked > 0:
        delivered = acked - sk.sacked_out
        sk.delivered += delivered if delivered > 1 else 1
        if acked - 1 >= sk.sacked_out:
            sk.sacked_out = 0
        else:
            sk.sacked_out -= acked - 1
    _check_reno_reordering(sk, acked)


# -- RACK (RFC 8985) ------------------------------------------------------------------------------


def _rack_advance(sk: TcpSock, sacked: int, end_seq: int, xmit_ts: int) -> None:
    """tcp_rack_advance: the most recently sent segment known delivered."""
    rtt_us = (sk.net.kernel.sched.now - xmit_ts) // 1000
    if rtt_us < sk.min_rtt_us and sacked & TCPCB_RETRANS:
        return
    sk.rack_advanced = True
    sk.rack_rtt_us = rtt_us
    if xmit_ts > sk.rack_mstamp or (xmit_ts == sk.rack_mstamp and end_seq > sk.rack_end_seq):
        sk.rack_mstamp = xmit_ts
        sk.rack_end_seq = end_seq


def _rack_reo_wnd(sk: TcpSock) -> int:
    """tcp_rack_reo_wnd (us): none until reordering is seen and in recovery."""
    if not sk.reord_seen:
        if sk.ca_state >= TCP_CA_Recovery:
            return 0
        if sk.sacked_out >= sk.reordering:
            return 0
    return min((sk.min_rtt_us >> 2) * sk.reo_wnd_steps, sk.srtt_us >> 3)


def _rack_detect_loss(sk: TcpSock) -> int:
    """tcp_rack_detect_loss: mark lost what was sent before the last delivered
    segment and not S/ACKed within RTT + reordering window; returns the
    longest wait (us) still needed for the others."""
    reo_timeout = 0
    reo_wnd = _rack_reo_wnd(sk)
    now = sk.net.kernel.sched.now
    rack_ts, rack_end, rack_rtt = sk.rack_mstamp, sk.rack_end_seq, sk.rack_rtt_us
    for seg in list(sk.rtx):
        sacked = seg.sacked
        if sacked & TCPCB_SACKED_ACKED:
            continue
        if sacked & TCPCB_LOST and not sacked & TCPCB_SACKED_RETRANS:
            continue
        ts = seg.ts
        if not (rack_ts > ts or (rack_ts == ts and rack_end > seg.end)):
            continue
        remaining = rack_rtt + reo_wnd - (now - ts) // 1000
        if remaining <= 0:
            tcp_mark_skb_lost(sk, seg)
        elif remaining > reo_timeout:
            reo_timeout = remaining
    return reo_timeout


def tcp_rack_mark_lost(sk: TcpSock) -> bool:
    if not sk.rack_advanced:
        return False
    sk.rack_advanced = False
    timeout = _rack_detect_loss(sk)
    if timeout:
        when = -(-timeout * 1000 // JIFFY_NS) * JIFFY_NS + TCP_TIMEOUT_MIN_NS
        timer.reset_xmit_timer(sk, timer.ICSK_TIME_REO_TIMEOUT, min(when, sk.rto))
    return bool(timeout)


def tcp_rack_reo_timeout(sk: TcpSock) -> None:
    """tcp_rack_reo_timeout: the reordering window ran out."""
    prior_inflight = sk.in_flight()
    lost = sk.lost
    timeout = _rack_detect_loss(sk)
    if prior_inflight != sk.in_flight():
        if sk.ca_state != TCP_CA_Recovery:
            _enter_recovery(sk, False)
            tcp_cwnd_reduction(sk, 1, sk.lost - lost, 0)
        out.tcp_xmit_retransmit_queue(sk)
    if timeout:
        when = -(-timeout * 1000 // JIFFY_NS) * JIFFY_NS + TCP_TIMEOUT_MIN_NS
        timer.reset_xmit_timer(sk, timer.ICSK_TIME_REO_TIMEOUT, min(when, sk.rto))
    elif sk.timer_kind != timer.ICSK_TIME_RETRANS:
        timer.tcp_rearm_rto(sk)


def tcp_mark_skb_lost(sk: TcpSock, seg: TxSeg) -> None:
    sacked = seg.sacked
    if sacked & TCPCB_SACKED_ACKED:
        return
    if sacked & TCPCB_LOST:
        if sacked & TCPCB_SACKED_RETRANS:
            seg.sacked = sacked & ~TCPCB_SACKED_RETRANS
            sk.retrans_out -= seg.pcount
            sk.tcp_net.mib["TCPLostRetransmit"] += seg.pcount
            sk.lost += seg.pcount
    else:
        sk.lost_out += seg.pcount
        seg.sacked = sacked | TCPCB_LOST
        sk.lost += seg.pcount


def _newreno_mark_lost(sk: TcpSock, snd_una_advanced: bool) -> None:
    """tcp_newreno_mark_lost: the head is lost after `reordering` dupACKs, and
    again after each partial ACK in recovery."""
    state = sk.ca_state
    if (state < TCP_CA_Recovery and sk.sacked_out >= sk.reordering) or \
            (state == TCP_CA_Recovery and snd_una_advanced):
        seg = sk.rtx[0]
        if seg.sacked & TCPCB_LOST:
            return
        mss = sk.mss_cache
        if seg.pcount > 1 and seg.end - seg.seq > mss:
            out.seg_fragment(sk, seg, mss)
        tcp_mark_skb_lost(sk, seg)


# -- the congestion state machine (tcp_fastretrans_alert) -----------------------------------------


def _set_ca_state(sk: TcpSock, state: int) -> None:
    sk.ca.set_state(sk, state)
    sk.ca_state = state


def _init_undo(sk: TcpSock) -> None:
    sk.undo_marker = sk.snd_una
    sk.undo_retrans = sk.retrans_out or -1


def _any_retrans_done(sk: TcpSock) -> bool:
    if sk.retrans_out:
        return True
    return bool(sk.rtx and sk.rtx[0].sacked & TCPCB_EVER_RETRANS)


def _packet_delayed(sk: TcpSock) -> bool:
    return bool(sk.retrans_stamp) and _tsecr_before(sk, sk.retrans_stamp)


def _may_undo(sk: TcpSock) -> bool:
    return bool(sk.undo_marker) and (not sk.undo_retrans or _packet_delayed(sk))


def _current_ssthresh(sk: TcpSock) -> int:
    """tcp_current_ssthresh."""
    if sk.ca_state in (TCP_CA_CWR, TCP_CA_Recovery):
        return sk.snd_ssthresh
    return max(sk.snd_ssthresh, (sk.snd_cwnd >> 1) + (sk.snd_cwnd >> 2))


def _undo_cwnd_reduction(sk: TcpSock, unmark_loss: bool) -> None:
    if unmark_loss:
        for seg in sk.rtx:
            seg.sacked &= ~TCPCB_LOST
        sk.lost_out = 0
    if sk.prior_ssthresh:
        sk.snd_cwnd = sk.ca.undo_cwnd(sk)
        if sk.prior_ssthresh > sk.snd_ssthresh:
            sk.snd_ssthresh = sk.prior_ssthresh
    sk.snd_cwnd_stamp = sk.net.kernel.sched.now // JIFFY_NS
    sk.undo_marker = 0
    sk.rack_advanced = True


def _non_sack_preventing_reopen(sk: TcpSock) -> bool:
    if sk.snd_una == sk.high_seq and not sk.sack_ok:
        if not _any_retrans_done(sk):
            sk.retrans_stamp = 0
        return True
    return False


def _try_undo_recovery(sk: TcpSock) -> bool:
    if _may_undo(sk):
        _undo_cwnd_reduction(sk, False)
        sk.tcp_net.mib["TCPLossUndo" if sk.ca_state == TCP_CA_Loss else "TCPFullUndo"] += 1
    if _non_sack_preventing_reopen(sk):
        return True
    _set_ca_state(sk, TCP_CA_Open)
    return False


def _try_undo_dsack(sk: TcpSock) -> bool:
    if sk.undo_marker and not sk.undo_retrans:
        _undo_cwnd_reduction(sk, False)
        sk.tcp_net.mib["TCPDSACKUndo"] += 1
        return True
    return False


def _try_undo_loss(sk: TcpSock) -> bool:
    if _may_undo(sk):
        _undo_cwnd_reduction(sk, True)
        sk.tcp_net.mib["TCPLossUndo"] += 1
        sk.retransmits = 0
        if _non_sack_preventing_reopen(sk):
            return True
        if sk.sack_ok:
            _set_ca_state(sk, TCP_CA_Open)
        return True
    return False


def _init_cwnd_reduction(sk: TcpSock) -> None:
    sk.high_seq = sk.snd_nxt
    sk.tlp_high_seq = 0
    sk.snd_cwnd_cnt = 0
    sk.prior_cwnd = sk.snd_cwnd
    sk.prr_delivered = 0
    sk.prr_out = 0
    sk.snd_ssthresh = sk.ca.ssthresh(sk)


def tcp_cwnd_reduction(sk: TcpSock, newly_acked_sacked: int, newly_lost: int, flag: int) -> None:
    """tcp_cwnd_reduction: Proportional Rate Reduction (RFC 6937)."""
    if newly_acked_sacked <= 0 or not sk.prior_cwnd:
        return
    in_flight = sk.in_flight()
    delta = sk.snd_ssthresh - in_flight
    sk.prr_delivered += newly_acked_sacked
    if delta < 0:
        dividend = sk.snd_ssthresh * sk.prr_delivered + sk.prior_cwnd - 1
        sndcnt = dividend // sk.prior_cwnd - sk.prr_out
    else:
        sndcnt = max(sk.prr_delivered - sk.prr_out, newly_acked_sacked)
        if flag & FLAG_SND_UNA_ADVANCED and not newly_lost:
            sndcnt += 1
        sndcnt = min(delta, sndcnt)
    sndcnt = max(sndcnt, 0 if sk.prr_out else 1)
    sk.snd_cwnd = in_flight + sndcnt


def _end_cwnd_reduction(sk: TcpSock) -> None:
    if sk.snd_ssthresh < TCP_INFINITE_SSTHRESH and \
            (sk.ca_state == TCP_CA_CWR or sk.undo_marker):
        sk.snd_cwnd = sk.snd_ssthresh
        sk.snd_cwnd_stamp = sk.net.kernel.sched.now // JIFFY_NS
    sk.ca.cwnd_event(sk, CA_EVENT_COMPLETE_CWR)


def _try_keep_open(sk: TcpSock) -> None:
    state = TCP_CA_Disorder if (sk.sacked_out + sk.lost_out or _any_retrans_done(sk)) \
        else TCP_CA_Open
    if sk.ca_state != state:
        _set_ca_state(sk, state)
        sk.high_seq = sk.snd_nxt


def _try_to_open(sk: TcpSock, flag: int) -> None:
    if not _any_retrans_done(sk):
        sk.retrans_stamp = 0
    if sk.ca_state != TCP_CA_CWR:
        _try_keep_open(sk)


def _enter_recovery(sk: TcpSock, ece_ack: bool) -> None:
    sk.tcp_net.mib["TCPSackRecovery" if sk.sack_ok else "TCPRenoRecovery"] += 1
    sk.prior_ssthresh = 0
    _init_undo(sk)
    if sk.ca_state not in (TCP_CA_CWR, TCP_CA_Recovery):
        if not ece_ack:
            sk.prior_ssthresh = _current_ssthresh(sk)
        _init_cwnd_reduction(sk)
    _set_ca_state(sk, TCP_CA_Recovery)


def tcp_enter_loss(sk: TcpSock) -> None:
    """tcp_enter_loss: an RTO -- everything outstanding is presumed lost,
    cwnd collapses to what is in flight plus one."""
    new_recovery = sk.ca_state < TCP_CA_Recovery
    _timeout_mark_lost(sk)
    if sk.ca_state <= TCP_CA_Disorder or sk.high_seq <= sk.snd_una or \
            (sk.ca_state == TCP_CA_Loss and not sk.retransmits):
        sk.prior_ssthresh = _current_ssthresh(sk)
        sk.prior_cwnd = sk.snd_cwnd
        sk.snd_ssthresh = sk.ca.ssthresh(sk)
        sk.ca.cwnd_event(sk, CA_EVENT_LOSS)
        _init_undo(sk)
    sk.snd_cwnd = sk.in_flight() + 1
    sk.snd_cwnd_cnt = 0
    sk.snd_cwnd_stamp = sk.net.kernel.sched.now // JIFFY_NS
    reordering = sk.net.ipv4.sysctl.tcp_reordering
    if sk.ca_state <= TCP_CA_Disorder and sk.sacked_out >= reordering:
        sk.reordering = min(sk.reordering, reordering)
    _set_ca_state(sk, TCP_CA_Loss)
    sk.high_seq = sk.snd_nxt
    del new_recovery  # F-RTO (RFC 5682) is not emulated


def _timeout_mark_lost(sk: TcpSock) -> None:
    rtx = sk.rtx
    head = rtx[0] if rtx else None
    is_reneg = head is not None and bool(head.sacked & TCPCB_SACKED_ACKED)
    if is_reneg:
        sk.tcp_net.mib["TCPSACKReneging"] += 1
        sk.sacked_out = 0
    elif not sk.sack_ok:
        sk.sacked_out = 0
    now = sk.net.kernel.sched.now
    reo_wnd = 0
    for seg in rtx:
        if is_reneg:
            seg.sacked &= ~TCPCB_SACKED_ACKED
        elif seg is not head and \
                sk.rack_rtt_us + reo_wnd - (now - seg.ts) // 1000 > 0:
            continue  # don't mark recently sent ones lost yet
        tcp_mark_skb_lost(sk, seg)


def _force_fast_retransmit(sk: TcpSock) -> bool:
    fack = sk.highest_sack if sk.sacked_out else sk.snd_una
    return fack > sk.snd_una + sk.reordering * sk.mss_cache


def _identify_packet_loss(sk: TcpSock, flag: int) -> int:
    if not sk.rtx:
        return flag
    if not sk.sack_ok:
        _newreno_mark_lost(sk, bool(flag & FLAG_SND_UNA_ADVANCED))
    else:
        prior_retrans = sk.retrans_out
        if tcp_rack_mark_lost(sk):
            flag &= ~FLAG_SET_XMIT_TIMER
        if prior_retrans > sk.retrans_out:
            flag |= FLAG_LOST_RETRANS
    return flag


def _time_to_recover(sk: TcpSock) -> bool:
    return bool(sk.lost_out)


def _process_loss(sk: TcpSock, flag: int, num_dupack: int) -> int:
    """tcp_process_loss: leave Loss once recovered (or proven spurious)."""
    recovered = sk.snd_una >= sk.high_seq
    if flag & FLAG_SND_UNA_ADVANCED and _try_undo_loss(sk):
        return REXMIT_NONE
    if recovered:
        _try_undo_recovery(sk)
        return REXMIT_NONE
    if not sk.sack_ok:
        if sk.snd_nxt > sk.high_seq and num_dupack:
            _add_reno_sack(sk, num_dupack)
        elif flag & FLAG_SND_UNA_ADVANCED:
            sk.sacked_out = 0
    return REXMIT_LOST


def _try_undo_partial(sk: TcpSock, prior_snd_una: int) -> tuple[bool, bool]:
    """(return from the alert, do_lost)."""
    if sk.undo_marker and _packet_delayed(sk):
        _check_sack_reordering(sk, prior_snd_una, True)
        if sk.retrans_out:
            return True, False
        if not _any_retrans_done(sk):
            sk.retrans_stamp = 0
        _undo_cwnd_reduction(sk, True)
        sk.tcp_net.mib["TCPPartialUndo"] += 1
        _try_keep_open(sk)
        return False, False
    return False, _force_fast_retransmit(sk)


def tcp_fastretrans_alert(sk: TcpSock, prior_snd_una: int, num_dupack: int,
                          flag: int) -> tuple[int, int]:
    """tcp_fastretrans_alert: Open / Disorder / CWR / Recovery / Loss.
    Returns the updated flag and what to retransmit."""
    ece_ack = bool(flag & FLAG_ECE)
    if not sk.packets_out and sk.sacked_out:
        sk.sacked_out = 0
    if ece_ack:
        sk.prior_ssthresh = 0
    # B. SACK reneging
    if flag & FLAG_SACK_RENEGING and flag & FLAG_SND_UNA_ADVANCED:
        delay = max(-(-(sk.srtt_us >> 4) * 1000 // JIFFY_NS) * JIFFY_NS, 12_000_000)
        timer.reset_xmit_timer(sk, timer.ICSK_TIME_RETRANS, delay)
        return flag & ~FLAG_SET_XMIT_TIMER, REXMIT_NONE
    state = sk.ca_state
    # D. state exit
    if state == TCP_CA_Open:
        sk.retrans_stamp = 0
    elif sk.snd_una >= sk.high_seq:
        if state == TCP_CA_CWR:
            if sk.snd_una != sk.high_seq:
                _end_cwnd_reduction(sk)
                _set_ca_state(sk, TCP_CA_Open)
        elif state == TCP_CA_Recovery:
            if not sk.sack_ok:
                sk.sacked_out = 0
            if _try_undo_recovery(sk):
                return flag, REXMIT_NONE
            _end_cwnd_reduction(sk)
    # E. process state
    state = sk.ca_state
    if state == TCP_CA_Recovery:
        if not flag & FLAG_SND_UNA_ADVANCED:
            if not sk.sack_ok:
                _add_reno_sack(sk, num_dupack)
        else:
            stop, _do_lost = _try_undo_partial(sk, prior_snd_una)
            if stop:
                return flag, REXMIT_NONE
        if _try_undo_dsack(sk):
            _try_keep_open(sk)
        flag = _identify_packet_loss(sk, flag)
        if sk.ca_state != TCP_CA_Recovery:
            if not _time_to_recover(sk):
                return flag, REXMIT_NONE
            _enter_recovery(sk, ece_ack)
        return flag, REXMIT_LOST
    if state == TCP_CA_Loss:
        rexmit = _process_loss(sk, flag, num_dupack)
        flag = _identify_packet_loss(sk, flag)
        if not (sk.ca_state == TCP_CA_Open or flag & FLAG_LOST_RETRANS):
            return flag, rexmit
    # default: Open, Disorder, CWR (and Loss that just ended)
    if not sk.sack_ok:
        if flag & FLAG_SND_UNA_ADVANCED:
            sk.sacked_out = 0
        _add_reno_sack(sk, num_dupack)
    if sk.ca_state <= TCP_CA_Disorder:
        _try_undo_dsack(sk)
    flag = _identify_packet_loss(sk, flag)
    if not _time_to_recover(sk):
        _try_to_open(sk, flag)
        return flag, REXMIT_NONE
    _enter_recovery(sk, ece_ack)
    return flag, REXMIT_LOST


def tcp_xmit_recovery(sk: TcpSock, rexmit: int) -> None:
    if rexmit == REXMIT_NONE or sk.state == TCP_SYN_SENT:
        return
    out.tcp_xmit_retransmit_queue(sk)


# -- PAWS and the sequence check ------------------------------------------------------------------


def _paws_check(sk: TcpSock | TcpTimeWait, tsval: int, paws_win: int) -> bool:
    """tcp_paws_check: tsval is not older than ts_recent (by more than paws_win)."""
    d = (sk.ts_recent - tsval) & SEQ_MASK  # _s32, inlined: every segment comes here
    if (d - 0x100000000 if d & 0x80000000 else d) <= paws_win:
        return True
    now_s = sk.net.kernel.sched.now // 1_000_000_000
    if now_s >= sk.ts_recent_stamp // 1_000_000_000 + TCP_PAWS_WRAP_S:
        return True
    return not sk.ts_recent


def _paws_reject(sk: TcpSock | TcpTimeWait, tsval: int, rst: bool) -> bool:
    if _paws_check(sk, tsval, 0):
        return False
    now_s = sk.net.kernel.sched.now // 1_000_000_000
    return not (rst and now_s >= sk.ts_recent_stamp // 1_000_000_000 + TCP_PAWS_MSL_S)


def _disordered_ack(sk: TcpSock, seg: Seg) -> bool:
    """tcp_disordered_ack: a pure duplicate ACK whose old timestamp is harmless."""
    seq = seg.seq
    ack = seg.ack
    if not (seg.flags & ACK and seq == seg.end and seq == sk.rcv_nxt and ack == sk.snd_una):
        return False
    nwin = seg.win << sk.snd_wscale
    if ack > sk.snd_una or seq > sk.snd_wl1 or (seq == sk.snd_wl1 and
                                                (nwin > sk.snd_wnd or not nwin)):
        return False
    replay = sk.rto // JIFFY_NS * 1200 // HZ
    return _s32(sk.ts_recent - seg.tsval) <= replay


def _paws_discard(sk: TcpSock, seg: Seg) -> bool:
    return not _paws_check(sk, seg.tsval, TCP_PAWS_WINDOW) and not _disordered_ack(sk, seg)


def _reset_check(sk: TcpSock, seg: Seg) -> bool:
    """tcp_reset_check: a RST at rcv_nxt - 1 after the peer's FIN is accepted."""
    return seg.seq == sk.rcv_nxt - 1 and sk.state in (TCP_CLOSE_WAIT, TCP_LAST_ACK,
                                                      TCP_CLOSING)


def _send_dupack(sk: TcpSock, seg: Seg) -> None:
    """tcp_send_dupack: ACK an unacceptable segment (with a D-SACK for old data)."""
    if seg.end != seg.seq and seg.seq < sk.rcv_nxt:
        sk.tcp_net.mib["DelayedACKLost"] += 1
        out.tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
        if sk.sack_ok and sk.net.ipv4.sysctl.tcp_dsack:
            end_seq = min(seg.end, sk.rcv_nxt)
            _dsack_set(sk, seg.seq, end_seq)
    out.tcp_send_ack(sk)


def _oow_rate_limited(sk: TcpSock, seg: Seg, mib_name: str) -> bool:
    """tcp_oow_rate_limited: data without SYN is never rate limited."""
    if seg.end != seg.seq and not seg.flags & SYN:
        return False
    return out.oow_rate_limited(sk.net, sk, mib_name)


def tcp_validate_incoming(sk: TcpSock, seg: Seg, syn_inerr: bool) -> bool:
    """tcp_validate_incoming: PAWS, the window, RST (RFC 5961 3.2) and SYN
    (RFC 5961 4.2) checks.  False when the segment was consumed."""
    flags = seg.flags
    mib = sk.tcp_net.mib
    if seg.saw_ts and _paws_discard(sk, seg):
        if not flags & RST:
            if flags & SYN:
                return _syn_challenge(sk, syn_inerr)
            mib["PAWSEstab"] += 1
            if not _oow_rate_limited(sk, seg, "TCPACKSkippedPAWS"):
                _send_dupack(sk, seg)
            return False
    # step 1: the sequence number
    if seg.end < sk.rcv_wup or seg.seq > sk.rcv_nxt + sk.receive_window():
        if not flags & RST:
            if flags & SYN:
                return _syn_challenge(sk, syn_inerr)
            if not _oow_rate_limited(sk, seg, "TCPACKSkippedSeq"):
                _send_dupack(sk, seg)
        elif _reset_check(sk, seg):
            tcp_reset(sk)
        return False
    # step 2: RST
    if flags & RST:
        if seg.seq == sk.rcv_nxt or _reset_check(sk, seg):
            tcp_reset(sk)
            return False
        if sk.sack_ok and sk.sack_blocks:
            if seg.seq == max(b[1] for b in sk.sack_blocks):
                tcp_reset(sk)
                return False
        out.tcp_send_challenge_ack(sk)
        return False
    # step 4: SYN
    if flags & SYN:
        if (sk.state == TCP_SYN_RECV and not sk.passive and flags & ACK
                and seg.seq + 1 == seg.end and seg.seq + 1 == sk.rcv_nxt
                and seg.ack == sk.snd_nxt):
            return True  # a SYN-ACK crossing ours (simultaneous connect)
        return _syn_challenge(sk, syn_inerr)
    return True


def _syn_challenge(sk: TcpSock, syn_inerr: bool) -> bool:
    mib = sk.tcp_net.mib
    if syn_inerr:
        mib["InErrs"] += 1
    mib["TCPSYNChallenge"] += 1
    out.tcp_send_challenge_ack(sk)
    return False


# -- the slow path of ESTABLISHED -----------------------------------------------------------------


def tcp_rcv_established_slow(sk: TcpSock, seg: Seg) -> None:
    """tcp_rcv_established's slow path (RFC 9293 3.10.7.4 for ESTABLISHED)."""
    seg.set_seq(sk)
    seg.fast_parse(sk)
    sk.saw_ts = seg.saw_ts
    if seg.saw_ts:
        sk.rcv_tsval = seg.tsval
        sk.rcv_tsecr = seg.tsecr
    flags = seg.flags
    if not flags & (ACK | RST | SYN):
        return
    if not tcp_validate_incoming(sk, seg, True):
        return
    if tcp_ack(sk, seg.ack, seg.seq, seg.end, seg.win, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT,
               seg) < 0:
        return
    if seg.saw_ts:
        _rcv_rtt_measure_ts(sk, seg.end - seg.seq)
    if seg.flags & URG or sk.urg_data:
        tcp_urg(sk, seg)
    tcp_data_queue(sk, seg)
    if sk.state != TCP_CLOSE:
        _data_snd_check(sk)
        tcp_ack_snd_check(sk)


def tcp_urg(sk: TcpSock, seg: Seg) -> None:
    """tcp_urg: a new urgent pointer, and the urgent byte once it arrives."""
    if seg.flags & URG:
        _check_urg(sk, seg)
    if sk.urg_data == TCP_URG_NOTYET:
        ptr = sk.urg_seq - seg.seq - (1 if seg.flags & SYN else 0)
        if 0 <= ptr < seg.dlen:
            sk.urg_data = TCP_URG_VALID | seg.pkt[seg.ihl + seg.doff + ptr]
            if not sk.dead:
                sk.wq.wake_up()


def _check_urg(sk: TcpSock, seg: Seg) -> None:
    """tcp_check_urg (RFC 6093: the pointer is to the byte after the urgent one,
    unless net.ipv4.tcp_stdurg)."""
    ptr = (seg.pkt[seg.ihl + 18] << 8) | seg.pkt[seg.ihl + 19]
    if ptr and not sysctl_int(sk.net, "net.ipv4.tcp_stdurg"):
        ptr -= 1
    ptr += seg.seq
    if sk.copied_seq > ptr or ptr < sk.rcv_nxt:
        return
    if sk.urg_data and ptr <= sk.urg_seq:
        return
    if sk.urg_seq == sk.copied_seq and sk.urg_data and \
            not sk.sock_flag(_SO_OOBINLINE) and sk.copied_seq != sk.rcv_nxt and sk.rcvq_bytes:
        sk._take(1, False)  # the old urgent byte, unread, leaves the stream
        sk.copied_seq += 1
    sk.urg_data = TCP_URG_NOTYET
    sk.urg_seq = ptr
    sk.fast_ok = False


# -- data and FIN ---------------------------------------------------------------------------------


def _rmem_ok(sk: TcpSock, dlen: int) -> bool:
    """tcp_try_rmem_schedule, in payload bytes: the receive buffer can take it."""
    return out.rcv_queued(sk) + dlen <= out.tcp_full_space(sk) + sk.rcv_mss or not sk.rcvq


_NO_DATA = memoryview(b"")  # what seg.data() is for a segment without payload


def tcp_data_queue(sk: TcpSock, seg: Seg) -> None:
    """tcp_data_queue: in-order data to the reader, the rest out of order."""
    if seg.seq == seg.end:
        return
    seq = seg.seq
    end_seq = seg.end
    fin = bool(seg.flags & FIN)
    dlen = seg.dlen
    sk.dsack = None
    mib = sk.tcp_net.mib
    rcv_nxt = sk.rcv_nxt
    # A bare FIN has no payload: skip making a view of the frame for it.
    data = seg.data() if dlen else _NO_DATA
    if seg.flags & SYN:
        seq += 1  # a SYN's data starts after it
    if seq == rcv_nxt:
        if sk.receive_window() == 0:
            if not dlen and fin:
                _queue_and_out(sk, seg, data, seq, fin)
                return
            mib["TCPZeroWindowDrop"] += 1
            _out_of_window(sk)
            return
        if not _rmem_ok(sk, dlen):
            sk.ack_pending |= ICSK_ACK_NOW | ICSK_ACK_SCHED
            if sk.rcvq and dlen:
                mib["TCPRcvQDrop"] += 1
                return
        _queue_and_out(sk, seg, data, seq, fin)
        return
    if end_seq <= rcv_nxt:
        # a retransmission: immediate ACK, with a D-SACK
        mib["DelayedACKLost"] += 1
        _dsack_set(sk, seg.seq, end_seq)
        _out_of_window(sk)
        return
    if seq >= rcv_nxt + sk.receive_window():
        _out_of_window(sk)  # out of window, e.g. a zero-window probe
        return
    if seq < rcv_nxt:
        # partial: seq < rcv_nxt < end_seq
        _dsack_set(sk, seq, rcv_nxt)
        if not sk.receive_window():
            mib["TCPZeroWindowDrop"] += 1
            _out_of_window(sk)
            return
        data = data[rcv_nxt - seq:]
        _queue_and_out(sk, seg, data, rcv_nxt, fin)
        return
    _data_queue_ofo(sk, seq, end_seq, data, fin)


def _out_of_window(sk: TcpSock) -> None:
    out.tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
    sk.ack_pending |= ICSK_ACK_SCHED


def _queue_and_out(sk: TcpSock, seg: Seg, data: memoryview, seq: int, fin: bool) -> None:
    n = len(data)
    if n:
        sk.rcvq.append(data)
        sk.rcvq_bytes += n
        sk.bytes_received += n
    sk.rcv_nxt = seq + n + (1 if fin else 0)
    if n:
        _event_data_recv(sk, seg.pkt, n, seg.doff, seg.flags, sk.net.kernel.sched.now)
    if fin:
        tcp_fin(sk)
    if sk.ofo:
        _ofo_queue(sk)
        if not sk.ofo:
            sk.ack_pending |= ICSK_ACK_NOW
    if sk.sack_blocks:
        _sack_remove(sk)
    tcp_fast_path_check(sk)
    if not sk.dead:
        sk.wq.wake_up()


def _data_queue_ofo(sk: TcpSock, seq: int, end_seq: int, data: memoryview, fin: bool) -> None:
    """tcp_data_queue_ofo: keep it aside, report it in a SACK block."""
    mib = sk.tcp_net.mib
    if not _rmem_ok(sk, len(data)):
        mib["TCPOFODrop"] += 1
        return
    sk.fast_ok = False
    sk.ack_pending |= ICSK_ACK_SCHED
    mib["TCPOFOQueue"] += 1
    ofo = sk.ofo
    dseq = seq
    dend = end_seq - (1 if fin else 0)
    # find the place; trim what others hold already (the D-SACK reports it)
    i = 0
    while i < len(ofo) and ofo[i][1] <= dseq:
        i += 1
    if i < len(ofo) and ofo[i][0] <= dseq and ofo[i][1] >= end_seq:
        mib["TCPOFOMerge"] += 1
        _dsack_set(sk, seq, end_seq)
        _sack_new_ofo(sk, seq, end_seq)
        return
    if i < len(ofo) and ofo[i][0] < dseq:
        prev = ofo[i]
        _dsack_set(sk, dseq, prev[1])
        data = data[prev[1] - dseq:]
        dseq = prev[1]
        i += 1
    # remove the ranges the new one covers
    while i < len(ofo) and ofo[i][0] < end_seq:
        nxt = ofo[i]
        if nxt[1] <= end_seq:
            _dsack_extend(sk, nxt[0], nxt[1])
            mib["TCPOFOMerge"] += 1
            del ofo[i]
            continue
        _dsack_extend(sk, nxt[0], end_seq)
        keep = nxt[0] - dseq
        data = data[:max(keep, 0)]
        dend = nxt[0]
        fin = False
        end_seq = nxt[0]
        break
    if dend > dseq or fin:
        ofo.insert(i, [dseq, dend + (1 if fin else 0), data, fin])
    _sack_new_ofo(sk, seq, end_seq if end_seq > seq else seq)
    if sk.sack_ok:
        _grow_window(sk, b"", len(data)) if len(data) >= 128 else None


def _ofo_queue(sk: TcpSock) -> None:
    """tcp_ofo_queue: what the new data made in order moves to the reader."""
    ofo = sk.ofo
    while ofo:
        seq, end, data, fin = ofo[0]
        rcv_nxt = sk.rcv_nxt
        if seq > rcv_nxt:
            break
        del ofo[0]
        if seq < rcv_nxt:
            _dsack_extend(sk, seq, min(end, rcv_nxt))
        if end <= rcv_nxt:
            continue
        skip = rcv_nxt - seq
        chunk = data[skip:] if skip else data
        n = len(chunk)
        if n:
            sk.rcvq.append(chunk)
            sk.rcvq_bytes += n
            sk.bytes_received += n
        sk.rcv_nxt = end
        if fin:
            tcp_fin(sk)
            break


def _dsack_set(sk: TcpSock, seq: int, end_seq: int) -> None:
    if sk.sack_ok and sk.net.ipv4.sysctl.tcp_dsack:
        sk.tcp_net.mib["TCPDSACKOldSent" if seq < sk.rcv_nxt else "TCPDSACKOfoSent"] += 1
        sk.dsack = (seq, end_seq)


def _dsack_extend(sk: TcpSock, seq: int, end_seq: int) -> None:
    if sk.dsack is None:
        _dsack_set(sk, seq, end_seq)
    else:
        s, e = sk.dsack
        if seq <= e and s <= end_seq:
            sk.dsack = (min(s, seq), max(e, end_seq))


def _sack_new_ofo(sk: TcpSock, seq: int, end_seq: int) -> None:
    """tcp_sack_new_ofo_skb: the block holding the new data goes first."""
    if not sk.sack_ok:
        return
    blocks = sk.sack_blocks
    for k, b in enumerate(blocks):
        if seq <= b[1] and b[0] <= end_seq:
            b[0] = min(b[0], seq)
            b[1] = max(b[1], end_seq)
            if k:
                blocks.insert(0, blocks.pop(k))
            # coalesce the first with any it now touches
            first = blocks[0]
            m = 1
            while m < len(blocks):
                o = blocks[m]
                if o[0] <= first[1] and first[0] <= o[1]:
                    first[0] = min(first[0], o[0])
                    first[1] = max(first[1], o[1])
                    del blocks[m]
                    continue
                m += 1
            return
    blocks.insert(0, [seq, end_seq])
    if len(blocks) > 4:  # TCP_NUM_SACKS
        del blocks[4:]


def _sack_remove(sk: TcpSock) -> None:
    """tcp_sack_remove: blocks rcv_nxt has passed are forgotten."""
    if not sk.ofo:
        sk.sack_blocks = []
        return
    rcv_nxt = sk.rcv_nxt
    sk.sack_blocks = [b for b in sk.sack_blocks if b[0] > rcv_nxt]


def tcp_fin(sk: TcpSock) -> None:
    """tcp_fin: the peer is done sending."""
    sk.ack_pending |= ICSK_ACK_SCHED
    sk.sk_shutdown |= RCV_SHUTDOWN
    sk.done = True
    sk.fin_rcvd = True
    state = sk.state
    if state in (TCP_SYN_RECV, TCP_ESTABLISHED):
        tcp_set_state(sk, TCP_CLOSE_WAIT)
        if sk.ack_pingpong < TCP_PINGPONG_THRESH:
            sk.ack_pingpong = TCP_PINGPONG_THRESH  # enter pingpong mode
    elif state == TCP_FIN_WAIT1:
        out.tcp_send_ack(sk)
        tcp_set_state(sk, TCP_CLOSING)
    elif state == TCP_FIN_WAIT2:
        out.tcp_send_ack(sk)
        tcp_time_wait(sk, TCP_TIME_WAIT, 0)
    sk.ofo.clear()
    sk.sack_blocks = []
    sk.fast_ok = False
    if not sk.dead:
        sk.wq.wake_up()


# -- every state but ESTABLISHED and TIME_WAIT ----------------------------------------------------


def tcp_rcv_state_process(sk: TcpSock, seg: Seg) -> bool:
    """tcp_rcv_state_process (RFC 9293 3.10.7); True: answer with a RST."""
    state = sk.state
    if state == TCP_CLOSE:
        return False
    if state == TCP_LISTEN:
        return False  # listeners are served by tcp_listen_rcv
    if state == TCP_SYN_SENT:
        return _rcv_synsent(sk, seg)
    if state == TCP_ESTABLISHED:
        tcp_rcv_established_slow(sk, seg)
        return False
    seg.set_seq(sk)
    seg.fast_parse(sk)
    sk.saw_ts = seg.saw_ts
    if seg.saw_ts:
        sk.rcv_tsval = seg.tsval
        sk.rcv_tsecr = seg.tsecr
    flags = seg.flags
    if not flags & (ACK | RST | SYN):
        return False
    if not tcp_validate_incoming(sk, seg, False):
        return False
    # step 5: the ACK field
    res = tcp_ack(sk, seg.ack, seg.seq, seg.end, seg.win,
                  FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT | FLAG_NO_CHALLENGE_ACK, seg)
    if res <= 0:
        if sk.state == TCP_SYN_RECV:
            return True  # send one RST
        if res < 0:
            out.tcp_send_challenge_ack(sk)
            return False
    state = sk.state
    if state == TCP_SYN_RECV:
        if not flags & ACK:
            return False
        _synrecv_established(sk, seg)
    elif state == TCP_FIN_WAIT1:
        if sk.snd_una == _write_end(sk):
            tcp_set_state(sk, TCP_FIN_WAIT2)
            sk.sk_shutdown |= SEND_SHUTDOWN
            sk.confirm_neigh = True
            if not sk.dead:
                sk.wq.wake_up()
            else:
                if sk.linger2 < 0:
                    tcp_done(sk)
                    sk.mib("TCPAbortOnData")
                    return True
                if seg.end != seg.seq and seg.end - (1 if flags & FIN else 0) > sk.rcv_nxt:
                    tcp_done(sk)
                    sk.mib("TCPAbortOnData")
                    return True
                tmo = tcp_fin_time(sk)
                if tmo > TCP_TIMEWAIT_LEN_NS:
                    sk.ka_timer.arm(sk.net.kernel.sched.now + tmo - TCP_TIMEWAIT_LEN_NS)
                elif flags & FIN:
                    sk.ka_timer.arm(sk.net.kernel.sched.now + tmo)
                else:
                    tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                    return False
    elif state == TCP_CLOSING:
        if sk.snd_una == _write_end(sk):
            tcp_time_wait(sk, TCP_TIME_WAIT, 0)
            return False
    elif state == TCP_LAST_ACK:
        if sk.snd_una == _write_end(sk):
            tcp_done(sk)
            return False
    # step 6: the URG bit
    if flags & URG or sk.urg_data:
        tcp_urg(sk, seg)
    # step 7: the segment text
    state = sk.state
    if state in (TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK) and seg.seq >= sk.rcv_nxt:
        pass
    elif state in (TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
                   TCP_ESTABLISHED):
        if state != TCP_ESTABLISHED and sk.sk_shutdown & RCV_SHUTDOWN and \
                seg.end != seg.seq and seg.end - (1 if flags & FIN else 0) > sk.rcv_nxt:
            sk.mib("TCPAbortOnData")
            tcp_reset(sk)
            return True
        tcp_data_queue(sk, seg)
    if sk.state != TCP_CLOSE:
        _data_snd_check(sk)
        tcp_ack_snd_check(sk)
    return False


def _write_end(sk: TcpSock) -> int:
    """write_seq as Linux counts it: the FIN takes a sequence number."""
    return sk.write_seq + (1 if sk.fin_seq >= 0 else 0)


def _synrecv_established(sk: TcpSock, seg: Seg) -> None:
    """SYN_RECV -> ESTABLISHED on the handshake's last ACK."""
    sk.delivered += 1
    if not sk.srtt_us and sk.snt_synack and not sk.total_retrans:
        rtt = (sk.net.kernel.sched.now - sk.snt_synack) // 1000
        _ack_update_rtt(sk, FLAG_SYN_ACKED, rtt, -1, rtt)
    sk.retrans_stamp = 0
    tcp_init_transfer(sk)
    sk.copied_seq = sk.rcv_nxt
    tcp_set_state(sk, TCP_ESTABLISHED)
    sk.snd_una = seg.ack
    sk.snd_wnd = seg.win << sk.snd_wscale
    sk.snd_wl1 = seg.seq
    if sk.ts_ok:
        sk.advmss -= 12
    sk.lsndtime = sk.net.kernel.sched.now // JIFFY_NS
    out.tcp_initialize_rcv_mss(sk)
    tcp_fast_path_check(sk)
    if sk.sk_shutdown & SEND_SHUTDOWN and sk.fin_seq < 0:
        if sk.state == TCP_ESTABLISHED:
            tcp_set_state(sk, TCP_FIN_WAIT1)
            out.tcp_send_fin(sk)
    sk.wq.wake_up()
    if sk.keepalive:
        timer.tcp_set_keepalive(sk, True)


def tcp_init_transfer(sk: TcpSock) -> None:
    """tcp_init_transfer: initial cwnd (1 after SYN retransmissions), the
    congestion control, and buffer space."""
    if sk.total_retrans > 1 and sk.undo_marker:
        sk.snd_cwnd = 1
    else:
        sk.snd_cwnd = TCP_INIT_CWND
    now = sk.net.kernel.sched.now
    sk.snd_cwnd_stamp = now // JIFFY_NS
    sk.ca.init(sk)
    tcp_init_buffer_space(sk)


def tcp_init_buffer_space(sk: TcpSock) -> None:
    """tcp_init_buffer_space: the window clamp, keeping one segment in reserve."""
    app_win = sk.net.ipv4.sysctl.tcp_app_win
    if not sk.sndbuf_locked:
        out.tcp_sndbuf_expand(sk)
    sk.rcvq_space_time = sk.net.kernel.sched.now // 1000
    sk.rcvq_space_seq = sk.copied_seq
    maxwin = out.tcp_full_space(sk)
    if sk.window_clamp >= maxwin:
        sk.window_clamp = maxwin
        if app_win and maxwin > 4 * sk.advmss:
            clamp = maxwin - (maxwin >> app_win)  # not max(): twice per connection
            sk.window_clamp = clamp if clamp > 4 * sk.advmss else 4 * sk.advmss
    if app_win and sk.window_clamp > 2 * sk.advmss and sk.window_clamp + sk.advmss > maxwin:
        clamp = maxwin - sk.advmss
        sk.window_clamp = clamp if clamp > 2 * sk.advmss else 2 * sk.advmss
    if sk.rcv_ssthresh > sk.window_clamp:
        sk.rcv_ssthresh = sk.window_clamp
    space = sk.rcv_ssthresh if sk.rcv_ssthresh < sk.rcv_wnd else sk.rcv_wnd
    init_space = TCP_INIT_CWND * sk.advmss
    sk.rcvq_space = space if space < init_space else init_space


def tcp_finish_connect(sk: TcpSock) -> None:
    tcp_set_state(sk, TCP_ESTABLISHED)
    now = sk.net.kernel.sched.now
    sk.ack_lrcvtime = now // JIFFY_NS
    tcp_init_transfer(sk)
    sk.lsndtime = now // JIFFY_NS
    if sk.keepalive:
        timer.tcp_set_keepalive(sk, True)
    sk.fast_ok = False  # a window scale makes the prediction wrong until checked


def _rcv_synsent(sk: TcpSock, seg: Seg) -> bool:
    """tcp_rcv_synsent_state_process: our SYN is out, what came back?"""
    net = sk.net
    seg.parse(True, net)
    seg.set_seq(sk)
    flags = seg.flags
    opt = seg.opts
    if flags & ACK:
        if seg.ack <= sk.snd_una or seg.ack > sk.snd_nxt:
            # an unacceptable ACK: RST (unless it is one)
            if sk.retransmits == 0:
                timer.reset_xmit_timer(sk, timer.ICSK_TIME_RETRANS, TCP_TIMEOUT_MIN_NS)
            return not flags & RST
        if seg.saw_ts and seg.tsecr:
            lo = (sk.retrans_stamp // 1_000_000 + sk.ts_off) & SEQ_MASK
            hi = sk.ts_now()
            if _s32(seg.tsecr - lo) < 0 or _s32(hi - seg.tsecr) < 0:
                sk.mib("PAWSActiveRejected")
                return not flags & RST
        if flags & RST:
            tcp_reset(sk)
            return False
        if not flags & SYN:
            return False
        # SYN-ACK: established
        sk.snd_wl1 = seg.seq
        sk.saw_ts = seg.saw_ts
        sk.rcv_tsval = seg.tsval
        sk.rcv_tsecr = seg.tsecr
        _try_undo_spurious_syn(sk)
        sk.rcv_nxt = seg.seq + 1
        sk.rcv_wup = sk.rcv_nxt
        tcp_ack(sk, seg.ack, seg.seq, seg.end, seg.win, FLAG_SLOWPATH, seg)
        sk.snd_wnd = seg.win
        _apply_syn_options(sk, opt, seg)
        if not sk.wscale_ok:
            sk.snd_wscale = sk.rcv_wscale = 0
            sk.window_clamp = min(sk.window_clamp, 65535)
        if sk.ts_ok:
            sk.tcp_header_len = 32
            sk.advmss -= 12
            sk.ts_recent = seg.tsval
            sk.ts_recent_stamp = sk.net.kernel.sched.now
        else:
            sk.tcp_header_len = 20
        out.tcp_sync_mss(sk, sk.pmtu)
        out.tcp_initialize_rcv_mss(sk)
        sk.copied_seq = sk.rcv_nxt
        tcp_finish_connect(sk)
        tcp_fast_path_check(sk)
        sk.wq.wake_up()
        if sk.ack_pingpong >= TCP_PINGPONG_THRESH:
            sk.ack_pending |= ICSK_ACK_SCHED
            out.tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
            timer.reset_xmit_timer(sk, timer.ICSK_TIME_DACK, 200_000_000)
            out.tcp_send_delayed_ack(sk)
            return False
        out.tcp_send_ack(sk)
        out.tcp_push_pending_frames(sk)
        return False
    if flags & RST:
        return False
    if sk.ts_recent_stamp and seg.saw_ts and _paws_reject(sk, seg.tsval, False):
        return False
    if flags & SYN:
        # crossed SYNs: a simultaneous open (or a connect to ourselves)
        tcp_set_state(sk, TCP_SYN_RECV)
        _apply_syn_options(sk, opt, seg)
        if sk.ts_ok:
            sk.tcp_header_len = 32
            sk.ts_recent = seg.tsval
            sk.ts_recent_stamp = sk.net.kernel.sched.now
        else:
            sk.tcp_header_len = 20
        sk.rcv_nxt = seg.seq + 1
        sk.copied_seq = sk.rcv_nxt
        sk.rcv_wup = sk.rcv_nxt
        sk.snd_wnd = seg.win
        sk.snd_wl1 = seg.seq
        sk.max_window = sk.snd_wnd
        out.tcp_sync_mss(sk, sk.pmtu)
        out.tcp_initialize_rcv_mss(sk)
        sk.snt_synack = sk.net.kernel.sched.now
        out.tcp_send_syn_segment(sk, SYN | ACK)
        return False
    return False


def _apply_syn_options(sk: TcpSock, opt: Any, seg: Seg) -> None:
    """What a SYN or SYN-ACK negotiated: MSS, window scale, SACK, timestamps
    (tcp_parse_options honours them only while their sysctls are on)."""
    net = sk.net
    if opt.mss:
        mss = opt.mss
        if sk.user_mss and sk.user_mss < mss:
            mss = sk.user_mss
        sk.mss_clamp = mss
    sk.wscale_ok = opt.wscale >= 0 and bool(net.ipv4.sysctl.tcp_window_scaling)
    sk.snd_wscale = opt.wscale if sk.wscale_ok else 0
    sk.sack_ok = opt.sack_ok and bool(net.ipv4.sysctl.tcp_sack)
    sk.ts_ok = seg.saw_ts


def _try_undo_spurious_syn(sk: TcpSock) -> None:
    stamp = sk.retrans_stamp
    if sk.undo_marker and stamp and sk.saw_ts and \
            sk.rcv_tsecr == (stamp // 1_000_000 + sk.ts_off) & SEQ_MASK:
        sk.undo_marker = 0


# -- TIME_WAIT (tcp_timewait_state_process) -------------------------------------------------------


def _tw_rcv(tw: TcpTimeWait, seg: Seg, tn: TcpNet) -> None:
    status, isn = tcp_timewait_state_process(tw, seg)
    if status == "syn":
        net = tw.net
        rt = seg.rt
        listener = lookup_listener(net, rt.daddr, seg.dport, rt.saddr, seg.sport, seg.dev)
        if listener is not None:
            tw.kill()
            seg.tw_isn = isn
            tcp_listen_rcv(listener, seg)
            return
        status = "ack"
    if status == "ack":
        out.tw_send_ack(tw)
    elif status == "rst":
        _send_reset_for(tw.net, seg)
        tw.kill()


def tcp_timewait_state_process(tw: TcpTimeWait, seg: Seg) -> tuple[str, int]:
    """What a TIME_WAIT (or orphaned FIN_WAIT2) socket does with a segment:
    "ack", "rst", "syn" (a new connection may reuse the 4-tuple) or ""."""
    flags = seg.flags
    paws_reject = False
    rcv_nxt = tw.rcv_nxt  # 32-bit
    seq = seg.wseq
    end = (seq + seg.dlen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & SEQ_MASK
    if seg.doff > 20 and tw.ts_recent_stamp:
        seg.parse(False, tw.net)
        if seg.saw_ts:
            paws_reject = _paws_reject(tw, seg.tsval, bool(flags & RST))
    if tw.substate == TCP_FIN_WAIT2:
        if paws_reject or not _in_window(seq, end, rcv_nxt, (rcv_nxt + tw.rcv_wnd) & SEQ_MASK):
            return _tw_oow(tw, seg, "TCPACKSkippedFinWait2"), 0
        if flags & RST:
            tw.kill()
            return "", 0
        if flags & SYN and _s32(seq - rcv_nxt) >= 0:
            return "rst", 0
        if not flags & ACK or _s32(end - rcv_nxt) <= 0 or end == seq:
            return "", 0
        if not flags & FIN or end != (rcv_nxt + 1) & SEQ_MASK:
            return "rst", 0
        tw.substate = TCP_TIME_WAIT
        tw.rcv_nxt = end
        if seg.saw_ts:
            tw.ts_recent_stamp = tw.net.kernel.sched.now or 1
            tw.ts_recent = seg.tsval
        tw.schedule(TCP_TIMEWAIT_LEN_NS)
        return "ack", 0
    if not paws_reject and seq == rcv_nxt and (seq == end or flags & RST):
        if flags & RST:
            if not sysctl_int(tw.net, "net.ipv4.tcp_rfc1337"):
                tw.kill()
                return "", 0
        else:
            tw.schedule(TCP_TIMEWAIT_LEN_NS)
        if seg.saw_ts:
            tw.ts_recent = seg.tsval
            tw.ts_recent_stamp = tw.net.kernel.sched.now or 1
        return "", 0
    if flags & SYN and not flags & (RST | ACK) and not paws_reject and \
            (_s32(seq - rcv_nxt) > 0 or (seg.saw_ts and _s32(tw.ts_recent - seg.tsval) < 0)):
        isn = (tw.snd_nxt + 65535 + 2) & SEQ_MASK
        return "syn", isn or 1
    if paws_reject:
        tw.tn.mib["PAWSEstab"] += 1
    if not flags & RST:
        if paws_reject or flags & ACK:
            tw.schedule(TCP_TIMEWAIT_LEN_NS)
        return _tw_oow(tw, seg, "TCPACKSkippedTimeWait"), 0
    return "", 0


def _tw_oow(tw: TcpTimeWait, seg: Seg, mib_name: str) -> str:
    """tcp_timewait_check_oow_rate_limit."""
    if (seg.dlen or seg.flags & FIN) and not seg.flags & SYN:
        return "ack"
    if out.oow_rate_limited(tw.net, tw, mib_name):
        return ""
    return "ack"


def _in_window(seq: int, end: int, s_win: int, e_win: int) -> bool:
    """tcp_in_window (32-bit)."""
    if seq == s_win:
        return True
    if _s32(end - s_win) > 0 and _s32(seq - e_win) < 0:
        return True
    return seq == end and seq == s_win


# -- listeners: SYNs, request sockets, SYN cookies ------------------------------------------------


def tcp_listen_rcv(lsk: TcpSock, seg: Seg) -> None:
    """tcp_v4_do_rcv for a listener: a SYN makes a request; an ACK may carry
    a SYN cookie; anything else with ACK earns a RST."""
    flags = seg.flags
    lsk.segs_in += 1
    if not flags & SYN:
        if flags & ACK and not flags & RST:
            if _cookie_check(lsk, seg):
                return
            _send_reset_for(lsk.net, seg)
        return
    if flags & ACK:
        _send_reset_for(lsk.net, seg)
        return
    if flags & (RST | FIN):
        return
    tcp_conn_request(lsk, seg)


def _listendrop(lsk: TcpSock) -> None:
    lsk.mib("ListenDrops")


def _syn_flood_action(lsk: TcpSock) -> bool:
    """tcp_syn_flood_action: SYN cookies, or a drop."""
    if lsk.net.ipv4.sysctl.tcp_syncookies:
        lsk.mib("TCPReqQFullDoCookies")
        return True
    lsk.mib("TCPReqQFullDrop")
    return False


def tcp_conn_request(lsk: TcpSock, seg: Seg) -> None:
    """tcp_conn_request: answer a SYN with a SYN-ACK, from a request socket
    in the SYN queue or, when it is full, from a SYN cookie."""
    net = lsk.net
    syncookies = net.ipv4.sysctl.tcp_syncookies
    want_cookie = False
    isn = seg.tw_isn
    if not isn and (syncookies == 2 or lsk.syn_qlen > lsk.max_ack_backlog):
        want_cookie = _syn_flood_action(lsk)
        if not want_cookie:
            _listendrop(lsk)
            return
    acceptq = lsk.acceptq
    if acceptq is not None and len(acceptq) > lsk.max_ack_backlog:
        lsk.mib("ListenOverflows")
        _listendrop(lsk)
        return
    seg.parse(True, net)
    opt = seg.opts
    rt = seg.rt
    req = TcpRequest(lsk)
    req.laddr = rt.daddr
    req.raddr = rt.saddr
    req.lport = seg.dport
    req.rport = seg.sport
    req.irs = seg.wseq
    req.dev = seg.dev
    req.tos = _synack_tos(lsk, seg)
    mss = opt.mss or TCP_MSS_DEFAULT
    if opt.mss and lsk.user_mss and lsk.user_mss < mss:
        mss = lsk.user_mss
    ts_ok = seg.saw_ts
    sack_ok = opt.sack_ok and bool(net.ipv4.sysctl.tcp_sack)
    wscale_ok = opt.wscale >= 0 and bool(net.ipv4.sysctl.tcp_window_scaling)
    if want_cookie and not ts_ok:
        sack_ok = wscale_ok = False
    req.ts_ok = ts_ok
    req.ts_recent = seg.tsval if ts_ok else 0
    req.sack_ok = sack_ok
    req.wscale_ok = wscale_ok
    req.snd_wscale = opt.wscale if wscale_ok else 0
    req.ts_off = secure_ts_off(lsk.tcp_net, req.laddr, req.raddr) if ts_ok else 0
    tn = lsk.tcp_net
    now = net.kernel.sched.now
    if not want_cookie and not isn:
        max_syn_backlog = net.ipv4.sysctl.tcp_max_syn_backlog
        if not syncookies and max_syn_backlog - lsk.syn_qlen < (max_syn_backlog >> 2):
            _listendrop(lsk)
            return
        isn = secure_seq(tn, req.laddr, req.raddr, req.lport, req.rport, now)
    if want_cookie:
        mssind = 0
        for k, m in enumerate(MSSTAB):
            if m <= mss:
                mssind = k
        mss = MSSTAB[mssind]
        isn = _cookie_seq(tn, req.raddr, req.laddr, req.rport, req.lport, req.irs, mssind, now)
        lsk.synq_overflow_ts = now // JIFFY_NS
        lsk.mib("SyncookiesSent")
        if ts_ok:
            req.syn_ts = (_cookie_timestamp(req, now) + req.ts_off) & SEQ_MASK
    req.mss = mss
    req.iss = isn
    _openreq_init_rwin(req, lsk)
    if want_cookie:
        out.tcp_send_synack(req, cookie=True)
        return
    req.ekey = (net, req.laddr, req.lport, req.raddr, req.rport)
    ehash[req.ekey] = req
    lsk.syn_qlen += 1
    lsk.syn_young += 1
    req.timer = net.kernel.sched.call_later(TCP_TIMEOUT_INIT_NS, reqsk_timer, req)
    req.snt_synack = now
    out.tcp_send_synack(req)


def _synack_tos(lsk: TcpSock, seg: Seg) -> int:
    """The TOS of our half of the connection: the listener's, or the SYN's
    with net.ipv4.tcp_reflect_tos."""
    if lsk.net.ipv4.sysctl.tcp_reflect_tos:
        return (seg.pkt[1] & 0xFC) | (lsk.tos & 3)
    return lsk.tos


def _openreq_init_rwin(req: TcpRequest, lsk: TcpSock) -> None:
    """tcp_openreq_init_rwin: the window and scale the SYN-ACK offers."""
    full_space = out.tcp_full_space(lsk)
    try:
        rt = ip_route_output_cached(lsk.net, req.raddr, req.laddr, lsk.bound_dev, lsk.mark, 0)
        advmss = out.advmss_of(rt)
    except Exception:
        advmss = 1460
    mss = min(advmss, lsk.user_mss) if lsk.user_mss else advmss
    window_clamp = lsk.window_clamp_opt
    if lsk.rcvbuf_locked and (window_clamp > full_space or window_clamp == 0):
        window_clamp = full_space
    rcv_wnd, clamp, wscale = out.select_initial_window(
        lsk.net, full_space, mss - (12 if req.ts_ok else 0), window_clamp, req.wscale_ok)
    req.rcv_wnd = rcv_wnd
    req.window_clamp = clamp
    req.rcv_wscale = wscale


def reqsk_timer(req: TcpRequest) -> None:
    """reqsk_timer_handler: retransmit the SYN-ACK with backoff, at most
    tcp_synack_retries times (fewer for old requests when the queue is
    more than half full), then forget the request."""
    req.timer = None
    lsk = req.listener
    if lsk.state != TCP_LISTEN or req.ekey is None:
        reqsk_drop(req)
        return
    net = lsk.net
    max_retries = lsk.syn_retries or sysctl_int(net, "net.ipv4.tcp_synack_retries")
    qlen = lsk.syn_qlen
    if (qlen << 1) > max(8, lsk.max_ack_backlog):
        young = lsk.syn_young << 1
        while max_retries > 2:
            if qlen < young:
                break
            max_retries -= 1
            young <<= 1
    expire = req.num_timeout >= max_retries and \
        (not req.acked or req.num_timeout >= 0)
    if not expire:
        if not req.acked:
            req.num_retrans += 1
            lsk.mib("TCPTimeouts")
            out.tcp_send_synack(req)
        else:
            out.tcp_send_synack(req)
            req.num_retrans += 1
        if req.num_timeout == 0:
            lsk.syn_young -= 1
        req.num_timeout += 1
        timeo = min(TCP_TIMEOUT_INIT_NS << req.num_timeout, TCP_RTO_MAX_NS)
        req.timer = net.kernel.sched.call_later(timeo, reqsk_timer, req)
        return
    reqsk_drop(req)


def reqsk_drop(req: TcpRequest) -> None:
    """inet_csk_reqsk_queue_drop: out of ehash and the SYN queue."""
    if req.timer is not None:
        req.timer.cancel()
        req.timer = None
    key = req.ekey
    if key is not None:
        if ehash.get(key) is req:
            del ehash[key]
        req.ekey = None
        lsk = req.listener
        lsk.syn_qlen -= 1
        if req.num_timeout == 0:
            lsk.syn_young -= 1


def reqsk_drop_all(lsk: TcpSock) -> None:
    """The SYN queue of a listener that stops listening."""
    if not lsk.syn_qlen:
        return
    net = lsk.net
    for key in [k for k, v in ehash.items() if k[0] is net and
                v.__class__ is TcpRequest and v.listener is lsk]:
        reqsk_drop(ehash[key])


def _req_rcv(req: TcpRequest, seg: Seg) -> None:
    """The NEW_SYN_RECV branch of tcp_v4_rcv: tcp_check_req."""
    lsk = req.listener
    if lsk.state != TCP_LISTEN:
        reqsk_drop(req)
        _send_reset_for(lsk.net, seg)
        return
    child = tcp_check_req(lsk, seg, req)
    if child is None:
        return
    if child is lsk:
        tcp_listen_rcv(lsk, seg)
        return
    if tcp_child_process(lsk, child, seg):
        _send_reset_for(lsk.net, seg)


def tcp_check_req(lsk: TcpSock, seg: Seg, req: TcpRequest) -> TcpSock | None:
    """tcp_check_req: the segment for a request socket; the child when it
    completes the handshake, the listener when it deserves a RST from it."""
    net = lsk.net
    flags = seg.flags
    paws_reject = False
    if seg.doff > 20:
        seg.parse(False, net)
        if seg.saw_ts and req.ts_ok:
            paws_reject = _s32(req.ts_recent - seg.tsval) > 0 and bool(req.ts_recent) \
                and not flags & RST
    irs = req.irs
    seq = seg.wseq
    end = (seq + seg.dlen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)) & SEQ_MASK
    flg = flags & (ACK | RST | SYN | FIN | PSH | URG | ECE | CWR)
    if seq == irs and flg == SYN and not paws_reject:
        # a retransmitted SYN: the SYN-ACK again, and the timer restarts
        if not _req_oow_limited(req, seg) and out.tcp_send_synack(req):
            req.num_retrans += 1
            if req.timer is not None:
                req.timer.cancel()
            timeo = min(TCP_TIMEOUT_INIT_NS << req.num_timeout, TCP_RTO_MAX_NS)
            req.timer = net.kernel.sched.call_later(timeo, reqsk_timer, req)
        return None
    if flg & ACK and seg.wack != (req.iss + 1) & SEQ_MASK:
        return lsk  # an invalid ACK: the listener resets it
    rcv_nxt = (irs + 1) & SEQ_MASK
    rcv_wnd = req.rcv_wnd
    if paws_reject or not _in_window(seq, end, rcv_nxt, (rcv_nxt + rcv_wnd) & SEQ_MASK):
        if not flg & RST and not _req_oow_limited(req, seg):
            out.req_send_ack(req)
        if paws_reject:
            lsk.mib("PAWSEstab")
        return None
    if seg.saw_ts and _s32(seq - rcv_nxt) <= 0:
        req.ts_recent = seg.tsval
    if seq == irs:
        flg &= ~SYN
    if flg & (RST | SYN):
        lsk.mib("AttemptFails")
        if not flg & RST:
            _send_reset_for(net, seg)
        if req.ekey is not None:
            reqsk_drop(req)
            lsk.mib("EmbryonicRsts")
        return None
    if not flg & ACK:
        return None
    child = _syn_recv_sock(lsk, seg, req)
    if child is None:
        if not sysctl_int(net, "net.ipv4.tcp_abort_on_overflow"):
            req.acked = True
            return None
        _send_reset_for(net, seg)
        reqsk_drop(req)
        lsk.mib("EmbryonicRsts")
        return None
    # inet_csk_complete_hashdance: the child takes the request's place
    if req.timer is not None:
        req.timer.cancel()
        req.timer = None
    key = req.ekey
    if key is not None:
        req.ekey = None
        lsk.syn_qlen -= 1
        if req.num_timeout == 0:
            lsk.syn_young -= 1
        ehash_insert(child, key)
    else:
        ehash_insert(child, (net, req.laddr, req.lport, req.raddr, req.rport))
    return child


def _req_oow_limited(req: TcpRequest, seg: Seg) -> bool:
    if seg.dlen and not seg.flags & SYN:
        return False
    return out.oow_rate_limited(req.listener.net, req, "TCPACKSkippedSynRecv")


def _syn_recv_sock(lsk: TcpSock, seg: Seg, req: TcpRequest) -> TcpSock | None:
    """tcp_v4_syn_recv_sock + tcp_create_openreq_child: the full socket."""
    acceptq = lsk.acceptq
    if acceptq is None or len(acceptq) > lsk.max_ack_backlog:
        lsk.mib("ListenOverflows")
        _listendrop(lsk)
        return None
    net = lsk.net
    try:
        rt = ip_route_output_cached(net, req.raddr, req.laddr, lsk.bound_dev, lsk.mark, 0)
    except Exception:
        _listendrop(lsk)
        return None
    child = TcpSock.clone(lsk)
    child.passive = True
    child.parent = lsk
    child.state = TCP_SYN_RECV
    child.saddr = child.rcv_saddr = req.laddr
    child.sport = req.lport
    child.daddr = req.raddr
    child.dport = req.rport
    irs = req.irs
    iss = req.iss
    child.irs = irs
    child.iss = iss
    child.rcv_nxt = child.rcv_wup = child.copied_seq = irs + 1
    child.snd_una = child.snd_nxt = child.snd_sml = iss + 1
    child.write_seq = child.pushed_seq = child.sndq_seq = iss + 1
    child.snd_wl1 = irs
    child.total_retrans = req.num_retrans
    child.ts_ok = req.ts_ok
    child.sack_ok = req.sack_ok
    child.wscale_ok = req.wscale_ok
    if req.wscale_ok:
        child.snd_wscale = req.snd_wscale
        child.rcv_wscale = req.rcv_wscale
    child.snd_wnd = seg.win << child.snd_wscale
    child.max_window = child.snd_wnd
    if req.ts_ok:
        child.ts_recent = req.ts_recent
        child.ts_recent_stamp = net.kernel.sched.now
        child.tcp_header_len = 32
    child.ts_off = req.ts_off
    child.mss_clamp = req.mss
    child.window_clamp = req.window_clamp
    child.rcv_ssthresh = child.rcv_wnd = req.rcv_wnd
    child.snt_synack = req.snt_synack if not req.num_retrans else 0
    child.inet_id = rand_below(net.kernel.rng, 0x10000)
    child.tos = req.tos
    # bind: the child shares the listener's port bucket
    bucket: BindBucket | None = lsk.bucket
    if bucket is not None:
        bucket.owners.append(child)
        child.bucket = bucket
    out.sk_set_route(child, rt)
    child.advmss = out.advmss_of(rt)
    if lsk.user_mss and lsk.user_mss < child.advmss:
        child.advmss = lsk.user_mss
    out.tcp_initialize_rcv_mss(child)
    return child


def tcp_child_process(lsk: TcpSock, child: TcpSock, seg: Seg) -> bool:
    """tcp_child_process: the child handles the ACK; once established it
    joins the accept queue and the listener's readers wake."""
    state = child.state
    reset = tcp_rcv_state_process(child, seg)
    if state == TCP_SYN_RECV and child.state != TCP_SYN_RECV:
        if child.state == TCP_CLOSE:
            destroy_child(child)
        else:
            q = lsk.acceptq
            if q is not None:
                q.append(child)
                lsk.wq.wake_up()
    elif child.state == TCP_SYN_RECV and reset:
        destroy_child(child)
    return reset


def destroy_child(child: TcpSock) -> None:
    from .tcp import destroy_sock

    child.closed = True
    child.dead = True
    child.parent = None
    destroy_sock(child)


# -- SYN cookies (syncookies.c) -------------------------------------------------------------------


def _cookie_hash(tn: TcpNet, saddr: int, daddr: int, sport: int, dport: int, count: int,
                 c: int) -> int:
    return hash((tn.cookie_secret[c], saddr, daddr, sport, dport, count)) & SEQ_MASK


def _cookie_time(now: int) -> int:
    return (now // JIFFY_NS) // TCP_SYNCOOKIE_PERIOD_J


def _cookie_seq(tn: TcpNet, saddr: int, daddr: int, sport: int, dport: int, sseq: int,
                data: int, now: int) -> int:
    """secure_tcp_syn_cookie: hash + their ISN + minute counter << 24, with
    the MSS index folded into the low 24 bits."""
    count = _cookie_time(now)
    return (_cookie_hash(tn, saddr, daddr, sport, dport, 0, 0) + sseq + (count << COOKIEBITS)
            + ((_cookie_hash(tn, saddr, daddr, sport, dport, count, 1) + data) & COOKIEMASK)) \
        & SEQ_MASK


def _cookie_check_seq(tn: TcpNet, cookie: int, saddr: int, daddr: int, sport: int, dport: int,
                      sseq: int, now: int) -> int:
    """check_tcp_syn_cookie: the MSS index, or -1 (wrong or older than 2 minutes)."""
    count = _cookie_time(now)
    cookie = (cookie - (_cookie_hash(tn, saddr, daddr, sport, dport, 0, 0) + sseq)) & SEQ_MASK
    diff = (count - (cookie >> COOKIEBITS)) & (SEQ_MASK >> COOKIEBITS)
    if diff >= MAX_SYNCOOKIE_AGE:
        return -1
    return (cookie - _cookie_hash(tn, saddr, daddr, sport, dport, count - diff, 1)) & COOKIEMASK


def _cookie_timestamp(req: TcpRequest, now: int) -> int:
    """cookie_init_timestamp: the TSval's low 6 bits carry wscale and SACK."""
    options = req.snd_wscale if req.wscale_ok else TS_OPT_WSCALE_MASK
    if req.sack_ok:
        options |= TS_OPT_SACK
    ts_now = now // 1_000_000
    ts = (ts_now >> TSBITS) << TSBITS
    ts |= options
    if ts > ts_now:
        ts -= 1 << TSBITS
    return ts


def _cookie_check(lsk: TcpSock, seg: Seg) -> bool:
    """cookie_v4_check: an ACK for a listener may complete a handshake whose
    SYN-ACK came from a SYN cookie.  True when the cookie was good (the child
    is made -- or, with a full accept queue, the ACK is dropped silently)."""
    net = lsk.net
    if not net.ipv4.sysctl.tcp_syncookies:
        return False
    now = net.kernel.sched.now
    ovf = lsk.synq_overflow_ts
    if ovf < 0 or now // JIFFY_NS - ovf > 2 * TCP_SYNCOOKIE_PERIOD_J:
        return False  # tcp_synq_no_recent_overflow
    tn = lsk.tcp_net
    rt = seg.rt
    cookie = (seg.wack - 1) & SEQ_MASK
    sseq = (seg.wseq - 1) & SEQ_MASK
    mssind = _cookie_check_seq(tn, cookie, rt.saddr, rt.daddr, seg.sport, seg.dport, sseq, now)
    if not 0 <= mssind < len(MSSTAB):
        lsk.mib("SyncookiesFailed")
        return False
    lsk.mib("SyncookiesRecv")
    seg.parse(False, net)
    req = TcpRequest(lsk)
    req.laddr = rt.daddr
    req.raddr = rt.saddr
    req.lport = seg.dport
    req.rport = seg.sport
    req.irs = sseq
    req.iss = cookie
    req.mss = MSSTAB[mssind]
    req.dev = seg.dev
    req.tos = _synack_tos(lsk, seg)
    req.ts_ok = seg.saw_ts
    req.sack_ok = False
    req.wscale_ok = False
    req.snd_wscale = 0
    req.ts_off = 0
    if seg.saw_ts:
        req.ts_off = secure_ts_off(tn, req.laddr, req.raddr)
        options = (seg.tsecr - req.ts_off) & SEQ_MASK
        req.ts_recent = seg.tsval
        if not net.ipv4.sysctl.tcp_timestamps:
            return True
        req.sack_ok = bool(options & TS_OPT_SACK) and bool(net.ipv4.sysctl.tcp_sack)
        if options & TS_OPT_WSCALE_MASK != TS_OPT_WSCALE_MASK:
            req.wscale_ok = bool(net.ipv4.sysctl.tcp_window_scaling)
            req.snd_wscale = options & TS_OPT_WSCALE_MASK
    else:
        req.ts_recent = 0
    _openreq_init_rwin(req, lsk)
    child = _syn_recv_sock(lsk, seg, req)
    if child is None:
        return True
    ehash_insert(child, (net, req.laddr, req.lport, req.raddr, req.rport))
    if tcp_child_process(lsk, child, seg):
        _send_reset_for(net, seg)
    return True


# -- ICMP errors (tcp_v4_err) ---------------------------------------------------------------------


def tcp_v4_err(dev: NetDevice, pkt: bytes, ihl: int, info: int) -> None:
    """tcp_v4_err: an ICMP error about a segment we sent."""
    from ..ipv4.icmp import icmp_err_convert, ipv4_update_pmtu
    from ..wire.icmp import (
        ICMP_DEST_UNREACH,
        ICMP_FRAG_NEEDED,
        ICMP_PARAMETERPROB,
        ICMP_SOURCE_QUENCH,
        ICMP_TIME_EXCEEDED,
    )

    net = dev.net
    inner = ihl + 8
    iihl = (pkt[inner] & 15) << 2
    isrc = int.from_bytes(pkt[inner + 12:inner + 16], "big")
    idst = int.from_bytes(pkt[inner + 16:inner + 20], "big")
    if len(pkt) < inner + iihl + 8:
        return
    sport, dport, wseq = struct.unpack_from("!HHI", pkt, inner + iihl)
    sk = ehash.get((net, isrc, sport, idst, dport))
    if sk is None:
        tcp_net(net).mib["InErrs"] += 1
        return
    icmp_type, code = pkt[ihl], pkt[ihl + 1]
    state = sk.state
    if state == TCP_TIME_WAIT:
        return
    if state == TCP_NEW_SYN_RECV:
        req = sk
        if wseq == req.iss & SEQ_MASK and icmp_type == ICMP_DEST_UNREACH and \
                code != ICMP_FRAG_NEEDED:
            reqsk_drop(req)
            req.listener.mib("EmbryonicRsts")
        return
    if icmp_type == ICMP_SOURCE_QUENCH:
        return
    seq = _unwrap(sk.snd_una, wseq)
    if state != TCP_LISTEN and not (sk.snd_una <= seq <= sk.snd_nxt):
        sk.mib("OutOfWindowIcmps")
        return
    if icmp_type == ICMP_DEST_UNREACH:
        if code > 15:
            return
        if code == ICMP_FRAG_NEEDED:
            if info:
                ipv4_update_pmtu(net, idst, isrc, info)
            tcp_v4_mtu_reduced(sk, info)
            return
        err, _hard = icmp_err_convert[code]
    elif icmp_type == ICMP_TIME_EXCEEDED:
        err = errno.EHOSTUNREACH
    elif icmp_type == ICMP_PARAMETERPROB:
        err = errno.EPROTO
    else:
        return
    if state in (TCP_SYN_SENT, TCP_SYN_RECV):
        sk.sk_err = err
        tcp_done(sk)
        sk.wq.wake_up()
        return
    from ..sock import IP_RECVERR

    if sk.ip_opt(IP_RECVERR):
        sk.report_error(err)
    else:
        sk.sk_err_soft = err


def tcp_v4_mtu_reduced(sk: TcpSock, mtu: int) -> None:
    """tcp_v4_mtu_reduced: a smaller path MTU -- smaller segments, and what
    was too big goes again at once (tcp_simple_retransmit)."""
    if sk.state in (TCP_LISTEN, TCP_CLOSE) or not mtu:
        return
    sk.dst_gen = -1
    rt = out.sk_route(sk)
    if rt is None:
        return
    from ..ipv4.ip_output import route_mtu

    mtu = route_mtu(rt)
    if sk.pmtu > mtu:
        out.tcp_sync_mss(sk, mtu)
        mss = out.tcp_current_mss(sk)
        for seg in sk.rtx:
            if seg.end - seg.seq > mss * max(seg.pcount, 1) or \
                    (seg.pcount == 1 and seg.end - seg.seq > mss):
                tcp_mark_skb_lost(sk, seg)
        if sk.lost_out:
            if sk.ca_state != TCP_CA_Loss:
                sk.high_seq = sk.snd_nxt
                sk.snd_ssthresh = _current_ssthresh(sk)
                sk.prior_ssthresh = 0
                sk.undo_marker = 0
                _set_ca_state(sk, TCP_CA_Loss)
            out.tcp_xmit_retransmit_queue(sk)


__all__ = [
    "SHUTDOWN_MASK",
    "reqsk_drop",
    "reqsk_drop_all",
    "tcp_enter_loss",
    "tcp_rack_reo_timeout",
    "tcp_v4_err",
    "tcp_v4_rcv",
]
