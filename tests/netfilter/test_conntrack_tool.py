"""The ``conntrack`` tool against the real conntrack-tools 1.4.7.

``recorded/conntrack_tool.json`` is what the real tool printed in real
namespaces for the case of :mod:`conntrack_case` (re-record with
``tests/netfilter/record_conntrack.py``).  Here the same topology, traffic
and commands run in usernet; outputs must match line for line, up to the
order of the entries (the kernel lists them in hash order), ping's ICMP id
(random per ping process) and timeouts, which may differ by the second or
two the real run took.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import usernet.socket as usocket
from usernet.kernel import Kernel
from usernet.wait import sleep

sys.path.insert(0, str(Path(__file__).parent))
from conntrack_case import COMMANDS, PINGS, SETUP, TRAFFIC, ns_name

RECORDED = json.loads((Path(__file__).parent / "recorded" / "conntrack_tool.json").read_text())
ENTRY = re.compile(r"^(?P<head>(?:ipv4     2 )?\S+\s+\d+ )(?P<timeout>\d+)(?P<rest> .*)$")


def _exec(kernel: Kernel, code: str) -> None:
    """Run the case's socket code on usernet: its ``import socket, time``
    get usernet's socket module and a virtual-time sleep."""
    import builtins

    mods = {"socket": usocket, "time": SimpleNamespace(sleep=lambda s: sleep(kernel, s))}

    def _import(name: str, *args: Any, **kwargs: Any) -> Any:
        return mods[name] if name in mods else builtins.__import__(name, *args, **kwargs)

    env = {"__builtins__": {**vars(builtins), "__import__": _import}}
    exec(code, env)


@pytest.fixture(scope="module")
def replay() -> list[dict[str, Any]]:
    k = Kernel(seed=5)
    for line in SETUP:
        res = k.cmd(line.replace("NS-", "uct-"))
        assert res.rc == 0, (line, res.stderr)
    for ns, code, background in TRAFFIC:
        proc = k.spawn(_exec, k, code, netns=ns_name(ns))
        if background:
            k.run(until=0.5)
            continue
        for _ in range(100):
            if proc.done:
                break
            k.run(until=0.1)
        assert proc.done and proc.exception is None, proc.exception
    for ns, cmd in PINGS:
        assert k.cmd(f"ip netns exec {ns_name(ns)} {cmd}").rc == 0
    k.run(until=0.3)
    out = []
    for ns, cmd in COMMANDS:
        res = k.cmd(f"ip netns exec {ns_name(ns)} {cmd}")
        out.append({"ns": ns, "cmd": cmd, "rc": res.rc, "stdout": res.stdout,
                    "stderr": res.stderr})
    return out


def _entries(text: str) -> list[tuple[str, int]]:
    """(the line with timeout and ICMP id masked, the timeout), sorted."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\bid=\d+", "id=*", line)
        m = ENTRY.match(line)
        if m is None:
            out.append((line, -1))
        else:
            out.append((m["head"] + "T" + m["rest"], int(m["timeout"])))
    return sorted(out)


@pytest.mark.parametrize("i", range(len(COMMANDS)), ids=[c for _, c in COMMANDS])
def test_conntrack_tool_matches_kernel(replay: list[dict[str, Any]], i: int) -> None:
    want, got = RECORDED[i], replay[i]
    assert (got["ns"], got["cmd"]) == (want["ns"], want["cmd"])
    assert got["rc"] == want["rc"]
    assert got["stderr"] == want["stderr"]
    w, g = _entries(want["stdout"]), _entries(got["stdout"])
    assert [x[0] for x in g] == [x[0] for x in w]
    for (_line, tw), (_l, tg) in zip(w, g, strict=True):
        assert abs(tw - tg) <= 2, (want["stdout"], got["stdout"])
