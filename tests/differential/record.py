"""Record the kernel's answers, or check usernet against the recordings.

    .venv/bin/python -m tests.differential.record [-k SUBSTR] [--runs N]
    .venv/bin/python -m tests.differential.record --check [-k SUBSTR]

Recording (root, iproute2) runs every selected case ``--runs`` times (3 by
default) in fresh namespaces and keeps it only if every run gave the same
result: a case whose answer varies between real runs is a bad case.  The
results go to ``recorded/<group>.json`` with the kernel release.
``--check`` runs the cases in usernet and prints where they differ.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from typing import Any

from .catalog import GROUPS, Case, all_cases, load_recorded, pending, recorded_path
from .real import HelperError, live_unavailable, run_real


def _select(pattern: str | None) -> list[Case]:
    return [c for c in all_cases() if pattern is None or pattern in c.name]


def record(cases: list[Case], runs: int) -> int:
    why = live_unavailable()
    if why is not None:
        print(f"cannot record: {why}", file=sys.stderr)
        return 2
    bad = 0
    new: dict[str, dict[str, Any]] = {g: {} for g in GROUPS}
    for c in cases:
        results = []
        try:
            for _ in range(runs):
                results.append(run_real(c.fn, c.topology, c.timeout))
        except HelperError as exc:
            print(f"{c.name}: ERROR {exc}")
            bad += 1
            continue
        if any(r != results[0] for r in results[1:]):
            print(f"{c.name}: NONDETERMINISTIC")
            for r in results:
                print("   ", json.dumps(r))
            bad += 1
            continue
        new[c.group][c.name] = results[0]
        print(f"{c.name}: {json.dumps(results[0])}")
    names = {c.name for c in all_cases()}
    for group in GROUPS:
        if not new[group] and not recorded_path(group).exists():
            continue
        old = load_recorded(group)["cases"]
        merged = {k: v for k, v in old.items() if k in names}
        merged.update(new[group])
        data = {"kernel": platform.release(), "python": platform.python_version(),
                "cases": dict(sorted(merged.items()))}
        recorded_path(group).parent.mkdir(exist_ok=True)
        recorded_path(group).write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    return 1 if bad else 0


def check(cases: list[Case]) -> int:
    from .virtual import run_virtual

    recorded = {g: load_recorded(g)["cases"] for g in GROUPS}
    failing = []
    for c in cases:
        want = recorded[c.group].get(c.name, "<no recording>")
        try:
            got: Any = run_virtual(c.fn, c.topology, c.timeout)
        except Exception as exc:
            got = f"<error: {exc!r}>"
        if got == want:
            print(f"{c.name}: agrees")
        else:
            failing.append(c.name)
            print(f"{c.name}: DIFFERS\n    kernel:  {json.dumps(want)}\n"
                  f"    usernet: {json.dumps(got) if not isinstance(got, str) else got}")
    listed = pending()
    print(f"\n{len(cases) - len(failing)}/{len(cases)} agree")
    for name in failing:
        print(f"  differs: {name}{'' if name in listed else '   (not in PENDING)'}")
    for name in sorted(listed & {c.name for c in cases} - set(failing)):
        print(f"  agrees but in PENDING: {name}")
    return 1 if failing else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.differential.record")
    ap.add_argument("-k", dest="pattern", help="only cases whose name contains this")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--check", action="store_true", help="compare usernet with recordings")
    args = ap.parse_args(argv)
    cases = _select(args.pattern)
    if args.check:
        return check(cases)
    return record(cases, args.runs)


if __name__ == "__main__":
    sys.exit(main())
