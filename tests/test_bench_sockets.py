"""Smoke test of bench/sockets.py: its quickest run, usernet only, gives the
JSON the benchmark promises (shape and counts, not speed), and the
connection budget is the arithmetic its docstring states."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def test_quick_no_kernel_shape() -> None:
    res = subprocess.run([sys.executable, str(BENCH_DIR / "sockets.py"), "--quick",
                          "--no-kernel"], capture_output=True, text=True, timeout=300,
                         check=True)
    doc = json.loads(res.stdout)
    assert doc["benchmark"] == "sockets"
    assert doc["kernel"] == {"skipped": "--no-kernel"} and doc["ratio"] == {}
    u = doc["usernet"]
    assert u["udp"]["sent"] == u["udp"]["received"] == 2000
    assert u["conn"]["connections"] == 200 and u["conn"]["connections_per_s"] > 0
    assert u["bulk"]["bytes"] == 4 << 20 and u["bulk"]["gbit_per_s"] > 0
    assert u["unix"]["bytes"] == 4 << 20 and u["unix"]["gbit_per_s"] > 0


def test_conn_budget() -> None:
    sys.path.insert(0, str(BENCH_DIR))
    try:
        import sockets
    finally:
        sys.path.remove(str(BENCH_DIR))
    kernel = {"conn": {"connections_per_s": 20_000, "user_us_per_conn": 12.0,
                       "sys_us_per_conn": 20.0}}
    out = sockets.ratios({"conn": {"connections_per_s": 4_000}}, kernel)
    assert out["conn"]["ratio"] == 0.2 and out["conn"]["met"] is False
    # 1.5x of 20,000/s leaves 33.33 us per connection; the Python code alone
    # took 12 of them on the kernel side.
    assert out["conn"]["budget"] == {
        "us_per_conn_at_target": pytest.approx(33.33), "usernet_us_per_conn": 250.0,
        "kernel_python_us_per_conn": 12.0, "kernel_tcp_us_per_conn": 20.0,
        "left_for_usernet_tcp_us": pytest.approx(21.33)}
