"""``ip route``: parsing, printing and error texts as iproute2 6.1 gives them."""

from __future__ import annotations

import json

from usernet import Kernel


def _k() -> Kernel:
    k = Kernel()
    k.netns_add("a")
    for line in ("link add v0 type veth peer name v1", "link set v0 up", "link set v1 up",
                 "addr add 10.0.0.1/24 dev v0"):
        assert k.cmd(f"ip -n a {line}").rc == 0
    return k


def test_show_text_json_and_filters() -> None:
    k = _k()
    assert k.cmd("ip -n a route add 10.9.0.0/16 via 10.0.0.2 proto static metric 5").ok
    res = k.cmd("ip -n a route show")
    assert res.stdout == ("10.0.0.0/24 dev v0 proto kernel scope link src 10.0.0.1 \n"
                          "10.9.0.0/16 via 10.0.0.2 dev v0 proto static metric 5 \n")
    res = k.cmd("ip -n a route show proto static")
    assert res.stdout == "10.9.0.0/16 via 10.0.0.2 dev v0 metric 5 \n"
    data = json.loads(k.cmd("ip -n a -j route show 10.9.0.0/16").stdout)
    assert data == [{"dst": "10.9.0.0/16", "gateway": "10.0.0.2", "dev": "v0",
                     "protocol": "static", "metric": 5, "flags": []}]


def test_missing_table_errors() -> None:
    k = _k()
    res = k.cmd("ip -n a -j route show table 100")
    assert (res.rc, res.stdout) == (2, "[")
    assert res.stderr == "Error: ipv4: FIB table does not exist.\nDump terminated\n"
    res = k.cmd("ip -n a route flush table 4242")
    assert res.rc == 2 and res.stderr.endswith("Flush terminated\n")
    res = k.cmd("ip -n a route show table nosuch")
    assert res.rc == 255
    assert res.stderr.startswith('Error: argument "nosuch" is wrong: table id value is invalid')


def test_get_and_multipath_and_metrics() -> None:
    k = _k()
    assert k.cmd("ip -n a route add 10.6.0.0/16 nexthop via 10.0.0.2 "
                 "nexthop via 10.0.0.3 weight 3").ok
    assert k.cmd("ip -n a route add 10.7.0.0/16 via 10.0.0.2 mtu lock 1400 rtt 3").ok
    out = k.cmd("ip -n a route show").stdout
    assert ("10.6.0.0/16 \n\tnexthop via 10.0.0.2 dev v0 weight 1 \n"
            "\tnexthop via 10.0.0.3 dev v0 weight 3 \n") in out
    assert "10.7.0.0/16 via 10.0.0.2 dev v0 mtu lock 1400 rtt 0ms \n" in out
    res = k.cmd("ip -n a route get 10.7.1.1")
    assert res.stdout == ("10.7.1.1 via 10.0.0.2 dev v0 src 10.0.0.1 uid 0 \n"
                          "    cache mtu lock 1400 rtt 0ms \n")
    res = k.cmd("ip -n a route get 10.0.0.1")
    assert res.stdout == "local 10.0.0.1 dev lo src 10.0.0.1 uid 0 \n    cache <local> \n"


def test_get_iif_needs_forwarding() -> None:
    k = _k()
    assert k.cmd("ip -n a route add default via 10.0.0.2").ok
    res = k.cmd("ip -n a route get 8.8.8.8 from 10.9.9.9 iif v1")
    assert res.rc == 2 and res.stderr == "RTNETLINK answers: No route to host\n"
    assert k.cmd("ip netns exec a sysctl -w net.ipv4.ip_forward=1").ok
    res = k.cmd("ip -n a route get 8.8.8.8 from 10.9.9.9 iif v1")
    assert res.stdout == "8.8.8.8 from 10.9.9.9 via 10.0.0.2 dev v0 \n    cache iif v1 \n"


def test_argument_errors() -> None:
    k = _k()
    cases = {
        "ip -n a route add 10.0.0.0/33 dev v0":
            (1, 'Error: any valid prefix is expected rather than "10.0.0.0/33".'),
        "ip -n a route add 10.1.0.0/16 via 10.0.0.300":
            (1, 'Error: inet address is expected rather than "10.0.0.300".'),
        "ip -n a route add 10.1.0.0/16 dev v0 proto nonsense":
            (255, 'Error: argument "nonsense" is wrong: "protocol" value is invalid'),
        "ip -n a route add 10.1.0.0/16":
            (2, "RTNETLINK answers: No such device"),
        "ip -n a route add blackhole 10.1.0.0/16 dev v0":
            (2, "Error: Gateway, device and multipath can not be specified for this route type."),
        "ip -n a route frob": (255, 'Command "frob" is unknown, try "ip route help".'),
        "ip -n a route flush": (1, '"ip route flush" requires arguments.'),
    }
    for cmd, (rc, err) in cases.items():
        res = k.cmd(cmd)
        assert (res.rc, res.stderr.splitlines()[0]) == (rc, err), cmd
    assert k.cmd("ip -n a route add").stderr.startswith("Usage: ip route { list | flush }")
