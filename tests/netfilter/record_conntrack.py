#!/usr/bin/env python3
"""Record the real ``conntrack`` tool (conntrack-tools 1.4.7) on a router that
masquerades a LAN and forwards a port, for ``test_conntrack_tool.py``.

Run as root where ``ip``, ``iptables`` and ``conntrack`` exist::

    tests/netfilter/record_conntrack.py > tests/netfilter/recorded/conntrack_tool.json

The namespaces (``uct-l``, ``uct-r``, ``uct-w``) are made and deleted here;
traffic only flows between them.  The topology, the traffic and the commands
are those of :mod:`conntrack_case`, which the test replays in usernet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from conntrack_case import COMMANDS, PINGS, SETUP, TRAFFIC, ns_name

ENV = {"LC_ALL": "C", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def sh(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, check=False)


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns_name(ns), *argv]


def main() -> None:
    for ns in ("l", "r", "w"):
        sh(["ip", "netns", "del", ns_name(ns)])
    try:
        for line in SETUP:
            res = sh(line.replace("NS-", "uct-").split())
            if res.returncode:
                raise SystemExit(f"setup failed: {line}: {res.stderr}")
        servers = []
        for ns, code, background in TRAFFIC:
            argv = in_ns(ns, [sys.executable, "-c", code])
            if background:
                servers.append(subprocess.Popen(argv, env=ENV))
                time.sleep(0.5)
            else:
                res = sh(argv)
                if res.returncode:
                    raise SystemExit(f"traffic failed in {ns}: {res.stderr}")
        for ns, cmd in PINGS:
            sh(in_ns(ns, cmd.split()))
        time.sleep(0.3)
        out = []
        for ns, cmd in COMMANDS:
            res = sh(in_ns(ns, cmd.split()))
            out.append({"ns": ns, "cmd": cmd, "rc": res.returncode, "stdout": res.stdout,
                        "stderr": res.stderr})
        for p in servers:
            p.kill()
            p.wait()
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
    finally:
        for ns in ("l", "r", "w"):
            sh(["ip", "netns", "del", ns_name(ns)])


if __name__ == "__main__":
    main()
