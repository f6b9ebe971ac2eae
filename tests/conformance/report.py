#!/usr/bin/env python3
"""Print the comparator's verdict for every scenario (or those matching argv[1])."""

from __future__ import annotations

import sys

from harness import HERE, check, scenarios

only = sys.argv[1] if len(sys.argv) > 1 else ""
verbose = "-v" in sys.argv
tot = ok = err = scen = scen_ok = 0
for d in (HERE / "scenarios", HERE / "public"):
    for path in scenarios(d):
        if only and only not in path.stem:
            continue
        res, text = check(path)
        tot += res.cmds
        ok += res.ok
        err += res.err_ok
        scen += 1
        scen_ok += res.ok == res.cmds
        if res.ok != res.cmds or res.err_ok != res.cmds or verbose:
            print(text)
print(f"stderr: {err}/{tot}; conformance: {ok}/{tot} commands, {scen_ok}/{scen} scenarios")
