"""`usernet script` and `usernet shell`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from usernet import Kernel
from usernet.shell import Shell
from usernet.testing import VETH_PAIR


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "usernet.cli", *args],
                          capture_output=True, text=True, timeout=60)


def test_script_jsonl_format(tmp_path: Path) -> None:
    scn = tmp_path / "s.scenario"
    scn.write_text("# comment\n\nip netns add a\nip netns add a\n")
    res = run_cli("script", "--jsonl", str(scn))
    assert res.returncode == 0
    recs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [r["line"] for r in recs] == [3, 4]
    assert recs[0] == {"line": 3, "cmd": "ip netns add a", "rc": 0, "stdout": "", "stderr": ""}
    assert recs[1]["rc"] == 1
    assert recs[1]["stderr"] == 'Cannot create namespace file "/run/netns/a": File exists\n'


def test_script_text_exit_status(tmp_path: Path) -> None:
    scn = tmp_path / "s.sh"
    scn.write_text("ip netns add a\nip link set nosuch up\n")
    res = run_cli("script", str(scn))
    assert res.returncode == 1
    assert 'Cannot find device "nosuch"' in res.stderr
    assert run_cli("script", "-k", str(scn)).returncode == 0


def test_script_missing_file() -> None:
    res = run_cli("script", "/nonexistent/file")
    assert res.returncode == 2
    assert "No such file or directory" in res.stderr
    assert "Traceback" not in res.stderr


def test_shell_session() -> None:
    inp = io.StringIO("ip netns add blue\nnetns blue\nip link add v0 type veth peer name v1\n"
                      "ip -br link\nnetns nosuch\nnetns\nip -br link\nexit\n")
    out = io.StringIO()
    sh = Shell(Kernel(), stdin=inp, stdout=out)
    sh.cmdloop()
    text = out.getvalue()
    assert "usernet [blue]# " in text
    assert "v0@v1" in text
    assert 'Cannot open network namespace "nosuch"' in text
    # back in init_net, only lo
    assert text.rstrip().endswith("usernet [init_net]#") or "lo " in text.split("netns\n")[-1]


def test_shell_completion() -> None:
    k = Kernel()
    k.cmd("ip netns add alpha")
    sh = Shell(k)
    assert sh.completedefault("li", "ip li", 3, 5) == ["link"]
    assert sh.complete_netns("al", "netns al", 6, 8) == ["alpha"]
    assert "lo" in sh.completedefault("l", "ip link set l", 12, 13)


PING_SCRIPT = VETH_PAIR + "ip netns exec a ping -c 2 -i 0.2 -W 1 10.0.0.2\n"


def test_script_link_delay(tmp_path: Path) -> None:
    f = tmp_path / "ping.txt"
    f.write_text(PING_SCRIPT)
    slow = run_cli("script", "--link-delay-us", "500", str(f))
    assert slow.returncode == 0
    assert "rtt min/avg/max/mdev = 1.000/1.500/2.000/0.500 ms" in slow.stdout
    instant = run_cli("script", "--link-delay-us", "0", str(f))
    assert "time=0.000 ms" in instant.stdout
    bad = run_cli("script", "--link-delay-us", "-3", str(f))
    assert bad.returncode == 2 and "must be >= 0" in bad.stderr
