"""The LOG --log-uid case shared by ``record_log.py log_uid_case`` (real
kernel) and ``test_log.py`` (usernet).

Host ``h`` (10.8.0.1) logs what it sends, at OUTPUT and at mangle
POSTROUTING, and what it receives, at INPUT, with --log-uid; its peer ``p``
(10.8.0.2) logs nothing.  What carries ``UID=0 GID=0`` on the way out is a
packet whose socket a file holds: h's TCP client from SYN to FIN, its
accepted server socket (the peer's client waits before it sends, so that
accept() has run), its UDP datagrams and ping's echo requests.  What
carries none: the SYN-ACK (a request socket), the ACK of the peer's FIN
after close (an orphan, then TIME_WAIT), the RST for a closed port, echo
replies and ICMP errors (the kernel's own socket).  On the way in, early
demux gives a packet the socket it is for: TCP segments of h's connections
(from the SYN-ACK its client receives on) and datagrams for a connected
UDP socket carry the owner of that socket; a SYN, the ACK that completes
a handshake (a request socket), segments for an orphan and datagrams for
an unconnected socket carry none.
"""

from __future__ import annotations

from log_case import _CLIENT, _REFUSED, _SERVER, _UDP, _fill

MARK = "ULU-"
NAMESPACES = ("h", "p")


def ns_name(ns: str) -> str:
    return "ulu-" + ns


SETUP = [
    "ip netns add NS-h", "ip netns add NS-p",
    "ip netns exec NS-h sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
    " net.ipv6.conf.default.disable_ipv6=1",
    "ip netns exec NS-p sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
    " net.ipv6.conf.default.disable_ipv6=1",
    "ip -n NS-h link add eth0 type veth peer name eth0 netns NS-p",
    "ip -n NS-h link set eth0 address 02:00:00:00:08:01",
    "ip -n NS-p link set eth0 address 02:00:00:00:08:02",
    "ip -n NS-h addr add 10.8.0.1/24 dev eth0",
    "ip -n NS-p addr add 10.8.0.2/24 dev eth0",
    "ip -n NS-h link set lo up", "ip -n NS-p link set lo up",
    "ip -n NS-h link set eth0 up", "ip -n NS-p link set eth0 up",
    "ip netns exec NS-h iptables -A OUTPUT -j LOG --log-prefix ULU-OUT: --log-uid",
    "ip netns exec NS-h iptables -A INPUT -j LOG --log-prefix ULU-IN: --log-uid --log-level 5",
    "ip netns exec NS-h iptables -t mangle -A POSTROUTING -p tcp -j LOG --log-prefix ULU-POST:"
    " --log-uid --log-level 6",
]

# the peer's client waits before it sends: h's server has accepted by then
# h's client ends with shutdown(SHUT_WR) and closes later: Linux delivers the
# peer's immediate ACK of the FIN within the sending call (veth, one CPU),
# before close() would have orphaned the socket -- timing usernet, whose
# links take time, does not reproduce
_CLIENT_SHUT = _CLIENT.replace("time.sleep(0.3)\nc.close()\n",
                               "time.sleep(0.3)\nc.shutdown(socket.SHUT_WR)\n"
                               "time.sleep(0.2)\nc.close()\n")
_SLOW_CLIENT = _CLIENT.replace("c.connect((DST, PORT))\n",
                               "c.connect((DST, PORT))\ntime.sleep(0.2)\n")
_REFUSED_H = _REFUSED.replace("10.9.2.1", "10.8.0.1").replace("40002", "40003")
# a connected UDP socket in h and its peer's two answers
_UDP_CONNECTED = """
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 5001))
u.connect(("10.8.0.2", 6000))
u.send(b"ask")
time.sleep(0.3)
"""
_UDP_ANSWER = """
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 6000))
data, peer = u.recvfrom(10)
u.sendto(b"one", peer)
u.sendto(b"two", peer)
"""

TRAFFIC = [
    ("p", _fill(_SERVER, PORT=80), True),
    ("h", _fill(_CLIENT_SHUT, CPORT=40000, DST="10.8.0.2", PORT=80), False),
    ("h", _fill(_SERVER, PORT=81), True),
    ("p", _fill(_SLOW_CLIENT, CPORT=40001, DST="10.8.0.1", PORT=81), False),
    ("h", _fill(_UDP, DST="10.8.0.2"), False),
    ("p", _fill(_UDP, DST="10.8.0.1"), False),
    ("h", _REFUSED.replace("10.9.2.1", "10.8.0.2"), False),
    ("p", _REFUSED_H, False),
    ("p", _UDP_ANSWER, True),
    ("h", _UDP_CONNECTED, False),
]

PINGS = [
    ("h", "ping -c 1 -W 1 10.8.0.2"),
    ("p", "ping -c 1 -W 1 10.8.0.1"),
    ("h", "ping -c 1 -W 1 127.0.0.1"),
]
