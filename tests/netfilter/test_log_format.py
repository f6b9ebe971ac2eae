"""LOG lines for packets the recorded case does not send: the branches of
nf_log_syslog.c's dump (IP options, truncated headers, ICMP kinds, ESP/AH,
other protocols, marks, --log-macdecode on lo)."""

from __future__ import annotations

import struct

from usernet.dev.loopback import Loopback
from usernet.dev.netdevice import NetDevice
from usernet.netfilter.nf_log import (
    NF_LOG_IPOPT,
    NF_LOG_MACDECODE,
    NF_LOG_TCPOPT,
    NF_LOG_TCPSEQ,
    format_log,
)
from usernet.wire.checksum import ip_checksum


def ip(proto: int, body: bytes, *, opts: bytes = b"", frag: int = 0x4000, tos: int = 0,
       tot_len: int | None = None) -> bytes:
    ihl = 5 + len(opts) // 4
    n = tot_len if tot_len is not None else ihl * 4 + len(body)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, n, 7, frag, 64, proto, 0,
                      bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2))) + opts
    hdr = hdr[:10] + ip_checksum(hdr).to_bytes(2, "big") + hdr[12:]
    return hdr + body


HEAD = "SRC=10.0.0.1 DST=10.0.0.2 LEN={} TOS=0x00 PREC=0x00 TTL=64 ID=7 "


def dev(name: str) -> NetDevice:
    return NetDevice(name, b"\x02\0\0\0\0\x01")


def test_ip_options_and_flags() -> None:
    pkt = ip(17, struct.pack("!HHHH", 53, 54, 8, 0), opts=b"\x94\x04\x00\x00",
             frag=0xC000, tos=0xB9)
    line = format_log("p ", NF_LOG_IPOPT, pkt, None, dev("eth1"))
    assert line == ("p IN= OUT=eth1 SRC=10.0.0.1 DST=10.0.0.2 LEN=32 TOS=0x18 PREC=0xA0 "
                    "TTL=64 ID=7 CE DF OPT (94040000) PROTO=UDP SPT=53 DPT=54 LEN=8 ")
    assert "OPT" not in format_log("", 0, pkt, None, None)


def test_fragment_offsets_and_protocols() -> None:
    frag = ip(6, b"\0" * 8, frag=0x2000 | 185)
    assert format_log("", 0, frag, None, None) == \
        "IN= OUT= " + HEAD.format(28) + "MF FRAG:185 PROTO=TCP "
    assert format_log("", 0, ip(47, b"\0" * 4), None, None).endswith("DF PROTO=47 ")
    esp = ip(50, struct.pack("!II", 0x1234, 1))
    assert format_log("", 0, esp, None, None).endswith("PROTO=ESP SPI=0x1234 ")
    ah = ip(51, struct.pack("!BBHII", 6, 4, 0, 0xBEEF, 1))
    assert format_log("", 0, ah, None, None).endswith("PROTO=AH SPI=0xbeef ")
    assert format_log("", 0, ip(50, b"\0\0"), None, None).endswith(
        "PROTO=ESP INCOMPLETE [2 bytes] ")


def test_truncated_headers() -> None:
    assert format_log("", 0, ip(6, b"\0" * 10), None, None).endswith(
        "PROTO=TCP INCOMPLETE [10 bytes] ")
    assert format_log("", 0, ip(17, b"\0" * 4), None, None).endswith(
        "PROTO=UDP INCOMPLETE [4 bytes] ")
    assert format_log("", 0, ip(1, b"\x08\0"), None, None).endswith(
        "PROTO=ICMP INCOMPLETE [2 bytes] ")
    # an echo needs 4 bytes, a destination unreachable 28
    assert format_log("", 0, ip(1, b"\x03\x01" + b"\0" * 10), None, None).endswith(
        "PROTO=ICMP TYPE=3 CODE=1 INCOMPLETE [12 bytes] ")
    assert format_log("", 0, b"\x45\0\0\x14", None, None) == "IN= OUT= TRUNCATED"


def test_icmp_kinds() -> None:
    inner = ip(6, struct.pack("!HHI", 1234, 80, 99))  # only 8 bytes of TCP quoted
    frag_needed = ip(1, struct.pack("!BBHHH", 3, 4, 0, 0, 1400) + inner)
    line = format_log("", 0, frag_needed, None, None)
    assert line.endswith("PROTO=ICMP TYPE=3 CODE=4 [" + HEAD.format(28) +
                         "DF PROTO=TCP INCOMPLETE [8 bytes] ] MTU=1400 ")
    redirect = ip(1, struct.pack("!BBH4s", 5, 1, 0, bytes((10, 0, 0, 9))) + inner)
    assert "TYPE=5 CODE=1 GATEWAY=10.0.0.9 [" in format_log("", 0, redirect, None, None)
    param = ip(1, struct.pack("!BBHBBH", 12, 0, 0, 20, 0, 0) + inner)
    assert "TYPE=12 CODE=0 PARAMETER=20 " in format_log("", 0, param, None, None)
    ts_request = ip(1, struct.pack("!BBHHH", 13, 0, 0, 1, 1) + b"\0" * 12)
    assert format_log("", 0, ts_request, None, None).endswith("TYPE=13 CODE=0 ")


def test_tcp_flags_options_sequence_and_mark() -> None:
    opts = bytes.fromhex("020405b4")
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 5, 6, (6 << 4) | 0x0E, 0xFF, 512, 0, 3) + opts
    line = format_log("", NF_LOG_TCPSEQ | NF_LOG_TCPOPT, ip(6, tcp), None, None, mark=0x1F)
    assert line.endswith("PROTO=TCP SPT=40000 DPT=80 SEQ=5 ACK=6 WINDOW=512 RES=0x38 "
                         "CWR ECE URG ACK PSH RST SYN FIN URGP=3 OPT (020405B4) MARK=0x1f ")


def test_mac_forms() -> None:
    frame = bytes.fromhex("020000000002" "020000000001" "0800")
    pkt = ip(1, struct.pack("!BBHHH", 8, 0, 0, 1, 2))
    eth = dev("eth0")
    assert " MAC=02:00:00:00:00:02:02:00:00:00:00:01:08:00 SRC=" in \
        format_log("", 0, pkt, eth, None, mac=frame)
    assert " MACSRC=02:00:00:00:00:01 MACDST=02:00:00:00:00:02 MACPROTO=0800 SRC=" in \
        format_log("", NF_LOG_MACDECODE, pkt, eth, None, mac=frame)
    lo = Loopback()
    zero = bytes(12) + b"\x08\x00"
    assert " MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=" in \
        format_log("", NF_LOG_MACDECODE, pkt, lo, None, mac=zero)
    assert "IN=eth0 OUT= MAC= SRC=" in format_log("", 0, pkt, eth, None)
