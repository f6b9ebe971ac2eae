"""The cases, their recordings and the PENDING list.

A case is a function ``case_<name>(env)`` in one of ``GROUPS``' modules; its
recording is ``recorded/<group>.json``.  PENDING names the cases usernet
does not yet agree on (one a line, ``#`` comments): they are strict xfails.
Standard library only.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GROUPS = ("udp", "tcp", "misc", "tls", "unix")
RECORDED = HERE / "recorded"
PENDING_FILE = HERE / "PENDING"


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    fn: Callable[..., Any]
    topology: str
    timeout: float


def all_cases() -> list[Case]:
    out = []
    for group in GROUPS:
        mod = importlib.import_module(f"{__package__}.cases_{group}")
        for name, fn in vars(mod).items():
            if name.startswith("case_") and callable(fn) and fn.__module__ == mod.__name__:
                out.append(Case(name[5:], group, fn, getattr(fn, "topology", "pair"),
                                getattr(fn, "timeout", 30.0)))
    return out


def recorded_path(group: str) -> Path:
    return RECORDED / f"{group}.json"


def load_recorded(group: str) -> dict[str, Any]:
    path = recorded_path(group)
    if not path.exists():
        return {"cases": {}}
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def pending() -> set[str]:
    if not PENDING_FILE.exists():
        return set()
    return {line.split("#")[0].strip() for line in PENDING_FILE.read_text().splitlines()
            if line.split("#")[0].strip()}
