"""What cases use besides ``env``: the ``@case`` decorator and the
normalisation of outcomes (exception class names and errno names, never
messages, timings or ephemeral port numbers).  Standard library only."""

from __future__ import annotations

import errno
import socket as _socket
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# getaddrinfo's EAI_* codes by value, from the real module (usernet's must agree)
_EAI = {getattr(_socket, n): n for n in dir(_socket) if n.startswith("EAI_")}

EPHEMERAL_DEFAULT = (32768, 60999)  # net.ipv4.ip_local_port_range of a new namespace


class Handle(Protocol):
    """What ``env.spawn`` returns."""

    def wait_ready(self, timeout: float = 10.0) -> bool: ...

    def result(self, timeout: float | None = 30.0) -> Any: ...


class Env(Protocol):
    """What a case gets: the socket module under test and the topology."""

    socket: Any
    select: Any  # the select module that goes with it
    side: str  # "real" or "usernet": for diagnostics only, never for branching

    def addr(self, host: str) -> str: ...

    def spawn(self, fn: Callable[..., Any], *args: Any, netns: str) -> Handle: ...

    def sleep(self, seconds: float) -> None: ...

    def wrap_tls(self, context: Any, sock: Any, **kwargs: Any) -> Any:
        """``context.wrap_socket(sock, **kwargs)`` for the socket under test."""

    def ready(self) -> None: ...

    def netns(self, name: str) -> Any: ...


def case(topology: str = "pair", timeout: float = 30.0) -> Callable[[F], F]:
    """Mark a case's topology (see ``catalog.TOPOLOGIES``) and its time limit
    (real seconds on the kernel, virtual seconds in usernet)."""

    def mark(fn: F) -> F:
        fn.topology = topology  # type: ignore[attr-defined]
        fn.timeout = timeout  # type: ignore[attr-defined]
        return fn

    return mark


def errname(exc: BaseException) -> str | None:
    """The symbolic errno of an exception (EAI_* for gaierror), or None."""
    code = getattr(exc, "errno", None)
    if code is None:
        return None
    if type(exc).__name__ == "gaierror":
        return _EAI.get(code, str(code))
    return errno.errorcode.get(code, str(code))


def err(exc: BaseException) -> dict[str, Any]:
    return {"exc": type(exc).__name__, "errno": errname(exc)}


def attempt(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``{"ok": value}`` or the normalised OSError/TypeError/ValueError/OverflowError."""
    try:
        return {"ok": fn(*args, **kwargs)}
    except (OSError, TypeError, ValueError, OverflowError) as exc:
        return err(exc)


def code(value: int) -> str:
    """An errno number (connect_ex, SO_ERROR) by name; 0 stays "0"."""
    return errno.errorcode.get(value, str(value)) if value else "0"


def ephemeral(port: int, lo: int = EPHEMERAL_DEFAULT[0], hi: int = EPHEMERAL_DEFAULT[1]) -> str:
    """An ephemeral port normalised to whether it is in the range."""
    return "ephemeral" if lo <= port <= hi else f"outside:{port}"


def name_form(addr: Any, fixed: tuple[int, ...] = ()) -> Any:
    """A socket address with an ephemeral port normalised (ports in ``fixed``
    are kept, as are 0 and non-tuples)."""
    if isinstance(addr, tuple | list) and len(addr) >= 2 and isinstance(addr[1], int):
        port = addr[1]
        shown: Any = port if port in fixed or port == 0 else ephemeral(port)
        return [addr[0], shown, *addr[2:]]
    return addr


def jsonable(value: Any) -> Any:
    """What a result becomes before comparison: bytes as their repr, tuples
    as lists, enum members (AddressFamily, SocketKind...) by name."""
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value))
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        name = getattr(value, "name", None)
        return name if isinstance(name, str) and type(value) is not int else int(value)
    return repr(value)
