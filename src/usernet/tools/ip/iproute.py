"""Placeholder while being written."""

from __future__ import annotations

from .. import Proc, ToolExit
from .utils import IpOpts


def do_iproute(proc: Proc, opts: IpOpts, argv: list[str]) -> int:
    raise ToolExit(1, "not written yet")
