"""Congestion control (``net/ipv4/tcp_cong.c``, ``tcp_cubic.c``).

Two algorithms, chosen per namespace by ``net.ipv4.tcp_congestion_control``
or per socket with ``TCP_CONGESTION``:

* ``reno``: RFC 5681 slow start and congestion avoidance; the loss recovery
  around it (tcp_input) is NewReno (RFC 6582) without SACK and SACK-based
  (RFC 6675 / RACK) with it, as Linux's "reno" is;
* ``cubic`` (the default): RFC 9438 as ``tcp_cubic.c`` computes it -- the
  cubic window function in jiffies with its integer cube root, fast
  convergence, TCP friendliness, beta 717/1024, and HyStart (ACK trains and
  delay increase) to leave slow start.

The window is counted in packets (segments of ``mss_cache``) as in Linux;
a 64 KiB GSO segment counts for all the MSS-sized segments it stands for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .tcp import TcpSock

TCP_INFINITE_SSTHRESH = 0x7FFFFFFF
HZ = 250  # the recording kernel's tick
JIFFY_NS = 1_000_000_000 // HZ

# ca_state (icsk_ca_state)
TCP_CA_Open = 0
TCP_CA_Disorder = 1
TCP_CA_CWR = 2
TCP_CA_Recovery = 3
TCP_CA_Loss = 4

# cwnd events
CA_EVENT_TX_START = 0
CA_EVENT_CWND_RESTART = 1
CA_EVENT_COMPLETE_CWR = 2
CA_EVENT_LOSS = 3


def tcp_slow_start(sk: TcpSock, acked: int) -> int:
    """RFC 5681 slow start, bounded by ssthresh; returns the leftover ACKs."""
    cwnd = min(sk.snd_cwnd + acked, sk.snd_ssthresh)
    acked -= cwnd - sk.snd_cwnd
    sk.snd_cwnd = min(cwnd, sk.snd_cwnd_clamp)
    return acked


def tcp_cong_avoid_ai(sk: TcpSock, w: int, acked: int) -> None:
    """One packet more per ``w`` packets acknowledged (cwnd += 1/w per ACKed packet)."""
    if sk.snd_cwnd_cnt >= w:
        sk.snd_cwnd_cnt = 0
        sk.snd_cwnd += 1
    sk.snd_cwnd_cnt += acked
    if sk.snd_cwnd_cnt >= w:
        delta = sk.snd_cwnd_cnt // w
        sk.snd_cwnd_cnt -= delta * w
        sk.snd_cwnd += delta
    sk.snd_cwnd = min(sk.snd_cwnd, sk.snd_cwnd_clamp)


def tcp_is_cwnd_limited(sk: TcpSock) -> bool:
    if sk.snd_cwnd < sk.snd_ssthresh:  # slow start: grow while sending at least half of it
        return sk.snd_cwnd < 2 * sk.max_packets_out
    return sk.is_cwnd_limited


class CongestionOps:
    """tcp_congestion_ops; one instance per socket holds its private state."""

    __slots__ = ()
    name = ""

    def init(self, sk: TcpSock) -> None:
        pass

    def ssthresh(self, sk: TcpSock) -> int:
        raise NotImplementedError

    def cong_avoid(self, sk: TcpSock, acked: int) -> None:
        raise NotImplementedError

    def undo_cwnd(self, sk: TcpSock) -> int:
        raise NotImplementedError

    def set_state(self, sk: TcpSock, state: int) -> None:
        pass

    def pkts_acked(self, sk: TcpSock, acked: int, rtt_us: int) -> None:
        pass

    def cwnd_event(self, sk: TcpSock, event: int) -> None:
        pass


class Reno(CongestionOps):
    """tcp_reno: AIMD with halving; recovery is NewReno (in tcp_input)."""

    __slots__ = ()
    name = "reno"

    def ssthresh(self, sk: TcpSock) -> int:
        return max(sk.snd_cwnd >> 1, 2)

    def cong_avoid(self, sk: TcpSock, acked: int) -> None:
        if not tcp_is_cwnd_limited(sk):
            return
        if sk.snd_cwnd < sk.snd_ssthresh:
            acked = tcp_slow_start(sk, acked)
            if not acked:
                return
        tcp_cong_avoid_ai(sk, sk.snd_cwnd, acked)

    def undo_cwnd(self, sk: TcpSock) -> int:
        return max(sk.snd_cwnd, sk.prior_cwnd)


# -- CUBIC ------------------------------------------------------------------------------

BICTCP_BETA_SCALE = 1024
BICTCP_HZ = 10
FAST_CONVERGENCE = 1
BETA = 717  # 717/1024 = 0.7 (RFC 9438 beta_cubic)
BIC_SCALE = 41
TCP_FRIENDLINESS = 1
HYSTART = 1
HYSTART_ACK_TRAIN = 1
HYSTART_DELAY = 2
HYSTART_DETECT = HYSTART_ACK_TRAIN | HYSTART_DELAY
HYSTART_LOW_WINDOW = 16
HYSTART_ACK_DELTA_US = 2000
HYSTART_MIN_SAMPLES = 8
HYSTART_DELAY_MIN = 4000
HYSTART_DELAY_MAX = 16000

BETA_SCALE = 8 * (BICTCP_BETA_SCALE + BETA) // 3 // (BICTCP_BETA_SCALE - BETA)
CUBE_RTT_SCALE = BIC_SCALE * 10
CUBE_FACTOR = (1 << (10 + 3 * BICTCP_HZ)) // (BIC_SCALE * 10)


def cubic_root(a: int) -> int:
    """The integer cube root tcp_cubic computes (a table estimate and one
    Newton-Raphson step there; exact here, which differs by at most one)."""
    if a <= 0:
        return 0
    x: int = round(float(a) ** (1 / 3))
    while x * x * x > a:
        x -= 1
    while (x + 1) ** 3 <= a:
        x += 1
    return x


def _jiffies(sk: TcpSock) -> int:
    return sk.net.kernel.sched.now // JIFFY_NS


def _usecs_to_jiffies(us: int) -> int:
    return -(-us * HZ // 1_000_000)


class Cubic(CongestionOps):
    __slots__ = ("ack_cnt", "bic_K", "bic_origin_point", "cnt", "curr_rtt", "delay_min",
                 "end_seq", "epoch_start", "found", "last_ack", "last_cwnd", "last_max_cwnd",
                 "last_time", "round_start", "sample_cnt", "tcp_cwnd")
    name = "cubic"

    def __init__(self) -> None:
        self._reset()
        self.delay_min = 0
        self.found = 0
        self.round_start = self.last_ack = 0
        self.end_seq = 0
        self.curr_rtt = 0
        self.sample_cnt = 0

    def _reset(self) -> None:
        self.cnt = 0
        self.last_max_cwnd = 0
        self.last_cwnd = 0
        self.last_time = 0
        self.bic_origin_point = 0
        self.bic_K = 0
        self.delay_min = 0
        self.epoch_start = 0
        self.ack_cnt = 0
        self.tcp_cwnd = 0
        self.found = 0

    def _hystart_reset(self, sk: TcpSock) -> None:
        now = sk.net.kernel.sched.now // 1000
        self.round_start = self.last_ack = now
        self.end_seq = sk.snd_nxt
        self.curr_rtt = 0x7FFFFFFF
        self.sample_cnt = 0

    def init(self, sk: TcpSock) -> None:
        self._reset()
        if HYSTART:
            self._hystart_reset(sk)

    def cwnd_event(self, sk: TcpSock, event: int) -> None:
        if event == CA_EVENT_TX_START:
            now = _jiffies(sk)
            delta = now - sk.lsndtime
            # Idle (application limited) for a while: shift the epoch so
            # that cwnd keeps following the cubic curve.
            if self.epoch_start and delta > 0:
                self.epoch_start = min(self.epoch_start + delta, now)

    def _update(self, sk: TcpSock, cwnd: int, acked: int) -> None:
        self.ack_cnt += acked
        now = _jiffies(sk)
        if self.last_cwnd == cwnd and now - self.last_time <= HZ // 32:
            return
        if not (self.epoch_start and now == self.last_time):
            self.last_cwnd = cwnd
            self.last_time = now
            if self.epoch_start == 0:
                self.epoch_start = now or 1
                self.ack_cnt = acked
                self.tcp_cwnd = cwnd
                if self.last_max_cwnd <= cwnd:
                    self.bic_K = 0
                    self.bic_origin_point = cwnd
                else:
                    self.bic_K = cubic_root(CUBE_FACTOR * (self.last_max_cwnd - cwnd))
                    self.bic_origin_point = self.last_max_cwnd
            t = now - self.epoch_start + _usecs_to_jiffies(self.delay_min)
            t = (t << BICTCP_HZ) // HZ
            offs = self.bic_K - t if t < self.bic_K else t - self.bic_K
            delta = (CUBE_RTT_SCALE * offs * offs * offs) >> (10 + 3 * BICTCP_HZ)
            if t < self.bic_K:
                bic_target = self.bic_origin_point - delta
            else:
                bic_target = self.bic_origin_point + delta
            if bic_target > cwnd:
                self.cnt = cwnd // (bic_target - cwnd)
            else:
                self.cnt = 100 * cwnd
            if self.last_max_cwnd == 0 and self.cnt > 20:
                self.cnt = 20  # the start of the curve: 5% per RTT
        if TCP_FRIENDLINESS:
            delta = (cwnd * BETA_SCALE) >> 3
            if delta > 0:
                while self.ack_cnt > delta:
                    self.ack_cnt -= delta
                    self.tcp_cwnd += 1
            if self.tcp_cwnd > cwnd:
                max_cnt = cwnd // (self.tcp_cwnd - cwnd)
                if self.cnt > max_cnt:
                    self.cnt = max_cnt
        self.cnt = max(self.cnt, 2)

    def cong_avoid(self, sk: TcpSock, acked: int) -> None:
        if not tcp_is_cwnd_limited(sk):
            return
        if sk.snd_cwnd < sk.snd_ssthresh:
            acked = tcp_slow_start(sk, acked)
            if not acked:
                return
        self._update(sk, sk.snd_cwnd, acked)
        tcp_cong_avoid_ai(sk, self.cnt, acked)

    def ssthresh(self, sk: TcpSock) -> int:
        self.epoch_start = 0
        cwnd = sk.snd_cwnd
        if cwnd < self.last_max_cwnd and FAST_CONVERGENCE:
            self.last_max_cwnd = cwnd * (BICTCP_BETA_SCALE + BETA) // (2 * BICTCP_BETA_SCALE)
        else:
            self.last_max_cwnd = cwnd
        return max(cwnd * BETA // BICTCP_BETA_SCALE, 2)

    def undo_cwnd(self, sk: TcpSock) -> int:
        return max(sk.snd_cwnd, sk.prior_cwnd)

    def set_state(self, sk: TcpSock, state: int) -> None:
        if state == TCP_CA_Loss:
            self._reset()
            self._hystart_reset(sk)

    def _hystart_update(self, sk: TcpSock, delay: int) -> None:
        if sk.snd_una > self.end_seq:
            self._hystart_reset(sk)
        mib = sk.tcp_net.mib
        if HYSTART_DETECT & HYSTART_ACK_TRAIN:
            now = sk.net.kernel.sched.now // 1000
            if now - self.last_ack <= HYSTART_ACK_DELTA_US:
                self.last_ack = now
                threshold = self.delay_min + sk.hystart_ack_delay()
                threshold >>= 1  # no pacing: ACKs may come back within RTT/2
                if now - self.round_start > threshold:
                    self.found = 1
                    mib["TCPHystartTrainDetect"] += 1
                    sk.snd_ssthresh = sk.snd_cwnd
        if HYSTART_DETECT & HYSTART_DELAY:
            if self.curr_rtt > delay:
                self.curr_rtt = delay
            if self.sample_cnt < HYSTART_MIN_SAMPLES:
                self.sample_cnt += 1
            else:
                thresh = min(max(self.delay_min >> 3, HYSTART_DELAY_MIN), HYSTART_DELAY_MAX)
                if self.curr_rtt > self.delay_min + thresh:
                    self.found = 1
                    mib["TCPHystartDelayDetect"] += 1
                    sk.snd_ssthresh = sk.snd_cwnd

    def pkts_acked(self, sk: TcpSock, acked: int, rtt_us: int) -> None:
        if rtt_us < 0:
            return
        if self.epoch_start and _jiffies(sk) - self.epoch_start < HZ:
            return  # discard delay samples right after fast recovery
        delay = rtt_us or 1
        if self.delay_min == 0 or self.delay_min > delay:
            self.delay_min = delay
        if (not self.found and sk.snd_cwnd < sk.snd_ssthresh and HYSTART
                and sk.snd_cwnd >= HYSTART_LOW_WINDOW):
            self._hystart_update(sk, delay)


CONGESTION_OPS: dict[str, type[CongestionOps]] = {"reno": Reno, "cubic": Cubic}


def ca_create(name: str) -> CongestionOps | None:
    cls = CONGESTION_OPS.get(name)
    return cls() if cls is not None else None
