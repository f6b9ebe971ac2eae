"""ip neigh, checked against the oracle's texts (NOTES.md "Neighbours")."""

from __future__ import annotations

import json

import pytest

from usernet import Kernel


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    for line in ("ip netns add n", "ip -n n link add a0 type veth peer name a1",
                 "ip -n n link set a0 up"):
        assert kernel.cmd(line).rc == 0
    return kernel


def ip(k: Kernel, line: str) -> tuple[int, str, str]:
    res = k.cmd(f"ip -n n {line}")
    return res.rc, res.stdout, res.stderr


def test_add_show_replace_delete(k: Kernel) -> None:
    assert ip(k, "neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev a0 nud permanent")[0] == 0
    assert ip(k, "neigh add 10.0.0.2 lladdr 02:00:00:00:00:03 dev a0")[2] == \
        "RTNETLINK answers: File exists\n"
    assert ip(k, "neigh replace 10.0.0.2 lladdr 02:00:00:00:00:03 dev a0")[0] == 0
    assert ip(k, "neigh show")[1] == "10.0.0.2 dev a0 lladdr 02:00:00:00:00:03 PERMANENT \n"
    assert ip(k, "neigh show dev a0")[1] == "10.0.0.2 lladdr 02:00:00:00:00:03 PERMANENT \n"
    assert json.loads(ip(k, "-j neigh show")[1]) == [
        {"dst": "10.0.0.2", "dev": "a0", "lladdr": "02:00:00:00:00:03", "state": ["PERMANENT"]}]
    assert ip(k, "neigh del 10.0.0.2 dev a0")[0] == 0
    assert ip(k, "neigh del 10.0.0.2 dev a0") == (
        2, "", "RTNETLINK answers: No such file or directory\n")


def test_noarp_hidden_and_flush_keeps_static(k: Kernel) -> None:
    ip(k, "neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev a0 nud noarp")
    ip(k, "neigh add 10.0.0.3 lladdr 02:00:00:00:00:03 dev a0 nud stale")
    assert "10.0.0.2" not in ip(k, "neigh show")[1]
    assert ip(k, "neigh show nud noarp")[1] == "10.0.0.2 dev a0 lladdr 02:00:00:00:00:02 NOARP \n"
    assert ip(k, "neigh flush dev a0")[0] == 0
    shown = {e["dst"] for e in json.loads(ip(k, "-j neigh show nud all")[1])}
    assert shown == {"10.0.0.2"}


@pytest.mark.parametrize(("line", "rc", "err"), [
    ("neigh add 10.0.0.4 lladdr 02:00:00:00:00:04 dev nosuch", 1, 'Cannot find device "nosuch"'),
    ("neigh add 10.0.0.4 lladdr 02:00:00:00:00:04", 255,
     "Device and destination are required arguments."),
    ("neigh add 10.0.0.4 lladdr zz:00:00:00:00:04 dev a0", 1, '"zz" is invalid lladdr.'),
    ("neigh add 10.0.0.4 lladdr 02:00:00:00:00:04 dev a0 nud bogus", 255,
     'Error: argument "bogus" is wrong: nud state is bad'),
    ("neigh flush", 1, "Flush requires arguments."),
    ("neigh get 10.0.0.99 dev a0", 2, "Error: Neighbour entry not found."),
    ("neigh frob", 255, 'Command "frob" is unknown, try "ip neigh help".'),
])
def test_errors(k: Kernel, line: str, rc: int, err: str) -> None:
    assert ip(k, line) == (rc, "", err + "\n")


def test_proxy_entries(k: Kernel) -> None:
    assert ip(k, "neigh add proxy 10.0.0.5 dev a0")[0] == 0
    assert ip(k, "neigh add proxy 10.0.0.5 dev a0")[0] == 0
    assert ip(k, "neigh show proxy")[1] == "10.0.0.5 dev a0 proxy \n"
    assert json.loads(ip(k, "-j neigh show proxy")[1]) == [
        {"dst": "10.0.0.5", "dev": "a0", "proxy": None}]
    assert ip(k, "neigh show")[1] == ""
    assert ip(k, "neigh del proxy 10.0.0.5 dev a0")[0] == 0
    assert ip(k, "neigh del proxy 10.0.0.5 dev a0")[0] == 2


def test_add_without_lladdr_in_fresh_namespace_uses_broadcast(k: Kernel) -> None:
    assert ip(k, "neigh add 10.0.0.7 dev a0")[0] == 0
    assert ip(k, "neigh show")[1] == "10.0.0.7 dev a0 lladdr ff:ff:ff:ff:ff:ff PERMANENT \n"


def test_entries_are_per_namespace(k: Kernel) -> None:
    k.cmd("ip netns add m")
    ip(k, "neigh add 10.0.0.2 lladdr 02:00:00:00:00:02 dev a0")
    assert k.cmd("ip -n m -j neigh show").stdout == "[]\n"
