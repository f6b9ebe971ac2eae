"""usernet: Linux network namespaces, implemented in user space, in Python."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import KernelError
from .kernel import Kernel
from .net import Net
from .pernet import PernetOperations, net_generic
from .task import Cred, Task
from .tools import Result

if TYPE_CHECKING:
    from .patch import patched

__all__ = ["Cred", "Kernel", "KernelError", "Net", "PernetOperations", "Result", "Task",
           "net_generic", "patched"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    if name == "patched":  # usernet.patched(kernel, netns=...), imported on first use
        from .patch import patched

        return patched
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
