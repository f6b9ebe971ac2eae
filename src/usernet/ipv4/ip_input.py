"""IPv4 input (``net/ipv4/ip_input.c``): header checks, the routing decision,
local delivery (with reassembly and raw sockets) and ``ip_error``.

The header is unpacked once, with one precompiled struct; the route comes
from the namespace's route cache, so a packet of a known flow costs a dict
lookup, not a FIB walk.
"""

from __future__ import annotations

import errno
import struct
from itertools import islice
from typing import TYPE_CHECKING, Any

from ..dev import br_netfilter
from ..dev.datapath import (
    PACKET_BROADCAST,
    PACKET_HOST,
    PACKET_MULTICAST,
    PACKET_OTHERHOST,
    deliver_skb,
    dev_queue_xmit_list,
    dev_stats,
)
from ..dev.loopback import Loopback
from ..dev.netdevice import IFF_LOOPBACK
from ..errors import KernelError
from ..netfilter import nf_log
from ..netfilter.flow_fast import nf_flow_fast
from ..netfilter.hooks import nf_enabled, nf_input_route, nf_ipv4, nf_skb_mark
from ..wire.checksum import csum_partial
from ..wire.icmp import (
    ICMP_DEST_UNREACH,
    ICMP_HOST_UNREACH,
    ICMP_NET_UNREACH,
    ICMP_PKT_FILTERED,
    ICMP_PROT_UNREACH,
)
from ..wire.ipv4 import IP_MF, IP_OFFSET, IPPROTO_ICMP
from .datapath_state import ipv4_dp, jiffies, sysctl_int
from .ip_forward import ip_forward
from .neighbour import NUD_CONNECTED
from .route import OutputRoute, ip_route_input
from .rt_cache import rt_cache, rt_cache_genid

NF_PRE, NF_IN = 0, 1  # NF_INET_PRE_ROUTING, NF_INET_LOCAL_IN

if TYPE_CHECKING:
    from ..dev.netdevice import NetDevice
    from ..net import Net
    from .route import OutputRoute

ETH_HLEN = 14
# version/ihl, tos, tot_len, ttl, saddr, daddr: what routing needs, in one call
_unpack_hdr = struct.Struct("!BBH4xB3xII").unpack_from
# ... plus id and frag_off (one word: the checksum test needs them), protocol
# and checksum, for ip_list_rcv's fast path
_unpack_fwd = struct.Struct("!BBHIBBHII").unpack_from
# the rewritten start of a forwarded frame: header cache, then IP up to the TTL
_pack_fwd = struct.Struct("!14s8sBBH").pack
RTCF_LOCAL = 0x80000000
RTCF_MULTICAST = 0x20000000
RT_ERROR_COST = 250  # ip_rt_error_cost: one error per HZ ...
RT_ERROR_BURST = 5 * 250  # ... after a burst of five

# Transport handlers: protocol -> handler(dev, pkt, ihl, rt, summed)
inet_protos: dict[int, Any] = {}
# ... that ip_list_rcv may give the whole burst instead (UDP): protocol ->
# handler(dev, frames, i, tot_len, rt, summed, mib) for frames[i], 20-byte
# header; it may take the frames after it too, and returns how many it took
inet_frame_protos: dict[int, Any] = {}


def ip_rcv(dev: NetDevice, frame: bytes, pkt_type: int, summed: int) -> None:
    """ip_rcv + ip_rcv_core + ip_rcv_finish: drop what is not a sound IPv4
    packet for us, route it, and deliver or forward it."""
    if pkt_type == PACKET_OTHERHOST or dev.ip_ptr is None:
        return
    net = dev.net
    dp = net.ipv4.dp or ipv4_dp(net)
    mib = dp.mib
    mib["InReceives"] += 1
    n = len(frame) - ETH_HLEN
    if n < 20:
        mib["InHdrErrors"] += 1
        return
    vihl, tos, tot_len, _ttl, saddr, daddr = _unpack_hdr(frame, ETH_HLEN)
    if vihl == 0x45:
        # ip_fast_csum over the 20-byte header: a big-endian integer is
        # congruent mod 0xffff to the sum of its 16-bit words.
        ihl = 20
        if int.from_bytes(frame[14:34], "big") % 0xFFFF:
            mib["InCsumErrors"] += 1
            mib["InHdrErrors"] += 1
            return
    elif not _slow_header_ok(frame, vihl, n, mib):
        return
    else:
        ihl = (vihl & 15) << 2
    if n < tot_len:
        mib["InTruncatedPkts"] += 1
        return
    if tot_len < ihl:
        mib["InHdrErrors"] += 1
        return
    nf = nf_enabled(net)
    mark = 0
    if nf:
        nf_log.rx_frame = frame  # the skb's MAC header (LOG's MAC=)
        nf = frame is not br_netfilter.prerouted  # ip_sabotage_in: the bridge ran it
    if nf:
        raw = frame[ETH_HLEN:ETH_HLEN + tot_len]
        out = nf_ipv4(net, NF_PRE, raw, dev, None, None)
        if out is None:
            return
        if out is not raw:  # NAT, TTL or reassembly rewrote it: route what it is now
            frame = frame[:ETH_HLEN] + out
            tot_len = len(out)
            _v, tos, _l, _t, saddr, daddr = _unpack_hdr(frame, ETH_HLEN)
        mark = nf_skb_mark(net)  # a PREROUTING mark: the fib rules see it
    if dev.flags & IFF_LOOPBACK:
        # A looped-back packet keeps the output route it was sent on, which
        # is always local (RTCF_LOCAL): no second lookup.
        pkt = frame[ETH_HLEN:ETH_HLEN + tot_len]
        dst = dev.take_dst(frame) if isinstance(dev, Loopback) else None
        ip_local_deliver(dev, pkt, dst or _loopback_route(dev, daddr, saddr), summed)
        return
    ipv4 = net.ipv4
    cache = ipv4.rt_cache
    if cache is None or ipv4.rt_gen != rt_cache_genid():
        cache = rt_cache(net)
    key = (daddr, saddr, dev, tos, mark) if mark else (daddr, saddr, dev, tos)
    rt = cache.get(key)
    if rt is None:
        rt = cache[key] = _route_input(dev, daddr, saddr, tos, mark)
    if isinstance(rt, int):
        ip_error(dev, frame[ETH_HLEN:ETH_HLEN + tot_len], rt, pkt_type)
        return
    flags = rt.flags
    if flags & RTCF_LOCAL:
        ip_local_deliver(dev, frame[ETH_HLEN:ETH_HLEN + tot_len], rt, summed)
    elif not flags & RTCF_MULTICAST:  # multicast not for us: no mrouting
        ip_forward(dev, frame[ETH_HLEN:ETH_HLEN + tot_len], rt, pkt_type, summed)


def ip_list_rcv(dev: NetDevice, frames: list[bytes], summed: int) -> None:
    """ip_list_rcv: a NAPI burst.  Forwarded frames of a resolved next hop
    are collected per output device and sent as one burst; anything else
    first flushes what is pending (so the order of events is unchanged) and
    takes the one-by-one path."""
    net = dev.net
    # with rules, only established flows a stateful FORWARD chain accepts
    # first thing stay on this path (netfilter/flow_fast.py)
    nf = nf_enabled(net)  # asked once: making the flow shortcut changes no table
    fast = nf_flow_fast(net) if nf else None
    if dev.ip_ptr is None or dev.flags & IFF_LOOPBACK or (fast is None and nf):
        for frame in frames:
            ip_rcv(dev, frame, _pkt_type(dev, frame), summed)
        return
    now = net.kernel.sched.now
    dp = net.ipv4.dp or ipv4_dp(net)
    mib = dp.mib
    ipv4 = net.ipv4
    cache = ipv4.rt_cache
    if cache is None or ipv4.rt_gen != rt_cache_genid():
        cache = rt_cache(net)
    mac = dev.dev_addr
    cache_get = cache.get
    raw_socks = dp.raw_socks
    udp = inet_frame_protos.get(17)
    tcp = inet_protos.get(6)
    out_dev: NetDevice | None = None
    outs: list[bytes] = []
    append = outs.append
    forwarded = 0
    # local deliveries, counted once at the end like ``forwarded`` (nothing
    # the loop calls reads these two counters)
    received = delivered = 0
    # The flow of the last cache hit: within this loop an input key's entry
    # never changes once present (``cache`` stays this dict even if a flush
    # replaces the namespace's; input keys are only ever added), so a frame
    # of the same flow reuses that route without a key tuple or a lookup.
    # A miss resets it: the slow road may fill the entry in.
    l_daddr = l_saddr = l_tos = -1
    rt: Any = None
    i = -1
    todo = iter(frames)
    for frame in todo:
        i += 1
        if ((n := len(frame)) >= 34 and frame[14] == 0x45 and frame[12] == 8 and not frame[13]
                and frame.startswith(mac)):
            _v, tos, tot_len, idf, ttl, proto, check, saddr, daddr = _unpack_fwd(frame, ETH_HLEN)
            if daddr != l_daddr or saddr != l_saddr or tos != l_tos:
                rt = cache_get((daddr, saddr, dev, tos))
                if rt is None:
                    l_daddr = -1
                else:
                    l_daddr, l_saddr, l_tos = daddr, saddr, tos
            # ip_fast_csum as ip_rcv tests it (the header as one integer,
            # mod 0xffff), from the fields at hand: as 2**16 == 1 mod 0xffff,
            # each field is congruent to the sum of its 16-bit words
            if (rt.__class__ is OutputRoute and n - ETH_HLEN >= tot_len >= 20
                    and not (0x4500 + tos + tot_len + idf + (ttl << 8) + proto + check + saddr
                             + daddr) % 0xFFFF):
                flags = rt.flags
                if not flags:
                    nb = rt.neigh
                    if (ttl > 1 and nb is not None and nb.nud_state & NUD_CONNECTED
                            and tot_len <= rt.dev.mtu and not rt.metrics
                            and (fast is None or fast.forward(frame, tot_len, now))):
                        if rt.dev is not out_dev:
                            if outs:
                                dev_queue_xmit_list(out_dev, outs)  # type: ignore[arg-type]
                                outs = []
                                append = outs.append
                            out_dev = rt.dev
                        check += 0x100  # ip_decrease_ttl
                        check += check >= 0xFFFF
                        append(_pack_fwd(nb.hh, frame[14:22], ttl - 1, proto, check & 0xFFFF)
                               + frame[26:ETH_HLEN + tot_len])
                        forwarded += 1
                        continue
                elif flags & RTCF_LOCAL and not flags & RTCF_MULTICAST and fast is None:
                    if outs:
                        dev_queue_xmit_list(out_dev, outs)  # type: ignore[arg-type]
                        outs = []
                        append = outs.append
                    received += 1
                    # ip_is_fragment (MF or an offset): the low 14 bits of
                    # the id/frag_off word unpacked above
                    if proto == 6 and tcp is not None and not raw_socks \
                            and not idf & 0x3FFF:
                        # a view, not a copy: a GRO'd segment is up to 64 KiB,
                        # and TCP keeps its payload as views anyway
                        delivered += 1
                        tcp(dev, memoryview(frame)[ETH_HLEN:ETH_HLEN + tot_len], 20, rt, summed)
                        continue
                    if proto == 17 and udp is not None and not raw_socks \
                            and not idf & 0x3FFF:
                        more = udp(dev, frames, i, tot_len, rt, summed, mib) - 1
                        if more:  # the handler took the frames after this one too
                            next(islice(todo, more - 1, more), None)  # skip them, in C
                            i += more
                            received += more
                        delivered += more + 1
                    else:
                        ip_local_deliver(dev, frame[ETH_HLEN:ETH_HLEN + tot_len], rt, summed)
                    continue
        if outs:
            dev_queue_xmit_list(out_dev, outs)  # type: ignore[arg-type]
            outs = []
            append = outs.append
        if len(frame) < ETH_HLEN:
            dev_stats(dev).rx_dropped += 1
        else:
            deliver_skb(dev, frame, _pkt_type(dev, frame), summed)
    if outs:
        dev_queue_xmit_list(out_dev, outs)  # type: ignore[arg-type]
    if forwarded:
        mib["InReceives"] += forwarded
        mib["ForwDatagrams"] += forwarded
    if received:
        mib["InReceives"] += received
        mib["InDelivers"] += delivered


def _pkt_type(dev: NetDevice, frame: bytes) -> int:
    if frame[0] & 1:
        return PACKET_BROADCAST if frame.startswith(b"\xff" * 6) else PACKET_MULTICAST
    return PACKET_HOST if frame.startswith(dev.dev_addr) else PACKET_OTHERHOST


def _slow_header_ok(frame: bytes, vihl: int, n: int, mib: dict[str, int]) -> bool:
    """Headers with options, or not IPv4 at all."""
    ihl = (vihl & 15) << 2
    if vihl >> 4 != 4 or ihl < 20 or n < ihl:
        mib["InHdrErrors"] += 1
        return False
    if csum_partial(frame[ETH_HLEN:ETH_HLEN + ihl]) != 0xFFFF:
        mib["InCsumErrors"] += 1
        mib["InHdrErrors"] += 1
        return False
    return True


def _route_input(dev: NetDevice, daddr: int, saddr: int, tos: int,
                 mark: int = 0) -> OutputRoute | int:
    """ip_route_input_noref: a route, or the errno the packet dies of."""
    try:
        return ip_route_input(dev.net, daddr, saddr, dev, mark, tos)
    except KernelError as exc:
        return exc.errno or errno.EINVAL


def _loopback_route(dev: NetDevice, daddr: int, saddr: int) -> OutputRoute:
    from .fib import RTN_LOCAL
    from .route import RTCF_LOCAL, OutputRoute

    return OutputRoute(RTN_LOCAL, daddr, saddr, dev, flags=RTCF_LOCAL, is_input=True,
                       iif=dev.ifindex, table=0)


def ip_error(dev: NetDevice, pkt: bytes, err: int, pkt_type: int) -> None:
    """ip_error: martians die quietly; unroutable packets earn an ICMP error
    -- only where forwarding is on, and rate-limited per source."""
    from .icmp import icmp_send
    from .route import OutputRoute

    net = dev.net
    mib = ipv4_dp(net).mib
    in_dev = dev.ip_ptr
    if err not in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES):
        mib["InMartians" if err in (errno.EINVAL, errno.EXDEV) else "InDiscards"] += 1
        return
    if in_dev is None or not in_dev.conf_get("forwarding"):
        mib["InAddrErrors" if err == errno.EHOSTUNREACH else "InNoRoutes"] += 1
        return
    code = {errno.EHOSTUNREACH: ICMP_HOST_UNREACH, errno.ENETUNREACH: ICMP_NET_UNREACH,
            errno.EACCES: ICMP_PKT_FILTERED}[err]
    if err == errno.ENETUNREACH:
        mib["InNoRoutes"] += 1
    saddr = int.from_bytes(pkt[12:16], "big")
    now = jiffies(net)
    peer = ipv4_dp(net).peer(saddr, now)
    tokens = min(RT_ERROR_BURST, peer.rate_tokens + now - peer.rate_last)
    peer.rate_last = now
    if tokens < RT_ERROR_COST:
        peer.rate_tokens = tokens
        return
    peer.rate_tokens = tokens - RT_ERROR_COST
    daddr = int.from_bytes(pkt[16:20], "big")
    rt = OutputRoute(0, daddr, saddr, dev, is_input=True, iif=dev.ifindex)
    icmp_send(pkt, rt, ICMP_DEST_UNREACH, code, 0, PACKET_HOST if pkt_type < 3 else pkt_type)


def ip_early_demux_sk(net: Net, saddr: int, daddr: int, proto: int, sport: int,
                      dport: int) -> Any:
    """ip_rcv_finish_core's early demux: the socket a received packet is for
    -- TCP's established table (a connecting, established, request or
    TIME_WAIT socket), or a UDP socket connected to exactly this flow --
    which Linux makes the packet's skb->sk before routing, so INPUT sees it.
    Only LOG --log-uid reads it there (the owner match is refused at INPUT),
    so the hooks look it up when such a rule logs, not for every packet."""
    if not sysctl_int(net, "net.ipv4.ip_early_demux"):
        return None
    if proto == 6 and sysctl_int(net, "net.ipv4.tcp_early_demux"):
        from ..transport.tcp_table import ehash

        return ehash.get((net, daddr, dport, saddr, sport))
    if proto == 17 and sysctl_int(net, "net.ipv4.udp_early_demux"):
        from ..transport.udp import udp_table

        for sk in udp_table.get((net, dport), ()):
            if sk.laddr == daddr and sk.daddr == saddr and sk.dport == sport:
                return sk
    return None


def ip_local_deliver(dev: NetDevice, pkt: bytes, rt: OutputRoute, summed: int) -> None:
    """Reassemble, then hand to raw sockets and the transport protocol."""
    net = dev.net
    dp = ipv4_dp(net)
    frag = (pkt[6] << 8) | pkt[7]
    if frag & (IP_MF | IP_OFFSET):
        whole = _defrag(dev, pkt)
        if whole is None:
            return
        pkt = whole
    if nf_enabled(net):
        out = nf_ipv4(net, NF_IN, pkt, dev, None, rt)
        if out is None:
            return
        if out is not pkt:  # NAT at INPUT: the transport sees the new addresses
            rt = nf_input_route(rt, out)
        pkt = out
    ihl = (pkt[0] & 15) << 2
    proto = pkt[9]
    delivered = False
    if dp.raw_socks:
        from .raw import raw_local_deliver

        delivered = raw_local_deliver(dev, pkt, proto, rt)
    handler = inet_protos.get(proto)
    if handler is not None:
        dp.mib["InDelivers"] += 1
        handler(dev, pkt, ihl, rt, summed)
    elif not delivered:
        from .icmp import icmp_send

        dp.mib["InUnknownProtos"] += 1
        icmp_send(pkt, rt, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH)
    else:
        dp.mib["InDelivers"] += 1


def _defrag(dev: NetDevice, pkt: bytes) -> bytes | None:
    from .ip_fragment import IpFragQueues

    net = dev.net
    dp = ipv4_dp(net)
    queues = dp.frags
    if queues is None:
        queues = dp.frags = IpFragQueues(net.kernel.sched, lambda: _frag_params(dev),
                                         lambda first: _frag_expired(dev, first))
    return queues.defrag(pkt, None)


def _frag_params(dev: NetDevice) -> tuple[int, int, int]:
    from .datapath_state import sysctl_int

    net = dev.net
    return (sysctl_int(net, "net.ipv4.ipfrag_high_thresh"),
            sysctl_int(net, "net.ipv4.ipfrag_low_thresh"),
            sysctl_int(net, "net.ipv4.ipfrag_time"))


def _frag_expired(dev: NetDevice, first: bytes) -> None:
    """ip_expire: the sender of an incomplete datagram hears of it."""
    from ..wire.icmp import ICMP_EXC_FRAGTIME, ICMP_TIME_EXCEEDED
    from .icmp import icmp_send
    from .route import RTCF_LOCAL, OutputRoute

    if dev.reg_state != 1:
        return
    daddr = int.from_bytes(first[16:20], "big")
    saddr = int.from_bytes(first[12:16], "big")
    rt = OutputRoute(2, daddr, saddr, dev, flags=RTCF_LOCAL, is_input=True, iif=dev.ifindex)
    icmp_send(first, rt, ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME)


def ip_input_register() -> None:
    from ..dev.datapath import dev_add_pack, ptype_list
    from ..wire.ethernet import ETH_P_ARP, ETH_P_IP
    from .icmp import icmp_rcv
    from .neigh_resolve import arp_rcv

    dev_add_pack(ETH_P_IP, ip_rcv)
    ptype_list[ETH_P_IP] = ip_list_rcv
    dev_add_pack(ETH_P_ARP, arp_rcv)
    inet_protos[IPPROTO_ICMP] = icmp_rcv
