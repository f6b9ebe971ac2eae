"""The conntrack-tool case shared by ``record_conntrack.py`` (real kernel) and
``test_conntrack_tool.py`` (usernet).

A router ``r`` masquerades the LAN host ``l`` behind its WAN address and
forwards TCP port 8080 to ``l``:80; the WAN host ``w`` has servers.  Traffic
(plain ``socket`` code, run by python3 in the real namespaces and by
usernet's socket API in the emulated ones) leaves entries in every state the
tool prints: ICMP, TCP in TIME_WAIT and ESTABLISHED (one of them DNATed), UDP
unreplied and replied.  Then ``conntrack`` lists, filters, counts, deletes
and flushes them in ``r``.
"""

from __future__ import annotations


def ns_name(ns: str) -> str:
    return "uct-" + ns


SETUP = [
    "ip netns add NS-l", "ip netns add NS-r", "ip netns add NS-w",
    "ip -n NS-r link add lan type veth peer name eth0 netns NS-l",
    "ip -n NS-r link add wan type veth peer name eth0 netns NS-w",
    "ip -n NS-r addr add 10.8.1.1/24 dev lan",
    "ip -n NS-r addr add 10.8.2.1/24 dev wan",
    "ip -n NS-l addr add 10.8.1.2/24 dev eth0",
    "ip -n NS-w addr add 10.8.2.2/24 dev eth0",
    "ip -n NS-l link set lo up", "ip -n NS-r link set lo up", "ip -n NS-w link set lo up",
    "ip -n NS-r link set lan up", "ip -n NS-r link set wan up",
    "ip -n NS-l link set eth0 up", "ip -n NS-w link set eth0 up",
    "ip -n NS-l route add default via 10.8.1.1",
    "ip netns exec NS-r sysctl -qw net.ipv4.ip_forward=1",
    "ip netns exec NS-r iptables -t nat -A POSTROUTING -o wan -j MASQUERADE",
    "ip netns exec NS-r iptables -t nat -A PREROUTING -i wan -p tcp --dport 8080"
    " -j DNAT --to-destination 10.8.1.2:80",
]

# servers: w answers TCP on 80 (closing after one exchange) and echoes UDP on
# 54; l answers TCP on 80 and keeps the connection open
_W_SERVER = """
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
s.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 54))
c, a = s.accept()
c.recv(100)
c.send(b"hi")
c.close()
data, peer = u.recvfrom(100)
u.sendto(data, peer)
"""
_L_SERVER = """
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80))
s.listen()
c, a = s.accept()
c.recv(100)
c.send(b"ok")
time.sleep(30)
"""
# l: TCP to w (closed by l first, so the router sees TIME_WAIT), UDP without
# and with an answer
_L_CLIENT = """
import socket, time
c = socket.socket()
c.bind(("0.0.0.0", 40000))
c.connect(("10.8.2.2", 80))
c.send(b"x")
c.recv(10)
c.close()
time.sleep(0.2)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 5353))
u.sendto(b"q", ("10.8.2.2", 53))
v = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
v.bind(("0.0.0.0", 5354))
v.sendto(b"q", ("10.8.2.2", 54))
v.settimeout(2)
v.recvfrom(10)
"""
# w: to the forwarded port, left open
_W_CLIENT = """
import socket, time
c = socket.socket()
c.bind(("0.0.0.0", 41000))
c.connect(("10.8.2.1", 8080))
c.send(b"y")
c.recv(10)
time.sleep(30)
"""
# (namespace, code, run in the background)
TRAFFIC = [("w", _W_SERVER, True), ("l", _L_SERVER, True), ("l", _L_CLIENT, False),
           ("w", _W_CLIENT, True)]

# run after the traffic, in both worlds (ping's id differs: the test masks it)
PINGS = [("l", "ping -c 1 -W 1 10.8.2.2")]

COMMANDS = [
    ("r", "conntrack -L"),
    ("r", "conntrack -L -p tcp"),
    ("r", "conntrack -L -p udp"),
    ("r", "conntrack -L -p udp --dport 54"),
    ("r", "conntrack -L -s 10.8.1.2"),
    ("r", "conntrack -L -d 10.8.2.1"),
    ("r", "conntrack -L --reply-src 10.8.1.2"),
    ("r", "conntrack -L -p tcp --state ESTABLISHED"),
    ("r", "conntrack -L -p tcp --dport 80"),
    ("r", "conntrack -L -n"),
    ("r", "conntrack -L -g"),
    ("r", "conntrack -L -j"),
    ("r", "conntrack -L -u ASSURED"),
    ("r", "conntrack -L -u SEEN_REPLY"),
    ("r", "conntrack -L -m 0"),
    ("r", "conntrack -L -m 1"),
    ("r", "conntrack -L -o extended -p tcp"),
    ("r", "conntrack -C"),
    ("l", "conntrack -L"),
    ("l", "conntrack -C"),
    ("r", "conntrack -L -p foo"),
    ("r", "conntrack -L --dport 80"),
    ("r", "conntrack -L -s 10.8.1"),
    ("r", "conntrack -X"),
    ("r", "conntrack"),
    ("r", "conntrack -L -L"),
    ("r", "conntrack -V"),
    ("r", "conntrack -h"),
    ("r", "conntrack -L conntrack -p 6"),
    ("r", "conntrack -L expect"),
    ("r", "conntrack -L -f ipv6"),
    ("r", "conntrack -L -p tcp --dport x"),
    ("r", "conntrack -L -p tcp --sport 40000 --reply-port-dst 40000"),
    ("r", "conntrack -L -s 300.1.1.1"),
    ("r", "conntrack -L -u FOO"),
    ("r", "conntrack -L -p udp --state ESTABLISHED"),
    ("r", "conntrack -L -p tcp --state FOO"),
    ("r", "conntrack -L -m x"),
    ("r", "conntrack -L -s"),
    ("r", "conntrack -L -q 10.8.2.1 -p udp"),
    ("r", "conntrack -D -p udp --dport 53"),
    ("r", "conntrack -D -p udp --dport 53"),
    ("r", "conntrack -D -p icmp"),
    ("r", "conntrack -L"),
    ("r", "conntrack -F"),
    ("r", "conntrack -C"),
    ("r", "conntrack -L"),
]
