"""usernet: Linux network namespaces, implemented in user space, in Python."""

from __future__ import annotations

from .errors import KernelError
from .kernel import Kernel
from .net import Net
from .pernet import PernetOperations, net_generic
from .task import Task
from .tools import Result

__all__ = ["Kernel", "KernelError", "Net", "PernetOperations", "Result", "Task", "net_generic"]
__version__ = "0.1.0"
