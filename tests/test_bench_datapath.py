"""Smoke test of bench/datapath.py: its quickest run, usernet only, gives
the JSON object the benchmark promises (figures are not checked, only shape
and that the paced forwarding case loses nothing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent.parent / "bench" / "datapath.py"


def run_bench(*args: str) -> dict[str, Any]:
    res = subprocess.run([sys.executable, str(BENCH), *args], capture_output=True, text=True,
                         timeout=300, check=True)
    doc = json.loads(res.stdout)
    assert isinstance(doc, dict)
    return doc


def test_quick_no_kernel_shape() -> None:
    doc = run_bench("--quick", "--no-kernel", "--frames", "2000")
    assert doc["benchmark"] == "datapath"
    assert set(doc) >= {"machine", "params", "usernet", "kernel", "ratio", "targets"}
    assert doc["kernel"] == {"skipped": "--no-kernel"}
    assert doc["ratio"] == {}
    assert doc["params"]["frames"] == 2000

    u = doc["usernet"]
    assert set(u) == {"icmp_echo", "forward", "bridge"}
    echo = u["icmp_echo"]
    assert echo["exchanges"] == 400 and echo["lost"] == 0
    assert echo["exchanges_per_s"] > 0
    assert echo["virtual_rtt_us"] == 2 * echo["link_delay_ns"] / 1000

    fwd = u["forward"]
    assert fwd["sent"] == fwd["forwarded"] == fwd["delivered"] == 2000
    assert fwd["dropped"] == 0 and fwd["backlog_drops"] == 0
    assert fwd["frames_per_s"] > 0 and fwd["frame_bytes"] == 64

    # The bridge either forwards like the router or says why it cannot.
    br = u["bridge"]
    if "error" in br:
        assert isinstance(br["error"], str) and br["error"]
    else:
        assert br["sent"] == br["delivered"] == 2000 and br["frames_per_s"] > 0

    assert isinstance(doc["targets"]["met"], bool)
