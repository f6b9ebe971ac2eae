"""ICMP (``net/ipv4/icmp.c``): echo replies, and the errors the stack sends
-- with Linux's rules for when not to send one and its rate limits."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import KernelError
from ..sock import CTL_SK
from ..wire.checksum import csum_partial
from ..wire.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_ECHO,
    ICMP_ECHOREPLY,
    ICMP_ERROR_TYPES,
    ICMP_FRAG_NEEDED,
    ICMP_HOST_UNREACH,
    ICMP_PARAMETERPROB,
    ICMP_REDIR_HOST,
    ICMP_REDIRECT,
    icmp_message,
)
from ..wire.ipv4 import IP_OFFSET, IPPROTO_ICMP, IPV4_HDR
from .datapath_state import ipv4_dp, jiffies, sysctl_int
from .devinet import find_ifa, inet_select_addr
from .fib import RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RTN_BROADCAST, RTN_LOCAL
from .fib_frontend import inet_addr_type
from .fnhe import NSEC, RT_GC_TIMEOUT_S, update_or_create_fnhe
from .ip_output import IP_PMTUDISC_DONT, ip_build_and_send, route_mtu
from .neigh_resolve import neigh_create, neigh_event_send
from .neighbour import NUD_VALID
from .route import (
    RTCF_BROADCAST,
    RTCF_LOCAL,
    RTCF_MULTICAST,
    ip_route_output,
    ip_route_output_cached,
)

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from .route import OutputRoute

IPTOS_TOS_MASK = 0x1E
IPTOS_PREC_INTERNETCONTROL = 0xC0
NR_ICMP_TYPES = 18
XRLIM_BURST_FACTOR = 6
ICMP_ROOM = 576  # an error quotes as much as fits a 576-byte datagram


# -- receiving ----------------------------------------------------------------------


def icmp_rcv(dev: NetDevice, pkt: bytes, ihl: int, rt: OutputRoute, summed: int) -> None:
    net = dev.net
    mib = ipv4_dp(net).mib
    mib["IcmpInMsgs"] += 1
    if len(pkt) < ihl + 8 or (summed == 0 and csum_partial(pkt[ihl:]) != 0xFFFF):
        mib["IcmpInErrors"] += 1
        return
    icmp_type = pkt[ihl]
    if icmp_type == ICMP_ECHO:
        icmp_echo(dev, pkt, ihl, rt)
    elif icmp_type in ICMP_ERROR_TYPES:
        if icmp_type in (ICMP_DEST_UNREACH, ICMP_REDIRECT):
            icmp_err_learn(dev, pkt, ihl)
        icmp_socket_deliver(dev, pkt, ihl)
    # Errors and replies also reach raw sockets (done by the caller).


# Transport error handlers (inet_protos[].err_handler): protocol ->
# handler(dev, pkt, ihl, info) for an ICMP error quoting that protocol; pkt
# is the whole ICMP datagram, ihl its IP header length.
icmp_err_handlers: dict[int, Callable[[NetDevice, bytes, int, int], None]] = {}
NR_ICMP_UNREACH = 15
# icmp_err_convert: destination unreachable code -> (errno, fatal)
icmp_err_convert = (
    (errno.ENETUNREACH, False), (errno.EHOSTUNREACH, False), (errno.ENOPROTOOPT, True),
    (errno.ECONNREFUSED, True), (errno.EMSGSIZE, False), (errno.EOPNOTSUPP, False),
    (errno.ENETUNREACH, True), (errno.EHOSTDOWN, True), (errno.ENONET, True),
    (errno.ENETUNREACH, True), (errno.EHOSTUNREACH, True), (errno.ENETUNREACH, False),
    (errno.EHOSTUNREACH, False), (errno.EHOSTUNREACH, True), (errno.EHOSTUNREACH, True),
    (errno.EHOSTUNREACH, True),
)


def icmp_socket_deliver(dev: NetDevice, pkt: bytes, ihl: int) -> None:
    """icmp_unreach/icmp_redirect -> icmp_socket_deliver: hand a sound error
    to the quoted transport's handler, with its ``info`` (MTU, pointer,
    gateway)."""
    net = dev.net
    inner = ihl + 8
    if len(pkt) < inner + 20:
        return
    iihl = (pkt[inner] & 15) << 2
    handler = icmp_err_handlers.get(pkt[inner + 9])
    if iihl < 20 or handler is None:
        return
    if len(pkt) < inner + iihl + 8:
        ipv4_dp(net).mib["IcmpInErrors"] += 1
        return
    icmp_type, code = pkt[ihl], pkt[ihl + 1]
    info = 0
    if icmp_type == ICMP_DEST_UNREACH:
        if code > NR_ICMP_UNREACH:
            return
        if code == ICMP_FRAG_NEEDED and sysctl_int(net, "net.ipv4.ip_no_pmtu_disc") in (0, 3):
            info = (pkt[ihl + 6] << 8) | pkt[ihl + 7]
    elif icmp_type == ICMP_PARAMETERPROB:
        info = pkt[ihl + 4]
    elif icmp_type == ICMP_REDIRECT:
        info = int.from_bytes(pkt[ihl + 4:ihl + 8], "big")
    if (icmp_type != ICMP_REDIRECT
            and not sysctl_int(net, "net.ipv4.icmp_ignore_bogus_error_responses")
            and inet_addr_type(net, int.from_bytes(pkt[inner + 16:inner + 20], "big"),
                               dev) == RTN_BROADCAST):
        return
    handler(dev, pkt, ihl, info)


def icmp_err_learn(dev: NetDevice, pkt: bytes, ihl: int) -> None:
    """icmp_unreach/icmp_redirect -> icmp_err for a quoted ICMP packet:
    learn the path MTU or the better gateway as a next-hop exception.  Other
    transports learn through their sockets."""
    inner = pkt[ihl + 8:]
    if len(inner) < 20 or inner[9] != IPPROTO_ICMP:
        return
    isrc = int.from_bytes(inner[12:16], "big")
    idst = int.from_bytes(inner[16:20], "big")
    icmp_type, code = pkt[ihl], pkt[ihl + 1]
    if icmp_type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        if sysctl_int(dev.net, "net.ipv4.ip_no_pmtu_disc") in (0, 3):
            ipv4_update_pmtu(dev.net, idst, isrc, (pkt[ihl + 6] << 8) | pkt[ihl + 7])
    elif icmp_type == ICMP_REDIRECT and code <= 3:
        gw = int.from_bytes(pkt[ihl + 4:ihl + 8], "big")
        ipv4_redirect(dev, idst, isrc, gw, int.from_bytes(pkt[12:16], "big"))


def ipv4_update_pmtu(net: Net, daddr: int, saddr: int, mtu: int) -> None:
    """__ip_rt_update_pmtu: only ever lower; below min_pmtu, clamp to it."""
    try:
        rt = ip_route_output(net, daddr, saddr if find_ifa(net, saddr) else 0)
    except KernelError:
        return
    if rt.res is None or rt.res.nh is None:
        return
    old = route_mtu(rt)
    if old < mtu:
        return
    min_pmtu = sysctl_int(net, "net.ipv4.route.min_pmtu")
    if mtu < min_pmtu:
        mtu = min(old, min_pmtu)
    expires = net.kernel.sched.now + sysctl_int(net, "net.ipv4.route.mtu_expires") * NSEC
    update_or_create_fnhe(net, rt.res.nh, daddr, 0, mtu, expires)


def ipv4_redirect(dev: NetDevice, daddr: int, saddr: int, new_gw: int, old_gw: int) -> None:
    """__ip_do_redirect: accept a better gateway from our current one, once
    its neighbour entry is valid (the first redirect only starts ARP)."""
    net = dev.net
    try:
        rt = ip_route_output(net, daddr, saddr if find_ifa(net, saddr) else 0)
    except KernelError:
        return
    in_dev = rt.dev.ip_ptr
    if in_dev is None or rt.gateway != old_gw or new_gw == old_gw or rt.res is None \
            or rt.res.nh is None:
        return
    if not _rx_redirects(rt.dev):
        return
    if new_gw >> 28 >= 0xE or not new_gw or inet_addr_type(net, new_gw) != 1:  # RTN_UNICAST
        return
    tbl = net.kernel.neigh_tbl
    n = tbl.entries.get((rt.dev, new_gw)) or neigh_create(rt.dev, new_gw)
    if not n.nud_state & NUD_VALID:
        neigh_event_send(n, None, None)
        return
    expires = net.kernel.sched.now + RT_GC_TIMEOUT_S * NSEC
    update_or_create_fnhe(net, rt.res.nh, daddr, new_gw, 0, expires)


def _rx_redirects(dev: NetDevice) -> bool:
    """IN_DEV_RX_REDIRECTS: a router needs all AND dev, a host all OR dev."""
    in_dev = dev.ip_ptr
    assert in_dev is not None
    mine = bool(in_dev.conf_get("accept_redirects"))
    everyone = bool(dev.net.ipv4.devconf_all.get("accept_redirects"))
    if in_dev.conf_get("forwarding"):
        return mine and everyone
    return mine or everyone


def icmp_echo(dev: NetDevice, pkt: bytes, ihl: int, rt: OutputRoute) -> None:
    net = dev.net
    if sysctl_int(net, "net.ipv4.icmp_echo_ignore_all"):
        return
    if rt.flags & (RTCF_BROADCAST | RTCF_MULTICAST) and \
            sysctl_int(net, "net.ipv4.icmp_echo_ignore_broadcasts"):
        return
    _vihl, tos, _len, _id, _frag, _ttl, _p, _c, saddr, daddr = IPV4_HDR.unpack_from(pkt)
    if rt.flags & (RTCF_BROADCAST | RTCF_MULTICAST):
        in_dev = net.dev_by_index.get(rt.iif) or dev
        daddr = inet_select_addr(in_dev, saddr, RT_SCOPE_UNIVERSE)
    body = pkt[ihl:]
    reply = icmp_message(ICMP_ECHOREPLY, 0, int.from_bytes(body[4:8], "big"), body[8:])
    _send(net, saddr, daddr, tos, reply, rt.iif if rt.dev is net.loopback_dev else 0)


def _send(net: Net, daddr: int, saddr: int, tos: int, msg: bytes, iif: int = 0) -> bool:
    try:
        rt = ip_route_output_cached(net, daddr, saddr, tos=tos & IPTOS_TOS_MASK)
    except KernelError:
        return False
    if iif and rt.flags & RTCF_LOCAL and rt.iif != iif:
        # Observed on 6.18 (c068): an answer to a request that looped back
        # with input interface X reaches sockets bound to X.
        rt = dataclasses.replace(rt, iif=iif)
    # icmp_push_reply: sent on the namespace's ICMP control socket
    ip_build_and_send(rt, IPPROTO_ICMP, msg, tos=tos, pmtudisc=IP_PMTUDISC_DONT, sk=CTL_SK)
    ipv4_dp(net).mib["IcmpOutMsgs"] += 1
    return True


# -- sending errors -------------------------------------------------------------------


def icmp_send(pkt: bytes, rt: OutputRoute | None, icmp_type: int, code: int, info: int = 0,
              pkt_type: int = 0) -> None:
    """__icmp_send: answer the offending packet ``pkt`` (an IPv4 packet that
    came in or was being sent on route ``rt``)."""
    if rt is None or len(pkt) < 20 or pkt_type != 0:
        return
    if rt.flags & (RTCF_BROADCAST | RTCF_MULTICAST):
        return
    vihl, tos, _l, _i, frag, _t, proto, _c, saddr, daddr = IPV4_HDR.unpack_from(pkt)
    ihl = (vihl & 15) * 4
    if frag & IP_OFFSET or not saddr or saddr >> 28 >= 0xE or saddr == 0xFFFFFFFF:
        return
    if proto == IPPROTO_ICMP and len(pkt) > ihl:
        inner = pkt[ihl]
        if inner > NR_ICMP_TYPES or inner in ICMP_ERROR_TYPES:
            return
    net = rt.dev.net
    src = daddr if rt.flags & RTCF_LOCAL else 0
    if not src and rt.is_input and sysctl_int(net, "net.ipv4.icmp_errors_use_inbound_ifaddr"):
        in_dev = net.dev_by_index.get(rt.iif)
        src = inet_select_addr(in_dev, saddr, RT_SCOPE_LINK) if in_dev else 0
    if not _rate_allow(net, rt, saddr, icmp_type, code):
        return
    tos = (tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL
    room = ICMP_ROOM - 20 - 8
    _send_error(net, saddr, src, tos, icmp_message(icmp_type, code, info, pkt[:room]))


def _send_error(net: Net, daddr: int, saddr: int, tos: int, msg: bytes) -> None:

    if saddr and inet_addr_type(net, saddr) != RTN_LOCAL:
        saddr = 0
    _send(net, daddr, saddr, tos, msg)


def _rate_allow(net: Net, rt: OutputRoute, daddr: int, icmp_type: int, code: int) -> bool:
    """icmpv4_global_allow, icmpv4_xrlim_allow, icmp_global_consume -- in
    Linux's order: an empty global bucket refuses even errors to ourselves."""
    if icmp_type > NR_ICMP_TYPES or (icmp_type == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED):
        return True
    if not (1 << icmp_type) & sysctl_int(net, "net.ipv4.icmp_ratemask"):
        return True
    dp = ipv4_dp(net)
    if not _global_credit(net):
        dp.mib["IcmpOutRateLimitGlobal"] += 1
        return False
    if find_ifa(net, daddr) is None:  # errors that go out of lo are never limited
        timeout = sysctl_int(net, "net.ipv4.icmp_ratelimit") * 250 // 1000
        if not _xrlim_allow(net, daddr, timeout):
            dp.mib["IcmpOutRateLimitHost"] += 1
            return False
    dp.icmp_credit -= 1
    return True


def _global_credit(net: Net) -> bool:
    """icmp_global_allow: a token bucket of icmp_msgs_per_sec, icmp_msgs_burst
    deep, refilled at most every HZ/50; consumed only once a message goes."""
    dp = ipv4_dp(net)
    now = net.kernel.sched.now
    if dp.icmp_credit < 0:
        dp.icmp_credit = sysctl_int(net, "net.ipv4.icmp_msgs_burst")
        dp.icmp_stamp = now
    elapsed_ms = (now - dp.icmp_stamp) // 1_000_000
    if elapsed_ms >= 20:
        burst = sysctl_int(net, "net.ipv4.icmp_msgs_burst")
        rate = sysctl_int(net, "net.ipv4.icmp_msgs_per_sec")
        dp.icmp_credit = min(burst, dp.icmp_credit + elapsed_ms * rate // 1000)
        dp.icmp_stamp = now
    return dp.icmp_credit > 0


def _xrlim_allow(net: Net, daddr: int, timeout: int) -> bool:
    """inet_peer_xrlim_allow: each destination gets a burst of 6, then one per timeout."""
    if not timeout:
        return True
    now = jiffies(net)
    peer = ipv4_dp(net).peer(daddr, now)
    token = peer.rate_tokens + now - peer.rate_last
    peer.rate_last = now
    token = min(token, XRLIM_BURST_FACTOR * timeout)
    if token >= timeout:
        peer.rate_tokens = token - timeout
        return True
    peer.rate_tokens = token
    return False


def icmp_send_host_unreach(pkt: bytes, rt: Any) -> None:
    """ipv4_link_failure: neighbour resolution for ``pkt`` failed."""
    icmp_send(pkt, rt, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH)


# -- redirects ----------------------------------------------------------------------

REDIRECT_NUMBER = 9
REDIRECT_LOAD = 250 // 50
REDIRECT_SILENCE = REDIRECT_LOAD << (REDIRECT_NUMBER + 1)


def ip_rt_send_redirect(pkt: bytes, rt: OutputRoute) -> None:
    """Tell the sender a better first hop, with Linux's exponential backoff
    per destination (ip_rt_redirect_number/load/silence)."""
    net = rt.dev.net
    saddr = int.from_bytes(pkt[12:16], "big")
    now = jiffies(net)
    peer = ipv4_dp(net).peer(saddr, now)
    if now - peer.redirect_last > REDIRECT_SILENCE:
        peer.n_redirects = 0
    if peer.n_redirects >= REDIRECT_NUMBER:
        peer.redirect_last = now
        return
    if peer.n_redirects == 0 or now > peer.redirect_last + (REDIRECT_LOAD << peer.n_redirects):
        gw = rt.gateway or rt.daddr
        icmp_send(pkt, rt, ICMP_REDIRECT, ICMP_REDIR_HOST, gw)
        peer.redirect_last = now
        peer.n_redirects += 1
