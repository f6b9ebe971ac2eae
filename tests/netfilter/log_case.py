"""The LOG case shared by ``record_log.py`` (real kernel) and ``test_log.py``
(usernet).

Router ``r`` between ``a`` (10.9.1.1) and ``b`` (10.9.2.1) logs every packet
at every hook, with a different prefix per hook and the --log-* flags spread
over them; every MAC address is set so that the MAC= fields are the same in
both worlds.  The traffic: pings forwarded, to the router, from the router,
over lo, with a TOS, fragmented (3000 bytes: each fragment is logged, since
nothing here needs reassembly), with TTL 1 (the ICMP error quotes the
packet); UDP to a closed port (again a quoted packet) forwarded and local;
a TCP exchange forwarded and one with the router (fixed client ports), and a
TCP connection refused by RST.
"""

from __future__ import annotations

PREFIX = "NS-"
MARK = "ULG-"  # in every log prefix of the case
NAMESPACES = ("a", "r", "b")


def ns_name(ns: str) -> str:
    return "ulg-" + ns


SETUP = [
    "ip netns add NS-a", "ip netns add NS-r", "ip netns add NS-b",
    "ip netns exec NS-a sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
    " net.ipv6.conf.default.disable_ipv6=1",
    "ip netns exec NS-r sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
    " net.ipv6.conf.default.disable_ipv6=1",
    "ip netns exec NS-b sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
    " net.ipv6.conf.default.disable_ipv6=1",
    "ip -n NS-a link add eth0 type veth peer name ra netns NS-r",
    "ip -n NS-b link add eth0 type veth peer name rb netns NS-r",
    "ip -n NS-a link set eth0 address 02:00:00:00:01:01",
    "ip -n NS-r link set ra address 02:00:00:00:01:fe",
    "ip -n NS-b link set eth0 address 02:00:00:00:02:01",
    "ip -n NS-r link set rb address 02:00:00:00:02:fe",
    "ip -n NS-a addr add 10.9.1.1/24 dev eth0",
    "ip -n NS-b addr add 10.9.2.1/24 dev eth0",
    "ip -n NS-r addr add 10.9.1.254/24 dev ra",
    "ip -n NS-r addr add 10.9.2.254/24 dev rb",
    "ip -n NS-a link set lo up", "ip -n NS-r link set lo up", "ip -n NS-b link set lo up",
    "ip -n NS-a link set eth0 up", "ip -n NS-b link set eth0 up",
    "ip -n NS-r link set ra up", "ip -n NS-r link set rb up",
    "ip -n NS-a route add default via 10.9.1.254",
    "ip -n NS-b route add default via 10.9.2.254",
    "ip netns exec NS-r sysctl -qw net.ipv4.ip_forward=1",
    "ip netns exec NS-r iptables -t mangle -A PREROUTING -j LOG --log-prefix ULG-PRE:",
    "ip netns exec NS-r iptables -A INPUT -j LOG --log-prefix ULG-IN: --log-macdecode",
    "ip netns exec NS-r iptables -A FORWARD -j LOG --log-prefix ULG-FWD: --log-level 6"
    " --log-tcp-sequence --log-tcp-options --log-ip-options",
    "ip netns exec NS-r iptables -A OUTPUT -j LOG --log-prefix ULG-OUT: --log-level 7",
    "ip netns exec NS-r iptables -t mangle -A POSTROUTING -o lo -j LOG --log-prefix ULG-POST:",
]

# Servers in b (port 80) and r (port 81): one exchange each.  Every program
# pauses where the order of packets would otherwise depend on how fast it
# runs (usernet's programs take no time; a real one takes milliseconds).
_SERVER = """
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", PORT))
s.listen()
c, a = s.accept()
c.send(c.recv(10))
time.sleep(0.1)
c.close()
"""
_CLIENT = """
import socket, time
c = socket.socket()
c.bind(("0.0.0.0", CPORT))
c.connect((DST, PORT))
c.send(b"hi")
c.recv(10)
time.sleep(0.3)
c.close()
time.sleep(0.3)
"""
_UDP = """
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 5000))
u.sendto(b"hello", (DST, 9999))
"""
_REFUSED = """
import socket
c = socket.socket()
c.bind(("0.0.0.0", 40002))
try:
    c.connect(("10.9.2.1", 7))
except ConnectionRefusedError:
    pass
"""


def _fill(code: str, **values: object) -> str:
    for key, value in values.items():
        code = code.replace(key, repr(value) if isinstance(value, str) else str(value))
    return code


# (namespace, code, background) -- a background server gets 0.5 s to start,
# and every program's packets have 0.2 s to settle before the next one starts
TRAFFIC = [
    ("b", _fill(_SERVER, PORT=80), True),
    ("a", _fill(_CLIENT, CPORT=40000, DST="10.9.2.1", PORT=80), False),
    ("r", _fill(_SERVER, PORT=81), True),
    ("a", _fill(_CLIENT, CPORT=40001, DST="10.9.1.254", PORT=81), False),
    ("a", _fill(_UDP, DST="10.9.1.254"), False),
    ("a", _fill(_UDP, DST="10.9.2.1"), False),
    ("a", _REFUSED, False),
]

PINGS = [
    ("a", "ping -c 1 -W 1 10.9.2.1"),
    ("a", "ping -c 1 -W 1 10.9.1.254"),
    ("r", "ping -c 1 -W 1 127.0.0.1"),
    ("r", "ping -c 1 -W 1 10.9.1.1"),
    ("a", "ping -c 1 -W 1 -Q 0xb8 10.9.2.1"),
    ("a", "ping -c 1 -W 1 -s 3000 10.9.2.1"),
    ("a", "ping -c 1 -W 1 -t 1 10.9.2.1"),
]
