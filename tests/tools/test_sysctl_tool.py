"""procps sysctl as recorded on the oracle (NOTES.md "sysctl")."""

from __future__ import annotations

import pytest

from usernet import Kernel


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    kernel.cmd("ip netns add s")
    return kernel


def run(k: Kernel, line: str) -> tuple[int, str, str]:
    res = k.cmd(f"ip netns exec s sysctl {line}")
    return res.rc, res.stdout, res.stderr


def test_read_forms(k: Kernel) -> None:
    assert run(k, "net.ipv4.ip_forward net/ipv4/ip_default_ttl") == (
        0, "net.ipv4.ip_forward = 0\nnet.ipv4.ip_default_ttl = 64\n", "")
    assert run(k, "-n net.ipv4.icmp_ratelimit")[1] == "1000\n"
    assert run(k, "net.ipv4.ip_local_port_range")[1] == \
        "net.ipv4.ip_local_port_range = 32768\t60999\n"
    assert run(k, "-N net.core.somaxconn")[1] == "net.core.somaxconn\n"


def test_write_echoes_value_as_given(k: Kernel) -> None:
    assert run(k, "-w net.ipv4.ip_forward=0x10") == (0, "net.ipv4.ip_forward = 0x10\n", "")
    assert run(k, "-n net.ipv4.ip_forward")[1] == "16\n"
    assert run(k, "net.ipv4.ip_forward=1")[1] == "net.ipv4.ip_forward = 1\n"  # no -w
    assert run(k, "-q -w net.ipv4.ip_forward=0")[1] == ""


def test_errors_and_exit_codes(k: Kernel) -> None:
    rc, out, err = run(k, "-w net.ipv4.ip_default_ttl=0")
    assert (rc, out) == (1, "")
    assert err == 'sysctl: setting key "net.ipv4.ip_default_ttl": Invalid argument\n'
    rc, _, err = run(k, "net.ipv4.conf.nosuch.forwarding")
    assert rc == 1
    assert err == ("sysctl: cannot stat /proc/sys/net/ipv4/conf/nosuch/forwarding: "
                   "No such file or directory\n")
    assert run(k, "-e net.ipv4.nosuch") == (0, "", "")
    assert run(k, "-w net.core.somaxconn")[0] == 1
    rc, _, err = run(k, "-w net.core.rmem_default=100000")
    assert rc == 0 and "Invalid argument" in err
    assert run(k, "")[0] == 1


def test_several_keys_continue_after_an_error(k: Kernel) -> None:
    rc, out, err = run(k, "-w net.ipv4.ip_forward=1 net.ipv4.nosuch=1 net.ipv4.ip_default_ttl=5")
    assert rc == 1
    assert out == "net.ipv4.ip_forward = 1\nnet.ipv4.ip_default_ttl = 5\n"
    assert "cannot stat /proc/sys/net/ipv4/nosuch" in err


def test_directory_and_all_listing(k: Kernel) -> None:
    k.cmd("ip -n s link add qa type veth peer name qb")
    _, out, _ = run(k, "net.ipv4.conf.qa")
    lines = out.splitlines()
    assert len(lines) == 33 and lines[0] == "net.ipv4.conf.qa.accept_local = 0"
    _, out, _ = run(k, "-a -r ip_forw")
    assert out.splitlines() == ["net.ipv4.ip_forward = 0",
                                "net.ipv4.ip_forward_update_priority = 1",
                                "net.ipv4.ip_forward_use_pmtu = 0"]
    _, out, _ = run(k, "-a")
    assert "net.ipv4.neigh.qa.retrans_time_ms = 1000" in out
    assert "retrans_time =" not in out  # deprecated keys are not listed
    assert "net.core.netdev_max_backlog" not in out
