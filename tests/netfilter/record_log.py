#!/usr/bin/env python3
"""Record the kernel log lines of a LOG case (:mod:`log_case`, or the
module named as argument, e.g. :mod:`log_uid_case`) for ``test_log.py``.

Run as root where ``ip``, ``iptables`` and ``dmesg`` exist::

    tests/netfilter/record_log.py > tests/netfilter/recorded/log_lines.json
    tests/netfilter/record_log.py log_uid_case > tests/netfilter/recorded/log_uid_lines.json

LOG in a namespace other than the initial one reaches the kernel log only
with ``net.netfilter.nf_log_all_netns=1``, a switch of the initial
namespace: this script sets it for the duration of the run and puts the old
value back.  It reads the log with ``dmesg -r`` (never clearing it) and keeps
the lines with the case's prefixes that appeared during the run.  The
namespaces (``ulg-a``, ``ulg-r``, ``ulg-b``) are made and deleted here.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
case = importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "log_case")
PINGS, SETUP, TRAFFIC, ns_name = case.PINGS, case.SETUP, case.TRAFFIC, case.ns_name

ENV = {"LC_ALL": "C", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
KEY = "net.netfilter.nf_log_all_netns"


def sh(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, check=False)


def in_ns(ns: str, argv: list[str]) -> list[str]:
    return ["ip", "netns", "exec", ns_name(ns), *argv]


def log_lines() -> list[str]:
    return [ln for ln in sh(["dmesg", "-r"]).stdout.splitlines() if case.MARK in ln]


def run() -> list[str]:
    before = len(log_lines())
    for line in SETUP:
        res = sh(line.replace("NS-", ns_name("")).split())
        if res.returncode:
            raise SystemExit(f"setup failed: {line}: {res.stderr}")
    for ns, code, background in TRAFFIC:
        argv = in_ns(ns, [sys.executable, "-c", code])
        if background:
            subprocess.Popen(argv, env=ENV)
            time.sleep(0.5)
        elif sh(argv).returncode:
            raise SystemExit(f"traffic failed in {ns}")
        else:
            time.sleep(0.2)
    for ns, cmd in PINGS:
        sh(in_ns(ns, cmd.split()))
    time.sleep(0.5)
    return log_lines()[before:]


def main() -> None:
    old = sh(["sysctl", "-n", KEY]).stdout.strip() or "0"
    for ns in case.NAMESPACES:
        sh(["ip", "netns", "del", ns_name(ns)])
    sh(["sysctl", "-qw", f"{KEY}=1"])
    try:
        lines = run()
    finally:
        sh(["sysctl", "-qw", f"{KEY}={old}"])
        for ns in case.NAMESPACES:
            sh(["ip", "netns", "del", ns_name(ns)])
    json.dump({"lines": lines}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
