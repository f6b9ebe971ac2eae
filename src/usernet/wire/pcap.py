"""Classic libpcap capture files (the format ``tcpdump -w`` writes).

The writer always produces nanosecond files (magic 0xa1b23c4d) because the
emulator's clock is in nanoseconds; tcpdump, tshark and libpcap >= 1.5 read
them.  The reader accepts both precisions in both byte orders so captures
written by real tools can be compared with ours.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

MAGIC_USEC = 0xA1B2C3D4
MAGIC_NSEC = 0xA1B23C4D
VERSION_MAJOR = 2
VERSION_MINOR = 4
SNAPLEN = 262144  # tcpdump's default (MAXIMUM_SNAPLEN)
LINKTYPE_ETHERNET = 1  # DLT_EN10MB

# magic, version major/minor, thiszone, sigfigs, snaplen, linktype
FILE_HDR = struct.Struct("<IHHiIII")
# ts seconds, ts fraction (usec or nsec), captured length, original length
REC_HDR = struct.Struct("<IIII")

_FILE_HDRS = {"<": FILE_HDR, ">": struct.Struct(">IHHiIII")}
_REC_HDRS = {"<": REC_HDR, ">": struct.Struct(">IIII")}


class PcapWriter:
    """Appends frames to a binary file object as an EN10MB nanosecond capture.

    The file header goes out on construction, so even a capture that saw no
    packets is a valid file (tcpdump -r prints nothing for it).
    """

    def __init__(self, fileobj: BinaryIO, snaplen: int = SNAPLEN) -> None:
        self._f = fileobj
        self.snaplen = snaplen
        self._f.write(FILE_HDR.pack(MAGIC_NSEC, VERSION_MAJOR, VERSION_MINOR, 0, 0,
                                    snaplen, LINKTYPE_ETHERNET))

    def write(self, ts_ns: int, frame: bytes | bytearray | memoryview) -> None:
        """One record; frames longer than the snaplen are cut, keeping their wire length."""
        if ts_ns < 0:
            raise ValueError(f"pcap timestamps cannot be negative: {ts_ns}")
        sec, nsec = divmod(ts_ns, 1_000_000_000)
        if sec > 0xFFFFFFFF:
            raise ValueError(f"timestamp {ts_ns} ns does not fit a 32-bit seconds field")
        wire_len = len(frame)
        cap = frame[:self.snaplen] if wire_len > self.snaplen else frame
        self._f.write(REC_HDR.pack(sec, nsec, len(cap), wire_len))
        self._f.write(cap)

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _byte_order(data: bytes) -> tuple[str, int]:
    """('<' or '>', nanoseconds per fraction unit) from the file's magic."""
    if len(data) < FILE_HDR.size:
        raise ValueError(f"pcap file too short for its header: {len(data)} bytes, "
                         f"need {FILE_HDR.size}")
    for order in "<>":
        magic = struct.unpack_from(order + "I", data)[0]
        if magic == MAGIC_USEC:
            return order, 1000
        if magic == MAGIC_NSEC:
            return order, 1
    raise ValueError(f"not a pcap file: bad magic 0x{data[:4].hex()}")


def read_pcap(data: bytes) -> list[tuple[int, bytes]]:
    """Every record as (timestamp in ns, captured bytes); ValueError if malformed."""
    order, unit = _byte_order(data)
    _, major, minor, _, _, snaplen, linktype = _FILE_HDRS[order].unpack_from(data)
    if (major, minor) != (VERSION_MAJOR, VERSION_MINOR):
        raise ValueError(f"unsupported pcap version {major}.{minor}")
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError(f"unsupported pcap link type {linktype} (only 1, EN10MB)")
    rec = _REC_HDRS[order]
    out: list[tuple[int, bytes]] = []
    off = FILE_HDR.size
    while off < len(data):
        if off + rec.size > len(data):
            raise ValueError(f"pcap record {len(out)} truncated in its header at offset {off}")
        sec, frac, caplen, wire_len = rec.unpack_from(data, off)
        off += rec.size
        if frac * unit >= 1_000_000_000:
            raise ValueError(f"pcap record {len(out)} has fraction {frac} out of range")
        if caplen > max(snaplen, SNAPLEN) or caplen > wire_len:
            raise ValueError(f"pcap record {len(out)} has bad lengths: caplen {caplen}, "
                             f"len {wire_len}, snaplen {snaplen}")
        if off + caplen > len(data):
            raise ValueError(f"pcap record {len(out)} truncated: needs {caplen} bytes, "
                             f"{len(data) - off} left")
        out.append((sec * 1_000_000_000 + frac * unit, data[off:off + caplen]))
        off += caplen
    return out
