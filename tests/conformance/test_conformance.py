"""Every recorded scenario in scope must match the kernel's transcript:
rc, stdout (normalised by the comparator) and the first line of stderr."""

from __future__ import annotations

import pytest
from harness import HERE, check, scenarios, shared_compare

# Public scenarios whose commands are all within what usernet implements so far.
PUBLIC_IN_SCOPE = {
    "p01_loopback_per_namespace",
    "p02_veth_pair_ping",
    "p03_same_names_many_namespaces",
    "p08_router_ip_forward",
    "p10_iptables_per_namespace",
    "p11_reject_vs_drop",
    "p12_bridge_three_namespaces",
    "p04_move_device_flushes_state",
    "p05_move_conflicts_and_lo",
    "p06_netns_delete_destroys_peers",
    "p07_netns_add_del_errors",
    "p09_sysctl_independent",
    "p14_route_get_and_policy_rules",
    "p15_error_texts",
}

CASES = scenarios(HERE / "scenarios") + [
    p for p in scenarios(HERE / "public") if p.stem in PUBLIC_IN_SCOPE
]

# Scenarios that do not match the kernel yet: the work still open on issue 2.
# Strict: one that starts passing fails the suite until it is taken off the list.
PENDING_FILE = HERE / "PENDING"
PENDING = {line.split("#")[0].strip() for line in PENDING_FILE.read_text().splitlines()
           if line.split("#")[0].strip()} if PENDING_FILE.exists() else set()


def _param(path):  # type: ignore[no-untyped-def]
    marks = [pytest.mark.xfail(reason="pending: does not match the kernel yet", strict=True)] \
        if path.stem in PENDING else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.parametrize("path", [_param(p) for p in CASES])
def test_scenario_matches_kernel(path):  # type: ignore[no-untyped-def]
    res, report = check(path)
    assert res.cmds > 0
    assert res.ok == res.cmds, report
    assert res.err_ok == res.cmds, "stderr first lines differ:\n" + report


def test_compare_is_current():  # type: ignore[no-untyped-def]
    shared = shared_compare()
    if shared is None:
        pytest.skip("shared/conformance is not beside this checkout")
    assert shared.read_text() == (HERE / "compare.py").read_text()


def test_public_scenarios_in_scope_exist():  # type: ignore[no-untyped-def]
    names = {p.stem for p in scenarios(HERE / "public")}
    assert names >= PUBLIC_IN_SCOPE
