"""The layer-4 trackers of conntrack: TCP, UDP, ICMP and the generic one
(``nf_conntrack_proto_{tcp,udp,icmp,generic}.c``).

Each ``*_packet(ct, pkt, l4, dir, now, tn)`` runs for one packet of connection
``ct`` in direction ``dir`` (its ``l4`` offset into ``pkt``) and answers like
the kernel's ``nf_conntrack_handle_packet``: ``NF_ACCEPT`` (the packet belongs
to the connection, whose timeout was refreshed), ``INVALID`` (the kernel's
``-NF_ACCEPT``: the packet goes on without a conntrack entry and the rules
see it as INVALID), or ``REPEAT`` (a closed TCP connection reopened: forget
it and look again).  ``tn`` is the namespace's :class:`CtTimeouts`.

TCP follows the kernel's state table (``tcp_conntracks``), its timeouts and
the ASSURED rule.  Window tracking (``tcp_in_window``) is not modelled:
every segment counts as in window, as with
``net.netfilter.nf_conntrack_tcp_be_liberal=1``; so the "unacknowledged data"
and "zero window" timeouts never apply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ipv4.datapath_state import sysctl_int

if TYPE_CHECKING:
    from ..net import Net
    from .conntrack import NfConn

NSEC = 1_000_000_000
NF_ACCEPT = 1

# enum ip_conntrack_status
IPS_EXPECTED = 1 << 0
IPS_SEEN_REPLY = 1 << 1
IPS_ASSURED = 1 << 2
IPS_CONFIRMED = 1 << 3
IPS_SRC_NAT = 1 << 4
IPS_DST_NAT = 1 << 5
IPS_NAT_MASK = IPS_SRC_NAT | IPS_DST_NAT
IPS_SRC_NAT_DONE = 1 << 7
IPS_DST_NAT_DONE = 1 << 8
INVALID = -1
REPEAT = -4

# enum tcp_conntrack
(TCP_NONE, TCP_SYN_SENT, TCP_SYN_RECV, TCP_ESTABLISHED, TCP_FIN_WAIT, TCP_CLOSE_WAIT,
 TCP_LAST_ACK, TCP_TIME_WAIT, TCP_CLOSE, TCP_SYN_SENT2) = range(10)
TCP_MAX = 10  # sIV
TCP_IGNORE = 11  # sIG
TCP_STATE_NAMES = ("NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT",
                   "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2")
# get_conntrack_index
TCP_SYN_SET, TCP_SYNACK_SET, TCP_FIN_SET, TCP_ACK_SET, TCP_RST_SET, TCP_NONE_SET = range(6)
IP_CT_TCP_FLAG_CLOSE_INIT = 0x04
IP_CT_TCP_SIMULTANEOUS_OPEN = 0x04

_NO, _SS, _SR, _ES, _FW, _CW, _LA, _TW, _CL, _S2 = range(10)
_IV, _IG = TCP_MAX, TCP_IGNORE
# tcp_conntracks[dir][index][old state]
TCP_CONNTRACKS = (
    (  # ORIGINAL
        (_SS, _SS, _IG, _IG, _IG, _IG, _IG, _SS, _SS, _S2),  # syn
        (_IV, _IV, _SR, _IV, _IV, _IV, _IV, _IV, _IV, _SR),  # synack
        (_IV, _IV, _FW, _FW, _LA, _LA, _LA, _TW, _CL, _IV),  # fin
        (_ES, _IV, _ES, _ES, _CW, _CW, _TW, _TW, _CL, _IV),  # ack
        (_IV, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL),  # rst
        (_IV,) * 10,  # none
    ),
    (  # REPLY
        (_IV, _S2, _IV, _IV, _IV, _IV, _IV, _SS, _IV, _S2),  # syn
        (_IV, _SR, _IG, _IG, _IG, _IG, _IG, _IG, _IG, _SR),  # synack
        (_IV, _IV, _FW, _FW, _LA, _LA, _LA, _TW, _CL, _IV),  # fin
        (_IV, _IG, _SR, _ES, _CW, _CW, _TW, _TW, _CL, _IG),  # ack
        (_IV, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL),  # rst
        (_IV,) * 10,  # none
    ),
)
# tcp_valid_flags: the flag combinations (without PSH, ECE, CWR) a segment may carry
_FIN, _SYN, _RST, _ACK, _URG = 0x01, 0x02, 0x04, 0x10, 0x20
TCP_VALID_FLAGS = frozenset((_SYN, _SYN | _URG, _SYN | _ACK, _RST, _RST | _ACK, _FIN | _ACK,
                             _FIN | _ACK | _URG, _ACK, _ACK | _URG))

# ICMP types that open a connection, and each one's answer (valid_new, invmap)
ICMP_INVMAP = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17}
ICMP_VALID_NEW = frozenset((8, 13, 15, 17))
ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))

TCP_TIMEOUT_KEYS = ("", "syn_sent", "syn_recv", "established", "fin_wait", "close_wait",
                    "last_ack", "time_wait", "close", "syn_sent")
PFX = "net.netfilter.nf_conntrack_"


class CtTimeouts:
    """A namespace's conntrack timeouts in ns, read from its sysctls when the
    sysctls change (``gen``); the per-packet path reads plain attributes."""

    __slots__ = ("generic", "icmp", "loose", "tcp", "tcp_max_retrans", "tcp_retrans",
                 "udp", "udp_stream")

    def __init__(self, net: Net) -> None:
        def get(name: str) -> int:
            return sysctl_int(net, PFX + name) * NSEC

        self.tcp = tuple(get("tcp_timeout_" + k) if k else 0 for k in TCP_TIMEOUT_KEYS)
        self.tcp_retrans = get("tcp_timeout_max_retrans")
        self.tcp_max_retrans = sysctl_int(net, PFX + "tcp_max_retrans")
        self.loose = sysctl_int(net, PFX + "tcp_loose")
        self.udp = get("udp_timeout")
        self.udp_stream = get("udp_timeout_stream")
        self.icmp = get("icmp_timeout")
        self.generic = get("generic_timeout")


def tcp_index(flags: int) -> int:
    """get_conntrack_index."""
    if flags & _RST:
        return TCP_RST_SET
    if flags & _SYN:
        return TCP_SYNACK_SET if flags & _ACK else TCP_SYN_SET
    if flags & _FIN:
        return TCP_FIN_SET
    return TCP_ACK_SET if flags & _ACK else TCP_NONE_SET


def tcp_error(pkt: bytes, l4: int) -> bool:
    """tcp_error: True when the segment is malformed (short header, flags
    no stack would send)."""
    if len(pkt) < l4 + 20 or (pkt[l4 + 12] >> 4) < 5:
        return True
    return (pkt[l4 + 13] & 0x37) not in TCP_VALID_FLAGS


def _seg_end(pkt: bytes, l4: int) -> int:
    """segment_seq_plus_len: sequence number after this segment."""
    flags = pkt[l4 + 13]
    plen = ((pkt[2] << 8) | pkt[3]) - l4 - ((pkt[l4 + 12] >> 4) << 2)
    seq = int.from_bytes(pkt[l4 + 4:l4 + 8], "big")
    return (seq + plen + (1 if flags & _SYN else 0) + (1 if flags & _FIN else 0)) & 0xFFFFFFFF


def tcp_new(ct: NfConn, pkt: bytes, l4: int, tn: CtTimeouts) -> bool:
    """tcp_new: may this segment open a connection?  A SYN always; anything
    else only with nf_conntrack_tcp_loose (picking up a connection midway)."""
    new = TCP_CONNTRACKS[0][tcp_index(pkt[l4 + 13])][TCP_NONE]
    if new >= TCP_MAX:
        return False
    if new != TCP_SYN_SENT and not tn.loose:
        return False
    ct.tcp_state = TCP_NONE
    ct.tcp_last_index = TCP_NONE_SET
    ct.tcp_last_dir = 0
    ct.tcp_last_end = 0
    ct.tcp_seen = 0
    return True


def tcp_packet(ct: NfConn, pkt: bytes, l4: int, dir_: int, now: int, tn: CtTimeouts) -> int:
    """nf_conntrack_tcp_packet without window tracking."""
    flags = pkt[l4 + 13]
    index = tcp_index(flags)
    old = ct.tcp_state
    new = TCP_CONNTRACKS[dir_][index][old]
    if new == TCP_SYN_SENT and old >= TCP_TIME_WAIT:
        # a SYN reopening a closed connection: forget the old one, look again
        closing = ct.tcp_seen & (IP_CT_TCP_FLAG_CLOSE_INIT | IP_CT_TCP_FLAG_CLOSE_INIT << 4)
        if closing or (ct.tcp_last_dir == dir_ and ct.tcp_last_index == TCP_RST_SET):
            return REPEAT
        new = TCP_IGNORE
    if new == TCP_IGNORE:
        ack = int.from_bytes(pkt[l4 + 8:l4 + 12], "big")
        if (index == TCP_SYNACK_SET and ct.tcp_last_index == TCP_SYN_SET
                and ct.tcp_last_dir != dir_ and ack == ct.tcp_last_end):
            # a SYN/ACK for a SYN we ignored: both ends are in sync, so are we
            old, new = TCP_SYN_SENT, TCP_SYN_RECV
        else:
            # the entry may be out of sync with the real connection: let
            # the segment through and remember it
            ct.tcp_last_index = index
            ct.tcp_last_dir = dir_
            ct.tcp_last_end = _seg_end(pkt, l4)
            return NF_ACCEPT
    if new == TCP_MAX:
        return INVALID
    if new == TCP_SYN_SENT2:
        ct.tcp_flags_sim = True
    elif new == TCP_SYN_RECV and dir_ == 1 and index == TCP_ACK_SET and ct.tcp_flags_sim:
        new = TCP_ESTABLISHED
    elif new == TCP_CLOSE and index == TCP_RST_SET:
        ack = int.from_bytes(pkt[l4 + 8:l4 + 12], "big")
        if ((ct.status & IPS_SEEN_REPLY and ct.tcp_last_index == TCP_SYN_SET)
                or (not ct.status & IPS_ASSURED and ct.tcp_last_index == TCP_ACK_SET)) \
                and ack == ct.tcp_last_end:
            # a RST answering a SYN or ACK we let through without a connection
            ct.timeout = now
            return NF_ACCEPT
    ct.tcp_last_index = index
    ct.tcp_last_dir = dir_
    ct.tcp_last_end = _seg_end(pkt, l4)
    ct.tcp_state = new
    if old != new and new == TCP_FIN_WAIT:
        ct.tcp_seen |= IP_CT_TCP_FLAG_CLOSE_INIT << (4 * dir_)
    timeout = tn.tcp[TCP_CLOSE] if index == TCP_RST_SET else tn.tcp[new]
    if not ct.status & IPS_SEEN_REPLY:
        if flags & _RST:
            # "If only reply is a RST, we can consider ourselves not to
            # have an established connection" (the entry goes at once)
            ct.timeout = now
            return NF_ACCEPT
        if index == TCP_SYN_SET and old == TCP_SYN_SENT and ct.status & IPS_CONFIRMED:
            return NF_ACCEPT  # a retransmitted SYN does not renew the timeout
    elif (not ct.status & IPS_ASSURED and old in (TCP_SYN_RECV, TCP_ESTABLISHED)
          and new == TCP_ESTABLISHED):
        ct.status |= IPS_ASSURED
    ct.timeout = now + timeout
    return NF_ACCEPT


def udp_packet(ct: NfConn, pkt: bytes, l4: int, dir_: int, now: int, tn: CtTimeouts) -> int:
    """nf_conntrack_udp_packet: 30 s until both ways were seen; a stream
    still active after two seconds gets 120 s and ASSURED."""
    status = ct.status
    if not status & IPS_CONFIRMED:
        ct.udp_stream_ts = now + 2 * NSEC
    if status & IPS_SEEN_REPLY:
        extra = tn.udp
        stream = False
        if now > ct.udp_stream_ts:
            extra = tn.udp_stream
            stream = not status & IPS_ASSURED
        ct.timeout = now + extra
        if stream:
            ct.status |= IPS_ASSURED
    else:
        ct.timeout = now + tn.udp
    return NF_ACCEPT


def icmp_packet(ct: NfConn, pkt: bytes, l4: int, dir_: int, now: int, tn: CtTimeouts) -> int:
    """nf_conntrack_icmp_packet: only requests open a connection; never ASSURED."""
    if (ct.orig[4] >> 8) not in ICMP_VALID_NEW:
        return INVALID
    ct.timeout = now + tn.icmp
    return NF_ACCEPT


def generic_packet(ct: NfConn, pkt: bytes, l4: int, dir_: int, now: int,
                   tn: CtTimeouts) -> int:
    ct.timeout = now + tn.generic
    return NF_ACCEPT
