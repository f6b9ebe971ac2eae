"""The LOG target and the kernel log, against the real kernel.

``recorded/log_lines.json`` holds the kernel log lines of :mod:`log_case`
(re-record with ``tests/netfilter/record_log.py``, as root), and
``recorded/log_uid_lines.json`` those of :mod:`log_uid_case` (``record_log.py
log_uid_case``: which local packets --log-uid marks).  The same
topology, rules and traffic run in usernet must log the same lines, in the
same order, up to what the kernel chooses at random: IP and ICMP ids, TCP
sequence numbers and timestamp values, and the times of the records.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

import usernet
from usernet.kernel import Kernel

sys.path.insert(0, str(Path(__file__).parent))
import log_case
import log_uid_case


def recorded(name: str) -> list[str]:
    return list(json.loads((Path(__file__).parent / "recorded" / name).read_text())["lines"])


def _exec(code: str) -> None:
    """Run the case's code; under usernet.patched its ``import socket`` and
    ``import time`` are usernet's."""
    exec(code, {"__name__": "log_case_code"})


def normalize(line: str) -> str:
    """Level and text of a ``dmesg -r`` line, random fields masked."""
    line = re.sub(r"^(<\d>)\[[ .0-9]+\] ", r"\1", line)
    line = re.sub(r"\b(ID|SEQ|ACK)=\d+", r"\1=*", line)
    return re.sub(r"080A[0-9A-F]{16}", "080A<ts>", line)


def replay(case: ModuleType = log_case) -> list[str]:
    k = Kernel(seed=3)
    assert k.cmd("sysctl -qw net.netfilter.nf_log_all_netns=1").rc == 0
    ns_name = case.ns_name
    for line in case.SETUP:
        res = k.cmd(line.replace("NS-", ns_name("")))
        assert res.rc == 0, (line, res.stderr)
    with usernet.patched(k):
        for ns, code, background in case.TRAFFIC:
            proc = k.spawn(_exec, code, netns=ns_name(ns))
            if background:
                time.sleep(0.5)  # virtual
                continue
            proc.result(timeout=10)
            time.sleep(0.2)
    for ns, cmd in case.PINGS:
        k.cmd(f"ip netns exec {ns_name(ns)} {cmd}")
    k.run(until=0.5)
    return k.cmd("dmesg -r").stdout.splitlines()


@pytest.fixture(scope="module")
def logged() -> list[str]:
    return replay()


def test_log_lines_match_kernel(logged: list[str]) -> None:
    expected = [normalize(ln) for ln in recorded("log_lines.json")]
    actual = [normalize(ln) for ln in logged]
    assert actual == expected


def test_log_uid_lines_match_kernel() -> None:
    expected = [normalize(ln) for ln in recorded("log_uid_lines.json")]
    actual = [normalize(ln) for ln in replay(log_uid_case)]
    assert actual == expected


# -- who may log ----------------------------------------------------------------------------------

LOG_PING = """\
ip netns add a
ip netns add b
ip -n a link add eth0 type veth peer name eth0 netns b
ip -n a addr add 10.0.0.1/24 dev eth0
ip -n b addr add 10.0.0.2/24 dev eth0
ip -n a link set eth0 up
ip -n b link set eth0 up
ip netns exec b iptables -A INPUT -p icmp -j LOG --log-prefix "in: "
"""


def test_other_namespaces_log_only_with_nf_log_all_netns() -> None:
    """nf_log_allowed: LOG outside init_net counts but prints nothing until
    init_net's net.netfilter.nf_log_all_netns is set."""
    k = Kernel()
    k.script(LOG_PING)
    assert k.cmd("ip netns exec a ping -c 1 10.0.0.2").rc == 0
    assert k.cmd("dmesg").stdout == ""
    assert "1       84 LOG" in k.cmd("ip netns exec b iptables -L INPUT -v -x -n").stdout
    assert k.cmd("sysctl net.netfilter.nf_log_all_netns").stdout == \
        "net.netfilter.nf_log_all_netns = 0\n"
    assert k.cmd("sysctl -w net.netfilter.nf_log_all_netns=1").rc == 0
    assert k.cmd("ip netns exec a ping -c 1 10.0.0.2").rc == 0
    lines = k.cmd("dmesg -t").stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("in: IN=eth0 OUT= MAC=")
    assert "SRC=10.0.0.1 DST=10.0.0.2 LEN=84 " in lines[0]


def test_nf_log_all_netns_exists_only_in_init_net() -> None:
    k = Kernel()
    k.cmd("ip netns add a")
    res = k.cmd("ip netns exec a sysctl net.netfilter.nf_log_all_netns")
    assert res.rc != 0
    assert res.stderr == ("sysctl: cannot stat /proc/sys/net/netfilter/nf_log_all_netns: "
                          "No such file or directory\n")
    assert k.cmd("ip netns exec a sysctl net.bridge.bridge-nf-call-iptables").stdout == \
        "net.bridge.bridge-nf-call-iptables = 1\n"


def test_init_net_always_logs() -> None:
    k = Kernel()
    k.script("ip link set lo up\niptables -A OUTPUT -o lo -j LOG --log-level 6\n")
    assert k.cmd("ping -c 1 127.0.0.1").rc == 0
    raw = k.cmd("dmesg -r").stdout.splitlines()
    assert len(raw) == 2  # the request and the reply
    assert raw[0].startswith("<6>[    0.")
    # the IP ID is the hashed generator's (ip_ident.py), the ICMP ID ping's
    ip_id, icmp_id = (raw[0].split(" ID=")[k].split()[0] for k in (1, 2))
    assert raw[0].endswith(" IN= OUT=lo SRC=127.0.0.1 DST=127.0.0.1 LEN=84 TOS=0x00 "
                           f"PREC=0x00 TTL=64 ID={ip_id} DF PROTO=ICMP TYPE=8 CODE=0 "
                           f"ID={icmp_id} SEQ=1 ")
    assert ip_id.isdigit()


# -- --log-uid ------------------------------------------------------------------------------------


def test_log_uid() -> None:
    """Linux: OUTPUT of a ping with --log-uid ends in "UID=0 GID=0 "."""
    k = Kernel()
    k.script("ip link set lo up\niptables -A OUTPUT -p icmp --icmp-type 8 -j LOG --log-uid\n")
    k.cmd("ping -c 1 127.0.0.1")
    assert k.cmd("dmesg -t").stdout.endswith(" SEQ=1 UID=0 GID=0 \n")


# -- known differences from the kernel ----------------------------------------------------------


def test_log_postrouting_of_forwarded_packet() -> None:
    """Linux passes the input device to POSTROUTING (ip_output: indev =
    skb->dev), so LOG there shows IN= and MAC= of a forwarded packet."""
    from usernet.testing import ROUTER

    k = Kernel()
    k.script(ROUTER)
    k.cmd("sysctl -w net.netfilter.nf_log_all_netns=1")
    k.cmd("ip netns exec r iptables -t mangle -A POSTROUTING -o r2 -j LOG")
    k.cmd("ip netns exec h1 ping -c 1 10.2.0.2")
    assert k.cmd("dmesg -t").stdout.startswith("IN=r1 OUT=r2 MAC=")
