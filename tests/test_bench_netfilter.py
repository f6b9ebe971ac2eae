"""Smoke test of bench/netfilter.py: its quickest run, usernet only, gives
the JSON object the benchmark promises, and the rule sets behave as the
benchmark says (figures are not checked: the rules never match the traffic,
nothing is lost, every packet is accounted for by a rule or the policy)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from usernet import Kernel
from usernet.testing import ROUTER
from usernet.tools.iptables import restore_text

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"
BENCH = BENCH_DIR / "netfilter.py"


def run_bench(*args: str) -> dict[str, Any]:
    res = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                         timeout=300, check=True)
    doc = json.loads(res.stdout)
    assert isinstance(doc, dict)
    return doc


def test_quick_no_kernel_shape() -> None:
    doc = run_bench("--quick", "--no-kernel", "--frames", "512", "--seconds", "0.01")
    assert doc["benchmark"] == "netfilter"
    assert set(doc) >= {"machine", "params", "usernet", "kernel", "ratio_usernet_over_kernel",
                        "relative_to_rules_0", "target"}
    assert doc["kernel"] == {"skipped": "--no-kernel"}
    assert doc["ratio_usernet_over_kernel"] == {}
    u = doc["usernet"]
    assert list(u) == ["rules_0", "empty_chain", "rules_100", "rules_1000", "conntrack_1000"]
    for case, out in u.items():
        assert "error" not in out, (case, out)
        assert out["sent"] == out["forwarded"] == out["delivered"] >= 256, case
        assert out["dropped"] == 0 and out["backlog_drops"] == 0, case
        assert out["frames_per_s"] > 0
    assert u["rules_0"]["counters"] == {}
    for case, n in (("empty_chain", 0), ("rules_100", 100), ("rules_1000", 1000),
                    ("conntrack_1000", 1000)):
        c = u[case]["counters"]
        assert c["rules"] == n and c["other_rules_pkts"] == 0, case
        # every frame was accepted by the ESTABLISHED rule or by the policy
        assert c.get("established_rule_pkts", 0) + c["policy_pkts"] >= u[case]["sent"]
    rel = doc["relative_to_rules_0"]["usernet"]
    assert rel["rules_0"] == 1.0 and set(rel) == set(u)
    target = doc["target"]
    assert target["value"] == rel["conntrack_1000"]
    assert target["met"] == (target["value"] >= 0.7)


def test_one_case_and_bad_case() -> None:
    doc = run_bench("--quick", "--no-kernel", "--cases", "rules_100", "--frames", "256",
                    "--seconds", "0.01")
    assert list(doc["usernet"]) == ["rules_100"]
    assert doc["target"] == {"usernet conntrack_1000 / usernet rules_0": ">= 0.7",
                             "value": None, "met": False}
    res = subprocess.run([sys.executable, str(BENCH), "--cases", "rules_7"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 2 and "unknown case(s): rules_7" in res.stderr


def _bench_module() -> Any:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import netfilter as bench
    finally:
        sys.path.remove(str(BENCH_DIR))
    return bench


def test_ruleset_is_in_canonical_form() -> None:
    """What iptables-save prints back is the text the benchmark loads (so
    both sides get exactly these rules, none rewritten or merged)."""
    bench = _bench_module()
    text = bench.ruleset(24, True)
    k = Kernel()
    k.script(ROUTER)
    r = k.netns_get("r")
    assert restore_text(k, r, text).rc == 0
    saved = k.cmd("iptables-save", r).stdout
    rules = [line for line in saved.splitlines() if line.startswith("-A ")]
    assert rules == [line for line in text.splitlines() if line.startswith("-A ")]
    assert len(rules) == 25 and len(set(rules)) == 25


def test_lab_topology_maps_namespace_names() -> None:
    bench = _bench_module()

    class FakeLab:
        def __init__(self) -> None:
            self.calls: list[tuple[str, ...]] = []

        def ns(self, name: str) -> str:
            return f"unbench-1-{name}"

        def run(self, *args: str) -> str:
            self.calls.append(args)
            return ""

    fake = FakeLab()
    names = bench.lab_topology(fake, "ip netns add r\nip netns add h1\n"
                                     "ip -n h1 link add eth0 type veth peer name r1 netns r\n"
                                     "ip netns exec r sysctl -w net.ipv4.ip_forward=1\n")
    assert names == {"r": "unbench-1-r", "h1": "unbench-1-h1"}
    assert fake.calls == [
        ("ip", "-n", "unbench-1-h1", "link", "add", "eth0", "type", "veth", "peer", "name", "r1",
         "netns", "unbench-1-r"),
        ("ip", "netns", "exec", "unbench-1-r", "sysctl", "-w", "net.ipv4.ip_forward=1")]
