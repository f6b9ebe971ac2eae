"""``examples/docker_host.py`` against the real kernel.

The example builds a Docker-style host in usernet and runs real programs
across it (http.server in a container published on port 8080 by DNAT, urllib
clients, MASQUERADE towards outside, bridged pings).  The same commands and
programs run in real namespaces give the kernel's answer: recorded in
``docker_host.expected.json`` (``record_docker_host.py`` re-records it, as
root), and run live as well where namespaces can be made.  Compared:

* the HTTP answers (status and body) of every fetch;
* ``iptables -L -v -n -x`` of the nat table with every counter (nat sees
  the first packet of each connection); of the filter table every chain and
  rule, and the counters of the rules that see only first packets; the
  FORWARD chain's per-packet totals against the recording only: they follow
  the programs' scheduling, and the kernel itself moves an ACK from one rule
  to another in about one run in five.  The example runs with links without
  delay (``Kernel(link_delay_ns=0)``), where, as on Linux's veth, the
  receive path runs before the sending system call returns: the client's
  ACK is in between http.server's writes, as in the kernel;
* ``conntrack -L``: the entries, sorted, with their timeouts, the client's
  ephemeral ports and the ICMP ids (chosen at random by the kernel) left
  out.  IGMP entries are left out too: the kernel's bridge sends IGMP
  reports at random times (usernet has no IGMP).
"""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = Path(__file__).with_name("docker_host.expected.json")
RECORDER = Path(__file__).with_name("record_docker_host.py")


def _example() -> Any:
    spec = importlib.util.spec_from_file_location("docker_host", ROOT / "examples" /
                                                  "docker_host.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


dh = _example()
_EPHEMERAL = re.compile(r"\b(sport|dport)=(\d+)")


def _ct_line(line: str) -> str:
    fields = line.split()
    fields[2] = "<timeout>"
    line = " ".join(fields)
    line = _EPHEMERAL.sub(lambda m: f"{m[1]}=<eph>" if int(m[2]) >= 32768 else m[0], line)
    return re.sub(r"\bid=\d+", "id=<id>", line)


def normalize(run: dict[str, Any]) -> dict[str, Any]:
    """What the comparison keeps of a run (see the module doc)."""
    out: dict[str, Any] = {"http": [list(h) for h in run["http"]]}
    for obs in run["observe"]:
        cmd, text = obs["cmd"], obs["stdout"]
        if cmd.endswith("conntrack -L"):
            lines = text.splitlines()
            kept = [ln for ln in lines if not ln.startswith("unknown  2 ")]
            out[cmd] = sorted(_ct_line(ln) for ln in kept)
            m = re.search(r"(\d+) flow entries", obs["stderr"])
            out[cmd + " (count)"] = (int(m[1]) - (len(lines) - len(kept))) if m else None
        elif "-t filter" in cmd:
            lines = [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]
            out[cmd] = [_mask_counters(ln) for ln in lines]
            out[cmd + " (first packets)"] = [ln for ln in lines if ln.endswith(FIRST_PACKETS)]
            out[cmd + " (FORWARD total)"] = [ln for ln in lines if "DOCKER-USER 0 --" in ln]
        else:
            out[cmd] = [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]
        out[cmd + " (rc)"] = obs["rc"]
    return out


# Filter rules that only ever see the first packet of a connection (the
# conntrack rule before them takes the rest), so their counters do not depend
# on how TCP segments and acknowledges -- which follows the scheduling of the
# programs, so that even the kernel's per-rule counts of the TCP flows move
# by a packet from run to run.
FIRST_PACKETS = ("172.17.0.2 tcp dpt:80", "ACCEPT 0 -- docker0 docker0 0.0.0.0/0 0.0.0.0/0",
                 "DROP 0 -- * docker0 0.0.0.0/0 0.0.0.0/0")


def _mask_counters(line: str) -> str:
    return re.sub(r"^\d+ \d+ ", "<pkts> <bytes> ", line)


@pytest.fixture(scope="module")
def usernet_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    webroot = str(tmp_path_factory.mktemp("webroot"))
    return dh.run_usernet(dh.make_webroot(webroot))


def _diff(expected: dict[str, Any], actual: dict[str, Any], keys: list[str]) -> str:
    out = []
    for key in keys:
        if expected.get(key) != actual.get(key):
            out.append(f"{key}:\n  kernel:  {expected.get(key)}\n  usernet: {actual.get(key)}")
    return "\n".join(out)


def _keys(part: str) -> list[str]:
    """The normalised keys one check compares."""
    cmd = {"filter": "iptables -t filter", "nat": "iptables -t nat", "conntrack": "conntrack -L"}
    if part == "http":
        return ["http"]
    if part == "forward-total":
        return [k for k in normalize(json.loads(EXPECTED.read_text())) if "FORWARD total" in k]
    return [k for k in normalize(json.loads(EXPECTED.read_text()))
            if cmd[part] in k and "FORWARD total" not in k]


def _recorded() -> dict[str, Any]:
    recorded = json.loads(EXPECTED.read_text())
    if len(recorded["python"]) != len(platform.python_version()):
        pytest.skip(f"recorded with Python {recorded['python']}: the Server headers (and "
                    "so the byte counters) differ in length")
    return normalize(recorded)


PARTS = ["http", "nat", "conntrack", "filter"]


@pytest.mark.parametrize("part", PARTS)
def test_against_recording(usernet_run: dict[str, Any], part: str) -> None:
    expected, actual = _recorded(), normalize(usernet_run)
    keys = _keys(part)
    assert [expected.get(k) for k in keys] == [actual.get(k) for k in keys], \
        _diff(expected, actual, keys)


def test_forward_total_against_recording(usernet_run: dict[str, Any]) -> None:
    expected, actual = _recorded(), normalize(usernet_run)
    keys = _keys("forward-total")
    assert [expected.get(k) for k in keys] == [actual.get(k) for k in keys], \
        _diff(expected, actual, keys)


def _live_possible() -> bool:
    return (os.geteuid() == 0 and all(shutil.which(p) for p in ("ip", "iptables", "conntrack"))
            and os.environ.get("USERNET_DOCKER_HOST") != "recorded")


@pytest.fixture(scope="module")
def live_run() -> dict[str, Any]:
    res = subprocess.run([sys.executable, str(RECORDER)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    return normalize(json.loads(res.stdout))


@pytest.mark.skipif(not _live_possible(), reason="needs root, ip, iptables and conntrack")
def test_recording_is_current(live_run: dict[str, Any]) -> None:
    """The kernel still says what was recorded."""
    recorded = normalize(json.loads(EXPECTED.read_text()))
    keys = [k for k in recorded if "FORWARD total" not in k]
    assert [live_run.get(k) for k in keys] == [recorded.get(k) for k in keys], \
        _diff(recorded, live_run, keys)


@pytest.mark.skipif(not _live_possible(), reason="needs root, ip, iptables and conntrack")
@pytest.mark.parametrize("part", PARTS)
def test_against_live_kernel(usernet_run: dict[str, Any], live_run: dict[str, Any],
                             part: str) -> None:
    actual = normalize(usernet_run)
    keys = _keys(part)
    assert [live_run.get(k) for k in keys] == [actual.get(k) for k in keys], \
        _diff(live_run, actual, keys)
