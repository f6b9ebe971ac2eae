#!/usr/bin/env python3
"""Record the real iptables' answers for the case files in ``recorded/``.

Run as root on a machine with iptables v1.8.9 (nf_tables)::

    tests/netfilter/record_iptables.py tests/netfilter/recorded/*.cases

Each ``## case: NAME`` block runs in a scratch namespace of its own (created
and deleted here; the host's ruleset is never touched).  A command ending in
``<<EOF`` takes the following lines, up to ``EOF``, as its standard input.
The answers go to ``NAME.jsonl`` next to the case file: one JSON object per
command with case, cmd, stdin, rc, stdout and stderr.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

NS = "usernet-nfrec"


def parse_cases(text: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    cases: list[tuple[str, list[tuple[str, str | None]]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("## case:"):
            cases.append((line.split(":", 1)[1].strip(), []))
        elif not line.strip() or line.startswith("#"):
            continue
        elif line.rstrip().endswith("<<EOF"):
            body = []
            for sub in lines:
                if sub == "EOF":
                    break
                body.append(sub + "\n")
            cases[-1][1].append((line.rstrip()[:-5].rstrip(), "".join(body)))
        else:
            cases[-1][1].append((line.strip(), None))
    return cases


def run_case(name: str, cmds: list[tuple[str, str | None]]) -> list[dict[str, object]]:
    subprocess.run(["ip", "netns", "add", NS], check=True)
    out: list[dict[str, object]] = []
    try:
        for cmd, stdin in cmds:
            argv = ["ip", "netns", "exec", NS, *shlex.split(cmd)]
            res = subprocess.run(argv, input=stdin if stdin is not None else "",
                                 capture_output=True, text=True, check=False)
            out.append({"case": name, "cmd": cmd, "stdin": stdin, "rc": res.returncode,
                        "stdout": res.stdout, "stderr": res.stderr})
    finally:
        subprocess.run(["ip", "netns", "del", NS], check=True)
    return out


def main(paths: list[str]) -> None:
    for p in paths:
        path = Path(p)
        records = []
        for name, cmds in parse_cases(path.read_text(encoding="utf-8")):
            records.extend(run_case(name, cmds))
        dest = path.with_suffix(".jsonl")
        dest.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
