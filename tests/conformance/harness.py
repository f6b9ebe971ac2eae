"""Run scenario files through usernet in-process and compare them with the
kernel's recordings, using the project's comparator (``compare.py``, a copy of
``shared/conformance/compare.py``; ``test_compare_is_current`` keeps it so)."""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compare  # noqa: E402

from usernet import Kernel  # noqa: E402
from usernet.tools import run_line, script_lines  # noqa: E402

SCENARIO_DIRS = [HERE / "scenarios", HERE / "public"]


def run_scenario(path: Path, seed: int = 0) -> list[dict[str, object]]:
    kernel = Kernel(seed=seed)
    out = []
    for lineno, line in script_lines(path.read_text(encoding="utf-8")):
        res = run_line(kernel, line)
        out.append({"line": lineno, "cmd": line, "rc": res.rc, "stdout": res.stdout,
                    "stderr": res.stderr})
    return out


def check(path: Path) -> tuple[compare.Result, str]:
    """Compare one scenario; the comparator's verdict lines come back as text."""
    expected = compare.load_jsonl(str(expected_path(path)))
    actual = run_scenario(path)
    meta = compare.load_meta(str(path), [e["cmd"] for e in expected])
    res = compare.Result()
    buf = io.StringIO()
    with redirect_stdout(buf):
        compare.compare_transcripts(path.stem, expected, actual, meta, res, True, True)
    return res, buf.getvalue()


def expected_path(path: Path) -> Path:
    return path.with_name(path.name[: -len(".scenario")] + ".expected.jsonl")


def scenarios(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.scenario") if expected_path(p).exists())


def shared_compare() -> Path | None:
    root = os.environ.get("USERNET_CONFORMANCE")
    base = Path(root) if root else HERE.parents[2] / "shared" / "conformance"
    path = base / "compare.py"
    return path if path.exists() else None
