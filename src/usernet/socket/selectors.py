"""The stdlib ``selectors`` module over usernet sockets, in virtual time.

``DefaultSelector`` (and the names of the platform selectors, all the same
class here) registers usernet sockets -- or their descriptors -- and its
``select(timeout)`` waits in the kernel's virtual time.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from selectors import EVENT_READ, EVENT_WRITE, BaseSelector, SelectorKey
from typing import TYPE_CHECKING, Any

from . import select as _sel
from ._context import Pollable, fd_table

if TYPE_CHECKING:
    from ..kernel import Kernel

__all__ = ["EVENT_READ", "EVENT_WRITE", "BaseSelector", "DefaultSelector", "EpollSelector",
           "PollSelector", "SelectSelector", "SelectorKey", "UsernetSelector"]


class _KeyMap(Mapping[Any, SelectorKey]):
    """get_map(): file objects (or descriptors) to keys."""

    def __init__(self, selector: UsernetSelector) -> None:
        self._selector = selector

    def __len__(self) -> int:
        return len(self._selector._keys)

    def __getitem__(self, fileobj: Any) -> SelectorKey:
        fd = self._selector._fd_of(fileobj)
        if fd not in self._selector._keys:
            raise KeyError(f"{fileobj!r} is not registered")
        return self._selector._keys[fd]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._selector._keys)


class UsernetSelector(BaseSelector):
    """A selector over usernet sockets; ``kernel`` defaults to the kernel of
    the first socket registered (or the current one)."""

    def __init__(self, *, kernel: Kernel | None = None) -> None:
        self._kernel = kernel
        self._keys: dict[int, SelectorKey] = {}
        self._map: _KeyMap | None = _KeyMap(self)

    def _fd_of(self, fileobj: Any) -> int:
        try:
            return _sel.fileobj_fd(fileobj)
        except (TypeError, ValueError):
            for key in self._keys.values():  # a closed socket can still be unregistered
                if key.fileobj is fileobj:
                    return key.fd
            raise

    def register(self, fileobj: Any, events: int, data: Any = None) -> SelectorKey:
        if not events or events & ~(EVENT_READ | EVENT_WRITE):
            raise ValueError(f"Invalid events: {events!r}")
        fd = self._fd_of(fileobj)
        if fd in self._keys:
            raise KeyError(f"{fileobj!r} (FD {fd}) is already registered")
        if self._kernel is None:
            self._kernel = _sel.kernel_of([fileobj])
        key = SelectorKey(fileobj, fd, events, data)
        self._keys[fd] = key
        return key

    def unregister(self, fileobj: Any) -> SelectorKey:
        fd = self._fd_of(fileobj)
        try:
            return self._keys.pop(fd)
        except KeyError:
            raise KeyError(f"{fileobj!r} is not registered") from None

    def modify(self, fileobj: Any, events: int, data: Any = None) -> SelectorKey:
        fd = self._fd_of(fileobj)
        if fd not in self._keys:
            raise KeyError(f"{fileobj!r} is not registered")
        key = self._keys[fd]
        if events != key.events:
            self.unregister(fileobj)
            return self.register(fileobj, events, data)
        if data != key.data:
            key = self._keys[fd] = key._replace(data=data)
        return key

    def _ready(self) -> list[tuple[SelectorKey, int]]:
        assert self._kernel is not None
        files = fd_table(self._kernel).files
        out = []
        for fd, key in self._keys.items():
            file = files.get(fd)
            if file is None:
                continue
            mask = file.sk.poll()
            events = (EVENT_READ if mask & _sel.READ_SET and key.events & EVENT_READ else 0) | \
                (EVENT_WRITE if mask & _sel.WRITE_SET and key.events & EVENT_WRITE else 0)
            if events:
                out.append((key, events))
        return out

    def select(self, timeout: float | None = None) -> list[tuple[SelectorKey, int]]:
        if self._kernel is None:
            self._kernel = _sel.kernel_of([])
        ready = self._ready()
        if not ready:
            files = fd_table(self._kernel).files
            socks: list[Pollable] = [files[fd].sk for fd in self._keys if fd in files]
            _sel.wait_ready(self._kernel, socks, lambda: bool(self._ready()),
                            None if timeout is None else max(timeout, 0), "selector")
            ready = self._ready()
        return ready

    def close(self) -> None:
        self._keys.clear()
        self._map = None

    def get_map(self) -> Mapping[Any, SelectorKey]:
        if self._map is None:
            raise RuntimeError("Selector is closed")
        return self._map


DefaultSelector = UsernetSelector
SelectSelector = UsernetSelector
PollSelector = UsernetSelector
EpollSelector = UsernetSelector
