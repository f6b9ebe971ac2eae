"""The TCP header and its options (RFC 9293 3.1, RFC 7323, RFC 2018).

Everything goes through precompiled structs: a data segment's whole header
-- Ethernet, IPv4, TCP and the timestamp option Linux puts on every segment
-- is one ``pack`` call, and parsing the common options block (NOP, NOP,
timestamps) is one ``unpack_from``.  Options are written in Linux's order:
a SYN carries ``mss, sackOK, TS, nop, wscale`` (20 bytes), data and ACKs
``nop, nop, TS`` followed by ``nop, nop, sack`` blocks when there are any.
"""

from __future__ import annotations

import struct

TCP_HLEN = 20

# flags (the low byte of the 13th/14th header bytes)
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80

# option kinds
TCPOPT_EOL = 0
TCPOPT_NOP = 1
TCPOPT_MSS = 2
TCPOPT_WINDOW = 3
TCPOPT_SACK_PERM = 4
TCPOPT_SACK = 5
TCPOPT_TIMESTAMP = 8

TCPOLEN_TSTAMP_ALIGNED = 12
TCPOLEN_SACK_BASE_ALIGNED = 4
TCPOLEN_SACK_PERBLOCK = 8
MAX_SACK_BLOCKS = 4  # 3 when timestamps are on (40 bytes of option space)

# sport, dport, seq, ack, data offset << 4, flags, window, checksum, urgent pointer
TCP_HDR = struct.Struct("!HHIIBBHHH")
# The NOP, NOP, kind 8, length 10 prefix of an aligned timestamp option
TS_PREFIX = 0x0101080A
TS_PREFIX_BYTES = b"\x01\x01\x08\x0a"
_TS = struct.Struct("!II")
_TS_ALIGNED = struct.Struct("!III")
# A SYN's options as Linux writes them: mss, sackOK, TS, nop, wscale
_SYN_OPTS_FULL = struct.Struct("!BBHBBBBIIBBBB")
_SACK_BLOCK = struct.Struct("!II")
# The same 20 bytes as parse_options' fast path reads them: kind+len of MSS,
# mss, kind+len of sackOK and of TS, tsval, tsecr, nop+kind+len of wscale and it
_SYN_LAYOUT = struct.Struct("!HHIIII")

# Ethernet header (cached hh), IPv4 header, TCP header: one pack per segment
FRAME_HDR = struct.Struct("!14sBBHHHBBHIIHHIIBBHHH")
# ... with the aligned timestamp option
FRAME_HDR_TS = struct.Struct("!14sBBHHHBBHIIHHIIBBHHHIII")
# IPv4 + TCP (no link-layer header), for the generic output path
IP_TCP_HDR = struct.Struct("!BBHHHBBHIIHHIIBBHHH")
IP_TCP_HDR_TS = struct.Struct("!BBHHHBBHIIHHIIBBHHHIII")


class TcpOptions:
    """What a segment's options said (struct tcp_options_received, in part)."""

    __slots__ = ("mss", "sack", "sack_ok", "saw_ts", "tsecr", "tsval", "wscale")

    def __init__(self) -> None:
        self.mss = 0
        self.wscale = -1  # -1: no window scale option
        self.sack_ok = False
        self.saw_ts = False
        self.tsval = 0
        self.tsecr = 0
        self.sack: list[tuple[int, int]] | None = None

    def __repr__(self) -> str:
        return (f"TcpOptions(mss={self.mss}, wscale={self.wscale}, sack_ok={self.sack_ok}, "
                f"ts={(self.tsval, self.tsecr) if self.saw_ts else None}, sack={self.sack})")


def parse_options(buf: bytes | memoryview, start: int, end: int, syn: bool) -> TcpOptions:
    """tcp_parse_options: walk the options between ``start`` and ``end``.

    Malformed options end the walk silently, as Linux does; MSS, window
    scale and SACK-permitted count only on SYN segments."""
    opt = TcpOptions()
    if syn and end - start == 20 and start >= 0 and len(buf) >= end:
        # Linux's own SYN layout (mss, sackOK, TS, nop, wscale): one unpack
        # instead of the walk, with the walk's exact outcome.
        k_mss, mss, k_sack_ts, tsval, tsecr, k_ws = _SYN_LAYOUT.unpack_from(buf, start)
        if k_mss == 0x0204 and k_sack_ts == 0x0402080A and k_ws >> 8 == 0x010303:
            if mss:
                opt.mss = mss
            opt.sack_ok = True
            opt.saw_ts = True
            opt.tsval = tsval
            opt.tsecr = tsecr
            ws = k_ws & 0xFF
            opt.wscale = ws if ws < 14 else 14  # RFC 7323 2.3 (not min(): every SYN)
            return opt
    elif end - start == 12 and start >= 0 and len(buf) >= end:
        # NOP, NOP, TS: every segment of a connection with timestamps; the
        # walk's outcome without the walk
        prefix, tsval, tsecr = _TS_ALIGNED.unpack_from(buf, start)
        if prefix == TS_PREFIX:
            opt.saw_ts = True
            opt.tsval = tsval
            opt.tsecr = tsecr
            return opt
    return walk_options(opt, buf, start, end, syn)


def walk_options(opt: TcpOptions, buf: bytes | memoryview, start: int, end: int,
                 syn: bool) -> TcpOptions:
    """parse_options' general road: the option-by-option walk into ``opt``."""
    i = start
    while i < end:
        kind = buf[i]
        if kind == TCPOPT_EOL:
            break
        if kind == TCPOPT_NOP:
            i += 1
            continue
        if i + 1 >= end:
            break
        size = buf[i + 1]
        if size < 2 or i + size > end:
            break  # "don't parse partial options"
        if kind == TCPOPT_MSS:
            if size == 4 and syn:
                mss = (buf[i + 2] << 8) | buf[i + 3]
                if mss:
                    opt.mss = mss
        elif kind == TCPOPT_WINDOW:
            if size == 3 and syn:
                opt.wscale = min(buf[i + 2], 14)  # RFC 7323 2.3: values above 14 are 14
        elif kind == TCPOPT_TIMESTAMP:
            if size == 10:
                opt.saw_ts = True
                opt.tsval, opt.tsecr = _TS.unpack_from(buf, i + 2)
        elif kind == TCPOPT_SACK_PERM:
            if size == 2 and syn:
                opt.sack_ok = True
        elif kind == TCPOPT_SACK:
            n = size - 2
            if n >= 8 and n % 8 == 0:
                opt.sack = [_SACK_BLOCK.unpack_from(buf, i + 2 + 8 * k) for k in range(n // 8)]
        i += size
    return opt


def ts_fast(buf: bytes | memoryview, start: int) -> tuple[int, int] | None:
    """The common case: exactly NOP, NOP, TS.  (tsval, tsecr) or None."""
    prefix, tsval, tsecr = _TS_ALIGNED.unpack_from(buf, start)
    if prefix == TS_PREFIX:
        return tsval, tsecr
    return None


def syn_options(mss: int, sack: bool, ts: tuple[int, int] | None, wscale: int) -> bytes:
    """A SYN's or SYN-ACK's options, laid out as tcp_options_write does:
    mss; sackOK+TS together, or nop nop TS, or nop nop sackOK; nop wscale."""
    if ts is not None and sack and 0 <= wscale <= 255:
        # What Linux peers exchange: the whole block in one pack.
        return _SYN_OPTS_FULL.pack(TCPOPT_MSS, 4, mss, TCPOPT_SACK_PERM, 2, TCPOPT_TIMESTAMP,
                                   10, ts[0], ts[1], TCPOPT_NOP, TCPOPT_WINDOW, 3, wscale)
    out = bytearray(struct.pack("!BBH", TCPOPT_MSS, 4, mss))
    if ts is not None:
        if sack:
            out += struct.pack("!BBBBII", TCPOPT_SACK_PERM, 2, TCPOPT_TIMESTAMP, 10, *ts)
        else:
            out += struct.pack("!BBBBII", TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, 10, *ts)
    elif sack:
        out += bytes((TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK_PERM, 2))
    if wscale >= 0:
        out += bytes((TCPOPT_NOP, TCPOPT_WINDOW, 3, wscale))
    return bytes(out)


def sack_option(blocks: list[tuple[int, int]]) -> bytes:
    """nop, nop, SACK with the blocks (32-bit sequence numbers)."""
    n = len(blocks)
    return struct.pack(f"!BBBB{2 * n}I", TCPOPT_NOP, TCPOPT_NOP, TCPOPT_SACK, 2 + 8 * n,
                       *[x & 0xFFFFFFFF for b in blocks for x in b])


def ts_option(tsval: int, tsecr: int) -> bytes:
    return _TS_ALIGNED.pack(TS_PREFIX, tsval & 0xFFFFFFFF, tsecr & 0xFFFFFFFF)


def flags_str(flags: int) -> str:
    """tcpdump's letters for ``flags``."""
    return "".join(ch for bit, ch in ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"),
                                      (ACK, "."), (URG, "U"), (ECE, "E"), (CWR, "W"))
                   if flags & bit) or "none"
