"""iputils ping (20221126) over the emulated kernel, in virtual time.

Expected texts come from the real /usr/bin/ping (iputils 20221126) run with
the same arguments, and from the oracle's recordings.
"""

from __future__ import annotations

import time

import pytest

from usernet import Kernel
from usernet.sched import NSEC_PER_MSEC, NSEC_PER_SEC
from usernet.testing import ROUTER as TOPOLOGY_ROUTER
from usernet.testing import check_determinism
from usernet.tools import Result
from usernet.tools.ping import (
    elapsed_ms,
    fmt_triptime,
    getopt,
    icmp_text,
    inet_aton,
    llsqrt,
    loss_percent,
    ms_between,
    rtt_line,
)

SETUP = """ip netns add a
ip netns add b
ip -n a link add v0 type veth peer name v1 netns b
ip -n a addr add 10.0.0.1/24 dev v0
ip -n b addr add 10.0.0.2/24 dev v1
ip -n a link set v0 up
ip -n b link set v1 up
ip -n a link set lo up"""


def make_kernel(seed: int = 0) -> Kernel:
    k = Kernel(seed=seed)
    for line in SETUP.splitlines():
        assert k.cmd(line).ok, line
    return k


@pytest.fixture
def k() -> Kernel:
    return make_kernel()


def ping(k: Kernel, args: str, ns: str = "a") -> Result:
    return k.cmd(f"ip netns exec {ns} ping {args}")


def timed(k: Kernel, args: str) -> tuple[Result, int]:
    """The result and the virtual time the run took (ns)."""
    start = k.sched.now
    res = ping(k, args)
    return res, k.sched.now - start


# -- option parsing and error texts (as /usr/bin/ping prints them) ----------------------

ARG_ERRORS = [
    ("", 1, "ping: usage error: Destination address required\n"),
    ("-q", 1, "ping: usage error: Destination address required\n"),
    ("-c 0 1.2.3.4", 1,
     "ping: invalid argument: '0': out of range: 1 <= value <= 9223372036854775807\n"),
    ("-c abc 1.2.3.4", 1, "ping: invalid argument: 'abc'\n"),
    ("-s abc 1.2.3.4", 1, "ping: invalid argument: 'abc'\n"),
    ("-s -1 1.2.3.4", 1,
     "ping: invalid argument: '-1': out of range: 0 <= value <= 2147483647\n"),
    ("-t 256 1.2.3.4", 1, "ping: invalid argument: '256': out of range: 0 <= value <= 255\n"),
    ("-w -1 1.2.3.4", 1,
     "ping: invalid argument: '-1': out of range: 0 <= value <= 2147483647\n"),
    ("-m -1 1.2.3.4", 1,
     "ping: invalid argument: '-1': out of range: 0 <= value <= 4294967295\n"),
    ("-m abc 1.2.3.4", 1, "ping: invalid argument: 'abc'\n"),
    ("-e 70000 1.2.3.4", 1,
     "ping: invalid argument: '70000': out of range: 0 <= value <= 65535\n"),
    ("-c 1 -l 0 1.2.3.4", 1,
     "ping: invalid argument: '0': out of range: 1 <= value <= 65536\n"),
    ("-S 0 1.2.3.4", 1,
     "ping: invalid argument: '0': out of range: 1 <= value <= 2147483647\n"),
    ("-M probe 1.2.3.4", 2, "ping: invalid -M argument: probe\n"),
    ("-M foo 1.2.3.4", 2, "ping: invalid -M argument: foo\n"),
    ("-W -1 1.2.3.4", 2, "ping: bad linger time: -1\n"),
    ("-W 1e10 1.2.3.4", 2, "ping: bad linger time: 1e10\n"),
    ("-W nan 1.2.3.4", 2, "ping: bad linger time: nan: Numerical result out of range\n"),
    ("-i 1e10 1.2.3.4", 2, "ping: bad timing interval: 1e10\n"),
    ("-i '' 1.2.3.4", 2, "ping: bad timing interval: : No such file or directory\n"),
    ("-c 1 -Q 300 1.2.3.4", 2,
     "ping: the decimal value of TOS bits must be in range 0-255: 300\n"),
    ("-4 -6 1.2.3.4", 2, "ping: only one -4 or -6 option may be specified\n"),
    ("-T foo 1.2.3.4", 2, "ping: invalid timestamp type: foo\n"),
    ("-p xyz 1.2.3.4", 2, "ping: patterns must be specified as hex digits: xyz\n"),
    ("-c 1 nosuchhost", 2, "ping: nosuchhost: Name or service not known\n"),
    ("-c 1 256.1.1.1", 2, "ping: 256.1.1.1: Name or service not known\n"),
    ("''", 2, "ping: : Name or service not known\n"),
    ("-c 1 -6 1.2.3.4", 2, "ping: 1.2.3.4: Address family for hostname not supported\n"),
]


@pytest.mark.parametrize(("args", "rc", "err"), ARG_ERRORS)
def test_argument_errors(k: Kernel, args: str, rc: int, err: str) -> None:
    res = ping(k, args)
    assert (res.rc, res.stdout, res.stderr) == (rc, "", err)


@pytest.mark.parametrize(("args", "first"), [
    ("-x 1.2.3.4", "ping: invalid option -- 'x'"),
    ("-c", "ping: option requires an argument -- 'c'"),
    ("-c 1 1.2.3.4 -M", "ping: option requires an argument -- 'M'"),
    ("-h", ""),
])
def test_usage(k: Kernel, args: str, first: str) -> None:
    res = ping(k, args)
    assert res.rc == 2 and res.stdout == ""
    head = f"{first}\n" if first else ""
    assert res.stderr.startswith(f"{head}\nUsage\n  ping [options] <destination>\n")
    assert res.stderr.endswith("\nFor more details see ping(8).\n")
    assert "  -M <pmtud opt>     define mtu discovery, can be one of <do|dont|want>\n" \
        in res.stderr


def test_version(k: Kernel) -> None:
    res = ping(k, "-V")
    assert res.rc == 0 and res.stdout.startswith("ping from iputils 20221126\n")


def test_garbage_in_a_time_only_warns() -> None:
    k = Kernel()
    k.cmd("ip netns add a")
    res = ping(k, "-i abc 1.2.3.4")
    assert res.rc == 2
    assert res.stderr == ("ping: option argument contains garbage: abc\n"
                          "ping: this will become fatal error in the future\n"
                          "ping: connect: Network is unreachable\n")


def test_getopt_permutes_and_clusters() -> None:
    operands: list[str] = []
    opts = list(getopt(["10.0.0.2", "-qc1", "-W", "1", "--", "-x"], operands))
    assert opts == [("q", ""), ("c", "1"), ("W", "1")]
    assert operands == ["10.0.0.2", "-x"]


def test_inet_aton_forms() -> None:
    assert inet_aton("10.0.2") == 0x0A000002
    assert inet_aton("0x7f.1") == 0x7F000001
    assert inet_aton("0") == 0
    assert inet_aton("010.0.0.1") == 0x08000001
    for bad in ("256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1..2", "0x", "1.2.3.4 ", "a"):
        assert inet_aton(bad) is None


# -- output formats -----------------------------------------------------------------


@pytest.mark.parametrize(("us", "text"), [
    (0, "0.000"), (40, "0.040"), (999, "0.999"), (1000, "1.00"), (9994, "9.99"),
    (9995, "10.0"), (99949, "99.9"), (99950, "100"), (778470, "778"),
])
def test_triptime_format(us: int, text: str) -> None:
    assert fmt_triptime(us) == text


def test_rtt_statistics_as_recorded() -> None:
    # p02: 778.470 / 571.860 / 364.224 ms -> avg 571.518, mdev 169.115
    trips = [778470, 571860, 364224]
    line = rtt_line(min(trips), max(trips), float(sum(trips)),
                    float(sum(t * t for t in trips)), len(trips))
    assert line == "rtt min/avg/max/mdev = 364.224/571.518/778.470/169.115 ms"
    assert rtt_line(39, 42, 81.0, 39.0 * 39 + 42.0 * 42, 2) == \
        "rtt min/avg/max/mdev = 0.039/0.040/0.042/0.001 ms"


def test_loss_time_and_helpers() -> None:
    assert [loss_percent(3, r) for r in (3, 2, 1, 0)] == ["0", "33.3333", "66.6667", "100"]
    assert loss_percent(7, 1) == "85.7143"
    assert elapsed_ms(208_499_999) == 208 and elapsed_ms(208_500_000) == 209
    assert ms_between(2 * NSEC_PER_SEC + 100 * NSEC_PER_MSEC - 500_000,
                      NSEC_PER_SEC + 900 * NSEC_PER_MSEC) == 200
    # iputils' Newton loop returns the last (larger) iterate: 15 -> 4, not 3
    assert [llsqrt(n) for n in (0, 1, 15, 16, 17, 24, -4)] == [0, 1, 4, 4, 4, 5, -4]


def test_icmp_texts() -> None:
    def addr(a: int) -> str:
        return f"A{a}"

    assert icmp_text(3, 1, 0, addr) == "Destination Host Unreachable"
    assert icmp_text(3, 4, 1400, addr) == "Frag needed and DF set (mtu = 1400)"
    assert icmp_text(3, 13, 0, addr) == "Packet filtered"
    assert icmp_text(3, 16, 0, addr) == "Dest Unreachable, Bad Code: 16"
    assert icmp_text(11, 0, 0, addr) == "Time to live exceeded"
    assert icmp_text(5, 1, 7, addr) == "Redirect Host(New nexthop: A7)"
    assert icmp_text(12, 0, 20, addr) == "Parameter problem: pointer = 20"


# -- end to end ---------------------------------------------------------------------


def test_replies_over_a_veth_pair(k: Kernel) -> None:
    wall = time.monotonic()
    res, took = timed(k, "-c 3 -i 0.2 -W 1 10.0.0.2")
    assert time.monotonic() - wall < 2
    assert res.rc == 0 and res.stderr == ""
    lines = res.stdout.splitlines()
    assert lines[0] == "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data."
    for seq, line in enumerate(lines[1:4], 1):
        assert line.startswith(f"64 bytes from 10.0.0.2: icmp_seq={seq} ttl=64 time=")
        assert line.endswith(" ms")
    assert lines[4:7] == ["", "--- 10.0.0.2 ping statistics ---",
                          "3 packets transmitted, 3 received, 0% packet loss, time 400ms"]
    assert lines[7].startswith("rtt min/avg/max/mdev = ")
    assert 400 * NSEC_PER_MSEC < took < 401 * NSEC_PER_MSEC  # ends on the last reply


def test_other_side_and_localhost(k: Kernel) -> None:
    res = ping(k, "-c 1 -W 1 10.0.0.1", ns="b")
    assert "64 bytes from 10.0.0.1: icmp_seq=1 ttl=64" in res.stdout
    res = ping(k, "-c 1 -W 1 localhost")
    assert res.stdout.startswith("PING localhost (127.0.0.1) 56(84) bytes of data.\n"
                                 "64 bytes from localhost (127.0.0.1): icmp_seq=1 ttl=64 ")
    assert "--- localhost ping statistics ---" in res.stdout
    res = ping(k, "-c 1 -W 1 0")
    assert res.stdout.startswith("PING 0 (127.0.0.1) 56(84) bytes of data.\n")


def test_unreachable_neighbour_errors_after_three_seconds(k: Kernel) -> None:
    res, took = timed(k, "-c 2 -i 0.2 -W 5 10.0.0.9")
    assert res.rc == 1
    assert res.stdout.splitlines()[1:3] == [
        "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable",
        "From 10.0.0.1 icmp_seq=2 Destination Host Unreachable"]
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 200ms\n" \
           "pipe 2\n" in res.stdout
    assert 3 * NSEC_PER_SEC <= took < 3 * NSEC_PER_SEC + 10 * NSEC_PER_MSEC


def test_linger_after_the_last_probe(k: Kernel) -> None:
    res, took = timed(k, "-c 2 -W 1 10.0.0.9")  # ARP gives up at 3 s: too late
    assert res.rc == 1 and took == 2 * NSEC_PER_SEC
    assert res.stdout.endswith("2 packets transmitted, 0 received, 100% packet loss, "
                               "time 1000ms\n\n")
    res, took = timed(k, "-c 1 -W 0.5 10.0.0.8")
    assert took == 500 * NSEC_PER_MSEC


def test_deadline(k: Kernel) -> None:
    res, took = timed(k, "-w 2 -i 0.5 10.0.0.2")
    assert res.rc == 0 and took == 2 * NSEC_PER_SEC
    assert "4 packets transmitted, 4 received, 0% packet loss, time 1500ms" in res.stdout
    res, took = timed(k, "-c 5 -w 1 -i 0.4 10.0.0.7")  # deadline missed: rc 1
    assert res.rc == 1 and took == NSEC_PER_SEC
    assert "3 packets transmitted, 0 received" in res.stdout
    res, took = timed(k, "-w 10 -i 0.35 10.0.0.6")  # -w stops at the first error
    assert res.rc == 1 and 3 * NSEC_PER_SEC <= took < 3 * NSEC_PER_SEC + 10 * NSEC_PER_MSEC
    assert "9 packets transmitted, 0 received, +9 errors" in res.stdout


def test_sizes(k: Kernel) -> None:
    res = ping(k, "-c 1 -W 1 -s 100 10.0.0.2")
    assert "PING 10.0.0.2 (10.0.0.2) 100(128) bytes of data.\n108 bytes from" in res.stdout
    res = ping(k, "-c 1 -W 1 -s 0 10.0.0.2")
    assert "\n8 bytes from 10.0.0.2: icmp_seq=1 ttl=64\n" in res.stdout
    assert "rtt" not in res.stdout
    res = ping(k, "-c 1 -W 1 -s 2000 10.0.0.2")
    assert "\n2008 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=" in res.stdout
    res = ping(k, "-c 1 -W 1 -p abcd -s 20 10.0.0.2")
    assert res.stdout.startswith("PATTERN: 0xabcd\nPING 10.0.0.2 (10.0.0.2) 20(48) bytes")


def test_local_error_for_df(k: Kernel) -> None:
    res = ping(k, "-c 2 -i 0.2 -W 1 -M do -s 2000 10.0.0.2")
    assert res.rc == 1
    assert res.stderr == "ping: local error: message too long, mtu=1500\n" * 2
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in res.stdout
    res = ping(k, "-c 1 -W 1 -q -M do -s 2000 10.0.0.2")  # -q: neither printed nor counted
    assert res.stderr == "" and "+1 errors" not in res.stdout


def test_quiet(k: Kernel) -> None:
    res = ping(k, "-c 2 -i 0.2 -W 1 -q 10.0.0.2")
    assert res.stdout.splitlines()[:3] == ["PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.", "",
                                           "--- 10.0.0.2 ping statistics ---"]
    res = ping(k, "-c 2 -i 0.2 -W 5 -q 10.0.0.5")
    assert "From" not in res.stdout and "+2 errors" in res.stdout


def test_source_device_and_address(k: Kernel) -> None:
    res = ping(k, "-c 1 -W 1 -I v0 10.0.0.2")
    assert res.stdout.startswith("PING 10.0.0.2 (10.0.0.2) from 10.0.0.1 v0: 56(84) bytes")
    assert res.rc == 0
    res = ping(k, "-c 1 -W 1 -I 10.0.0.1 10.0.0.2")
    assert res.stdout.startswith("PING 10.0.0.2 (10.0.0.2) from 10.0.0.1 : 56(84) bytes")
    res = ping(k, "-c 1 -W 1 -I lo 10.0.0.2")
    assert res.stderr == ("ping: Warning: source address might be selected on device other "
                          "than: lo\n")
    assert ping(k, "-c 1 -I nosuch 10.0.0.2").stderr == \
        "ping: SO_BINDTODEVICE nosuch: No such device\n"
    res = ping(k, "-c 1 -I 10.0.0.3 10.0.0.2")
    assert (res.rc, res.stderr) == (2, "ping: bind: Cannot assign requested address\n")


def test_connect_errors_and_broadcast(k: Kernel) -> None:
    for line in ("ip -n a route add unreachable 10.50.0.0/16",
                 "ip -n a route add prohibit 10.60.0.0/16",
                 "ip -n a route add blackhole 10.70.0.0/16"):
        assert k.cmd(line).ok
    cases = {"10.50.0.1": "ping: connect: No route to host\n",
             "10.60.0.1": "ping: Do you want to ping broadcast? Then -b. If not, check your "
                          "local firewall rules\n",
             "10.70.0.1": "ping: connect: Invalid argument\n",
             "10.0.0.255": "ping: Do you want to ping broadcast? Then -b. If not, check your "
                           "local firewall rules\n",
             "-t 0 10.0.0.2": "ping: cannot set unicast time-to-live: Invalid argument\n"}
    for args, err in cases.items():
        res = ping(k, f"-c 1 -W 1 {args}")
        assert (res.rc, res.stdout, res.stderr) == (2, "", err), args
    res = ping(k, "-c 1 -W 1 -b 10.60.0.1")
    assert res.stderr == "WARNING: pinging broadcast address\nping: connect: Permission denied\n"
    res = ping(k, "-w 1 -i 0.4 -b 10.0.0.255")
    assert res.stderr == "WARNING: pinging broadcast address\n"
    assert "3 packets transmitted, 0 received, 100% packet loss" in res.stdout


def test_broadcast_duplicates(k: Kernel) -> None:
    for ns in "ab":
        k.cmd(f"ip netns exec {ns} sysctl -w net.ipv4.icmp_echo_ignore_broadcasts=0")
    res = ping(k, "-w 1 -i 0.4 -b 10.0.0.255")
    replies = [line.split(" time=")[0] for line in res.stdout.splitlines()[1:7]]
    assert sorted(replies) == sorted(f"64 bytes from {a}: icmp_seq={seq} ttl=64"
                                     for seq in (1, 2, 3) for a in ("10.0.0.1", "10.0.0.2"))
    assert "3 packets transmitted, 3 received, +3 duplicates, 0% packet loss" in res.stdout
    assert "(DUP!)" not in res.stdout  # a broadcast ping does not mark them
    res = ping(k, "-c 2 -i 0.2 -W 1 -b 10.0.0.2")  # -b alone: still no mark
    assert res.rc == 0 and res.stderr == ""


def test_run_without_count_stops_like_the_oracle(k: Kernel) -> None:
    res, took = timed(k, "-i 0.5 10.0.0.2")
    assert res.rc == 124 and took == 15 * NSEC_PER_SEC
    assert res.stdout.count("bytes from 10.0.0.2") == 30
    assert "statistics" not in res.stdout


ROUTER = TOPOLOGY_ROUTER.strip()


def test_errors_from_a_router() -> None:
    k = Kernel()
    for line in ROUTER.splitlines():
        assert k.cmd(line).ok, line
    res = ping(k, "-c 2 -i 0.2 -W 1 10.2.0.2", ns="h1")
    assert res.rc == 0 and "64 bytes from 10.2.0.2: icmp_seq=2 ttl=63 time=" in res.stdout
    res = ping(k, "-c 2 -i 0.2 -W 1 -t 1 10.2.0.2", ns="h1")
    assert res.stdout.splitlines()[1:3] == ["From 10.1.0.1 icmp_seq=1 Time to live exceeded",
                                            "From 10.1.0.1 icmp_seq=2 Time to live exceeded"]
    assert "2 packets transmitted, 0 received, +2 errors, 100% packet loss" in res.stdout
    res = ping(k, "-w 1 -i 0.3 -t 1 10.2.0.2", ns="h1")  # -w: the first error ends it
    assert "1 packets transmitted, 0 received, +1 errors" in res.stdout


def test_killed_runs_keep_what_was_flushed(k: Kernel) -> None:
    res, took = timed(k, "-q -i 0.5 10.0.0.2")  # each reply fflush()es, even with -q
    assert (res.rc, res.stdout) == (124, "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n")
    k.cmd("ip -n a link set lo down")  # no error comes back, -W 0 is no timer
    res, took = timed(k, "-c 1 -W 0 10.0.0.66")
    assert (res.rc, res.stdout, took) == (124, "", 15 * NSEC_PER_SEC)


def test_same_seed_same_run() -> None:
    script = SETUP + """
ip netns exec a ping -c 3 -i 0.2 -W 1 10.0.0.2
ip netns exec a ping -c 2 -i 0.2 -W 5 10.0.0.9
ip netns exec a ping -w 1 -s 3000 10.0.0.2
ip netns exec a ping -c 2 -i 0.2 -W 1 localhost
"""
    rec = check_determinism(script, seed=7)  # events, frames and output all equal
    assert [r.rc for r in rec.results[-4:]] == [0, 1, 0, 0]
    assert "+2 errors" in rec.results[-3].stdout
