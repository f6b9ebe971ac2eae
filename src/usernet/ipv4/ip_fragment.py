"""IPv4 fragmentation and reassembly.

``ip_fragment`` is the slow path of ``ip_do_fragment`` (net/ipv4/ip_output.c);
``IpFragQueues`` is one namespace's reassembly state, ``ip_defrag`` and its
helpers (net/ipv4/ip_fragment.c) on top of the generic queue code
(net/ipv4/inet_fragment.c).  Both work on whole packets as bytes: header,
options and payload, the length being ``len(packet)`` (ip_rcv has already
trimmed the buffer to ``tot_len``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Final

from ..sched import NSEC_PER_SEC, Scheduler, Timer
from ..wire.checksum import ip_checksum
from ..wire.ipv4 import IP_DF, IP_MF, IP_OFFSET, IPV4_HDR, IPV4_HLEN

IPOPT_END: Final = 0
IPOPT_NOOP: Final = 1
IPOPT_COPY: Final = 0x80

# Memory charged to the namespace, as Linux charges frag_mem_limit.  A queued
# fragment costs its skb's truesize; we model SKB_TRUESIZE(len): the data plus
# SKB_DATA_ALIGN(sizeof(struct sk_buff)) 256 + SKB_DATA_ALIGN(sizeof(struct
# skb_shared_info)) 320 on x86_64 -- the same 576 bytes as neighbour.py's
# SKB_TRUESIZE_ETH (2090 = 1514 + 576).  Real truesize depends on the driver's
# buffers, so this is a model, not a byte-exact match.
SKB_OVERHEAD: Final = 576
# Each queue is charged f->qsize on creation (inet_frag_alloc): sizeof(struct
# ipq), 200 bytes on x86_64 Linux 6.18 (read off /proc/net/sockstat's FRAG
# memory: a queue's first fragment costs 200 more than its second).
IPQ_SIZE: Final = 200

# inet_frag_queue flags (include/net/inet_frag.h).
INET_FRAG_FIRST_IN: Final = 1
INET_FRAG_LAST_IN: Final = 2

# inet_frag_queue_insert() results.
IPFRAG_OK: Final = 0
IPFRAG_DUP: Final = 1
IPFRAG_OVERLAP: Final = 2

IP_MAX_PACKET: Final = 0xFFFF


def _ecn_entry(bits: int) -> int:
    """ip_frag_ecn_table[bits]: bits is the OR of 1 << (tos & 3) over the
    fragments; 0xff drops the datagram, otherwise the value is ORed into tos
    (RFC 3168 section 5.3)."""
    not_ect, ect_1, ect_0, ce = 1, 2, 4, 8
    if bits & not_ect and bits != not_ect:
        return 0xFF
    if bits & ce and bits & (ect_0 | ect_1):
        return 3  # INET_ECN_CE
    return 0


_ECN_TABLE: Final = tuple(_ecn_entry(bits) for bits in range(16))


def _set_fields(hdr: bytearray, tot_len: int, frag_off: int) -> None:
    """Write tot_len and frag_off into a header and recompute its checksum."""
    hdr[2:4] = tot_len.to_bytes(2, "big")
    hdr[6:8] = frag_off.to_bytes(2, "big")
    hdr[10:12] = b"\x00\x00"
    hdr[10:12] = ip_checksum(hdr).to_bytes(2, "big")


def ip_options_fragment(hdr: bytearray) -> None:
    """Turn the options not marked "copied" into NOOPs, in place.

    Linux keeps the header length of every fragment; after the first one it
    overwrites the options that must not be repeated (ip_options_fragment
    in net/ipv4/ip_options.c), so the header never needs re-padding."""
    i, end = IPV4_HLEN, len(hdr)
    while i < end:
        kind = hdr[i]
        if kind == IPOPT_END:
            return
        if kind == IPOPT_NOOP:
            i += 1
            continue
        optlen = hdr[i + 1] if end - i >= 2 else 0
        if optlen < 2 or optlen > end - i:
            return  # malformed: leave the rest alone, as Linux does
        if not kind & IPOPT_COPY:
            hdr[i:i + optlen] = bytes((IPOPT_NOOP,)) * optlen
        i += optlen


def ip_fragment(packet: bytes, mtu: int) -> list[bytes]:
    """Split ``packet`` into fragments of at most ``mtu`` bytes (ip_do_fragment's
    slow path: ip_frag_init / ip_frag_next / ip_frag_ipcb).

    Every fragment but the last carries a multiple of 8 payload bytes; offsets
    continue from the packet's own offset and MF stays set on the last one if
    the packet was itself a non-last fragment.  frag_off is rebuilt from
    scratch, so DF (and the reserved bit) are cleared: the caller has already
    refused DF packets.  A packet with no payload gives no fragments, as the
    kernel's loop does."""
    hlen = (packet[0] & 0x0F) * 4 if packet else 0
    if hlen < IPV4_HLEN or len(packet) < hlen:
        raise ValueError("not an IPv4 packet")
    room = mtu - hlen
    if room < 8:
        raise ValueError(f"mtu {mtu} leaves no room for data after a {hlen}-byte header")
    field = int.from_bytes(packet[6:8], "big")
    offset = (field & IP_OFFSET) << 3
    not_last = field & IP_MF
    hdr = bytearray(packet[:hlen])
    view = memoryview(packet)
    ptr, left = hlen, len(packet) - hlen
    frags: list[bytes] = []
    while left > 0:
        first = offset == 0
        n = left if left <= room else room & ~7
        left -= n
        _set_fields(hdr, n + hlen, (offset >> 3) | (IP_MF if left or not_last else 0))
        frags.append(b"".join((hdr, view[ptr:ptr + n])))
        ptr += n
        offset += n
        if first:
            # Only the datagram's real first fragment fixes the options;
            # a fragment being re-fragmented already had them fixed.
            ip_options_fragment(hdr)
    return frags


class IpFragStats:
    """The reassembly counters of /proc/net/snmp (and ReasmOverlaps from
    /proc/net/netstat's IpExt line), named as Linux prints them."""

    __slots__ = ("ReasmFails", "ReasmOKs", "ReasmOverlaps", "ReasmReqds", "ReasmTimeout")
    NAMES: Final = ("ReasmTimeout", "ReasmReqds", "ReasmOKs", "ReasmFails", "ReasmOverlaps")

    def __init__(self) -> None:
        self.ReasmTimeout = 0
        self.ReasmReqds = 0
        self.ReasmOKs = 0
        self.ReasmFails = 0
        self.ReasmOverlaps = 0

    def __getitem__(self, name: str) -> int:
        if name not in self.NAMES:
            raise KeyError(name)
        value: int = getattr(self, name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self.NAMES)

    def items(self) -> list[tuple[str, int]]:
        return [(name, self[name]) for name in self.NAMES]

    def __repr__(self) -> str:
        return f"IpFragStats({dict(self.items())})"


FragKey = tuple[int, int, int, int, object]


class _IpQueue:
    """One datagram being reassembled (struct ipq).

    Fragments never overlap, so they are kept sorted by offset in parallel
    lists.  Linux's rb-tree holds "runs" -- fragments appended in order at the
    tail are chained into one node -- and a new fragment wholly inside one
    run is a duplicate, while one crossing a run boundary is an overlap.  Runs
    change which of the two a fragment is, so they are kept too."""

    __slots__ = ("ecn", "flags", "frag_end", "frag_off", "frag_pkt", "key", "len",
                 "max_df_size", "max_size", "meat", "run_end", "run_start", "timer",
                 "truesize")

    def __init__(self, key: FragKey, timer: Timer) -> None:
        self.key = key
        self.timer = timer
        self.flags = 0
        self.len = 0  # datagram payload length, once known
        self.meat = 0  # payload bytes queued
        self.ecn = 0
        self.max_size = 0  # largest fragment (header included)
        self.max_df_size = 0  # largest fragment with DF set
        self.truesize = 0
        self.run_start: list[int] = []
        self.run_end: list[int] = []
        self.frag_off: list[int] = []
        self.frag_end: list[int] = []
        self.frag_pkt: list[bytes] = []

    def insert(self, offset: int, end: int, pkt: bytes) -> int:
        """inet_frag_queue_insert: IPFRAG_OK, IPFRAG_DUP or IPFRAG_OVERLAP."""
        starts, ends = self.run_start, self.run_end
        if not starts or ends[-1] < end:
            # The common case: the fragment goes after everything queued.
            tail = ends[-1] if ends else -1
            if offset < tail:
                return IPFRAG_OVERLAP
            if offset == tail:
                ends[-1] = end
            else:
                starts.append(offset)
                ends.append(end)
            self.frag_off.append(offset)
            self.frag_end.append(end)
            self.frag_pkt.append(pkt)
            return IPFRAG_OK
        i = bisect_right(starts, offset) - 1
        if i >= 0 and ends[i] > offset:
            return IPFRAG_DUP if end <= ends[i] else IPFRAG_OVERLAP
        if i + 1 < len(starts) and starts[i + 1] < end:
            return IPFRAG_OVERLAP
        starts.insert(i + 1, offset)
        ends.insert(i + 1, end)
        j = bisect_right(self.frag_off, offset)
        self.frag_off.insert(j, offset)
        self.frag_end.insert(j, end)
        self.frag_pkt.insert(j, pkt)
        return IPFRAG_OK


class IpFragQueues:
    """A namespace's IPv4 reassembly queues (its fqdir).

    ``params()`` gives the namespace's current (ipfrag_high_thresh,
    ipfrag_low_thresh, ipfrag_time) sysctls.  ``on_timeout(first_fragment)``
    runs when a queue expires after its first fragment arrived, so the caller
    can send ICMP time exceeded / fragment reassembly time exceeded."""

    __slots__ = ("_mem", "_on_timeout", "_params", "_queues", "_sched", "stats")

    def __init__(self, sched: Scheduler, params: Callable[[], tuple[int, int, int]],
                 on_timeout: Callable[[bytes], None]) -> None:
        self._sched = sched
        self._params = params
        self._on_timeout = on_timeout
        self._queues: dict[FragKey, _IpQueue] = {}
        self._mem = 0
        self.stats = IpFragStats()

    def mem(self) -> int:
        """Bytes charged to the namespace (frag_mem_limit)."""
        return self._mem

    def __len__(self) -> int:
        return len(self._queues)

    def clear(self) -> None:
        """Namespace exit (fqdir_exit): drop every queue silently, no ICMP."""
        for q in self._queues.values():
            q.timer.cancel()
        self._queues.clear()
        self._mem = 0

    def defrag(self, packet: bytes, key_extra: object) -> bytes | None:
        """ip_defrag: queue one fragment; the whole datagram once complete.

        ``key_extra`` (hashable) separates queues the way Linux's defrag
        ``user`` and l3mdev ``vif`` do."""
        ihl = (packet[0] & 0x0F) * 4 if packet else 0
        if ihl < IPV4_HLEN or ihl > len(packet):
            return None  # ip_rcv_core drops these long before reassembly
        self.stats.ReasmReqds += 1
        q = self._find(packet, key_extra)
        if q is None:
            self.stats.ReasmFails += 1
            return None
        return self._queue(q, packet)

    def _find(self, packet: bytes, key_extra: object) -> _IpQueue | None:
        """inet_frag_find: over high_thresh nothing is queued, not even into
        an existing queue; Linux evicts nothing to make room."""
        high, _low, timeout = self._params()  # low_thresh has no effect since 4.17
        if high <= 0 or self._mem > high:
            return None
        _, _, _, ident, _, _, proto, _, saddr, daddr = IPV4_HDR.unpack_from(packet)
        key: FragKey = (saddr, daddr, ident, proto, key_extra)
        q = self._queues.get(key)
        if q is None:
            # The lifetime runs from creation; later fragments do not extend it.
            timer = self._sched.call_later(timeout * NSEC_PER_SEC, self._expire, key)
            q = self._queues[key] = _IpQueue(key, timer)
            self._mem += IPQ_SIZE
        return q

    def _queue(self, q: _IpQueue, pkt: bytes) -> bytes | None:
        """ip_frag_queue."""
        ihl = (pkt[0] & 0x0F) * 4
        field = (pkt[6] << 8) | pkt[7]
        offset = (field & IP_OFFSET) << 3
        end = offset + len(pkt) - ihl
        if field & IP_MF:
            end &= ~7  # a non-last fragment holds whole 8-byte blocks: trim the rest
            if end > q.len:
                if q.flags & INET_FRAG_LAST_IN:
                    self._discard(q)  # data beyond the end
                    return None
                q.len = end
        else:
            if end < q.len or (q.flags & INET_FRAG_LAST_IN and end != q.len):
                self._discard(q)  # data beyond it, or a second, different end
                return None
            q.flags |= INET_FRAG_LAST_IN
            q.len = end
        if end == offset:
            self._discard(q)
            return None
        res = q.insert(offset, end, pkt)
        if res == IPFRAG_DUP:
            return None  # RFC 5722 errata 3089: drop the copy, keep the queue
        if res == IPFRAG_OVERLAP:
            self.stats.ReasmOverlaps += 1
            self._discard(q)  # RFC 5722: the whole datagram goes
            return None
        self._account(q, pkt, ihl, field, offset, end)
        if q.flags == INET_FRAG_FIRST_IN | INET_FRAG_LAST_IN and q.meat == q.len:
            return self._reasm(q)
        return None

    def _account(self, q: _IpQueue, pkt: bytes, ihl: int, field: int, offset: int,
                 end: int) -> None:
        truesize = len(pkt) + SKB_OVERHEAD
        q.truesize += truesize
        self._mem += truesize
        q.meat += end - offset
        q.ecn |= 1 << (pkt[1] & 3)
        if offset == 0:
            q.flags |= INET_FRAG_FIRST_IN
        fragsize = ihl + end - offset
        q.max_size = max(q.max_size, fragsize)
        if field & IP_DF:
            q.max_df_size = max(q.max_df_size, fragsize)

    def _reasm(self, q: _IpQueue) -> bytes | None:
        """ip_frag_reasm: the first fragment's header over all the data."""
        self._kill(q)
        ecn = _ECN_TABLE[q.ecn]
        head = q.frag_pkt[0]
        ihl = (head[0] & 0x0F) * 4
        if ecn == 0xFF or ihl + q.len > IP_MAX_PACKET:  # the latter: "Oversized IP packet"
            self.stats.ReasmFails += 1
            return None
        hdr = bytearray(head[:ihl])
        hdr[1] |= ecn
        # DF only if the largest fragment had it, so a router re-fragmenting
        # never sends pieces bigger than the sender did.
        _set_fields(hdr, ihl + q.len, IP_DF if q.max_df_size == q.max_size else 0)
        parts: list[bytes | bytearray | memoryview] = [hdr]
        for off, end, pkt in zip(q.frag_off, q.frag_end, q.frag_pkt, strict=True):
            start = (pkt[0] & 0x0F) * 4
            parts.append(memoryview(pkt)[start:start + end - off])
        self.stats.ReasmOKs += 1
        return b"".join(parts)

    def _discard(self, q: _IpQueue) -> None:
        self._kill(q)
        self.stats.ReasmFails += 1

    def _kill(self, q: _IpQueue) -> None:
        """inet_frag_kill plus the final put: unhash, stop the timer, uncharge."""
        del self._queues[q.key]
        q.timer.cancel()
        self._mem -= q.truesize + IPQ_SIZE

    def _expire(self, key: FragKey) -> None:
        """ip_expire."""
        q = self._queues.get(key)
        if q is None:
            return
        self._kill(q)
        self.stats.ReasmFails += 1
        self.stats.ReasmTimeout += 1
        if q.flags & INET_FRAG_FIRST_IN:
            # The head as queued: its header and its (possibly trimmed) data.
            head = q.frag_pkt[0]
            self._on_timeout(head[:(head[0] & 0x0F) * 4 + q.frag_end[0]])
