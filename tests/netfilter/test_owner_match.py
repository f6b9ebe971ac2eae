"""The owner match (xt_owner revision 1) against packet views, following
owner_mt: what each kind of skb->sk gives -- none, a socket no file holds
(an orphan, a child not yet accepted), the kernel's control socket, a TCP
request socket (its listener decides), a socket with credentials -- for
each option plain and inverted; then the match on real traffic of a
non-root process, and --log-uid beside it."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

import usernet
from usernet import Cred, Kernel
from usernet.netfilter import PktView, nf_net
from usernet.netfilter.matches import Owner
from usernet.sock import CTL_SK
from usernet.testing import VETH_PAIR
from usernet.tools import run_argv
from usernet.transport.udp import UdpSock


def owner(spec: str) -> Owner:
    """The match object ``iptables -A OUTPUT -m owner SPEC`` makes."""
    k = Kernel()
    res = run_argv(k, ["iptables", "-A", "OUTPUT", "-m", "owner", *spec.split()])
    assert res.rc == 0, res.stderr
    m = nf_net(k.init_net).tables["filter"].chains["OUTPUT"].rules[0].matches[0]
    assert isinstance(m, Owner)
    return m


def _sock(cred: Cred | None) -> Any:
    k = Kernel()
    sk = UdpSock(k.init_net)
    sk.file_cred = cred
    return sk


class _Request:
    def __init__(self, listener: Any) -> None:
        self.listener = listener


NONE, ORPHAN, CTL = None, _sock(None), CTL_SK
ROOT, USER = _sock(Cred(0, 0)), _sock(Cred(1000, 100, (27, 44)))
KINDS = (NONE, ORPHAN, CTL, ROOT, USER, _Request(USER))


# No socket: a match only when every option is inverted (--suppl-groups never
# is); the control socket: no credentials, so only inverted ids match.
def hits(spec: str) -> list[bool]:
    m = owner(spec)
    return [m.evaluate(PktView(sk=sk), None) for sk in KINDS]  # type: ignore[arg-type]


@pytest.mark.parametrize(("spec", "expected"), [
    #                                        none   orphan ctl    root   user   request
    ("--socket-exists",                     [False, False, True, True, True, True]),
    ("! --socket-exists",                   [True, True, False, False, False, False]),
    ("--uid-owner 0",                       [False, False, False, True, False, False]),
    ("! --uid-owner 0",                     [True, True, True, False, True, True]),
    ("--uid-owner 999-1000",                [False, False, False, False, True, True]),
    ("--gid-owner 100",                     [False, False, False, False, True, True]),
    ("! --gid-owner 0",                     [True, True, True, False, True, True]),
    ("--gid-owner 27",                      [False, False, False, False, False, False]),
    ("--gid-owner 27 --suppl-groups",       [False, False, False, False, True, True]),
    ("! --gid-owner 40-50 --suppl-groups",  [False, False, True, True, False, False]),
    ("! --socket-exists ! --uid-owner 5",   [True, True, False, False, False, False]),
    ("--socket-exists ! --uid-owner 0",     [False, False, True, False, True, True]),
    ("--uid-owner 1000 ! --gid-owner 100",  [False, False, False, False, False, False]),
])
def test_owner_mt(spec: str, expected: list[bool]) -> None:
    assert hits(spec) == expected


def test_names_ranges_and_forms() -> None:
    m = owner("--gid-owner nogroup ! --uid-owner daemon --socket-exists")
    assert (m.uid_min, m.gid_min) == (1, 65534)
    assert m.save(None) == " --socket-exists ! --uid-owner 1 --gid-owner 65534"  # type: ignore[arg-type]
    assert m.print_(None, False) == (  # type: ignore[arg-type]
        " owner socket exists ! owner UID match daemon owner GID match nogroup")
    assert owner("--uid-owner 3:0x10").print_(None, False) == " owner UID match 3-16"  # type: ignore[arg-type]


@pytest.mark.parametrize(("args", "rc", "text"), [
    ("-m owner", 2, "At least one of --uid-owner, --gid-owner or --socket-exists"),
    ("-m owner --uid-owner nosuchuser", 2, 'Bad value for "--uid-owner" option: "nosuchuser"'),
    ("-m owner --gid-owner 7-", 2, 'Bad value for "--gid-owner" option: "7-"'),
    ("-m owner --uid-owner 4294967295", 2, 'option: "4294967295"'),
    ("-m owner --suppl-groups --gid-owner 1", 2, "you need to use --gid-owner first"),
    ("-m owner --uid-owner 9-8", 4, "RULE_APPEND failed (Invalid argument)"),
])
def test_bad_input_changes_nothing(args: str, rc: int, text: str) -> None:
    k = Kernel()
    res = run_argv(k, ["iptables", "-A", "OUTPUT", *args.split()])
    assert (res.rc, text in res.stderr) == (rc, True), res.stderr
    assert k.cmd("iptables -S OUTPUT").stdout == "-P OUTPUT ACCEPT\n"
    assert k.cmd("iptables -A INPUT -m owner --uid-owner 0").rc == 4


def _udp_sender() -> None:
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"x", ("10.0.0.2", 9))


def test_non_root_process_on_the_wire() -> None:
    """A process spawned with uid 1000: its datagram matches --uid-owner
    1000 and logs UID=1000 GID=100; the port unreachable that answers it
    comes back, and root's ping is not counted."""
    k = Kernel()
    k.script(VETH_PAIR)
    k.cmd("sysctl -qw net.netfilter.nf_log_all_netns=1")
    for rule in ("-m owner --uid-owner 1000", "-m owner --gid-owner 100 -j LOG --log-uid"):
        assert k.cmd(f"ip netns exec a iptables -A OUTPUT {rule}").rc == 0
    with usernet.patched(k):
        k.spawn(_udp_sender, netns="a", cred=Cred(1000, 100)).result(timeout=1)
        time.sleep(0.1)
    k.cmd("ip netns exec a ping -c 1 10.0.0.2")
    rule = k.cmd("ip netns exec a iptables -L OUTPUT -v -x -n").stdout.splitlines()[2]
    assert rule.split()[:2] == ["1", "29"]
    log = k.cmd("dmesg -t").stdout.splitlines()
    assert len(log) == 1 and log[0].endswith(" PROTO=UDP SPT=" + log[0].split("SPT=")[1]
                                             .split()[0] + " DPT=9 LEN=9 UID=1000 GID=100 ")


def _refused() -> None:
    import socket

    s = socket.socket()
    with contextlib.suppress(ConnectionRefusedError):
        s.connect(("127.0.0.1", 9))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"x", ("127.0.0.1", 9))


def test_reject_answers() -> None:
    """Observed on 6.18: REJECT's TCP reset is a fresh skb without a socket;
    its ICMP error goes out on the control socket (icmp_send)."""
    k = Kernel()
    k.script("ip link set lo up\n"
             "iptables -A INPUT -p tcp --dport 9 -j REJECT --reject-with tcp-reset\n"
             "iptables -A INPUT -p udp --dport 9 -j REJECT\n")
    for opt in ("--socket-exists", "! --socket-exists", "! --uid-owner 0"):
        k.cmd(f"iptables -A OUTPUT -p tcp --tcp-flags RST RST -m owner {opt}")
        k.cmd(f"iptables -A OUTPUT -p icmp -m owner {opt}")
    with usernet.patched(k):
        k.spawn(_refused).result(timeout=1)
        time.sleep(0.1)
    rows = k.cmd("iptables -L OUTPUT -v -x -n").stdout.splitlines()[2:]
    assert [(r.split()[0], r.split()[1]) for r in rows] == [
        ("0", "0"), ("1", "57"), ("1", "40"), ("0", "0"), ("1", "40"), ("1", "57")]


def _connect_once() -> None:
    import socket

    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 80))
    lsn.listen()
    c = socket.socket()
    c.connect(("127.0.0.1", 80))


@pytest.mark.parametrize(("syncookies", "counts"), [(1, ["1", "0", "1"]), (2, ["0", "1", "0"])])
def test_synack_owner(syncookies: int, counts: list[str]) -> None:
    """Observed on 6.18: a SYN-ACK carries its request socket, so the
    listener's owner matches -- unless it is a SYN cookie's, sent unowned."""
    k = Kernel()
    k.script(f"ip link set lo up\nsysctl -qw net.ipv4.tcp_syncookies={syncookies}\n")
    for opt in ("--socket-exists", "! --socket-exists", "--uid-owner 0"):
        k.cmd(f"iptables -A OUTPUT -p tcp --tcp-flags SYN,ACK SYN,ACK -m owner {opt}")
    with usernet.patched(k):
        k.spawn(_connect_once).result(timeout=1)
        time.sleep(0.1)
    rows = k.cmd("iptables -L OUTPUT -v -x -n").stdout.splitlines()[2:]
    assert [r.split()[0] for r in rows] == counts
