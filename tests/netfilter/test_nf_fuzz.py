"""Bad input for netfilter: whatever arrives at a router whose tables use
every kind of match and target -- conntrack, NAT, mangle, LOG, REJECT,
limits -- is handled without raising, and a full conntrack table stays at
its limit (new connections dropped, as Linux does, memory not growing)."""

from __future__ import annotations

import importlib.util
import random
import struct
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from usernet.netfilter.conntrack import ct_count
from usernet.tools.iptables import restore_text
from usernet.wire.checksum import ip_checksum
from usernet.wire.ipv4 import addr_int, ipv4_header

_spec = importlib.util.spec_from_file_location(
    "rx_target_nf", Path(__file__).parent.parent / "fuzz" / "rx_target.py")
assert _spec is not None and _spec.loader is not None
rx_target = importlib.util.module_from_spec(_spec)
sys.modules["rx_target_nf"] = rx_target
_spec.loader.exec_module(rx_target)

CT_MAX = 24
RULES = """\
*raw
-A PREROUTING -p udp --dport 9 -j CT --notrack
COMMIT
*mangle
-A PREROUTING -p tcp --tcp-flags SYN,RST SYN -j MARK --set-mark 0x7
-A PREROUTING -m ttl --ttl-lt 3 -j TTL --ttl-inc 1
-A FORWARD -j CONNMARK --save-mark
-A POSTROUTING -m length --length 0:64 -j TTL --ttl-set 33
COMMIT
*nat
-A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 10.9.0.7:80
-A PREROUTING -p udp -m multiport --dports 53,5353 -j REDIRECT --to-ports 1053
-A POSTROUTING -o r2 -s 10.0.0.0/24 -j MASQUERADE
-A POSTROUTING -o r1 -p icmp -j SNAT --to-source 10.0.0.1
COMMIT
*filter
-A INPUT -m conntrack --ctstate INVALID -j LOG --log-prefix "inv " --log-ip-options
-A INPUT -m addrtype --dst-type BROADCAST -j DROP
-A INPUT -p tcp --syn -m limit --limit 5/sec --limit-burst 3 -j ACCEPT
-A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -m iprange --src-range 10.0.0.100-10.0.0.200 -j REJECT --reject-with icmp-host-prohibited
-A INPUT -p udp -j REJECT
-A FORWARD -m state --state ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -m conntrack --ctstate NEW -m connmark --mark 0x7 -j LOG --log-tcp-options
-A FORWARD -f -j DROP
-A FORWARD -p tcp -m tcp --tcp-flags ALL FIN,PSH,URG -j DROP
-A FORWARD -i r1 -o r2 -j ACCEPT
-A OUTPUT -m conntrack --ctstate SNAT,DNAT -j ACCEPT
COMMIT
"""


class NfTarget(rx_target.Target):  # type: ignore[misc,name-defined]
    def __init__(self) -> None:
        super().__init__()
        res = restore_text(self.kernel, self.net, RULES)
        assert res.rc == 0, res.stderr
        assert self.kernel.cmd(f"sysctl -w net.netfilter.nf_conntrack_max={CT_MAX}").rc == 0

    def feed(self, frame: bytes) -> None:
        super().feed(frame)
        assert ct_count(self.net) <= CT_MAX


TARGET = NfTarget()
ETH = TARGET.dev.dev_addr + b"\x02\x00\x00\x00\x00\x02\x08\x00"
HOSTS = [addr_int(a) for a in ("10.0.0.2", "10.0.0.150", "10.0.0.255", "10.0.0.1",
                               "10.9.0.7", "10.9.0.1", "192.0.2.1", "0.0.0.0")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_any_ipv4_payload(data: bytes) -> None:
    TARGET.feed(ETH + data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(src=st.sampled_from(HOSTS), dst=st.sampled_from(HOSTS),
       proto=st.sampled_from([1, 6, 17, 47]), frag=st.sampled_from([0, 0x2000, 0x2001, 5, 0x4000]),
       ttl=st.integers(0, 255), tos=st.integers(0, 255),
       l4=st.binary(min_size=0, max_size=60))
def test_packets_with_valid_headers(src: int, dst: int, proto: int, frag: int, ttl: int,
                                    tos: int, l4: bytes) -> None:
    """Checksummed headers, so everything reaches the hooks: any transport
    bytes (bad TCP offsets, odd flags, short ICMP errors quoting anything)."""
    TARGET.feed(ETH + ipv4_header(tos, 20 + len(l4), 1, frag, ttl, proto, src, dst) + l4)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(itype=st.sampled_from([3, 4, 5, 11, 12]), code=st.integers(0, 15),
       inner_proto=st.sampled_from([1, 6, 17]), inner=st.binary(max_size=40),
       inner_src=st.sampled_from(HOSTS), inner_dst=st.sampled_from(HOSTS))
def test_icmp_errors_quoting_anything(itype: int, code: int, inner_proto: int, inner: bytes,
                                      inner_src: int, inner_dst: int) -> None:
    quoted = ipv4_header(0, 20 + len(inner), 2, 0, 64, inner_proto, inner_src, inner_dst) + inner
    body = struct.pack("!BBHI", itype, code, 0, 0) + quoted
    body = body[:2] + ip_checksum(body).to_bytes(2, "big") + body[4:]
    TARGET.feed(ETH + ipv4_header(0, 20 + len(body), 3, 0, 64, 1, HOSTS[0], HOSTS[3]) + body)


def test_a_full_table_drops_new_connections_and_stays_full() -> None:
    """Many new flows: the table stops at nf_conntrack_max, the rest are
    dropped and the kernel log says so."""
    rng = random.Random(5)
    for i in range(4 * CT_MAX):
        sport = 20000 + i
        seg = struct.pack("!HHIIBBHHH", sport, 80, rng.randrange(1 << 32), 0, 0x50, 0x02,
                          8192, 0, 0)
        TARGET.feed(ETH + ipv4_header(0, 40, 4, 0x4000, 64, 6, HOSTS[0], HOSTS[4]) + seg)
    assert ct_count(TARGET.net) == CT_MAX
    assert "nf_conntrack: table full, dropping packet" in TARGET.kernel.cmd("dmesg").stdout
