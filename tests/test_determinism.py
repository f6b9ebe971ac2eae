"""Same scenario and seed: the same events in the same order, the same frames."""

from __future__ import annotations

import pytest

from usernet.testing import ROUTER as TOPOLOGY
from usernet.testing import NondeterminismError, check_determinism, record_run

ROUTER = TOPOLOGY + """\
ip netns exec h1 ping -c 3 -i 0.2 -W 1 10.2.0.2
ip netns exec h1 ping -c 2 -i 0.2 -W 1 -t 1 10.2.0.2
ip netns exec h1 ping -c 2 -W 1 -i 0.2 10.1.0.9
ip netns exec h1 ping -c 1 -W 1 -s 3000 10.2.0.2
sleep 40
ip -n h1 -j neigh show
"""


def test_router_scenario_is_deterministic() -> None:
    rec = check_determinism(ROUTER, seed=7)
    assert len(rec.events) > 30
    assert len(rec.frames) > 50
    assert all(r.rc in (0, 1) for r in rec.results)
    assert "ttl=63" in rec.results[16].stdout


def test_the_seed_matters() -> None:
    """Different seeds pick different MACs, so the frames differ: the check
    really compares something."""
    a = record_run(ROUTER, seed=1)
    b = record_run(ROUTER, seed=2)
    assert a.digest() != b.digest()


def test_a_difference_is_reported() -> None:
    with pytest.raises(NondeterminismError):
        first = record_run(ROUTER, seed=3)
        second = record_run(ROUTER.replace("-c 3", "-c 4"), seed=3)
        if first.digest() != second.digest():
            raise NondeterminismError("runs differ")
