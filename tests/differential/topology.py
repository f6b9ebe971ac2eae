"""The topologies cases run in, as ``ip``/``sysctl`` command templates.

``{da}``, ``{db}``, ... stand for namespace names: on the real kernel they
are made unique with the pid (``du<pid><role>``); in usernet, which starts
from a fresh ``Kernel()`` per case, they are the role names themselves.
Standard library only.
"""

from __future__ import annotations

_PAIR = """\
ip netns add {da}
ip netns add {db}
ip -n {da} link set lo up
ip -n {db} link set lo up
ip -n {da} link add eth0 type veth peer name eth0 netns {db}
ip -n {da} addr add 10.9.0.1/24 dev eth0
ip -n {db} addr add 10.9.0.2/24 dev eth0
ip -n {da} link set eth0 up
ip -n {db} link set eth0 up
"""

# da (10.9.0.1) -- r (10.9.0.254 | 10.9.1.254) -- dc (10.9.1.2); db as in "pair" is
# not there.  r forwards and has no default route: 10.99.0.0/16 is unreachable at r.
_ROUTED = """\
ip netns add {da}
ip netns add {r}
ip netns add {dc}
ip -n {da} link set lo up
ip -n {r} link set lo up
ip -n {dc} link set lo up
ip -n {da} link add eth0 type veth peer name r0 netns {r}
ip -n {dc} link add eth0 type veth peer name r1 netns {r}
ip -n {da} addr add 10.9.0.1/24 dev eth0
ip -n {r} addr add 10.9.0.254/24 dev r0
ip -n {r} addr add 10.9.1.254/24 dev r1
ip -n {dc} addr add 10.9.1.2/24 dev eth0
ip -n {da} link set eth0 up
ip -n {r} link set r0 up
ip -n {r} link set r1 up
ip -n {dc} link set eth0 up
ip -n {da} route add default via 10.9.0.254
ip -n {dc} route add default via 10.9.1.254
ip netns exec {r} sysctl -q -w net.ipv4.ip_forward=1
"""

TOPOLOGIES: dict[str, tuple[str, dict[str, str]]] = {
    "pair": (_PAIR, {"da": "10.9.0.1", "db": "10.9.0.2"}),
    # two ephemeral ports in da: 40000 and 40001
    "narrow_ports": (_PAIR + "ip netns exec {da} sysctl -q -w "
                     "'net.ipv4.ip_local_port_range=40000 40001'\n",
                     {"da": "10.9.0.1", "db": "10.9.0.2"}),
    "routed": (_ROUTED, {"da": "10.9.0.1", "r": "10.9.0.254", "dc": "10.9.1.2"}),
}


def roles(topology: str) -> list[str]:
    """The namespace roles a topology makes, in creation order."""
    text = TOPOLOGIES[topology][0]
    return [line.split()[-1][1:-1] for line in text.splitlines()
            if line.startswith("ip netns add ")]


def commands(topology: str, names: dict[str, str]) -> list[str]:
    """The topology's command lines with namespace names filled in."""
    return [line.format(**names) for line in TOPOLOGIES[topology][0].splitlines()
            if line.strip()]


def addrs(topology: str) -> dict[str, str]:
    return dict(TOPOLOGIES[topology][1])
