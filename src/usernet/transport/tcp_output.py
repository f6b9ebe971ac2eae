"""TCP output (``net/ipv4/tcp_output.c``): segments, windows, retransmission.

A segment is built in one go: the Ethernet header cached in the neighbour
entry, the IPv4 header (the socket's own IP ID counter, DF, a checksum
updated from a per-socket base), the TCP header and its options packed by
one struct, then the payload -- a ``memoryview`` slice of the send buffer,
copied once, by the ``join`` that makes the frame.  Over a device with
GSO (veth, bridge) a segment may carry up to 45 MSS (64 KiB, as Linux's
``tcp_tso_autosize`` allows), a super-segment (:mod:`usernet.wire.gso`).

The TCP checksum is left as CHECKSUM_PARTIAL (the pseudo-header sum) on
connected sockets, exactly as Linux leaves it for veth and lo; stateless
replies (RST to a closed port, ACKs of TIME_WAIT and request sockets) carry
a full checksum, as ``ip_send_unicast_reply`` computes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dev.datapath import dev_can_gso, dev_queue_xmit
from ..errors import KernelError
from ..ipv4.datapath_state import ipv4_dp, sysctl_int
from ..ipv4.ip_output import IP_PMTUDISC_DO, ip_build_and_send, ip_output, route_mtu
from ..ipv4.neighbour import NUD_CONNECTED
from ..ipv4.route import ip_route_output_cached
from ..ipv4.rt_cache import rt_cache_genid
from ..netfilter.hooks import nf_enabled
from ..sock import CTL_SK, CtlSock
from ..wire.checksum import csum_partial, pseudo_header_sum
from ..wire.tcp import (
    ACK,
    FIN,
    IP_TCP_HDR,
    IP_TCP_HDR_TS,
    PSH,
    RST,
    SYN,
    TCP_HDR,
    TS_PREFIX,
    URG,
    sack_option,
    syn_options,
    ts_option,
)
from . import tcp_timer as timer
from .tcp import (
    GSO_MAX_SIZE,
    ICSK_ACK_PUSHED,
    ICSK_ACK_PUSHED2,
    ICSK_ACK_SCHED,
    ICSK_ACK_TIMER,
    MAX_TCP_HEADER,
    SEQ_MASK,
    TCP_CLOSE,
    TCP_CLOSE_WAIT,
    TCP_ESTABLISHED,
    TCP_FIN_WAIT1,
    TCP_INIT_CWND,
    TCP_LAST_ACK,
    TCP_MAX_QUICKACKS,
    TCP_MAX_WSCALE,
    TCP_MIN_MSS,
    TCP_MSS_DEFAULT,
    TCP_NAGLE_CORK,
    TCP_NAGLE_OFF,
    TCP_NAGLE_PUSH,
    TCP_RMEM_TO_WIN_SCALE,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCPCB_EVER_RETRANS,
    TCPCB_LOST,
    TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS,
    TcpRequest,
    TcpSock,
    TcpTimeWait,
    TxSeg,
    _core_sysctl,
)
from .tcp_cong import CA_EVENT_TX_START, TCP_CA_CWR, TCP_CA_Recovery
from .tcp_table import tcp_net

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..ipv4.route import OutputRoute
    from ..net import Net

TCP_ATO_MIN_NS = 40_000_000  # HZ/25
TCP_DELACK_MIN_NS = 40_000_000
TCP_DELACK_MAX_NS = 200_000_000  # HZ/5
TCP_RTO_MIN_US = 200_000
TCP_TIMEOUT_MIN_US = 2_000
TCP_PINGPONG_THRESH = 1  # net.ipv4.tcp_pingpong_thresh
JIFFY_NS = 4_000_000


_pack = IP_TCP_HDR.pack
_pack_ts = IP_TCP_HDR_TS.pack
_genid = rt_cache_genid


def jiffies_ceil(ns: int) -> int:
    """A delay rounded up to whole jiffies, as usecs_to_jiffies rounds."""
    return -(-ns // JIFFY_NS) * JIFFY_NS


# -- routes and MSS ------------------------------------------------------------------------


def sk_set_route(sk: TcpSock, rt: OutputRoute) -> None:
    """sk_setup_caps + the per-socket header precomputation."""
    net = sk.net
    sk.dst = rt
    sk.dst_gen = rt_cache_genid()
    ttl = sk.ttl or net.ipv4.sysctl.ip_default_ttl
    sa, da = sk.saddr, sk.daddr
    addrs = (sa >> 16) + (sa & 0xFFFF) + (da >> 16) + (da & 0xFFFF)
    sk.ip_ttl = ttl
    sk.ip_csum_base = (0x4500 | sk.tos) + 0x4000 + ((ttl << 8) | 6) + addrs
    sk.tcp_psum_base = addrs + 6
    sk.gso_ok = dev_can_gso(rt.dev)
    mtu = route_mtu(rt)
    if mtu != sk.pmtu:
        tcp_sync_mss(sk, mtu)
    else:
        _set_gso_segs(sk)


def _set_gso_segs(sk: TcpSock) -> None:
    """tcp_tso_autosize's ceiling: as many MSS as fit in a 64 KiB super-segment
    (pacing never limits it here: RTTs on emulated links are microseconds)."""
    # comparisons rather than max(): this runs a few times per connection
    mss = sk.mss_cache
    segs = (GSO_MAX_SIZE - 1 - MAX_TCP_HEADER) // (mss if mss > 1 else 1) if sk.gso_ok else 1
    sk.gso_max_segs = segs if segs > 1 else 1


def sk_route(sk: TcpSock) -> OutputRoute | None:
    """__sk_dst_check: the cached route while the configuration is unchanged."""
    rt = sk.dst
    if rt is not None and sk.dst_gen == rt_cache_genid() and not rt.expires:
        return rt
    try:
        rt = ip_route_output_cached(sk.net, sk.daddr, sk.saddr, sk.bound_dev, sk.mark, sk.tos)
    except KernelError as exc:
        sk.sk_err_soft = exc.errno or 0
        sk.dst = None
        return None
    sk_set_route(sk, rt)
    return rt


def advmss_of(rt: OutputRoute) -> int:
    """ipv4_default_advmss: the MSS we announce for a route."""
    mss = route_mtu(rt) - 40
    return 256 if mss < 256 else 65535 - 40 if mss > 65535 - 40 else mss


def tcp_header_opt_len(sk: TcpSock) -> int:
    return 12 if sk.ts_ok else 0


def tcp_sync_mss(sk: TcpSock, pmtu: int, opt_len: int | None = None) -> int:
    """tcp_sync_mss: the segment size for a path MTU.  ``opt_len`` is the
    options' share of tcp_header_len (by default, the timestamps agreed)."""
    if opt_len is None:
        opt_len = 12 if sk.ts_ok else 0  # tcp_header_opt_len
    mss = pmtu - 40
    if mss > sk.mss_clamp:
        mss = sk.mss_clamp
    min_snd_mss = sk.net.ipv4.sysctl.tcp_min_snd_mss
    if mss < min_snd_mss:
        mss = min_snd_mss
    mss -= opt_len
    mw = sk.max_window
    cutoff = mw >> 1 if mw > TCP_MSS_DEFAULT else mw
    if cutoff and mss > cutoff:
        floor = 68 - 20 - opt_len
        mss = cutoff if cutoff > floor else floor
    sk.pmtu = pmtu
    sk.mss_cache = mss
    _set_gso_segs(sk)
    return mss


def tcp_initialize_rcv_mss(sk: TcpSock) -> None:
    """tcp_initialize_rcv_mss: our guess of the peer's MSS, for delayed ACKs."""
    # comparisons rather than min()/max(): once per connection and side
    hint = sk.advmss
    if sk.mss_cache < hint:
        hint = sk.mss_cache
    if sk.rcv_wnd // 2 < hint:
        hint = sk.rcv_wnd // 2
    if hint > TCP_MSS_DEFAULT:
        hint = TCP_MSS_DEFAULT
    sk.rcv_mss = hint if hint > TCP_MIN_MSS else TCP_MIN_MSS


def tcp_current_mss(sk: TcpSock) -> int:
    """tcp_current_mss: mss_cache, less the room SACK blocks take now."""
    mss = sk.mss_cache
    n = len(sk.sack_blocks) + (1 if sk.dsack is not None else 0)
    if n and sk.sack_ok:
        n = min(n, 3 if sk.ts_ok else 4)
        mss -= 4 + 8 * n
    return mss


# -- the receive window --------------------------------------------------------------------------


def win_from_space(sk: TcpSock, space: int) -> int:
    """tcp_win_from_space: the part of buffer space that can hold payload."""
    return (space * sk.scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE


def rcv_queued(sk: TcpSock) -> int:
    """Payload held for the reader, in order and out of order."""
    return sk.rcvq_bytes + sum(len(e[2]) for e in sk.ofo) if sk.ofo else sk.rcvq_bytes


def tcp_space(sk: TcpSock) -> int:
    return win_from_space(sk, sk.rcvbuf) - rcv_queued(sk)


def tcp_full_space(sk: TcpSock) -> int:
    return win_from_space(sk, sk.rcvbuf)


def select_window_raw(sk: TcpSock) -> int:
    """__tcp_select_window: the window we could offer now (bytes)."""
    mss = sk.rcv_mss
    allowed = (sk.rcvbuf * sk.scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE  # tcp_full_space
    queued = sk.rcvq_bytes
    if sk.ofo:
        queued += sum(len(e[2]) for e in sk.ofo)
    free_space = allowed - queued  # tcp_space
    full_space = sk.window_clamp
    if full_space > allowed:
        full_space = allowed
    if mss > full_space:
        mss = full_space
        if mss <= 0:
            return 0
    ws = sk.rcv_wscale
    if free_space < (full_space >> 1):
        sk.ack_quick = 0
        free_space = (free_space >> ws) << ws
        if free_space < (allowed >> 4) or free_space < mss:
            return 0
    if free_space > sk.rcv_ssthresh:
        free_space = sk.rcv_ssthresh
    if ws:
        if free_space & ((1 << ws) - 1):
            return ((free_space >> ws) + 1) << ws
        return free_space
    window = sk.rcv_wnd
    if window <= free_space - mss or window > free_space:
        window = (free_space // mss) * mss if mss > 0 else free_space
    elif mss == full_space and free_space > window + (full_space >> 1):
        window = free_space
    return window


def tcp_select_window(sk: TcpSock) -> int:
    """tcp_select_window: never shrink the offered window; the value to put
    in the header (scaled)."""
    old_win = sk.rcv_wnd
    rcv_nxt = sk.rcv_nxt
    cur_win = sk.rcv_wup + old_win - rcv_nxt
    if cur_win < 0:
        cur_win = 0
    new_win = select_window_raw(sk)
    ws = sk.rcv_wscale
    if new_win < cur_win:
        if new_win == 0:
            sk.tcp_net.mib["TCPWantZeroWindowAdv"] += 1
        new_win = -(-cur_win >> ws) << ws if ws else cur_win
    sk.rcv_wnd = new_win
    sk.rcv_wup = rcv_nxt
    if new_win > 65535 << ws:
        new_win = 65535 << ws
    new_win >>= ws
    if new_win == 0:
        sk.fast_ok = False
        if old_win:
            sk.tcp_net.mib["TCPToZeroWindowAdv"] += 1
    elif old_win == 0:
        sk.tcp_net.mib["TCPFromZeroWindowAdv"] += 1
    return new_win


def select_initial_window(net: Net, space: int, mss: int, window_clamp: int,
                          wscale_ok: bool) -> tuple[int, int, int]:
    """tcp_select_initial_window -> (rcv_wnd, window_clamp, rcv_wscale)."""
    # comparisons rather than min()/max(): this runs twice per connection
    if window_clamp == 0:
        window_clamp = 65535 << TCP_MAX_WSCALE
    if space < 0:
        space = 0
    if space > window_clamp:
        space = window_clamp
    if space > mss:
        space = (space // mss) * mss
    rcv_wnd = space
    if net.ipv4.sysctl.tcp_workaround_signed_windows and rcv_wnd > 32767:
        rcv_wnd = 32767
    wscale = 0
    if wscale_ok:
        sp = max(space, net.ipv4.sysctl.tcp_rmem[2],
                 _core_sysctl(net, "net.core.rmem_max", 212992))
        if sp > window_clamp:
            sp = window_clamp
        wscale = sp.bit_length() - 1 - 15
        wscale = 0 if wscale < 0 else TCP_MAX_WSCALE if wscale > TCP_MAX_WSCALE else wscale
    clamp = 65535 << wscale
    return rcv_wnd, clamp if clamp < window_clamp else window_clamp, wscale


# -- sending one segment -------------------------------------------------------------------------


def _sack_opt(sk: TcpSock) -> bytes:
    """The SACK blocks to report: a D-SACK first, then the most recent blocks."""
    blocks: list[tuple[int, int]] = []
    if sk.dsack is not None:
        blocks.append(sk.dsack)
    for b in sk.sack_blocks:
        blocks.append((b[0], b[1]))
    blocks = blocks[:3 if sk.ts_ok else 4]
    return sack_option(blocks)


def sndq_gather(sk: TcpSock, seq: int, n: int) -> list[bytes | bytearray | memoryview]:
    """The send buffer's bytes [seq, seq + n), as the chunks (or views of
    them) that hold them: the frame's ``join`` copies them once."""
    off = seq - sk.sndq_seq
    parts: list[bytes | bytearray | memoryview] = []
    for chunk in sk.sndq:
        ln = len(chunk)
        if off >= ln:
            off -= ln
            continue
        take = ln - off
        if take > n:
            take = n
        parts.append(chunk if not off and take == ln else memoryview(chunk)[off:off + take])
        n -= take
        if not n:
            break
        off = 0
    return parts


def tcp_transmit(sk: TcpSock, seq: int, flags: int,
                 data: list[bytes | bytearray | memoryview] | None, dlen: int,
                 pcount: int) -> bool:
    """__tcp_transmit_skb for a connected socket: header, options, IP, link.
    ``data`` is the payload's pieces; more than one segment's worth makes a
    GSO super-segment (``pcount`` segments)."""
    rt = sk.dst
    if rt is None or sk.dst_gen != _genid() or rt.expires:
        rt = sk_route(sk)
        if rt is None:
            return False
    net = sk.net
    now = net.kernel.sched.now
    win = tcp_select_window(sk)
    ts_ok = sk.ts_ok
    if sk.sack_ok and (sk.sack_blocks or sk.dsack is not None):
        sack = _sack_opt(sk)
        optlen = (12 if ts_ok else 0) + len(sack)
    else:
        sack = b""
        optlen = 12 if ts_ok else 0
    tcp_len = 20 + optlen + dlen
    ident = sk.inet_id
    sk.inet_id = (ident + pcount) & 0xFFFF
    s = sk.ip_csum_base + tcp_len + 20 + ident
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    c = sk.tcp_psum_base + tcp_len
    c = (c & 0xFFFF) + (c >> 16)
    c = (c & 0xFFFF) + (c >> 16)
    urg = 0
    snd_up = sk.snd_up
    if snd_up > sk.snd_una and seq < snd_up:
        # urgent mode: the pointer is to the byte after the urgent data
        if snd_up < seq + 0x10000:
            urg = snd_up - seq
            flags |= URG
        elif seq + 0xFFFF > sk.snd_nxt:
            urg = 0xFFFF
            flags |= URG
    if ts_ok:
        hdr = _pack_ts(0x45, sk.tos, tcp_len + 20, ident, 0x4000, sk.ip_ttl, 6, ~s & 0xFFFF,
                       sk.saddr, sk.daddr, sk.sport, sk.dport, seq & SEQ_MASK,
                       sk.rcv_nxt & SEQ_MASK, (20 + optlen) << 2, flags, win, c, urg, TS_PREFIX,
                       (now // 1_000_000 + sk.ts_off) & SEQ_MASK, sk.ts_recent)
    else:
        hdr = _pack(0x45, sk.tos, tcp_len + 20, ident, 0x4000, sk.ip_ttl, 6, ~s & 0xFFFF,
                    sk.saddr, sk.daddr, sk.sport, sk.dport, seq & SEQ_MASK,
                    sk.rcv_nxt & SEQ_MASK, (20 + optlen) << 2, flags, win, c, urg)
    if sack:
        hdr += sack
    if flags & ACK:
        # tcp_event_ack_sent
        if sk.ack_quick:
            pkts = 1 if sk.ack_pending & ICSK_ACK_SCHED else 0
            if pkts >= sk.ack_quick:
                sk.ack_quick = 0
                sk.ack_ato = TCP_ATO_MIN_NS
            else:
                sk.ack_quick -= pkts
        if sk.ack_pending:
            sk.ack_pending = 0
            sk.dack_timer.cancel()
        if sk.dsack is not None:
            sk.dsack = None
    if dlen:
        # tcp_event_data_sent
        j = now // JIFFY_NS
        if not sk.packets_out or not sk.in_flight():
            sk.ca.cwnd_event(sk, CA_EVENT_TX_START)
        sk.lsndtime = j
        if (j - sk.ack_lrcvtime) * JIFFY_NS < sk.ack_ato:
            sk.ack_pingpong = min(sk.ack_pingpong + 1, 255)  # inet_csk_inc_pingpong_cnt
    sk.segs_out += pcount
    sk.tcp_net.mib["OutSegs"] += pcount
    dp = net.ipv4.dp or ipv4_dp(net)
    dp.mib["OutRequests"] += 1
    dev = rt.dev
    if dev is not net.loopback_dev and not nf_enabled(net):  # no hooks to run
        nexthop = rt.gateway or rt.daddr
        n = rt.neigh
        if n is None or n.dev is not dev or n.addr != nexthop:
            n = net.kernel.neigh_tbl.entries.get((dev, nexthop))
            rt.neigh = n
        if n is not None and n.nud_state & NUD_CONNECTED:
            if sk.confirm_neigh:
                sk.confirm_neigh = False
                n.confirmed = now // JIFFY_NS
            dev_queue_xmit(dev, b"".join((n.hh, hdr, *data)) if data else n.hh + hdr)
            return True
    ip_output(rt, b"".join((hdr, *data)) if data else hdr, sk)
    return True


def tcp_send_syn_segment(sk: TcpSock, flags: int) -> bool:
    """A SYN (tcp_connect) or, in a simultaneous open, our SYN-ACK."""
    rt = sk_route(sk)
    if rt is None:
        return False
    net = sk.net
    now = net.kernel.sched.now
    tsval = (now // 1_000_000 + sk.ts_off) & SEQ_MASK
    # tcp_syn_options: what the sysctls offer, also on a simultaneous open's
    # SYN-ACK (which echoes the peer's TSval); the window is never scaled.
    ts = (tsval, sk.ts_recent if flags & ACK else 0) \
        if net.ipv4.sysctl.tcp_timestamps else None
    sack = bool(net.ipv4.sysctl.tcp_sack)
    ws = sk.rcv_wscale if net.ipv4.sysctl.tcp_window_scaling else -1
    win = min(sk.rcv_wnd, 65535)
    opts = syn_options(sk.advmss, sack, ts, ws)
    tcp_len = 20 + len(opts)
    ident = sk.inet_id
    sk.inet_id = (ident + 1) & 0xFFFF
    s = sk.ip_csum_base + tcp_len + 20 + ident
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    c = sk.tcp_psum_base + tcp_len
    c = (c & 0xFFFF) + (c >> 16)
    c = (c & 0xFFFF) + (c >> 16)
    hdr = IP_TCP_HDR.pack(0x45, sk.tos, tcp_len + 20, ident, 0x4000, sk.ip_ttl, 6, ~s & 0xFFFF,
                          sk.saddr, sk.daddr, sk.sport, sk.dport, sk.iss & SEQ_MASK,
                          (sk.rcv_nxt & SEQ_MASK) if flags & ACK else 0, (tcp_len << 2) & 0xF0,
                          flags, win, c, 0) + opts
    sk.segs_out += 1
    sk.tcp_net.mib["OutSegs"] += 1
    ipv4_dp(net).mib["OutRequests"] += 1
    if flags & ACK:
        sk.ack_pending = 0
        sk.dack_timer.cancel()
    ip_output(rt, hdr, sk)
    return True


# -- connect: the SYN -----------------------------------------------------------------------------


def tcp_connect_init(sk: TcpSock) -> None:
    """tcp_connect_init: MSS, initial window and window scale, clocks."""
    net = sk.net
    rt = sk.dst
    assert rt is not None
    sk.ts_ok = False  # until the SYN-ACK says so
    sk.advmss = advmss_of(rt)
    if sk.user_mss:
        sk.advmss = min(sk.advmss, sk.user_mss)
        sk.mss_clamp = sk.user_mss
    else:
        sk.mss_clamp = TCP_MSS_DEFAULT
    # until the SYN-ACK, tcp_header_len counts the timestamps the SYN offers
    # and the clamp is the default: ss shows mss:524 for a SYN_SENT socket
    sk.max_window = 0
    tcp_sync_mss(sk, route_mtu(rt),
                 12 if net.ipv4.sysctl.tcp_timestamps else 0)
    if not sk.window_clamp:
        sk.window_clamp = sk.window_clamp_opt
    tcp_initialize_rcv_mss(sk)  # before the window exists: TCP_MIN_MSS
    full = tcp_full_space(sk)
    if sk.rcvbuf_locked and (sk.window_clamp > full or sk.window_clamp == 0):
        sk.window_clamp = full
    mss_for_win = sk.advmss - (12 if sk.ts_recent_stamp else 0)
    rcv_wnd, clamp, wscale = select_initial_window(
        net, full, mss_for_win, sk.window_clamp,
        bool(net.ipv4.sysctl.tcp_window_scaling))
    sk.rcv_wnd, sk.window_clamp, sk.rcv_wscale = rcv_wnd, clamp, wscale
    sk.rcv_ssthresh = rcv_wnd
    sk.sk_err = 0
    sk.done = False
    sk.snd_wnd = 0
    sk.snd_una = sk.snd_nxt = sk.iss = sk.write_seq
    sk.max_window = 0
    sk.snd_sml = sk.iss
    sk.rcv_nxt = sk.rcv_wup = sk.copied_seq = 0
    sk.rto = 1_000_000_000
    sk.retransmits = 0
    sk.snd_cwnd = TCP_INIT_CWND
    sk.ca.init(sk)


def tcp_connect(sk: TcpSock) -> None:
    """tcp_connect: queue and send the SYN, start the retransmission timer."""
    tcp_connect_init(sk)
    now = sk.net.kernel.sched.now
    seg = TxSeg(sk.iss, sk.iss + 1, SYN, 1, now)
    sk.rtx.append(seg)
    sk.packets_out = 1
    sk.snd_nxt = sk.iss + 1
    sk.write_seq = sk.pushed_seq = sk.sndq_seq = sk.iss + 1
    sk.lsndtime = now // JIFFY_NS
    sk.retrans_stamp = now
    tcp_send_syn_segment(sk, SYN)
    timer.reset_xmit_timer(sk, timer.ICSK_TIME_RETRANS, sk.rto)


# -- pure ACKs ------------------------------------------------------------------------------------


def tcp_send_ack(sk: TcpSock) -> None:
    """tcp_send_ack: a bare ACK of what we have, with our window."""
    if sk.state == TCP_CLOSE:
        return
    tcp_transmit(sk, sk.snd_nxt, ACK, None, 0, 1)


def tcp_send_delayed_ack(sk: TcpSock) -> None:
    """tcp_send_delayed_ack: ACK within ato (40 ms at first, at most 200 ms
    or 500 ms), unless a timer already due sooner is pending."""
    ato = sk.ack_ato or TCP_ATO_MIN_NS
    if ato > TCP_DELACK_MIN_NS:
        max_ato = 500_000_000
        if sk.ack_pingpong >= TCP_PINGPONG_THRESH or sk.ack_pending & ICSK_ACK_PUSHED:
            max_ato = TCP_DELACK_MAX_NS
        if sk.srtt_us:
            rtt = max(jiffies_ceil((sk.srtt_us >> 3) * 1000), TCP_DELACK_MIN_NS)
            if rtt < max_ato:
                max_ato = rtt
        ato = min(ato, max_ato)
    now = sk.net.kernel.sched.now
    timeout = now + ato
    if sk.ack_pending & ICSK_ACK_TIMER:
        if sk.ack_timeout <= now + (ato >> 2):
            tcp_send_ack(sk)
            return
        if timeout >= sk.ack_timeout:
            timeout = sk.ack_timeout
    sk.ack_pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER
    sk.ack_timeout = timeout
    sk.dack_timer.arm(timeout)


def tcp_enter_quickack_mode(sk: TcpSock, max_quickacks: int = TCP_MAX_QUICKACKS) -> None:
    tcp_incr_quickack(sk, max_quickacks)
    sk.ack_pingpong = 0
    sk.ack_ato = TCP_ATO_MIN_NS


def tcp_incr_quickack(sk: TcpSock, max_quickacks: int = TCP_MAX_QUICKACKS) -> None:
    quickacks = sk.rcv_wnd // (2 * max(sk.rcv_mss, 1))
    if quickacks == 0:
        quickacks = 2
    quickacks = min(quickacks, max_quickacks)
    if quickacks > sk.ack_quick:
        sk.ack_quick = quickacks


def tcp_set_quickack(sk: TcpSock, val: int) -> None:
    """TCP_QUICKACK (__tcp_sock_set_quickack): 0 enters pingpong (delayed
    ACK) mode; non-zero leaves it and sends an ACK that is due."""
    if not val:
        sk.ack_pingpong = TCP_PINGPONG_THRESH
        return
    sk.ack_pingpong = 0
    if sk.state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT) and sk.ack_pending & ICSK_ACK_SCHED:
        sk.ack_pending |= ICSK_ACK_PUSHED
        tcp_cleanup_rbuf(sk, 1)
        if not val & 1:
            sk.ack_pingpong = TCP_PINGPONG_THRESH


def tcp_send_challenge_ack(sk: TcpSock) -> None:
    """RFC 5961 7: a challenge ACK, at most one per tcp_invalid_ratelimit per socket."""
    mib = sk.tcp_net.mib
    if oow_rate_limited(sk.net, sk, "TCPACKSkippedChallenge"):
        return
    mib["TCPChallengeACK"] += 1
    tcp_send_ack(sk)


def oow_rate_limited(net: Net, obj: TcpSock | TcpTimeWait | TcpRequest, mib_name: str) -> bool:
    """__tcp_oow_rate_limited: one answer to out-of-window input per
    net.ipv4.tcp_invalid_ratelimit (ms)."""
    now_j = net.kernel.sched.now // JIFFY_NS + 1  # +1: 0 means "never"
    last = obj.last_oow_ack_time
    if last:
        elapsed = now_j - last
        if 0 <= elapsed < sysctl_int(net, "net.ipv4.tcp_invalid_ratelimit") * 250 // 1000:
            tcp_net(net).mib[mib_name] += 1
            return True
    obj.last_oow_ack_time = now_j
    return False


# -- the send queue -------------------------------------------------------------------------------


def tcp_push(sk: TcpSock, nonagle: int) -> None:
    """tcp_push: mark the end of the write pushed, then send what may go."""
    if sk.write_seq > sk.snd_nxt:
        sk.pushed_seq = sk.write_seq
    tcp_write_xmit(sk, nonagle)


def tcp_push_pending_frames(sk: TcpSock) -> None:
    if sk.write_seq > sk.snd_nxt or (sk.fin_seq >= sk.snd_nxt):
        tcp_write_xmit(sk, sk.nonagle)


def tcp_send_fin(sk: TcpSock) -> None:
    """tcp_send_fin: the FIN takes the sequence number after the data; it
    rides on the last data segment if that has not left yet."""
    sk.fin_seq = sk.write_seq
    tcp_write_xmit(sk, TCP_NAGLE_OFF)


def tcp_write_xmit(sk: TcpSock, nonagle: int) -> None:
    """tcp_write_xmit: send new data within cwnd and the peer's window, in
    segments of up to gso_max_segs MSS; Nagle (with Minshall's variant)
    and TCP_CORK hold back a partial last segment."""
    state = sk.state
    if state in (TCP_SYN_SENT, TCP_CLOSE, 10):
        return
    seq = sk.snd_nxt
    write_seq = sk.write_seq
    fin_seq = sk.fin_seq
    if seq >= write_seq and fin_seq != seq:
        return
    mss = tcp_current_mss(sk)
    max_bytes = sk.gso_max_segs * mss
    now = sk.net.kernel.sched.now
    sent = 0
    cwnd_limited = False
    while True:
        avail = write_seq - seq
        fin_only = avail <= 0
        if fin_only and fin_seq != seq:
            break
        quota = sk.snd_cwnd - sk.in_flight()
        if quota <= 0 and not (fin_only and True):
            cwnd_limited = True
            break
        if fin_only:
            end = seq + 1
            flags = ACK | FIN
            pcount = 1
            dlen = 0
            tcp_transmit(sk, seq, flags, None, 0, 1)
        else:
            wnd_end = sk.snd_una + sk.snd_wnd
            first = avail if avail < mss else mss
            if seq + first > wnd_end:
                break  # tcp_snd_wnd_test: not even one segment fits
            limit = avail
            if limit > max_bytes:
                limit = max_bytes
            qb = quota * mss
            if limit > qb:
                limit = qb
                cwnd_limited = True
            room = wnd_end - seq
            if limit > room:
                limit = room
            if limit < avail:
                if limit >= mss:
                    limit -= limit % mss
            else:
                partial = avail % mss
                if partial and not nonagle & TCP_NAGLE_PUSH and fin_seq != write_seq and \
                        sk.snd_up <= sk.snd_una and \
                        (nonagle & TCP_NAGLE_CORK or (not nonagle and sk.packets_out and
                                                      sk.snd_una < sk.snd_sml <= sk.snd_nxt)):
                    limit = avail - partial
                    if limit <= 0:
                        break
            dlen = limit
            end = seq + dlen
            flags = ACK
            if end == write_seq:
                flags |= PSH
                if fin_seq == write_seq:
                    flags |= FIN
            elif end >= sk.pushed_seq > seq or dlen > mss:
                flags |= PSH
            pcount = -(-dlen // mss)
            tcp_transmit(sk, seq, flags, sndq_gather(sk, seq, dlen), dlen, pcount)
            if flags & FIN:
                end += 1
            if dlen % mss:
                sk.snd_sml = seq + dlen  # tcp_minshall_update
        # tcp_event_new_data_sent
        prior_packets = sk.packets_out
        sk.rtx.append(TxSeg(seq, end, flags & (FIN | SYN | PSH), pcount, now))
        sk.packets_out += pcount
        sk.snd_nxt = seq = end
        if sk.ca_state == TCP_CA_Recovery or sk.ca_state == TCP_CA_CWR:
            sk.prr_out += pcount
        sent += pcount
        if not prior_packets or sk.timer_kind == 5:  # ICSK_TIME_LOSS_PROBE
            timer.tcp_rearm_rto(sk)
        if flags & FIN:
            break
    is_cwnd_limited = cwnd_limited or sk.in_flight() >= sk.snd_cwnd
    if sent or is_cwnd_limited:
        # tcp_cwnd_validate: remember how much of cwnd this window used
        if sk.snd_una >= sk.cwnd_usage_seq or is_cwnd_limited or \
                (not sk.is_cwnd_limited and sk.packets_out > sk.max_packets_out):
            sk.is_cwnd_limited = is_cwnd_limited
            sk.max_packets_out = sk.packets_out
            sk.cwnd_usage_seq = sk.snd_nxt
    if sent:
        timer.tcp_schedule_loss_probe(sk, False)
    elif sk.packets_out == 0 and sk.write_seq > sk.snd_nxt:
        timer.tcp_check_probe_timer(sk)


# -- retransmission -------------------------------------------------------------------------------


def seg_fragment(sk: TcpSock, seg: TxSeg, length: int) -> TxSeg:
    """tcp_fragment in the retransmission queue: cut ``seg`` after ``length``
    bytes; returns the second part (inserted after it)."""
    mss = sk.mss_cache
    tail = TxSeg(seg.seq + length, seg.end, seg.flags, 0, seg.ts)
    tail.sacked = seg.sacked
    seg.flags &= ~(FIN | PSH)
    seg.end = seg.seq + length
    old = seg.pcount
    seg.pcount = max(-(-length // mss), 1)
    tail_len = tail.end - tail.seq - (1 if tail.flags & FIN else 0)
    tail.pcount = max(-(-tail_len // mss), 1)
    diff = seg.pcount + tail.pcount - old
    if diff:
        sk.packets_out += diff
        if seg.sacked & TCPCB_SACKED_ACKED:
            sk.sacked_out += diff
        if seg.sacked & TCPCB_LOST:
            sk.lost_out += diff
        if seg.sacked & TCPCB_SACKED_RETRANS:
            sk.retrans_out += diff
    rtx = sk.rtx
    rtx.insert(rtx.index(seg) + 1, tail)
    return tail


def seg_trim_head(sk: TcpSock, seg: TxSeg) -> None:
    """tcp_trim_head: drop the part of ``seg`` already acknowledged."""
    una = sk.snd_una
    if seg.seq >= una:
        return
    if seg.flags & SYN:
        seg.flags &= ~SYN
    seg.seq = una
    dlen = seg.end - seg.seq - (1 if seg.flags & FIN else 0)
    new = max(-(-dlen // sk.mss_cache), 1)
    diff = seg.pcount - new
    if diff > 0:
        seg.pcount = new
        sk.packets_out -= diff
        if seg.sacked & TCPCB_LOST:
            sk.lost_out -= diff
        if seg.sacked & TCPCB_SACKED_RETRANS:
            sk.retrans_out -= diff


def tcp_retransmit_seg(sk: TcpSock, seg: TxSeg, segs: int) -> bool:
    """__tcp_retransmit_skb + tcp_retransmit_skb: send (the first ``segs``
    MSS of) ``seg`` again."""
    if seg.seq < sk.snd_una:
        if seg.end <= sk.snd_una:
            return False
        seg_trim_head(sk, seg)
    mss = tcp_current_mss(sk)
    if seg.flags & SYN:
        if sk.state == TCP_SYN_SENT:
            ok = tcp_send_syn_segment(sk, SYN)
        else:
            ok = tcp_send_syn_segment(sk, SYN | ACK)
    else:
        dlen = seg.end - seg.seq - (1 if seg.flags & FIN else 0)
        limit = mss * max(segs, 1)
        if dlen > limit:
            seg_fragment(sk, seg, limit)
            dlen = limit
        elif dlen > sk.gso_max_segs * mss:
            seg_fragment(sk, seg, sk.gso_max_segs * mss)
            dlen = sk.gso_max_segs * mss
        wnd_end = sk.snd_una + sk.snd_wnd
        if seg.seq >= wnd_end and dlen and seg.seq != sk.snd_una:
            return False  # tcp_retransmit_skb: not in the peer's window
        flags = ACK | (seg.flags & (FIN | PSH))
        pcount = seg.pcount
        if dlen:
            ok = tcp_transmit(sk, seg.seq, flags, sndq_gather(sk, seg.seq, dlen), dlen, pcount)
        else:
            ok = tcp_transmit(sk, seg.seq, flags, None, 0, 1)
    if not ok:
        return False
    now = sk.net.kernel.sched.now
    seg.ts = now
    pcount = seg.pcount
    if not seg.sacked & TCPCB_SACKED_RETRANS:
        sk.retrans_out += pcount
    seg.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS
    sk.total_retrans += pcount
    sk.tcp_net.mib["RetransSegs"] += pcount
    if not sk.retrans_stamp:
        sk.retrans_stamp = now
    if sk.undo_retrans < 0:
        sk.undo_retrans = 0
    sk.undo_retrans += pcount
    return True


def tcp_xmit_retransmit_queue(sk: TcpSock) -> None:
    """tcp_xmit_retransmit_queue: resend what is marked lost (and not
    retransmitted yet), within cwnd, oldest first."""
    if not sk.packets_out:
        return
    rtx = sk.rtx
    head = rtx[0] if rtx else None
    rearm = False
    mss = tcp_current_mss(sk)
    max_segs = sk.gso_max_segs
    mib = sk.tcp_net.mib
    for seg in list(rtx):
        segs = sk.snd_cwnd - sk.in_flight()
        if segs <= 0:
            break
        segs = min(segs, max_segs)
        if sk.retrans_out >= sk.lost_out:
            break
        sacked = seg.sacked
        if not sacked & TCPCB_LOST:
            continue
        if sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS):
            continue
        if not tcp_retransmit_seg(sk, seg, segs):
            break
        mib["TCPSlowStartRetrans" if sk.ca_state == 4 else "TCPFastRetrans"] += seg.pcount
        if sk.ca_state == TCP_CA_Recovery or sk.ca_state == TCP_CA_CWR:
            sk.prr_out += seg.pcount
        if seg is head and sk.timer_kind != 6:  # ICSK_TIME_REO_TIMEOUT
            rearm = True
    del mss
    if rearm:
        timer.reset_xmit_timer(sk, timer.ICSK_TIME_RETRANS, sk.rto)


# -- probes ---------------------------------------------------------------------------------------


def tcp_xmit_probe_skb(sk: TcpSock, urgent: bool) -> None:
    """A segment with an old sequence number (snd_una - 1, or snd_una for an
    urgent probe) and no data: the peer must answer it with an ACK."""
    seq = sk.snd_una if urgent else sk.snd_una - 1
    tcp_transmit(sk, seq, ACK, None, 0, 1)


def tcp_write_wakeup(sk: TcpSock) -> int:
    """tcp_write_wakeup: send new data if the window has room for some,
    else a probe.  Returns <0 on failure as Linux's does."""
    if sk.state == TCP_CLOSE:
        return -1
    wnd_end = sk.snd_una + sk.snd_wnd
    if sk.write_seq > sk.snd_nxt and sk.snd_nxt < wnd_end:
        before = sk.snd_nxt
        # tcp_write_wakeup may cut a segment to what the window allows
        mss = tcp_current_mss(sk)
        room = wnd_end - sk.snd_nxt
        seq = sk.snd_nxt
        dlen = min(sk.write_seq - seq, room, mss * sk.gso_max_segs)
        if dlen > 0:
            flags = ACK | PSH
            end = seq + dlen
            if end == sk.write_seq and sk.fin_seq == sk.write_seq:
                flags |= FIN
            pcount = -(-dlen // mss)
            tcp_transmit(sk, seq, flags, sndq_gather(sk, seq, dlen), dlen, pcount)
            if flags & FIN:
                end += 1
            sk.rtx.append(TxSeg(seq, end, flags & FIN, pcount, sk.net.kernel.sched.now))
            sk.packets_out += pcount
            sk.snd_nxt = end
        return 0 if sk.snd_nxt != before else -1
    tcp_xmit_probe_skb(sk, False)
    return 1


# -- resets ---------------------------------------------------------------------------------------


def tcp_send_active_reset(sk: TcpSock) -> None:
    """tcp_send_active_reset: RST|ACK with our next sequence number."""
    sk.tcp_net.mib["OutRsts"] += 1
    if sk.daddr == 0 or sk.dport == 0:
        return
    rt = sk_route(sk)
    if rt is None:
        return
    # tcp_acceptable_seq: snd_nxt, unless the peer's window shrank below it
    wnd_end = sk.snd_una + sk.snd_wnd
    seq = sk.snd_nxt
    if wnd_end < seq and not (sk.wscale_ok and seq - wnd_end < (1 << sk.rcv_wscale)):
        seq = wnd_end
    tcp_transmit(sk, seq, RST | ACK, None, 0, 1)


def send_reply(net: Net, saddr: int, daddr: int, sport: int, dport: int, seq: int, ack: int,
               flags: int, win: int, opts: bytes, tos: int = 0, oif: NetDevice | None = None,
               ttl: int = 0, sk: CtlSock | None = CTL_SK) -> None:
    """ip_send_unicast_reply: a stateless segment from us (``saddr``) to
    ``daddr``, with a full checksum, IP ID 0 and DF, sent on the namespace's
    TCP control socket (``sk``: None for REJECT's reset, which has none)."""
    tcp_len = 20 + len(opts)
    hdr = TCP_HDR.pack(sport, dport, seq & SEQ_MASK, ack & SEQ_MASK, (tcp_len << 2) & 0xF0,
                       flags, win, 0, 0) + opts
    check = ~csum_partial(hdr, pseudo_header_sum(saddr, daddr, 6, tcp_len)) & 0xFFFF
    seg = hdr[:16] + check.to_bytes(2, "big") + hdr[18:]
    try:
        rt = ip_route_output_cached(net, daddr, saddr, oif, 0, tos)
    except KernelError:
        return
    tcp_net(net).mib["OutSegs"] += 1
    ip_build_and_send(rt, 6, seg, tos=tos, ttl=ttl, pmtudisc=IP_PMTUDISC_DO, sk=sk)


def tcp_v4_send_reset(net: Net, saddr: int, daddr: int, sport: int, dport: int, seq: int,
                      ack: int, flags: int, dlen: int, tos: int,
                      sk: CtlSock | None = CTL_SK) -> None:
    """tcp_v4_send_reset: answer a segment (from ``saddr``:``sport`` to us at
    ``daddr``:``dport``) that belongs to no connection.  Never a RST for a RST.
    ``sk``: the socket it goes out on (see send_reply)."""
    if flags & RST:
        return
    tcp_net(net).mib["OutRsts"] += 1
    if flags & ACK:
        send_reply(net, daddr, saddr, dport, sport, ack, 0, RST, 0, b"", tos, sk=sk)
    else:
        end = seq + dlen + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
        send_reply(net, daddr, saddr, dport, sport, 0, end, RST | ACK, 0, b"", tos, sk=sk)


def tcp_send_synack(req: TcpRequest, cookie: bool = False) -> bool:
    """tcp_v4_send_synack: the SYN-ACK of a request socket (CHECKSUM_PARTIAL,
    IP ID 0 as ip_build_and_send_pkt sets it).  A SYN cookie's goes out
    with no socket (tcp_make_synack leaves it unowned under a SYN flood)."""
    net = req.listener.net
    try:
        rt = ip_route_output_cached(net, req.raddr, req.laddr, req.listener.bound_dev, 0,
                                    req.tos)
    except KernelError:
        return False
    now = net.kernel.sched.now
    ts = ((now // 1_000_000 + req.ts_off) & SEQ_MASK, req.ts_recent) if req.ts_ok else None
    if req.syn_ts is not None and req.ts_ok:
        ts = (req.syn_ts, req.ts_recent)
    opts = syn_options(advmss_of(rt) if not req.listener.user_mss
                       else min(advmss_of(rt), req.listener.user_mss),
                       req.sack_ok, ts, req.rcv_wscale if req.wscale_ok else -1)
    tcp_len = 20 + len(opts)
    check = pseudo_header_sum(req.laddr, req.raddr, 6, tcp_len) or 0xFFFF
    hdr = TCP_HDR.pack(req.lport, req.rport, req.iss & SEQ_MASK, (req.irs + 1) & SEQ_MASK,
                       (tcp_len << 2) & 0xF0, SYN | ACK, min(req.rcv_wnd, 65535), check, 0) + opts
    tcp_net(net).mib["OutSegs"] += 1
    req.snt_synack = now
    # ip_build_and_send_pkt: a SYN-ACK that may not be fragmented has ID 0;
    # skb->sk is the request socket (the owner match reads its listener)
    ip_build_and_send(rt, 6, hdr, tos=req.tos, ttl=req.listener.ttl, pmtudisc=1, ident=0,
                      sk=None if cookie else req)
    return True


def tw_send_ack(tw: TcpTimeWait) -> None:
    """tcp_v4_timewait_ack."""
    opts = b""
    now = tw.net.kernel.sched.now
    if tw.ts_recent_stamp:
        opts = ts_option(now // 1_000_000 + tw.ts_off, tw.ts_recent)
    send_reply(tw.net, tw.laddr, tw.raddr, tw.lport, tw.rport, tw.snd_nxt, tw.rcv_nxt, ACK,
               min(tw.rcv_wnd >> tw.rcv_wscale, 65535), opts, tw.tos, tw.bound_dev, tw.ttl)


def req_send_ack(req: TcpRequest) -> None:
    """tcp_v4_reqsk_send_ack: an ACK from a request socket (out of window input)."""
    opts = b""
    net = req.listener.net
    now = net.kernel.sched.now
    if req.ts_ok:
        opts = ts_option(now // 1_000_000 + req.ts_off, req.ts_recent)
    send_reply(net, req.laddr, req.raddr, req.lport, req.rport, req.iss + 1, req.irs + 1, ACK,
               min(req.rcv_wnd >> req.rcv_wscale, 65535), opts, req.tos)


# -- receive-side bookkeeping the reader triggers -------------------------------------------------


def tcp_cleanup_rbuf(sk: TcpSock, copied: int) -> None:
    """tcp_cleanup_rbuf: after the reader took data, send an ACK if one is
    due or if the window opened enough to be worth announcing."""
    if sk.state in (TCP_CLOSE, TCP_SYN_SENT, 10):
        return
    time_to_ack = False
    if sk.ack_pending & ICSK_ACK_SCHED:
        pending = sk.ack_pending
        if (sk.rcv_nxt - sk.rcv_wup > sk.rcv_mss or
                (copied > 0 and (pending & ICSK_ACK_PUSHED2 or
                                 (pending & ICSK_ACK_PUSHED and
                                  sk.ack_pingpong < TCP_PINGPONG_THRESH))
                 and not sk.rcvq_bytes)):
            time_to_ack = True
    if copied > 0 and not time_to_ack and not sk.sk_shutdown & 1:
        rcv_window_now = sk.receive_window()
        if 2 * rcv_window_now <= sk.window_clamp:
            new_window = select_window_raw(sk)
            if new_window and new_window >= 2 * rcv_window_now:
                time_to_ack = True
    if time_to_ack:
        tcp_send_ack(sk)


def tcp_rcv_space_adjust(sk: TcpSock) -> None:
    """tcp_rcv_space_adjust: receive buffer autotuning, once per receiver RTT."""
    now_us = sk.net.kernel.sched.now // 1000
    rtt = sk.rcv_rtt_us
    if rtt == 0 or now_us - sk.rcvq_space_time < (rtt >> 3):
        return
    copied = sk.copied_seq - sk.rcvq_space_seq
    copied -= sk.rcv_nxt - sk.copied_seq
    if copied > sk.rcvq_space:
        if sk.net.ipv4.sysctl.tcp_moderate_rcvbuf and not sk.rcvbuf_locked:
            rcvwin = (copied << 1) + 16 * sk.advmss
            grow = rcvwin * (copied - sk.rcvq_space) // max(sk.rcvq_space, 1)
            rcvwin += grow << 1
            space = (rcvwin << TCP_RMEM_TO_WIN_SCALE) // sk.scaling_ratio
            rcvbuf = min(space, sk.net.ipv4.sysctl.tcp_rmem[2])
            if rcvbuf > sk.rcvbuf:
                sk.rcvbuf = rcvbuf
                sk.window_clamp = win_from_space(sk, rcvbuf)
        sk.rcvq_space = copied
    sk.rcvq_space_seq = sk.copied_seq
    sk.rcvq_space_time = now_us


def tcp_sndbuf_expand(sk: TcpSock) -> None:
    """tcp_sndbuf_expand: room for two windows of segments (fast recovery)."""
    # comparisons rather than min()/max(): twice per connection
    mss = sk.mss_clamp if sk.mss_clamp > sk.mss_cache else sk.mss_cache
    per_mss = mss + MAX_TCP_HEADER + 320
    per_mss = (1 << (per_mss - 1).bit_length()) + 256
    nr_segs = sk.snd_cwnd if sk.snd_cwnd > TCP_INIT_CWND else TCP_INIT_CWND
    if sk.reordering + 1 > nr_segs:
        nr_segs = sk.reordering + 1
    sndmem = 2 * nr_segs * per_mss
    if sk.sndbuf < sndmem:
        wmem_max = sk.net.ipv4.sysctl.tcp_wmem[2]
        sk.sndbuf = sndmem if sndmem < wmem_max else wmem_max


def tcp_new_space(sk: TcpSock) -> None:
    """tcp_check_space/tcp_new_space: ACKed data freed buffer space."""
    if not sk.sndbuf_locked and sk.state == TCP_ESTABLISHED and \
            sk.in_flight() < sk.snd_cwnd and sk.snd_cwnd > 0:
        tcp_sndbuf_expand(sk)


def state_allows_data(sk: TcpSock) -> bool:
    return sk.state in (TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_FIN_WAIT1, TCP_LAST_ACK,
                        TCP_SYN_RECV)

