"""Generic segmentation offload: TCP segments bigger than the MTU.

Linux's TCP hands veth, lo and bridges "super-segments" of up to 64 KiB (one
skb whose ``gso_size`` says how big each wire segment would be), veth and
bridges pass them on whole, and a receiver's GRO hands TCP such aggregates
too, so a bulk transfer costs per 64 KiB, not per MSS.  Captures on those
devices show the big segments, as tcpdump on a veth does.

A frame stays plain ``bytes``: a super-segment is recognised by what it is
-- an IPv4 TCP packet longer than the MTU of the device it leaves by (or
came in by), which the stack only ever builds for a device that takes it
whole -- so ordinary frames cost nothing extra.  Its segment size is not
carried: where one is needed (the MTU check of a router, cutting it for a
device without GSO) the segments are taken to fill that MTU, which is what
the sender's MSS is for the path.  :func:`gso_segment` does the cutting, as
``validate_xmit_skb``/``skb_segment`` do.
"""

from __future__ import annotations

import struct

from .checksum import ip_checksum, pseudo_header_sum

_IP = struct.Struct("!BBHHHBBHII")
_TCP_SEQ = struct.Struct("!I")


def gso_size(pkt: bytes, l3_off: int, mtu: int) -> int:
    """The segment size of a TCP super-segment -- an IPv4/TCP packet (at
    ``l3_off``) longer than ``mtu`` -- or 0 for anything else.  A frame may
    legitimately exceed the MTU by 4 bytes (a VLAN tag's worth), so only
    longer ones count."""
    n = len(pkt) - l3_off
    if n <= mtu + 4 or n < 40 or pkt[l3_off + 9] != 6 or pkt[l3_off] >> 4 != 4:
        return 0
    ihl = (pkt[l3_off] & 15) << 2
    doff = (pkt[l3_off + ihl + 12] >> 4) << 2
    return max(mtu - ihl - doff, 1)


def gso_segment(frame: bytes, l3_off: int, size: int) -> list[bytes]:
    """skb_segment for IPv4/TCP: cut a super-segment into ``size``-byte ones.

    Each segment gets the headers with its own IP length, ID (incremented)
    and checksum, and its own TCP sequence number; FIN and PSH stay on the
    last one, CWR on the first.  The TCP checksum is left as the sender left
    it, CHECKSUM_PARTIAL: the pseudo-header sum (which depends on the
    length), as Linux leaves it for a device that will finish it."""
    vihl, tos, tot_len, ident, frag, ttl, proto, _csum, saddr, daddr = \
        _IP.unpack_from(frame, l3_off)
    ihl = (vihl & 15) << 2
    t = l3_off + ihl
    doff = (frame[t + 12] >> 4) << 2
    flags = frame[t + 13]
    seq = _TCP_SEQ.unpack_from(frame, t + 4)[0]
    payload_off = t + doff
    end = l3_off + tot_len
    if size <= 0 or end - payload_off <= size:
        return [bytes(frame)]
    link = bytes(frame[:l3_off])
    ip_opts = bytes(frame[l3_off + 20:t])
    tcp_ports = bytes(frame[t:t + 4])
    tcp_ack = bytes(frame[t + 8:t + 12])
    tcp_win = bytes(frame[t + 14:t + 16])
    tcp_tail = bytes(frame[t + 18:payload_off])  # urgent pointer and options
    out: list[bytes] = []
    off = payload_off
    first = True
    while off < end:
        n = min(size, end - off)
        last = off + n >= end
        f = flags & ~(0x01 | 0x08) if not last else flags
        if not first:
            f &= ~0x80
        seg_len = doff + n
        ip = _IP.pack(vihl, tos, ihl + seg_len, ident & 0xFFFF, frag, ttl, proto, 0, saddr, daddr)
        ip += ip_opts
        ip = ip[:10] + ip_checksum(ip).to_bytes(2, "big") + ip[12:]
        check = pseudo_header_sum(saddr, daddr, proto, seg_len) or 0xFFFF
        tcp = b"".join((tcp_ports, _TCP_SEQ.pack(seq & 0xFFFFFFFF), tcp_ack,
                        bytes((frame[t + 12], f)), tcp_win, check.to_bytes(2, "big"), tcp_tail))
        out.append(b"".join((link, ip, tcp, frame[off:off + n])))
        ident += 1
        seq += n
        off += n
        first = False
    return out
