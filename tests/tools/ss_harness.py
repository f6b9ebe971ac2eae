"""Replay the ss recordings of ``ss_recorded/`` in usernet and normalise outputs.

A recording (see ``ss_recorded/record.py``) holds a namespace set-up, the
CPython code that opened the sockets, and what the real ss printed for each
argument list.  :func:`replay` runs the same set-up and code in usernet --
``usernet.socket`` for ``socket``, virtual time for ``sleep`` -- as a process
named ``python3``, and runs usernet's ss from that process.

What legitimately differs is normalised away by :func:`normalise`: pids,
inode numbers and socket cookies (counters of each kernel), the cgroup the
real ss found, the order of the rows (ss lists sockets in hash-table order,
which Linux randomises per namespace), and with it the trailing padding of
lines (ss pads to the widest "Process" field but never measures the last
row's).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import usernet.socket as us
from usernet import Kernel
from usernet.tools import run_argv
from usernet.wait import sleep

RECORDED = Path(__file__).parent / "ss_recorded"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text())
    return data


def setup_kernel(rec: dict[str, Any], ns: str = "ns") -> Kernel:
    k = Kernel()
    k.cmd(f"ip netns add {ns}")
    for line in rec["setup"]:
        res = k.cmd(line.format(ns=ns))
        assert res.ok, (line, str(res))
    return k


def replay(rec: dict[str, Any], args: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the recording's code and then ss with each argument list (all of
    the recording's by default), in usernet."""
    k = setup_kernel(rec)
    wanted = [r["args"] for r in rec["runs"]] if args is None else args
    runs: list[dict[str, Any]] = []

    def program() -> None:
        g: dict[str, Any] = {"socket": us, "sleep": lambda s: sleep(k, s),
                             "__name__": "scenario"}
        exec(rec["code"], g)
        for a in wanted:
            res = run_argv(k, ["ss", *shlex.split(a)])
            runs.append({"args": a, "stdout": res.stdout, "stderr": res.stderr, "rc": res.rc})
        for value in g.values():
            if isinstance(value, us.socket):
                value.close()

    proc = k.spawn(program, netns="ns", name="python3")
    k.run()
    proc.result()
    return runs


_SUBS = [
    (re.compile(r"pid=\d+"), "pid=P"),
    (re.compile(r"tid=\d+"), "tid=P"),
    (re.compile(r"ino:[1-9]\d*"), "ino:I"),
    (re.compile(r"sk:[0-9a-f]+"), "sk:C"),
    (re.compile(r" cgroup:\S+"), ""),
    (re.compile(r"ss/\d+"), "ss/P"),
    (re.compile(r"(?<![\d.])4:[1-9]\d*"), "4:P"),  # ss's own sock_diag socket, with -n
]


def normalise(text: str, *, loose: bool = False, ordered: bool = False, header: bool = True,
              strip: bool = True,
              subs: list[tuple[re.Pattern[str], str]] | None = None) -> list[str]:
    """The output as a list of records (a row and its tab-indented
    continuation lines), the header first, the rest sorted unless
    ``ordered``; trailing blanks dropped (unless not ``strip``); with
    ``loose``, runs of blanks made one."""
    lines = []
    for line in text.splitlines():
        for pat, rep in [*_SUBS, *(subs or [])]:
            line = pat.sub(rep, line)
        if strip:
            line = line.rstrip()
        if loose:
            line = re.sub(r" +", " ", line)
        lines.append(line)
    records: list[str] = []
    for line in lines:
        if line.startswith("\t") and records:
            records[-1] += "\n" + line
        else:
            records.append(line)
    if not ordered:
        head, body = (records[:1], records[1:]) if header else ([], records)
        records = [*head, *sorted(body)]
    return records


def normalise_err(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines()
                   if line != "Failed to find cgroup2 mount")
