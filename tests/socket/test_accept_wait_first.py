"""A blocking accept() on a listener with nothing to accept waits at once
instead of raising and catching the kernel's EAGAIN first.  Both roads
(the check, and the call that fails) must give the same connections at
the same virtual times and the same errors."""

from __future__ import annotations

import errno
from typing import Any

import pytest

import usernet.socket as us
import usernet.socket._socket as socket_mod
from usernet import Kernel
from usernet.testing import VETH_PAIR
from usernet.wait import WouldBlockForever, sleep


def outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except OSError as exc:
        return (type(exc).__name__, exc.errno)
    except WouldBlockForever:
        return ("WouldBlockForever",)


def scenario(k: Kernel) -> dict[str, Any]:
    got: dict[str, Any] = {}
    with k.netns("b"):
        srv = us.socket(us.AF_INET, us.SOCK_STREAM)
        srv.bind(("0.0.0.0", 80))
        srv.listen(8)
        unlistened = us.socket(us.AF_INET, us.SOCK_STREAM)
        dgram = us.socket(us.AF_INET, us.SOCK_DGRAM)

    def server() -> list[Any]:
        seen = []
        for _ in range(3):
            conn, peer = srv.accept()
            seen.append((k.sched.now, peer))
            conn.close()
        seen.append((outcome(srv.accept), k.sched.now))  # shut down while waiting
        return seen

    def clients() -> None:
        for delay in (0.001, 0.0, 0.002):
            sleep(k, delay)
            c = us.socket(us.AF_INET, us.SOCK_STREAM)
            c.connect(("10.0.0.2", 80))
            c.close()
        sleep(k, 0.003)
        srv.shutdown(us.SHUT_RDWR)  # a listener shut down: accept says EINVAL

    proc = k.spawn(server, netns="b")
    k.spawn(clients, netns="a")
    # in tasks: a wrong wait would block, not end the test
    others = {name: k.spawn(outcome, s.accept, netns="b")
              for name, s in (("unlistened", unlistened), ("dgram", dgram))}
    k.run(1)
    got["server"] = proc.result()
    for name, p in others.items():
        got[name] = p.result() if p.done else "still blocked"
    srv.close()
    got["closed"] = outcome(srv.accept)
    return got


def test_wait_first_equals_call_first(monkeypatch: pytest.MonkeyPatch) -> None:
    k = Kernel()
    k.script(VETH_PAIR)
    k2 = Kernel()
    k2.script(VETH_PAIR)
    checks: list[bool] = []
    real = socket_mod._accept_must_wait

    def spied(sk: Any) -> bool:
        checks.append(r := real(sk))
        if len(checks) > 1000:  # a check that stays true while the socket is ready spins
            raise AssertionError("accept spins")
        return r

    monkeypatch.setattr(socket_mod, "_accept_must_wait", spied)
    fast = scenario(k)
    assert True in checks  # the check road was taken
    monkeypatch.setattr(socket_mod, "_accept_must_wait", lambda sk: False)
    slow = scenario(k2)
    assert fast == slow
    times = [t for t, _ in fast["server"][:3]]
    assert times == sorted(times) and len(set(times)) == 3
    assert fast["server"][3][0] == ("OSError", errno.EINVAL)
    assert fast["unlistened"] == ("OSError", errno.EINVAL)
    assert fast["closed"] == ("OSError", errno.EBADF)
    assert fast["dgram"][0] == "OSError"
