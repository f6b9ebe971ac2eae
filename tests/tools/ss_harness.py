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
row's).  AF_UNIX rows show inode numbers as their ports: :func:`unix_relabel`
replaces them by what they point at, and the random autobound names.
"""

from __future__ import annotations

import fcntl
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
REPLAY_LOCK = "/tmp/usernet-ss-replay.lock"


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
    # a recording's socket files live in a directory of a fixed name (the same
    # path on both sides), which a concurrent replay elsewhere would remake
    with open(REPLAY_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
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


# An AF_UNIX row: ... name, its inode (the "port"), "*" and the peer's inode;
# the last such group of the line (an unnamed socket's "*" can follow the
# Send-Q digits as the peer's "*" follows the inode).
_UNIX_ROW = re.compile(r"^(?P<head>.*\S )(?P<ino>\d+) +\* (?P<peer>\d+)(?= |$) *(?P<tail>.*)$")
_UNIX_SUBS = [
    (re.compile(r"(?<= )@[0-9a-f]{5}(?= )"), "@AUTOB"),  # autobind's random name
    (re.compile(r"dev:\d+/\d+"), "dev:D"),  # the device of the socket file's filesystem
    (re.compile(r"Port *"), "Port "),  # the header's port columns are inode-wide
]


def unix_relabel(text: str) -> str:
    """AF_UNIX rows with their inode numbers (whose widths set the two port
    columns' widths) replaced by what they point at: a row's own inode by
    "I", its peer's by a label naming the peer row (its columns up to the
    name, and what that row's peer is), the same for ``-e``'s "peers:".
    The padding of everything else is kept."""
    lines = text.splitlines()
    rows = {i: m for i, line in enumerate(lines) if (m := _UNIX_ROW.match(line))}
    head_of = {m["ino"]: " ".join(m["head"].split()) for m in rows.values()}

    def label(ino: str) -> str:
        if ino == "0":
            return "0"
        peer = next((m["peer"] for m in rows.values() if m["ino"] == ino), None)
        if peer is None:
            return "P?"
        return f"P<{head_of[ino]} -> {head_of.get(peer, '?') if peer != '0' else '0'}>"

    for i, m in rows.items():
        tail = re.sub(r"(?<=peers:)((?: \d+)*)",
                      lambda t: "".join(f" {label(n)}" for n in t[1].split()), m["tail"])
        lines[i] = f"{m['head']}I * {label(m['peer'])} {tail}"
    out = "\n".join(lines) + ("\n" if text.endswith("\n") else "")
    for pat, rep in _UNIX_SUBS:
        out = pat.sub(rep, out)
    return out


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
