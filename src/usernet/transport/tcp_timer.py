"""TCP timers (``net/ipv4/tcp_timer.c``, ``tcp_recovery.c``, parts of ``tcp_output.c``).

Each socket has three timers, as Linux's ``inet_connection_sock`` has:

* the *write* timer (``icsk_retransmit_timer``), used for one purpose at a
  time (``timer_kind``): retransmission (RFC 6298 RTO with exponential
  backoff, tcp_retries2 / tcp_syn_retries limits), zero-window probes, the
  tail loss probe and RACK's reordering timeout;
* the delayed-ACK timer;
* the keepalive timer (also the orphaned FIN_WAIT2 timeout).

A :class:`SockTimer` is one scheduler event re-armed lazily: moving the
deadline later (the RTO restarts on every ACK) only records it, and the
event, when it fires early, re-arms itself for the recorded deadline.  A
bulk transfer thus costs one scheduler event per RTO interval, not one per
ACK, and cancelling leaves nothing behind: an idle kernel has no events.
"""

from __future__ import annotations

import errno
import weakref
from collections.abc import Callable

from ..ipv4.datapath_state import sysctl_int
from ..sched import Timer
from . import tcp_input as inp
from . import tcp_output as out
from .tcp import (
    ICSK_ACK_SCHED,
    ICSK_ACK_TIMER,
    TCP_CLOSE,
    TCP_FIN_WAIT2,
    TCP_LISTEN,
    TCP_RTO_MAX_NS,
    TCP_RTO_MIN_NS,
    TCP_SYN_RECV,
    TCP_SYN_SENT,
    TCP_TIMEOUT_INIT_NS,
    TCP_TIMEWAIT_LEN_NS,
    TCPCB_LOST,
    TCPCB_SACKED_RETRANS,
    TcpSock,
    tcp_done,
    tcp_fin_time,
    tcp_time_wait,
    tcp_write_queue_purge,
)
from .tcp_cong import CA_EVENT_CWND_RESTART, TCP_CA_CWR, TCP_CA_Loss, TCP_CA_Open, TCP_CA_Recovery

_new = object.__new__

ICSK_TIME_RETRANS = 1
ICSK_TIME_DACK = 2
ICSK_TIME_PROBE0 = 3
ICSK_TIME_LOSS_PROBE = 5
ICSK_TIME_REO_TIMEOUT = 6

JIFFY_NS = 4_000_000
TCP_ATO_MIN_NS = 40_000_000
TCP_RESOURCE_PROBE_INTERVAL_NS = 500_000_000


def jiffies_ceil(ns: int) -> int:
    return -(-ns // JIFFY_NS) * JIFFY_NS


class SockTimer:
    """One timer of a socket: ``arm(when)``, ``cancel()``, ``deadline``.

    The timer holds its socket weakly and the pending scheduler event holds
    it strongly (as an argument): a socket is kept alive by its armed timers
    exactly as before, but socket and timers form no reference cycle, so a
    finished connection is freed at once instead of by the cyclic GC."""

    __slots__ = ("deadline", "ev", "fn", "sched", "skref")

    def __init__(self, sk: TcpSock, fn: Callable[[TcpSock], None]) -> None:
        self.skref = weakref.ref(sk)  # one shared ref object for all of sk's timers
        self.sched = sk.net.kernel.sched
        self.fn = fn
        self.deadline: int | None = None
        self.ev: Timer | None = None

    def arm(self, when: int) -> None:
        self.deadline = when
        ev = self.ev
        if ev is not None:
            if ev.when <= when and ev.fn is not None:
                return  # it fires first and re-arms itself for the deadline
            ev.cancel()  # and the socket let go of
        self.ev = self.sched.call_at(when, self._fire, self.skref())

    def cancel(self) -> None:
        self.deadline = None
        ev = self.ev
        if ev is not None:
            ev.cancel()  # the dead event, left in the heap, lets go of the socket
            self.ev = None

    @property
    def pending(self) -> bool:
        return self.deadline is not None

    def _fire(self, sk: TcpSock) -> None:
        self.ev = None
        d = self.deadline
        if d is None:
            return
        sched = self.sched
        if d > sched.now:
            self.ev = sched.call_at(d, self._fire, sk)
            return
        self.deadline = None
        self.fn(sk)


def sock_timers(sk: TcpSock) -> tuple[SockTimer, SockTimer, SockTimer]:
    """A new socket's write, delayed-ACK and keepalive timers: what three
    SockTimer(sk, fn) make, with one weak reference and one scheduler
    look-up and no __init__ frames (every socket, and every accepted
    child, makes them)."""
    ref = weakref.ref(sk)
    sched = sk.net.kernel.sched

    def timer(fn: Callable[[TcpSock], None]) -> SockTimer:
        t = _new(SockTimer)
        t.skref = ref
        t.sched = sched
        t.fn = fn
        t.deadline = None
        t.ev = None
        return t

    return timer(tcp_write_timer), timer(tcp_delack_timer), timer(tcp_keepalive_timer)


# -- arming -----------------------------------------------------------------------------------


def reset_xmit_timer(sk: TcpSock, kind: int, delay_ns: int) -> None:
    """inet_csk_reset_xmit_timer (bounded by TCP_RTO_MAX)."""
    if delay_ns > TCP_RTO_MAX_NS:
        delay_ns = TCP_RTO_MAX_NS
    sk.timer_kind = kind
    sk.rtx_timer.arm(sk.net.kernel.sched.now + delay_ns)


def clear_xmit_timer(sk: TcpSock) -> None:
    sk.timer_kind = 0
    sk.rtx_timer.cancel()


def tcp_clear_xmit_timers(sk: TcpSock) -> None:
    sk.timer_kind = 0  # clear_xmit_timer
    sk.rtx_timer.cancel()
    sk.dack_timer.cancel()
    sk.ack_pending = 0
    sk.ka_timer.cancel()


def rto_delta_ns(sk: TcpSock) -> int:
    """tcp_rto_delta_us: how far in the future the head's RTO is."""
    now = sk.net.kernel.sched.now
    if sk.rtx:
        return sk.rtx[0].ts + sk.rto - now
    return sk.rto


def tcp_rearm_rto(sk: TcpSock) -> None:
    """tcp_rearm_rto: the RTO restarts from the oldest outstanding segment."""
    if not sk.packets_out:
        clear_xmit_timer(sk)
        return
    rto = sk.rto
    if sk.timer_kind in (ICSK_TIME_REO_TIMEOUT, ICSK_TIME_LOSS_PROBE):
        rto = jiffies_ceil(max(rto_delta_ns(sk), 1000))
    reset_xmit_timer(sk, ICSK_TIME_RETRANS, rto)


def tcp_set_xmit_timer(sk: TcpSock) -> None:
    if not tcp_schedule_loss_probe(sk, True):
        tcp_rearm_rto(sk)


def tcp_check_probe_timer(sk: TcpSock) -> None:
    if not sk.packets_out and not sk.rtx_timer.pending:
        reset_xmit_timer(sk, ICSK_TIME_PROBE0, tcp_probe0_base(sk))


def tcp_probe0_base(sk: TcpSock) -> int:
    return max(sk.rto, TCP_RTO_MIN_NS)


def tcp_probe0_when(sk: TcpSock, max_when: int) -> int:
    backoff = min(10, sk.backoff)  # ilog2(TCP_RTO_MAX / TCP_RTO_MIN) + 1
    return min(tcp_probe0_base(sk) << backoff, max_when)


# -- the write timer ----------------------------------------------------------------------------


def tcp_write_timer(sk: TcpSock) -> None:
    """tcp_write_timer_handler: what the timer was armed for."""
    if sk.state in (TCP_CLOSE, TCP_LISTEN):
        return
    kind = sk.timer_kind
    sk.timer_kind = 0
    if kind == ICSK_TIME_REO_TIMEOUT:
        inp.tcp_rack_reo_timeout(sk)
    elif kind == ICSK_TIME_LOSS_PROBE:
        tcp_send_loss_probe(sk)
    elif kind == ICSK_TIME_RETRANS:
        tcp_retransmit_timer(sk)
    elif kind == ICSK_TIME_PROBE0:
        tcp_probe_timer(sk)


def tcp_write_err(sk: TcpSock) -> None:
    """tcp_write_err: give up (ETIMEDOUT, or the soft error seen meanwhile)."""
    sk.sk_err = sk.sk_err_soft or errno.ETIMEDOUT
    tcp_write_queue_purge(sk)
    tcp_done(sk)
    sk.tcp_net.mib["TCPAbortOnTimeout"] += 1


def _model_timeout(boundary: int, rto_base: int) -> int:
    """tcp_model_timeout: how long ``boundary`` backed-off retransmissions take."""
    thresh = (TCP_RTO_MAX_NS // rto_base).bit_length() - 1
    if boundary <= thresh:
        return ((2 << boundary) - 1) * rto_base
    return ((2 << thresh) - 1) * rto_base + (boundary - thresh) * TCP_RTO_MAX_NS


def retransmits_timed_out(sk: TcpSock, boundary: int, timeout_ms: int) -> bool:
    if not sk.retransmits:
        return False
    start = sk.retrans_stamp
    if timeout_ms == 0:
        rto_base = TCP_RTO_MIN_NS
        if sk.state in (TCP_SYN_SENT, TCP_SYN_RECV):
            rto_base = TCP_TIMEOUT_INIT_NS
        timeout = _model_timeout(boundary, rto_base)
    else:
        timeout = timeout_ms * 1_000_000
    # tcp_time_stamp_ts is a millisecond clock
    return (sk.net.kernel.sched.now // 1_000_000 - start // 1_000_000) - timeout // 1_000_000 >= 0


def tcp_orphan_retries(sk: TcpSock, alive: bool) -> int:
    retries = sysctl_int(sk.net, "net.ipv4.tcp_orphan_retries")
    if sk.sk_err_soft and not alive:
        retries = 0
    if retries == 0 and alive:
        retries = 8
    return retries


def tcp_write_timeout(sk: TcpSock) -> bool:
    """tcp_write_timeout: True when the connection was given up."""
    net = sk.net
    if sk.state in (TCP_SYN_SENT, TCP_SYN_RECV):
        retry_until = sk.syn_retries or sysctl_int(net, "net.ipv4.tcp_syn_retries")
        max_retransmits = retry_until
        if sk.state == TCP_SYN_SENT:
            max_retransmits += sysctl_int(net, "net.ipv4.tcp_syn_linear_timeouts")
        expired = sk.retransmits >= max_retransmits
    else:
        retry_until = sysctl_int(net, "net.ipv4.tcp_retries2")
        if sk.dead:
            alive = sk.rto < TCP_RTO_MAX_NS
            retry_until = tcp_orphan_retries(sk, alive)
        expired = retransmits_timed_out(sk, retry_until, sk.user_timeout)
    if expired:
        tcp_write_err(sk)
        return True
    return False


def tcp_retransmit_timer(sk: TcpSock) -> None:
    """tcp_retransmit_timer: RTO expired -- enter Loss, resend the head,
    back off (linearly for the first tcp_syn_linear_timeouts SYNs)."""
    if not sk.packets_out or not sk.rtx:
        return
    net = sk.net
    head = sk.rtx[0]
    if not sk.snd_wnd and not sk.dead and sk.state not in (TCP_SYN_SENT, TCP_SYN_RECV):
        # The receiver shrank its window: our retransmissions are zero
        # window probes; do not time out while it answers.
        if sk.net.kernel.sched.now - sk.rcv_tstamp * JIFFY_NS > TCP_RTO_MAX_NS:
            tcp_write_err(sk)
            return
        inp.tcp_enter_loss(sk)
        out.tcp_retransmit_seg(sk, head, 1)
        sk.dst_gen = -1
    else:
        if tcp_write_timeout(sk):
            return
        if sk.retransmits == 0:
            sk.tcp_net.mib["TCPTimeouts"] += 1
        inp.tcp_enter_loss(sk)
        sk.retransmits += 1
        out.tcp_retransmit_seg(sk, head, 1)
        sk.total_rto += 1
    if sk.state != TCP_SYN_SENT or \
            sk.total_rto > sysctl_int(net, "net.ipv4.tcp_syn_linear_timeouts"):
        sk.backoff += 1
        sk.rto = min(sk.rto << 1, TCP_RTO_MAX_NS)
    reset_xmit_timer(sk, ICSK_TIME_RETRANS, _clamp_to_user_timeout(sk, sk.rto))


def _clamp_to_user_timeout(sk: TcpSock, when: int) -> int:
    ut = sk.user_timeout
    if not ut or not sk.retrans_stamp:
        return when
    elapsed = sk.net.kernel.sched.now - sk.retrans_stamp
    remaining = ut * 1_000_000 - elapsed
    if remaining <= 0:
        return JIFFY_NS
    return min(when, jiffies_ceil(remaining))


def tcp_probe_timer(sk: TcpSock) -> None:
    """tcp_probe_timer: zero-window probing; give up after tcp_retries2
    unanswered probes (an answering receiver keeps the connection forever)."""
    if sk.packets_out or sk.write_seq <= sk.snd_nxt:
        sk.probes_out = 0
        return
    max_probes = sysctl_int(sk.net, "net.ipv4.tcp_retries2")
    if sk.dead:
        alive = min(sk.rto << sk.backoff, TCP_RTO_MAX_NS) < TCP_RTO_MAX_NS
        max_probes = tcp_orphan_retries(sk, alive)
        if not alive and sk.backoff >= max_probes:
            tcp_write_err(sk)
            return
    if sk.probes_out >= max_probes:
        tcp_write_err(sk)
    else:
        tcp_send_probe0(sk)


def tcp_send_probe0(sk: TcpSock) -> None:
    err = out.tcp_write_wakeup(sk)
    sk.tcp_net.mib["TCPWinProbe"] += 1
    if sk.packets_out or sk.write_seq <= sk.snd_nxt:
        sk.probes_out = 0
        sk.backoff = 0
        return
    sk.probes_out += 1
    if err <= 0:
        if sk.backoff < sysctl_int(sk.net, "net.ipv4.tcp_retries2"):
            sk.backoff += 1
        timeout = tcp_probe0_when(sk, TCP_RTO_MAX_NS)
    else:
        timeout = TCP_RESOURCE_PROBE_INTERVAL_NS
    reset_xmit_timer(sk, ICSK_TIME_PROBE0, timeout)


# -- tail loss probe (RFC 8985 7) ------------------------------------------------------------


def tcp_schedule_loss_probe(sk: TcpSock, advancing_rto: bool) -> bool:
    """tcp_schedule_loss_probe: a probe in 2*SRTT when SACK is on and no
    recovery is under way (net.ipv4.tcp_early_retrans 3)."""
    # the socket's own state first: the sysctl look-up is the dearer test
    if not sk.packets_out or not sk.sack_ok or \
            sk.ca_state not in (TCP_CA_Open, TCP_CA_CWR) or sk.state == TCP_SYN_SENT \
            or sk.net.ipv4.sysctl.tcp_early_retrans not in (3, 4):
        return False
    if sk.srtt_us:
        timeout_us = sk.srtt_us >> 2
        if sk.packets_out == 1:
            timeout_us += TCP_RTO_MIN_NS // 1000
        else:
            timeout_us += 2000
        timeout = jiffies_ceil(timeout_us * 1000)
    else:
        timeout = TCP_TIMEOUT_INIT_NS
    rto_delta = sk.rto if advancing_rto else rto_delta_ns(sk)
    if rto_delta > 0:
        rto_timeout = jiffies_ceil(rto_delta)
        if rto_timeout < timeout:  # not min(): twice per connection
            timeout = rto_timeout
    reset_xmit_timer(sk, ICSK_TIME_LOSS_PROBE, timeout)
    return True


def tcp_send_loss_probe(sk: TcpSock) -> None:
    """tcp_send_loss_probe: new data if the window allows, else the last
    segment again; at most one probe outstanding."""
    if sk.tlp_high_seq:
        tcp_rearm_rto(sk)
        return
    sk.tlp_retrans = False
    mss = out.tcp_current_mss(sk)
    if sk.write_seq > sk.snd_nxt and \
            sk.snd_nxt + min(sk.write_seq - sk.snd_nxt, mss) <= sk.snd_una + sk.snd_wnd:
        pcount = sk.packets_out
        out.tcp_write_xmit(sk, 1)
        if sk.packets_out > pcount:
            _probe_sent(sk)
            return
        tcp_rearm_rto(sk)
        return
    if not sk.rtx:
        sk.timer_kind = 0
        return
    seg = sk.rtx[-1]
    if seg.pcount > 1 and (seg.end - seg.seq) > (seg.pcount - 1) * mss:
        seg = out.seg_fragment(sk, seg, (seg.pcount - 1) * mss)
    if not out.tcp_retransmit_seg(sk, seg, 1):
        tcp_rearm_rto(sk)
        return
    sk.tlp_retrans = True
    _probe_sent(sk)


def _probe_sent(sk: TcpSock) -> None:
    sk.tlp_high_seq = sk.snd_nxt
    sk.tcp_net.mib["TCPLossProbes"] += 1
    sk.timer_kind = 0
    tcp_rearm_rto(sk)


# -- delayed ACK ------------------------------------------------------------------------------


def tcp_delack_timer(sk: TcpSock) -> None:
    """tcp_delack_timer_handler: the ACK we held back is due."""
    if sk.state in (TCP_CLOSE, TCP_LISTEN):
        return
    if not sk.ack_pending & ICSK_ACK_TIMER:
        return
    sk.ack_pending &= ~ICSK_ACK_TIMER
    if sk.ack_pending & ICSK_ACK_SCHED:
        if sk.ack_pingpong < out.TCP_PINGPONG_THRESH:
            sk.ack_ato = min(sk.ack_ato << 1, sk.rto)
        else:
            sk.ack_pingpong = 0
            sk.ack_ato = TCP_ATO_MIN_NS
        out.tcp_send_ack(sk)
        sk.tcp_net.mib["DelayedACKs"] += 1


# -- keepalive and the orphaned FIN_WAIT2 ---------------------------------------------------------


def keepalive_time(sk: TcpSock) -> int:
    return (sk.keepidle or sysctl_int(sk.net, "net.ipv4.tcp_keepalive_time")) * 1_000_000_000


def keepalive_intvl(sk: TcpSock) -> int:
    return (sk.keepintvl or sysctl_int(sk.net, "net.ipv4.tcp_keepalive_intvl")) * 1_000_000_000


def keepalive_probes(sk: TcpSock) -> int:
    return sk.keepcnt or sysctl_int(sk.net, "net.ipv4.tcp_keepalive_probes")


def keepalive_elapsed(sk: TcpSock) -> int:
    now_j = sk.net.kernel.sched.now // JIFFY_NS
    return min(now_j - sk.ack_lrcvtime, now_j - sk.rcv_tstamp) * JIFFY_NS


def tcp_set_keepalive(sk: TcpSock, on: bool) -> None:
    """tcp_set_keepalive (SO_KEEPALIVE, and TCP_KEEPIDLE while it is on)."""
    if sk.state in (TCP_CLOSE, TCP_LISTEN):
        return
    if on:
        when = keepalive_time(sk)
        if sk.keepalive:
            when = max(when - keepalive_elapsed(sk), 0)
        sk.ka_timer.arm(sk.net.kernel.sched.now + when)
    else:
        sk.ka_timer.cancel()


def tcp_keepalive_timer(sk: TcpSock) -> None:
    """tcp_keepalive_timer: probes after tcp_keepalive_time of silence, every
    tcp_keepalive_intvl; after tcp_keepalive_probes unanswered ones, RST
    and ETIMEDOUT.  For an orphan in FIN_WAIT2 it is the FIN timeout."""
    now = sk.net.kernel.sched.now
    state = sk.state
    if state == TCP_LISTEN:
        return
    if state == TCP_FIN_WAIT2 and sk.dead:
        if sk.linger2 >= 0:
            tmo = tcp_fin_time(sk) - TCP_TIMEWAIT_LEN_NS
            if tmo > 0:
                tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                return
        out.tcp_send_active_reset(sk)
        tcp_done(sk)
        return
    if not sk.keepalive or state in (TCP_CLOSE, TCP_SYN_SENT):
        return
    when = keepalive_time(sk)
    if sk.packets_out or sk.write_seq > sk.snd_nxt:
        sk.ka_timer.arm(now + when)
        return
    elapsed = keepalive_elapsed(sk)
    if elapsed >= when:
        ut = sk.user_timeout
        if (ut and elapsed >= ut * 1_000_000 and sk.probes_out > 0) or \
                (not ut and sk.probes_out >= keepalive_probes(sk)):
            out.tcp_send_active_reset(sk)
            tcp_write_err(sk)
            return
        if out.tcp_write_wakeup(sk) >= 0:
            sk.tcp_net.mib["TCPKeepAlive"] += 1
            sk.probes_out += 1
            nxt = keepalive_intvl(sk)
        else:
            nxt = TCP_RESOURCE_PROBE_INTERVAL_NS
    else:
        nxt = when - elapsed
    sk.ka_timer.arm(now + nxt)


# -- idle restart ---------------------------------------------------------------------------------


def tcp_slow_start_after_idle_check(sk: TcpSock) -> None:
    """RFC 2861 / 5681 4.1: after an idle period longer than the RTO, start
    again from the initial window (net.ipv4.tcp_slow_start_after_idle)."""
    if not sk.net.ipv4.sysctl.tcp_slow_start_after_idle or sk.packets_out:
        return
    if sk.state not in (1, 8):  # ESTABLISHED, CLOSE_WAIT
        return
    delta = sk.net.kernel.sched.now - sk.lsndtime * JIFFY_NS
    if delta > sk.rto:
        restart_cwnd = min(10, sk.snd_cwnd)
        sk.ca.cwnd_event(sk, CA_EVENT_CWND_RESTART)
        sk.snd_ssthresh = max(sk.snd_ssthresh, (sk.snd_cwnd >> 1) + (sk.snd_cwnd >> 2))
        cwnd = sk.snd_cwnd
        delta -= sk.rto
        while delta > 0 and cwnd > restart_cwnd:
            cwnd >>= 1
            delta -= sk.rto
        sk.snd_cwnd = max(cwnd, restart_cwnd)


_UNUSED = (TCP_CA_Loss, TCP_CA_Recovery, TCPCB_LOST, TCPCB_SACKED_RETRANS, ICSK_TIME_DACK)
