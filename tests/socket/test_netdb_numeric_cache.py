"""getaddrinfo's and setipaddr's memory of numeric hosts must answer exactly
what the full resolver answers, and never stand in for a name the hosts
table decides."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.socket import _netdb
from usernet.testing import VETH_PAIR

HOSTS = ["10.0.0.2", "010.0.0.2", "0x0a.0.0.2", "10.2", "167772162", "127.1",
         "255.255.255.255", "0.0.0.0", "1.2.3.4.5", "256.0.0.1", "localhost", "peer",
         "::1", "", "ex\u00e4mple"]
PORTS: list[Any] = [0, 80, 5001, 65535, 70000, -1, "80", "http", None, True]
ARGS = [(0, 0, 0, 0), (us.AF_INET, us.SOCK_STREAM, 0, 0), (0, us.SOCK_DGRAM, 17, 0),
        (us.AF_INET6, 0, 0, 0), (0, 0, 0, us.AI_CANONNAME), (0, 0, 0, us.AI_NUMERICHOST),
        (0, 9, 0, 0), (2, 1, 6, 0)]


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def answer(fn: Any, *args: Any, **kw: Any) -> Any:
    try:
        return ("ok", fn(*args, **kw))
    except Exception as exc:  # the error is part of the answer
        return ("error", type(exc), exc.args)


def test_getaddrinfo_cache_matches_full_road(k: Kernel) -> None:
    _netdb._NUMERIC_AI.clear()
    with us.use_kernel(k), k.netns("a"):
        _netdb.hosts(k).add("10.0.0.9", "peer")
        for host, port, (fam, typ, pr, fl) in itertools.product(HOSTS, PORTS, ARGS):
            want = answer(_netdb._getaddrinfo, k, host, port, fam, typ, pr, fl)
            for _ in range(3):  # a miss, then hits
                got = answer(us.getaddrinfo, host, port, fam, typ, pr, fl)
                assert got == want, (host, port, fam, typ, pr, fl)
                if got[0] == "ok":
                    got[1].append("scribble")  # the caller owns the list it gets
        assert _netdb._NUMERIC_AI  # the numeric hosts were remembered
        assert all(_netdb.inet_aton_exact(h) is not None for h, *_ in _netdb._NUMERIC_AI)


def test_names_follow_the_hosts_table(k: Kernel) -> None:
    with us.use_kernel(k), k.netns("a"):
        table = _netdb.hosts(k)
        table.add("10.0.0.9", "peer")
        assert us.getaddrinfo("peer", 80, 0, us.SOCK_STREAM)[0][4] == ("10.0.0.9", 80)
        table.remove("peer")
        table.add("10.0.0.7", "peer")
        assert us.getaddrinfo("peer", 80, 0, us.SOCK_STREAM)[0][4] == ("10.0.0.7", 80)
        assert us.gethostbyname("peer") == "10.0.0.7"
        table.remove("peer")
        with pytest.raises(us.gaierror):
            us.getaddrinfo("peer", 80)


def test_setipaddr_cache_matches_full_road(k: Kernel) -> None:
    with us.use_kernel(k), k.netns("a"):
        _netdb.hosts(k).add("10.0.0.9", "peer")
        for host in [*HOSTS, b"10.0.0.2", bytearray(b"10.0.0.3"), 7, "1.2.3.04"]:
            first = answer(_netdb.setipaddr, host, k)
            _netdb._QUADS.clear()
            _netdb._IDNA.clear()
            assert answer(_netdb.setipaddr, host, k) == first
            assert answer(_netdb.setipaddr, host, k) == first
        assert _netdb.setipaddr("10.0.0.2", k) == 0x0A000002
