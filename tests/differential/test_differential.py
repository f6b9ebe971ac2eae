"""usernet.socket against CPython's socket module on the real kernel.

Every case in ``cases_*.py`` is one function run both ways (see
``catalog.py``, ``real.py``, ``virtual.py``).  The kernel's answer comes
from a live run in real namespaces when this process can make them (root,
iproute2), and from ``recorded/<group>.json`` otherwise; with neither, the
test fails and says how to record.  ``USERNET_DIFFERENTIAL=recorded``
forces the recordings.  Cases listed in PENDING are strict xfails: usernet
does not agree yet, and one that starts agreeing must leave the list.

Re-record (root): ``.venv/bin/python -m tests.differential.record``.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

import pytest

from .catalog import Case, all_cases, load_recorded, pending
from .real import HelperError, live_unavailable, run_real

CASES = all_cases()
PENDING = pending()
RECORD_HINT = "record it as root with `.venv/bin/python -m tests.differential.record -k NAME`"

_live_why: list[str | None] = []
_live: dict[str, Any] = {}


def live_reason() -> str | None:
    """None when the real kernel can be asked here, else why not (cached)."""
    if not _live_why:
        _live_why.append(live_unavailable())
    return _live_why[0]


def live_result(case: Case) -> Any:
    """The kernel's answer from a live run (once per case per session; run
    twice if the first differs from the recording, keeping the second)."""
    if case.name not in _live:
        have, rec = recorded(case)
        for _ in range(2):  # a second run when a loaded machine may have upset the first
            try:
                _live[case.name] = ("ok", run_real(case.fn, case.topology, case.timeout))
            except HelperError as exc:
                _live[case.name] = ("error", str(exc))
            if not have or _live[case.name] == ("ok", rec):
                break
    kind, value = _live[case.name]
    if kind == "error":
        pytest.fail(f"the case fails on the real kernel:\n{value}")
    return value


def recorded(case: Case) -> tuple[bool, Any]:
    cases = load_recorded(case.group)["cases"]
    return case.name in cases, cases.get(case.name)


def _diff(want: Any, got: Any, source: str) -> str:
    a = json.dumps(want, indent=1, sort_keys=True).splitlines()
    b = json.dumps(got, indent=1, sort_keys=True).splitlines()
    return "\n".join(difflib.unified_diff(a, b, f"kernel ({source})", "usernet", lineterm=""))


def _param(case: Case, strict_pending: bool) -> Any:
    marks = []
    if strict_pending and case.name in PENDING:
        marks.append(pytest.mark.xfail(reason="in PENDING: usernet does not agree yet",
                                       strict=True))
    return pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", [_param(c, False) for c in CASES])
def test_recording_matches_live_kernel(case: Case) -> None:
    """Where namespaces can be made: the recording is what the kernel says now."""
    why = live_reason()
    if why is not None:
        pytest.skip(f"no live kernel ({why}); usernet is checked against the recording")
    have, rec = recorded(case)
    live = live_result(case)
    assert have, f"no recording for {case.name}: {RECORD_HINT}"
    assert live == rec, ("the kernel no longer gives the recorded answer:\n"
                         + _diff(rec, live, "recorded") + f"\n{RECORD_HINT}")


@pytest.mark.parametrize("case", [_param(c, True) for c in CASES])
def test_usernet_matches_kernel(case: Case) -> None:
    why = live_reason()
    if why is None:
        want, source = live_result(case), "live"
    else:
        have, want = recorded(case)
        if not have:
            pytest.fail(f"{case.name}: no recording and no live kernel ({why}); {RECORD_HINT}")
        source = "recorded"
    from .virtual import run_virtual  # here: a broken usernet fails these tests only

    got = run_virtual(case.fn, case.topology, case.timeout)
    assert got == want, f"usernet differs from the kernel:\n{_diff(want, got, source)}"


def test_pending_names_are_cases() -> None:
    names = {c.name for c in CASES}
    assert names >= PENDING, f"PENDING names no case: {sorted(PENDING - names)}"


def test_every_case_recorded() -> None:
    missing = [c.name for c in CASES if not recorded(c)[0]]
    assert not missing, f"cases without a recording: {missing}; {RECORD_HINT}"
