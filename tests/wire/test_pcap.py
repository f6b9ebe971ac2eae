"""Classic pcap files: the bytes we write, what we read back, and what the real
tcpdump and tshark make of our files when they are installed."""

from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from usernet.wire.pcap import (
    FILE_HDR,
    MAGIC_NSEC,
    MAGIC_USEC,
    REC_HDR,
    SNAPLEN,
    PcapWriter,
    read_pcap,
)

FRAMES = [bytes(range(60)), b"\xff" * 42, bytes(1514)]
TIMES = [0, 1_000_000_007, 86_400_123_456_789]


def written(frames: list[bytes] = FRAMES, times: list[int] = TIMES, **kw: int) -> bytes:
    buf = io.BytesIO()
    writer = PcapWriter(buf, **kw)
    for ts, frame in zip(times, frames, strict=True):
        writer.write(ts, frame)
    writer.flush()
    return buf.getvalue()


def test_file_header() -> None:
    data = written([], [])
    assert data == struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1)
    assert FILE_HDR.size == len(data) == 24


def test_record_layout() -> None:
    data = written([b"abc"], [5_000_000_123])
    assert REC_HDR.unpack_from(data, 24) == (5, 123, 3, 3)
    assert data[40:] == b"abc"


def test_round_trip() -> None:
    assert read_pcap(written()) == list(zip(TIMES, FRAMES, strict=True))


def test_snaplen_cuts_but_keeps_wire_length() -> None:
    data = written([bytes(200)], [0], snaplen=100)
    assert REC_HDR.unpack_from(data, 24)[2:] == (100, 200)
    assert read_pcap(data) == [(0, bytes(100))]


def test_writer_rejects_bad_timestamps() -> None:
    writer = PcapWriter(io.BytesIO())
    with pytest.raises(ValueError, match="negative"):
        writer.write(-1, b"x")
    with pytest.raises(ValueError, match="32-bit"):
        writer.write(2**32 * 1_000_000_000, b"x")


def test_context_manager_closes() -> None:
    buf = io.BytesIO()
    with PcapWriter(buf) as writer:
        writer.write(0, b"x")
    assert buf.closed


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize(("magic", "scale"), [(MAGIC_USEC, 1000), (MAGIC_NSEC, 1)])
def test_reads_both_precisions_and_byte_orders(order: str, magic: int, scale: int) -> None:
    data = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, SNAPLEN, 1)
    data += struct.pack(order + "IIII", 7, 250, 2, 2) + b"hi"
    assert read_pcap(data) == [(7_000_000_000 + 250 * scale, b"hi")]


def header(magic: int = MAGIC_NSEC, version: tuple[int, int] = (2, 4), link: int = 1) -> bytes:
    return struct.pack("<IHHiIII", magic, *version, 0, 0, SNAPLEN, link)


@pytest.mark.parametrize(("data", "message"), [
    (b"", "too short for its header"),
    (b"\xd4\xc3\xb2", "too short for its header"),
    (b"\x0a\x0d\x0d\x0a" + bytes(20), "bad magic 0x0a0d0d0a"),
    (header(version=(2, 3)), "unsupported pcap version 2.3"),
    (header(link=113), "unsupported pcap link type 113"),
    (header() + bytes(10), "record 0 truncated in its header"),
    (header() + REC_HDR.pack(0, 0, 10, 10) + bytes(4), "record 0 truncated: needs 10 bytes, 4"),
    (header() + REC_HDR.pack(0, 0, 10, 5) + bytes(10), "record 0 has bad lengths"),
    (header() + REC_HDR.pack(0, 10**9, 1, 1) + b"x", "fraction 1000000000 out of range"),
    (header(MAGIC_USEC) + REC_HDR.pack(0, 10**6, 1, 1) + b"x", "out of range"),
])
def test_malformed_files(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        read_pcap(data)


def test_second_record_errors_name_it() -> None:
    data = written() + REC_HDR.pack(0, 0, 5, 5)
    with pytest.raises(ValueError, match="record 3 truncated"):
        read_pcap(data)


def tool(name: str) -> str | None:
    for path in (f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


@pytest.mark.skipif(tool("tcpdump") is None, reason="tcpdump is not installed")
def test_tcpdump_reads_our_file_with_nanoseconds(tmp_path: Path) -> None:
    path = tmp_path / "cap.pcap"
    path.write_bytes(written())
    out = subprocess.run([str(tool("tcpdump")), "--nano", "-tt", "-n", "-r", str(path)],
                         capture_output=True, text=True, check=True)
    stamps = [line.split(" ", 1)[0] for line in out.stdout.splitlines() if line[0].isdigit()]
    assert stamps == ["0.000000000", "1.000000007", "86400.123456789"]
    assert "link-type EN10MB (Ethernet), snapshot length 262144" in out.stderr


@pytest.mark.skipif(tool("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_our_file(tmp_path: Path) -> None:
    path = tmp_path / "cap.pcap"
    path.write_bytes(written())
    out = subprocess.run([str(tool("tshark")), "-r", str(path), "-T", "fields",
                          "-e", "frame.time_epoch", "-e", "frame.len"],
                         capture_output=True, text=True, check=True)
    rows = [line.split("\t") for line in out.stdout.splitlines()]
    assert rows == [["0.000000000", "60"], ["1.000000007", "42"],
                    ["86400.123456789", "1514"]]
