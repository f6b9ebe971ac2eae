"""Names: the per-namespace hosts table, the resolver functions and the
tools over them (hosts, getent, hostname).  Outputs follow glibc with
``hosts: files`` and the real getent/getaddrinfo seen on the oracle."""

from __future__ import annotations

import pytest

import usernet.socket as us
from usernet import Kernel
from usernet.socket._netdb import inet_aton_exact
from usernet.testing import VETH_PAIR


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.script(VETH_PAIR)
    return kernel


def test_getaddrinfo_numeric_localhost_and_passive(k: Kernel) -> None:
    with us.use_kernel(k):
        assert us.getaddrinfo("10.0.0.1", 80) == [
            (us.AF_INET, us.SOCK_STREAM, 6, "", ("10.0.0.1", 80)),
            (us.AF_INET, us.SOCK_DGRAM, 17, "", ("10.0.0.1", 80)),
            (us.AF_INET, us.SOCK_RAW, 0, "", ("10.0.0.1", 80))]
        assert us.getaddrinfo("localhost", "http") == [
            (us.AF_INET, us.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]  # http is tcp only
        assert us.getaddrinfo(None, 53, us.AF_INET, us.SOCK_DGRAM, 0, us.AI_PASSIVE) == [
            (us.AF_INET, us.SOCK_DGRAM, 17, "", ("0.0.0.0", 53))]
        assert us.getaddrinfo("127.1", None, type=us.SOCK_DGRAM)[0][4] == ("127.0.0.1", 0)
        info = us.getaddrinfo("localhost", 1, 0, us.SOCK_STREAM, 0, us.AI_CANONNAME)
        assert info[0][3] == "localhost"
        assert isinstance(info[0][0], us.AddressFamily)
        for args, code in ((("nosuchhost", 80), us.EAI_NONAME),
                           (("localhost", "nosuchsvc"), us.EAI_SERVICE),
                           (("::1", 80, us.AF_INET), us.EAI_ADDRFAMILY),
                           (("localhost", 80, us.AF_INET6), us.EAI_ADDRFAMILY),
                           (("server", 80, 0, 0, 0, us.AI_NUMERICHOST), us.EAI_NONAME)):
            with pytest.raises(us.gaierror) as info_exc:
                us.getaddrinfo(*args)
            assert info_exc.value.errno == code, args
        with pytest.raises(us.gaierror) as info_exc:
            us.getaddrinfo("nosuchhost", 80)
        assert info_exc.value.strerror == "Name or service not known"


def test_hosts_edits_and_lookups(k: Kernel) -> None:
    table = us.hosts(k, "a")
    table.add("10.0.0.2", "server.example.org", "server")
    table.add("10.0.0.3", "server")
    with k.netns("a"):
        assert [ai[4][0] for ai in us.getaddrinfo("SERVER", 1, type=us.SOCK_DGRAM)] == [
            "10.0.0.2", "10.0.0.3"]  # every line, file order, any case
        assert us.gethostbyname_ex("server") == ("server.example.org", ["server"],
                                                 ["10.0.0.2"])
        assert us.gethostbyaddr("10.0.0.2") == ("server.example.org", ["server"],
                                                ["10.0.0.2"])
        with pytest.raises(us.herror) as info:
            us.gethostbyaddr("10.9.9.9")
        assert info.value.args == (1, "Unknown host")
        assert us.getnameinfo(("127.0.0.1", 80), 0) == ("localhost", "http")
        assert us.getnameinfo(("10.9.9.9", 53), us.NI_DGRAM) == ("10.9.9.9", "domain")
        with pytest.raises(us.gaierror):
            us.getnameinfo(("10.9.9.9", 53), us.NI_NAMEREQD)
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
        s.connect(("server", 9))  # names in addresses go through the table
        assert s.getpeername() == ("10.0.0.2", 9)
        s.close()
    assert table.remove("server") == 2
    assert table.text() == "127.0.0.1\tlocalhost\n10.0.0.2\tserver.example.org\n"
    with pytest.raises(ValueError):
        table.add("::1", "v6")


def test_hostname_and_fqdn(k: Kernel) -> None:
    with k.netns("b"):
        assert us.gethostname() == "localhost"
        us.sethostname("box")
        assert us.getfqdn() == "box"  # not in the table: the name itself
        us.hosts(k).add("10.0.0.2", "box.lab", "box")
        assert us.getfqdn() == "box.lab"
    with k.netns("a"):
        assert us.gethostname() == "localhost"


def test_tools(k: Kernel) -> None:
    def run(line: str) -> tuple[int, str]:
        res = k.cmd(line)
        return res.rc, res.stdout

    assert run("ip netns exec a hosts add 10.0.0.2 server srv") == (0, "")
    assert run("ip netns exec a hosts") == (0, "127.0.0.1\tlocalhost\n10.0.0.2\tserver srv\n")
    assert run("ip netns exec a getent hosts srv") == (0, "10.0.0.2        server srv\n")
    assert run("ip netns exec a getent hosts 127.0.0.1") == (0, "127.0.0.1       localhost\n")
    assert run("ip netns exec b getent hosts srv") == (2, "")
    assert run("ip netns exec a getent ahostsv4 localhost") == (0, (
        "127.0.0.1       STREAM localhost\n127.0.0.1       DGRAM  \n127.0.0.1       RAW    \n"))
    assert run("ip netns exec a getent nosuchdb x")[0] == 1
    assert run("ip netns exec a hosts add 10.0.0.300 bad")[0] == 1
    assert run("ip netns exec a hosts del srv") == (0, "")
    assert run("ip netns exec a hostname web") == (0, "")
    assert run("ip netns exec a hostname") == (0, "web\n")
    assert run("ip netns exec b hostname") == (0, "localhost\n")


def test_inet_aton_exact() -> None:
    assert inet_aton_exact("127.1") == 0x7F000001
    assert inet_aton_exact("0x7f.0.0.010") == 0x7F000008
    assert inet_aton_exact("10.0.0.1") == 0x0A000001
    for bad in ("1.2.3.4 x", "1.2.3.256", "1.2.3.4.5", "", "a.b.c.d", "1.2.65536"):
        assert inet_aton_exact(bad) is None, bad
