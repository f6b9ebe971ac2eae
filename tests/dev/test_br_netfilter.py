"""br_netfilter beyond the conformance scenarios (c160, c190, c191): what LOG
shows of a bridged frame, and the IPv4 checks a frame must pass before the
bridge hands it to iptables."""

from __future__ import annotations

import re

from usernet.dev.datapath import netif_receive
from usernet.ipv4.datapath_state import ipv4_dp
from usernet.kernel import Kernel
from usernet.testing import BRIDGE

RULES = """\
sysctl -w net.netfilter.nf_log_all_netns=1
ip -n h1 link set eth0 address 02:00:00:00:00:01
ip -n h2 link set eth0 address 02:00:00:00:00:02
ip netns exec sw iptables -t mangle -A PREROUTING -p icmp -j LOG --log-prefix "PRE "
ip netns exec sw iptables -A FORWARD -j LOG --log-prefix "FWD " --log-macdecode
ip netns exec sw iptables -t mangle -A POSTROUTING -p icmp -j LOG --log-prefix "POST "
ip netns exec sw iptables -A INPUT -p icmp -j LOG --log-prefix "IN "
"""


def _kernel() -> Kernel:
    k = Kernel()
    k.script(BRIDGE)
    for line in RULES.splitlines():
        assert k.cmd(line).rc == 0, line
    return k


def _fields(line: str) -> str:
    """The line up to SRC=, with the random ids cut from what follows."""
    head, _, rest = line.partition(" SRC=")
    return head + " SRC=" + re.sub(r"\bID=\d+ ", "", rest)


def test_log_of_bridged_frames_names_the_ports() -> None:
    """As the kernel logs them (recorded on 6.18): PHYSIN/PHYSOUT after
    IN/OUT; POSTROUTING has no input device and so no MAC."""
    k = _kernel()
    assert k.cmd("ip netns exec h1 ping -c 1 10.3.0.2").rc == 0
    lines = [_fields(ln) for ln in k.cmd("dmesg -t").stdout.splitlines()]
    echo = ("LEN=84 TOS=0x00 PREC=0x00 TTL=64 DF PROTO=ICMP TYPE=8 CODE=0 SEQ=1 ")
    assert lines[0] == ("PRE IN=br0 OUT= PHYSIN=p1 MAC=02:00:00:00:00:02:02:00:00:00:00:01:08:00"
                        " SRC=10.3.0.1 DST=10.3.0.2 " + echo)
    assert lines[1] == ("FWD IN=br0 OUT=br0 PHYSIN=p1 PHYSOUT=p2 MACSRC=02:00:00:00:00:01 "
                        "MACDST=02:00:00:00:00:02 MACPROTO=0800 SRC=10.3.0.1 DST=10.3.0.2 "
                        + echo)
    assert lines[2] == "POST IN= OUT=br0 PHYSIN=p1 PHYSOUT=p2 SRC=10.3.0.1 DST=10.3.0.2 " + echo
    assert lines[3].startswith("PRE IN=br0 OUT= PHYSIN=p2 MAC=02:00:00:00:00:01:02:00:00:00:00:02")
    assert len(lines) == 6


def test_log_of_frames_for_the_bridge_itself() -> None:
    """A frame for the bridge's address: PREROUTING once (in the bridge) and
    INPUT, both with PHYSIN; the reply, sent by the bridge's own stack, is no
    bridged traffic (no PHYS fields)."""
    k = _kernel()
    assert k.cmd("ip -n sw addr add 10.3.0.254/24 dev br0").rc == 0
    assert k.cmd("ip netns exec h1 ping -c 1 10.3.0.254").rc == 0
    lines = k.cmd("dmesg -t").stdout.splitlines()
    assert [ln.split(" SRC=")[0].split(" MAC=")[0] for ln in lines] == [
        "PRE IN=br0 OUT= PHYSIN=p1", "IN IN=br0 OUT= PHYSIN=p1", "POST IN= OUT=br0"]


def test_bad_ipv4_headers_are_dropped_before_iptables() -> None:
    """br_validate_ipv4: a bad checksum is dropped and counted in the
    bridge's namespace (InCsumErrors, InHdrErrors); iptables never sees it."""
    k = _kernel()
    assert k.cmd("ip netns exec h1 ping -c 1 10.3.0.2").rc == 0
    k.cmd("ip netns exec sw iptables -t mangle -Z")
    sw = k.netns_get("sw")
    p1 = sw.dev_by_name["p1"]
    good = bytes.fromhex("020000000002" "020000000001" "0800") + bytes.fromhex(
        "45000054000040004001" "0000" "0a030001" "0a030002") + bytes(64)
    bad = good[:24] + b"\x12\x34" + good[26:]
    mib = ipv4_dp(sw).mib
    before = (mib["InCsumErrors"], mib["InHdrErrors"])
    netif_receive(p1, bad)
    assert (mib["InCsumErrors"], mib["InHdrErrors"]) == (before[0] + 1, before[1] + 1)
    assert "0        0 LOG" in k.cmd("ip netns exec sw iptables -t mangle -L PREROUTING "
                                     "-v -x -n").stdout
