"""Placeholder: sysctl registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .kernel import Kernel


def sysctl_register(kernel: Kernel) -> None:
    pass
