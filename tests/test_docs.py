"""The user guide's examples and the README demo must run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = (ROOT / "docs" / "guide.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", GUIDE, re.S)


def test_guide_has_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_guide_example_runs(code: str) -> None:
    exec(compile(code, "guide.md", "exec"), {"__name__": "guide"})


def test_demo_script_runs() -> None:
    res = subprocess.run([sys.executable, "-m", "usernet.cli", "script",
                          str(ROOT / "examples" / "router.sh")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "10.2.0.2 via 10.1.0.1 dev eth0 src 10.1.0.2" in res.stdout
