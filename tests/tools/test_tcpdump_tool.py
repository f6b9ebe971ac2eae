"""The ``tcpdump`` tool and ``Kernel.capture``, in virtual time.

Expected texts come from tcpdump 4.99.3 / libpcap 1.10.3 (/usr/bin/tcpdump),
run with the same arguments in a scratch namespace or on the same pcap file
(``TZ=UTC tcpdump -n ...``); test_read_matches_real_tcpdump re-checks the
``-r`` printing against the binary when it is installed.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from usernet import Kernel
from usernet.errors import KernelError
from usernet.testing import ROUTER, check_determinism
from usernet.tools import Result
from usernet.tools.tcpdump import USAGE, VERSION, Capture, c_atoi, c_strtol
from usernet.tools.tcpdump_filter import FilterError
from usernet.wait import sleep
from usernet.wire.arp import arp_packet
from usernet.wire.ethernet import eth_header
from usernet.wire.icmp import icmp_message
from usernet.wire.ipv4 import addr_int, ipv4_header
from usernet.wire.pcap import FILE_HDR, MAGIC_NSEC, MAGIC_USEC, REC_HDR, read_pcap

PING = "ping -c 2 -i 0.2 -W 1 10.2.0.2"
LISTEN = ("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode\n"
          "listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n")
LISTEN_W = "tcpdump: listening on eth0, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n"


def stats(n: int) -> str:
    s = "" if n == 1 else "s"
    return (f"{n} packet{s} captured\n{n} packet{s} received by filter\n"
            "0 packets dropped by kernel\n")


def make_kernel(seed: int = 0) -> Kernel:
    k = Kernel(seed=seed)
    for line in ROUTER.splitlines():
        assert k.cmd(line).ok, line
    return k


@pytest.fixture
def k() -> Kernel:
    return make_kernel()


def tcpdump(k: Kernel, args: str, ns: str = "h1") -> Result:
    return k.cmd(f"ip netns exec {ns} tcpdump {args}")


def ping_in_background(k: Kernel, args: str = PING, ns: str = "h1") -> None:
    """Schedule a ping: it runs while the next command drives the scheduler."""
    k.spawn(k.cmd, args, netns=ns)


# -- option parsing and error texts ---------------------------------------------------

USAGE_ERRORS = [
    ("-Z", "tcpdump: option requires an argument -- 'Z'"),
    ("-i", "tcpdump: option requires an argument -- 'i'"),
    ("-c", "tcpdump: option requires an argument -- 'c'"),
    ("-P", "tcpdump: invalid option -- 'P'"),
    ("-n -g", "tcpdump: invalid option -- 'g'"),
    ("--badlong", "tcpdump: unrecognized option '--badlong'"),
    ("--print-sampling=2", "tcpdump: unrecognized option '--print-sampling=2'"),
    ("--version=3", "tcpdump: option '--version' doesn't allow an argument"),
    ("--interface", "tcpdump: option '--interface' requires an argument"),
    ("--time-stamp-type", "tcpdump: option '--time-stamp-type' requires an argument"),
    ("--time", "tcpdump: option '--time' is ambiguous; possibilities: '--time-stamp-type' "
               "'--time-stamp-precision'"),
]


@pytest.mark.parametrize(("args", "first"), USAGE_ERRORS)
def test_getopt_errors_print_usage(k: Kernel, args: str, first: str) -> None:
    res = tcpdump(k, args)
    assert (res.rc, res.stdout, res.stderr) == (1, "", first + "\n" + USAGE)


FATAL = [
    ("-c 0", "tcpdump: invalid packet count 0"),
    ("-c abc", "tcpdump: invalid packet count abc"),
    ("-c -1", "tcpdump: invalid packet count -1"),
    ("-c 2147483648", "tcpdump: invalid packet count 2147483648"),  # atoi wraps
    ("-c 1 -c 0", "tcpdump: invalid packet count 0"),
    ("-s abc", "tcpdump: invalid snaplen abc (must be >= 0 and <= 262144)"),
    ("-s -1", "tcpdump: invalid snaplen -1 (must be >= 0 and <= 262144)"),
    ("-s 300000", "tcpdump: invalid snaplen 300000 (must be >= 0 and <= 262144)"),
    ("-tttttt -r x", "tcpdump: only -t, -tt, -ttt, -tttt and -ttttt are supported"),
    ("--time-stamp-precision=foo", "tcpdump: unsupported time stamp precision"),
    ("-i nosuch", "tcpdump: nosuch: No such device exists\n(No such device exists)"),
    ("-i nosuch 'foo bar'", "tcpdump: nosuch: No such device exists\n(No such device exists)"),
    ("-i lo", "tcpdump: lo: That device is not up"),
    ("-i 0", "tcpdump: Invalid adapter index"),
    ("-i -1", "tcpdump: Invalid adapter index"),
    ("-i 20", "tcpdump: Invalid adapter index"),
    ("-i 8", "tcpdump: lo: That device is not up"),  # -D's 8th entry
    ("-i eth0 'foo bar'", "tcpdump: can't parse filter expression: syntax error"),
    ("-i eth0 host", "tcpdump: can't parse filter expression: syntax error"),
    ("-i eth0 -w /nonexistent/x", "tcpdump: /nonexistent/x: No such file or directory"),
    ("-r /nonexistent", "tcpdump: /nonexistent: No such file or directory"),
    ("-r /", "tcpdump: error reading dump file: Is a directory"),
    ("-v", "usernet: tcpdump option -v is not supported"),
    ("-q -i eth0", "usernet: tcpdump option -q is not supported"),
    ("--direction=in", "usernet: tcpdump option --direction is not supported"),
    ("-w -", "usernet: tcpdump -w - (standard output) is not supported"),
]


@pytest.mark.parametrize(("args", "err"), FATAL)
def test_fatal_errors(k: Kernel, args: str, err: str) -> None:
    res = tcpdump(k, args)
    assert (res.rc, res.stdout, res.stderr) == (1, "", err + "\n")


def test_help_and_version(k: Kernel) -> None:
    assert (tcpdump(k, "-h").rc, tcpdump(k, "-h").stdout) == (0, USAGE)
    for args in ("--version", "--vers", "--help -i nosuch --version"):
        res = tcpdump(k, args)
        assert (res.rc, res.stderr) == (0, ""), args
    assert tcpdump(k, "--version").stdout == VERSION
    assert tcpdump(k, "--vers").stdout == VERSION
    assert tcpdump(k, "--help").stdout == USAGE
    # -Y is in tcpdump's option string, but the build has no parser debugging
    assert tcpdump(k, "-Y").stderr == USAGE and tcpdump(k, "-Y").rc == 1


def test_c_number_parsing() -> None:
    assert c_atoi("1x") == 1
    assert c_atoi(" 3") == 3
    assert c_atoi("99999999999") == 1215752191  # the low 32 bits of the long
    assert c_atoi("2147483648") == -2147483648
    assert c_atoi("abc") == 0
    assert c_strtol("0x10", 0) == (16, 4)
    assert c_strtol("010", 0) == (8, 3)
    assert c_strtol("0x", 0) == (0, 1)
    assert c_strtol("", 0) == (0, 0)


# -- devices ---------------------------------------------------------------------------

PSEUDO = """\
{n}.any (Pseudo-device that captures on all interfaces) [Up, Running]
{n1}.bluetooth-monitor (Bluetooth Linux Monitor) [Wireless]
{n2}.nflog (Linux netfilter log (NFLOG) interface) [none]
{n3}.nfqueue (Linux netfilter queue (NFQUEUE) interface) [none]
{n4}.dbus-system (D-Bus system bus) [none]
{n5}.dbus-session (D-Bus session bus) [none]
"""


def pseudo(n: int) -> str:
    return PSEUDO.format(n=n, n1=n + 1, n2=n + 2, n3=n + 3, n4=n + 4, n5=n + 5)


def test_list_devices_in_libpcap_order() -> None:
    """``ip netns exec NS tcpdump -D`` after the same commands on the real kernel."""
    k = Kernel()
    k.script("ip netns add s\nip -n s link add eth0 type veth peer name eth1\n"
             "ip -n s link set eth0 up\nip -n s link set eth1 up")
    res = tcpdump(k, "-D", "s")
    assert res.rc == 0 and res.stderr == ""
    assert res.stdout == ("1.eth1 [Up, Running, Connected]\n2.eth0 [Up, Running, Connected]\n"
                          + pseudo(3) + "9.lo [Loopback]\n")
    k.cmd("ip -n s link set eth1 down")
    assert tcpdump(k, "-D", "s").stdout == (
        "1.any (Pseudo-device that captures on all interfaces) [Up, Running]\n"
        "2.eth0 [Up, Disconnected]\n"
        "3.bluetooth-monitor (Bluetooth Linux Monitor) [Wireless]\n"
        "4.nflog (Linux netfilter log (NFLOG) interface) [none]\n"
        "5.nfqueue (Linux netfilter queue (NFQUEUE) interface) [none]\n"
        "6.dbus-system (D-Bus system bus) [none]\n"
        "7.dbus-session (D-Bus session bus) [none]\n"
        "8.lo [Loopback]\n"
        "9.eth1 [none, Disconnected]\n")
    k.cmd("ip -n s link set lo up")
    listing = tcpdump(k, "-D", "s").stdout.splitlines()
    assert listing[:3] == ["1.any (Pseudo-device that captures on all interfaces) [Up, Running]",
                           "2.lo [Up, Running, Loopback]", "3.eth0 [Up, Disconnected]"]
    # the default device is the list's first: "any" here, which usernet cannot open
    res = tcpdump(k, "", "s")
    assert res.rc == 1 and res.stderr.startswith("usernet: tcpdump would capture on \"any\"")
    assert tcpdump(k, "-i any", "s").stderr.startswith("usernet: tcpdump cannot capture on any")
    assert tcpdump(k, "-i 1", "s").stderr.startswith("usernet: tcpdump cannot capture on any")


def test_default_device_and_numbers(k: Kernel) -> None:
    assert tcpdump(k, "-n").stderr == LISTEN + stats(0)
    assert tcpdump(k, "-i 1").stderr == LISTEN + stats(0)
    res = tcpdump(k, "-D", "r")
    assert res.stdout.splitlines()[:3] == ["1.r1 [Up, Running, Connected]",
                                           "2.r2 [Up, Running, Connected]",
                                           "3.any (Pseudo-device that captures on all "
                                           "interfaces) [Up, Running]"]
    assert "listening on r2," in tcpdump(k, "-i 2", "r").stderr
    assert "listening on r1," in tcpdump(k, "", "r").stderr


# -- live captures in virtual time ---------------------------------------------------

PING_LINES = [
    "ARP, Request who-has 10.1.0.1 tell 10.1.0.2, length 28",
    "ARP, Reply 10.1.0.1 is-at {rmac}, length 28",
    "IP 10.1.0.2 > 10.2.0.2: ICMP echo request, id {id}, seq 1, length 64",
    "IP 10.2.0.2 > 10.1.0.2: ICMP echo reply, id {id}, seq 1, length 64",
    "IP 10.1.0.2 > 10.2.0.2: ICMP echo request, id {id}, seq 2, length 64",
    "IP 10.2.0.2 > 10.1.0.2: ICMP echo reply, id {id}, seq 2, length 64",
]


def bodies(stdout: str) -> list[str]:
    """The lines without their timestamps."""
    return [line.split(" ", 1)[1] for line in stdout.splitlines() if line]


def test_count_stops_the_capture(k: Kernel) -> None:
    ping_in_background(k)
    res = tcpdump(k, "-c 4 -n -i eth0")
    assert res.rc == 0
    assert res.stderr == LISTEN + stats(4)
    lines = res.stdout.splitlines()
    assert len(lines) == 4 and not res.stdout.endswith("\n\n")  # not interrupted
    assert lines[0] == "00:00:00.000000 ARP, Request who-has 10.1.0.1 tell 10.1.0.2, length 28"
    assert bodies(res.stdout)[2].startswith("IP 10.1.0.2 > 10.2.0.2: ICMP echo request")
    # (the ping drives the scheduler itself until it is done, so tcpdump returns after it)


def test_until_idle_is_an_interrupt(k: Kernel) -> None:
    ping_in_background(k)
    res = tcpdump(k, "-n -i eth0 icmp")
    assert res.rc == 0 and res.stderr == LISTEN + stats(4)
    assert res.stdout.endswith("\n\n")  # the newline tcpdump prints when interrupted
    assert [b.split(",")[0] for b in bodies(res.stdout)] == [
        "IP 10.1.0.2 > 10.2.0.2: ICMP echo request", "IP 10.2.0.2 > 10.1.0.2: ICMP echo reply"] * 2
    assert not k.processes and k.sched.next_time() is None
    # --count prints no packets, but the newline all the same (not with -w)
    assert tcpdump(k, "-i eth0 --count").stdout == "\n"
    assert tcpdump(k, "-i eth0 --print -w /dev/null").stdout == ""
    # nothing pending: a capture ends at once, in the same instant
    now = k.sched.now
    res = tcpdump(k, "-i eth0")
    assert (res.rc, res.stdout, res.stderr) == (0, "\n", LISTEN + stats(0))
    assert k.sched.now == now


def test_idle_capture_sees_later_neighbour_probes(k: Kernel) -> None:
    """After the ping, the router's entry for h1 goes through DELAY to PROBE:
    a unicast ARP request 5 s later, which a capture left running sees."""
    k.cmd("ip netns exec h1 ping -c 1 -W 1 10.2.0.2")
    res = tcpdump(k, "-n -c 2 -i eth0 arp")
    assert res.rc == 0 and res.stderr == LISTEN + stats(2)
    assert bodies(res.stdout)[0] == "ARP, Request who-has 10.1.0.2 tell 10.1.0.1, length 28"
    assert bodies(res.stdout)[1].startswith("ARP, Reply 10.1.0.2 is-at ")
    # it stopped at the second packet, 5 s on, with neighbour timers still pending
    assert 5_000_000_000 < k.sched.now < 5_001_000_000 and k.sched.next_time() is not None


def test_tcpdump_in_a_spawned_task_captures_in_the_background(k: Kernel) -> None:
    dump = k.spawn(k.cmd, "tcpdump -c 3 -n -i eth0", netns="h1")
    k.run(until=0)  # it starts, and attaches its capture
    assert k.cmd(f"ip netns exec h1 {PING}").ok
    k.run()
    res = dump.result()
    assert (res.rc, res.stderr) == (0, LISTEN + stats(3))
    assert bodies(res.stdout)[0] == PING_LINES[0]


def test_a_simulation_that_never_idles_is_cut_after_an_hour(k: Kernel) -> None:
    def ticker() -> None:
        while True:
            sleep(k, 10)

    task = k.spawn(ticker, netns="h2")
    start = k.sched.now
    res = tcpdump(k, "-i eth0")
    assert (res.rc, res.stdout, res.stderr) == (0, "\n", LISTEN + stats(0))
    assert 3600 <= (k.sched.now - start) / 1e9 <= 3610
    task.kill()


def test_write_then_read_round_trip(k: Kernel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    monkeypatch.chdir(tmp_path)  # -w and -r paths are relative to the cwd
    ping_in_background(k)
    res = tcpdump(k, "-i eth0 -c 6 -w ping.pcap -U")
    assert (res.rc, res.stdout, res.stderr) == (0, "", LISTEN_W + stats(6))
    records = read_pcap((tmp_path / "ping.pcap").read_bytes())
    assert len(records) == 6 and records[0][0] == 0
    read = k.cmd("tcpdump -n -r ping.pcap")
    assert read.rc == 0
    assert read.stderr == ("reading from file ping.pcap, link-type EN10MB (Ethernet), "
                           "snapshot length 262144\n")
    rmac = records[1][1][6:12].hex(":")
    ident = int.from_bytes(records[2][1][38:40], "big")
    assert bodies(read.stdout) == [line.format(rmac=rmac, id=ident) for line in PING_LINES]
    # the same through a filter and a count, and with -w again (a copy)
    again = k.cmd("tcpdump -n -r ping.pcap -c 1 -w copy.pcap icmp")
    assert (again.rc, again.stdout) == (0, "")
    copied = read_pcap((tmp_path / "copy.pcap").read_bytes())
    assert copied == [records[2]]
    assert k.cmd("tcpdump --count -r ping.pcap").stdout == "6 packets\n"
    assert k.cmd("tcpdump --count -r ping.pcap arp").stdout == "2 packets\n"


def test_print_with_write_and_snaplen(k: Kernel, tmp_path: Path) -> None:
    ping_in_background(k)
    out = tmp_path / "cut.pcap"
    res = tcpdump(k, f"-n -i eth0 -c 3 -s 60 --print -w {out}")
    assert res.stderr == LISTEN_W.replace("262144", "60") + stats(3)
    assert len(res.stdout.splitlines()) == 3
    data = out.read_bytes()
    assert FILE_HDR.unpack_from(data)[5] == 60  # snaplen in the file header
    off = FILE_HDR.size
    lengths = []
    for _ in range(3):
        _, _, caplen, wire_len = REC_HDR.unpack_from(data, off)
        lengths.append((caplen, wire_len))
        off += REC_HDR.size + caplen
    assert lengths == [(42, 42), (42, 42), (60, 98)]


def test_extended_and_timestamp_options() -> None:
    k = make_kernel()
    ping_in_background(k)
    res = tcpdump(k, "-e -tt -# -c 3 -i eth0")
    lines = res.stdout.splitlines()
    assert lines[0].startswith("    1  0.000000 ")
    assert ", ethertype ARP (0x0806), length 42: Request who-has 10.1.0.1 tell 10.1.0.2" \
        in lines[0]
    assert lines[2].startswith("    3  0.000020 ")
    assert ", ethertype IPv4 (0x0800), length 98: 10.1.0.2 > 10.2.0.2: ICMP echo request" \
        in lines[2]
    k = make_kernel()
    ping_in_background(k)
    res = tcpdump(k, "-t -n -c 1 -i eth0 icmp")
    assert res.stdout.startswith("IP 10.1.0.2 > 10.2.0.2: ICMP echo request")
    k = make_kernel()
    ping_in_background(k)
    res = tcpdump(k, "--nano -c 1 -i eth0 'icmp[icmptype] == 0'")
    assert res.stdout.startswith("00:00:00.000080000 IP 10.2.0.2 > 10.1.0.2: ICMP echo reply")


# -- Kernel.capture --------------------------------------------------------------------


def test_kernel_capture_writes_a_pcap(k: Kernel, tmp_path: Path) -> None:
    path = tmp_path / "h1.pcap"
    dev = k.netns_get("h1").dev_by_name["eth0"]
    cap = k.capture("h1", "eth0", path)
    assert isinstance(cap, Capture) and len(dev.taps) == 1
    assert k.cmd(f"ip netns exec h1 {PING}").ok
    cap.close()
    assert dev.taps == ()  # detached: later traffic is not recorded
    k.cmd(f"ip netns exec h1 {PING}")
    assert len(cap.packets) == 6
    assert read_pcap(path.read_bytes()) == cap.packets
    cap.close()  # harmless
    read = k.cmd(["tcpdump", "-n", "-r", str(path)])
    assert len(read.stdout.splitlines()) == 6


def test_kernel_capture_filter_count_and_errors(k: Kernel, tmp_path: Path) -> None:
    with k.capture("r", "r2", filter="icmp[icmptype] == icmp-echoreply") as replies, \
            k.capture(k.netns_get("r"), "r1", count=3) as first:
        k.cmd(f"ip netns exec h1 {PING}")
        assert first.done and len(first.packets) == 3
    assert [frame[34] for _, frame in replies.packets] == [0, 0]
    with pytest.raises(FilterError, match="syntax error"):
        k.capture("h1", "eth0", tmp_path / "never.pcap", filter="foo bar")
    assert not (tmp_path / "never.pcap").exists()
    with pytest.raises(KernelError):
        k.capture("nosuch", "eth0")
    with pytest.raises(KernelError):
        k.capture("h1", "nosuch")
    with pytest.raises(ValueError):
        k.capture("h1", "eth0", count=0)
    assert k.netns_get("h1").dev_by_name["eth0"].taps == ()


# -- determinism -------------------------------------------------------------------------


def capture_run(seed: int, where: Path) -> tuple[bytes, bytes, Result]:
    k = make_kernel(seed)
    with k.capture("r", "r2", where / "api.pcap"):
        ping_in_background(k)
        res = k.cmd(["ip", "netns", "exec", "h1", "tcpdump", "-n", "-w",
                     str(where / "tool.pcap")])
    return (where / "api.pcap").read_bytes(), (where / "tool.pcap").read_bytes(), res


def test_same_seed_same_pcap_bytes(tmp_path: Path) -> None:
    runs = []
    for i in range(2):
        where = tmp_path / str(i)
        where.mkdir()
        runs.append(capture_run(7, where))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert runs[0][2] == runs[1][2]
    assert len(read_pcap(runs[0][1])) == 8  # the ping, then the router's probe 5 s later
    other = tmp_path / "other"
    other.mkdir()
    assert capture_run(8, other)[1] != runs[0][1]  # other MACs and ping ids


def test_check_determinism_with_tcpdump() -> None:
    script = ROUTER + ("ip netns exec h1 ping -c 1 -W 1 10.2.0.2\n"
                       "ip netns exec h1 tcpdump -n -i eth0\n"
                       "ip netns exec r tcpdump -n -e -c 1 -i r2\n")
    record = check_determinism(script, seed=3)
    dump = record.results[-2]
    assert dump.rc == 0 and "ARP, Request who-has 10.1.0.2 tell 10.1.0.1" in dump.stdout


# -- reading files ---------------------------------------------------------------------

A = bytes.fromhex("020000000001")
B = bytes.fromhex("020000000002")


def eth(payload: bytes, etype: int = 0x0800, src: bytes = A, dst: bytes = B) -> bytes:
    frame = eth_header(dst, src, etype) + payload
    return frame + bytes(max(0, 60 - len(frame)))


def ip4(payload: bytes, src: str = "10.0.0.1", dst: str = "10.0.0.2") -> bytes:
    return ipv4_header(0, 20 + len(payload), 1, 0, 64, 1, addr_int(src), addr_int(dst),
                       b"") + payload


def echo(kind: int, seq: int) -> bytes:
    return icmp_message(kind, 0, 0x1234 << 16 | seq, bytes(range(56)))


ARP = eth(arp_packet(1, A, addr_int("10.0.0.1"), bytes(6), addr_int("10.0.0.2")), 0x0806,
          dst=b"\xff" * 6)
REQ = eth(ip4(echo(8, 1)))
REP = eth(ip4(echo(0, 1), "10.0.0.2", "10.0.0.1"), src=B, dst=A)
VLAN = eth(struct.pack("!HH", 0x3005, 0x0800) + ip4(echo(8, 2)), 0x8100)
UNKNOWN = eth(b"hello, world", 0x88B5)
RECORDS = [  # (seconds, nanoseconds, captured bytes, wire length)
    (1, 500, ARP, len(ARP)),
    (1, 20_999, REQ, len(REQ)),
    (1, 80_000, REP, len(REP)),
    (3700, 250_000_000, VLAN, len(VLAN)),
    (3700, 250_000_000, UNKNOWN, len(UNKNOWN)),
    (3701, 0, bytes(10), 10),
    (3702, 0, REQ[:20], 10),  # wire length below the captured length
    (3600, 999_999_999, REP, len(REP)),  # back in time
]


def pcap_bytes(records: list[tuple[int, int, bytes, int]], magic: int = MAGIC_NSEC,
               snaplen: int = 262144, order: str = "<") -> bytes:
    hdr = struct.Struct(order + FILE_HDR.format.lstrip("<"))
    rec = struct.Struct(order + REC_HDR.format.lstrip("<"))
    out = [hdr.pack(magic, 2, 4, 0, 0, snaplen, 1)]
    for sec, frac, data, wire_len in records:
        out.append(rec.pack(sec, frac, len(data), wire_len) + data)
    return b"".join(out)


HEX_DUMP = ("\t0x0000:  6865 6c6c 6f2c 2077 6f72 6c64 0000 0000  hello,.world....\n"
            "\t0x0010:  0000 0000 0000 0000 0000 0000 0000 0000  ................\n"
            "\t0x0020:  0000 0000 0000 0000 0000 0000 0000       ..............\n")
E_UNKNOWN = "02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype Unknown (0x88b5), length 60: \n"
L_ARP = "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 46\n"
L_REQ = "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 1, length 64\n"
L_REP = "IP 10.0.0.2 > 10.0.0.1: ICMP echo reply, id 4660, seq 1, length 64\n"
L_VLAN = "IP 10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 2, length 64\n"
INVALID = "[Invalid header: len(10) < caplen(20)]\n"
E_ARP = ("02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 60: "
         "Request who-has 10.0.0.2 tell 10.0.0.1, length 46\n")
E_REQ = ("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4 (0x0800), length 98: "
         "10.0.0.1 > 10.0.0.2: ICMP echo request, id 4660, seq 1, length 64\n")
E_REP = ("02:00:00:00:00:02 > 02:00:00:00:00:01, ethertype IPv4 (0x0800), length 98: "
         "10.0.0.2 > 10.0.0.1: ICMP echo reply, id 4660, seq 1, length 64\n")
E_VLAN = ("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype 802.1Q (0x8100), length 102: "
          "vlan 5, p 1, DEI, ethertype IPv4 (0x0800), 10.0.0.1 > 10.0.0.2: ICMP echo "
          "request, id 4660, seq 2, length 64\n")

# Recorded with TZ=UTC tcpdump -n OPTIONS -r FILE (tcpdump 4.99.3).
READ_EXPECTED = {
    "": ("00:00:01.000000 " + L_ARP + "00:00:01.000020 " + L_REQ + "00:00:01.000080 " + L_REP
         + "01:01:40.250000 " + L_VLAN + "01:01:40.250000 " + E_UNKNOWN + HEX_DUMP
         + "01:01:41.000000  [|ether]\n" + INVALID + "01:00:00.999999 " + L_REP),
    "-e": ("00:00:01.000000 " + E_ARP + "00:00:01.000020 " + E_REQ + "00:00:01.000080 " + E_REP
           + "01:01:40.250000 " + E_VLAN + "01:01:40.250000 " + E_UNKNOWN + HEX_DUMP
           + "01:01:41.000000  [|ether]\n" + INVALID + "01:00:00.999999 " + E_REP),
    "-t": (L_ARP + L_REQ + L_REP + L_VLAN + E_UNKNOWN + HEX_DUMP + " [|ether]\n" + INVALID
           + L_REP),
    "-tt": ("1.000000 " + L_ARP + "1.000020 " + L_REQ + "1.000080 " + L_REP
            + "3700.250000 " + L_VLAN + "3700.250000 " + E_UNKNOWN + HEX_DUMP
            + "3701.000000  [|ether]\n" + INVALID + "3600.999999 " + L_REP),
    "-ttt": (" 00:00:00.000000 " + L_ARP + " 00:00:00.000020 " + L_REQ
             + " 00:00:00.000060 " + L_REP + " 01:01:39.249920 " + L_VLAN
             + " 00:00:00.000000 " + E_UNKNOWN + HEX_DUMP + " 00:00:00.750000  [|ether]\n"
             + INVALID + "-00:01:40.000001 " + L_REP),
    "-tttt": ("1970-01-01 00:00:01.000000 " + L_ARP + "1970-01-01 00:00:01.000020 " + L_REQ
              + "1970-01-01 00:00:01.000080 " + L_REP + "1970-01-01 01:01:40.250000 " + L_VLAN
              + "1970-01-01 01:01:40.250000 " + E_UNKNOWN + HEX_DUMP
              + "1970-01-01 01:01:41.000000  [|ether]\n" + INVALID
              + "1970-01-01 01:00:00.999999 " + L_REP),
    "-ttttt": (" 00:00:00.000000 " + L_ARP + " 00:00:00.000020 " + L_REQ
               + " 00:00:00.000080 " + L_REP + " 01:01:39.250000 " + L_VLAN
               + " 01:01:39.250000 " + E_UNKNOWN + HEX_DUMP + " 01:01:40.000000  [|ether]\n"
               + INVALID + " 00:59:59.999999 " + L_REP),
    "-#": ("    1  00:00:01.000000 " + L_ARP + "    2  00:00:01.000020 " + L_REQ
           + "    3  00:00:01.000080 " + L_REP + "    4  01:01:40.250000 " + L_VLAN
           + "    5  01:01:40.250000 " + E_UNKNOWN + HEX_DUMP
           + "    6  01:01:41.000000  [|ether]\n    7  " + INVALID
           + "    8  01:00:00.999999 " + L_REP),
    "--nano": ("00:00:01.000000500 " + L_ARP + "00:00:01.000020999 " + L_REQ
               + "00:00:01.000080000 " + L_REP + "01:01:40.250000000 " + L_VLAN
               + "01:01:40.250000000 " + E_UNKNOWN + HEX_DUMP
               + "01:01:41.000000000  [|ether]\n" + INVALID + "01:00:00.999999999 " + L_REP),
    "--nano -ttt -e": (" 00:00:00.000000000 " + E_ARP + " 00:00:00.000020499 " + E_REQ
                       + " 00:00:00.000059001 " + E_REP + " 01:01:39.249920000 " + E_VLAN
                       + " 00:00:00.000000000 " + E_UNKNOWN + HEX_DUMP
                       + " 00:00:00.750000000  [|ether]\n" + INVALID
                       + "-00:01:40.000000001 " + E_REP),
    "-c 2 icmp": "00:00:01.000020 " + L_REQ + "00:00:01.000080 " + L_REP,
}
READING = "reading from file {}, link-type EN10MB (Ethernet), snapshot length 262144\n"


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    path = tmp_path / "records.pcap"
    path.write_bytes(pcap_bytes(RECORDS))
    return path


@pytest.mark.parametrize("opts", list(READ_EXPECTED))
def test_read_options(k: Kernel, records_file: Path, opts: str) -> None:
    res = k.cmd(["tcpdump", "-n", *opts.split(), "-r", str(records_file)])
    assert (res.rc, res.stderr) == (0, READING.format(records_file))
    assert res.stdout == READ_EXPECTED[opts]


def test_read_other_byte_order_and_precision(k: Kernel, tmp_path: Path) -> None:
    usec = [(sec, frac // 1000, data, wl) for sec, frac, data, wl in RECORDS]
    for name, data in (("be.pcap", pcap_bytes(RECORDS, order=">")),
                       ("us.pcap", pcap_bytes(usec, MAGIC_USEC)),
                       ("usbe.pcap", pcap_bytes(usec, MAGIC_USEC, order=">"))):
        (tmp_path / name).write_bytes(data)
        res = k.cmd(["tcpdump", "-n", "-r", str(tmp_path / name)])
        assert res.stdout == READ_EXPECTED[""], name
    res = k.cmd(["tcpdump", "--nano", "-c", "1", "-r", str(tmp_path / "us.pcap")])
    assert res.stdout == "00:00:01.000000000 " + L_ARP


def read_error_cases() -> list[tuple[str, bytes, str, str]]:
    one = pcap_bytes(RECORDS[:1])
    rec2 = pcap_bytes(RECORDS[:2])
    return [
        ("empty", b"", "", "tcpdump: truncated dump file; tried to read 4 file header bytes, "
                           "only got 0\n"),
        ("short", one[:10], "", "tcpdump: truncated dump file; tried to read 24 file header "
                                "bytes, only got 6\n"),
        ("garbage", b"hello world this is not a pcap file", "", "tcpdump: unknown file format\n"),
        ("version", struct.pack("<IHHiIII", MAGIC_NSEC, 3, 4, 0, 0, 262144, 1), "",
         "tcpdump: unsupported pcap savefile version 3.4\n"),
        ("truncated header", rec2[:len(one) + 10], "00:00:01.000000 " + L_ARP,
         "{reading}tcpdump: pcap_loop: truncated dump file; tried to read 16 header bytes, "
         "only got 10\n"),
        ("truncated data", rec2[:len(one) + 30], "00:00:01.000000 " + L_ARP,
         "{reading}tcpdump: pcap_loop: truncated dump file; tried to read 98 captured bytes, "
         "only got 14\n"),
        ("caplen", pcap_bytes([]) + REC_HDR.pack(1, 0, 300000, 300000), "",
         "{reading}tcpdump: pcap_loop: invalid packet capture length 300000, bigger than "
         "snaplen of 262144\n"),
        ("sll", struct.pack("<IHHiIII", MAGIC_NSEC, 2, 4, 0, 0, 262144, 113), "",
         "reading from file {path}, link-type LINUX_SLL (Linux cooked v1), snapshot length "
         "262144\nusernet: tcpdump can only print link-type EN10MB (Ethernet) captures\n"),
    ]


@pytest.mark.parametrize(("name", "data", "out", "err"), read_error_cases(),
                         ids=[c[0] for c in read_error_cases()])
def test_read_errors(k: Kernel, tmp_path: Path, name: str, data: bytes, out: str, err: str
                     ) -> None:
    path = tmp_path / "bad.pcap"
    path.write_bytes(data)
    res = k.cmd(["tcpdump", "-n", "-r", str(path)])
    expected = err.format(reading=READING.format(path), path=path)
    assert (res.rc, res.stdout, res.stderr) == (1, out, expected)


def test_read_snaplen_zero_and_filter_error(k: Kernel, tmp_path: Path) -> None:
    path = tmp_path / "snap0.pcap"
    path.write_bytes(pcap_bytes(RECORDS[:1], snaplen=0))
    res = k.cmd(["tcpdump", "-n", "-r", str(path)])
    assert (res.rc, res.stdout) == (0, "00:00:01.000000 " + L_ARP)
    assert res.stderr == READING.format(path)
    res = k.cmd(["tcpdump", "-n", "-r", str(path), "foo", "bar"])
    assert res.rc == 1 and res.stderr == (READING.format(path)
                                          + "tcpdump: can't parse filter expression: syntax "
                                            "error\n")


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump is not installed")
@pytest.mark.parametrize("opts", [*READ_EXPECTED, "-e -t", "-tt -e -c 4", "--micro -ttttt"])
def test_read_matches_real_tcpdump(k: Kernel, records_file: Path, opts: str) -> None:
    args = ["-n", *opts.split(), "-r", str(records_file)]
    real = subprocess.run(["tcpdump", *args], capture_output=True, text=True, timeout=30,
                          env={"TZ": "UTC", "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    ours = k.cmd(["tcpdump", *args])
    assert (ours.rc, ours.stdout, ours.stderr) == (real.returncode, real.stdout, real.stderr)
