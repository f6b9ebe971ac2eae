#!/usr/bin/env python3
"""Run ``examples/docker_host.py``'s set-up and programs in real namespaces of
the real kernel, and print what ``test_docker_host.py`` compares (JSON).

As root, where ``ip``, ``iptables`` and ``conntrack`` exist::

    .venv/bin/python tests/examples/record_docker_host.py > tests/examples/docker_host.expected.json

The namespaces get a prefix (``udh<pid>-host``, ...) and are deleted at the
end; traffic flows only between them.  The programs are the example's own:
``python -m http.server`` in c1 (the same interpreter as this script, so the
HTTP headers have the same length), the whoami server outside, urllib
clients.  Standard library only.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))
import docker_host as dh  # noqa: E402

ENV = {"LC_ALL": "C", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
NS_WORDS = ("-n", "exec", "netns", "add", "del")


def real_argv(line: str, prefix: str) -> list[str]:
    """The command with the example's namespace names prefixed."""
    argv = shlex.split(line)
    return [f"{prefix}{w}" if i and argv[i - 1] in NS_WORDS and w in dh.NAMESPACES else w
            for i, w in enumerate(argv)]


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=30,
                          check=False)


def in_ns(prefix: str, ns: str, code: str) -> list[str]:
    boot = f"import sys; sys.path.insert(0, {str(EXAMPLES)!r}); import docker_host; {code}"
    return ["ip", "netns", "exec", prefix + ns, sys.executable, "-c", boot]


def record(prefix: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        webroot = dh.make_webroot(tmp)
        os.chmod(tmp, 0o755)
        for line in dh._lines(dh.SETUP):
            res = run(real_argv(line, prefix))
            if res.returncode:
                raise SystemExit(f"failed: {line}: {res.stderr}")
        servers = [
            subprocess.Popen(["ip", "netns", "exec", prefix + "c1", sys.executable, "-m",
                              *dh.http_server_argv(webroot)], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
            subprocess.Popen(in_ns(prefix, "outside", "docker_host.serve_whoami()"), env=ENV),
        ]
        try:
            time.sleep(1.5)
            http = []
            for ns, url in dh.FETCHES:
                res = run(in_ns(prefix, ns, "import json; "
                                f"print(json.dumps(docker_host.fetch({url!r})))"))
                if res.returncode:
                    raise SystemExit(f"fetch {url} from {ns} failed: {res.stderr}")
                status, body = json.loads(res.stdout)
                http.append([ns, url, status, body])
        finally:
            for proc in servers:
                proc.terminate()
                proc.wait()
        for line in dh._lines(dh.PINGS):
            run(real_argv(line, prefix))
        observed = []
        for line in dh._lines(dh.OBSERVE):
            res = run(real_argv(line, prefix))
            observed.append({"cmd": line, "rc": res.returncode, "stdout": res.stdout,
                             "stderr": res.stderr})
    return {"python": sys.version.split()[0], "http": http, "observe": observed}


def cleanup(prefix: str) -> None:
    for ns in dh.NAMESPACES:
        run(["ip", "netns", "del", prefix + ns])


def main() -> None:
    prefix = f"udh{os.getpid()}-"
    try:
        out = record(prefix)
    finally:
        cleanup(prefix)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
