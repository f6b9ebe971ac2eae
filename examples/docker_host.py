#!/usr/bin/env python3
"""A Docker-style host, built with the commands Docker itself runs.

    python examples/docker_host.py

Namespace ``host`` has a bridge ``docker0`` (172.17.0.1/16) with two
"containers" attached by veth pairs, ``c1`` (172.17.0.2) and ``c2``
(172.17.0.3), and an uplink to ``outside`` (192.0.2.0/24).  The iptables
rules are the ones ``docker run -p 8080:80`` leaves behind: MASQUERADE for
the containers' traffic leaving docker0, a DNAT of port 8080 to c1:80 (for
packets arriving from outside and for the host's own connections), and the
FORWARD chains with the DOCKER-USER and isolation stages.

Then real programs talk across it: an unmodified ``python -m http.server``
serves a page in c1; ``outside`` fetches it with ``urllib`` from the host's
published port; the host does the same through its own address; c2 reaches
a server outside through MASQUERADE (the server sees the host's address);
c2 pings outside and, across the bridge, c1.  Last, the counters of every
rule and the connection tracking table are printed.

``tests/examples/test_docker_host.py`` runs the very same commands and
programs in real namespaces of the real kernel (or reads its recording) and
checks that the HTTP answers, the conntrack entries, the nat counters and
the filter rules agree (the per-packet counts of the TCP flows follow the
programs' CPU time, which usernet does not model: there usernet sends fewer
segments).
"""

from __future__ import annotations

import http.server
import os
import runpy
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path
from typing import Any

NAMESPACES = ("host", "c1", "c2", "outside")

# Containers and the uplink, as `ip` would build them; IPv6 off so that only
# the traffic below is counted.
TOPOLOGY = """\
ip netns add host
ip netns add c1
ip netns add c2
ip netns add outside
ip netns exec host sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec c1 sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec c2 sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec outside sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n host link add docker0 type bridge
ip -n host addr add 172.17.0.1/16 dev docker0
ip -n host link set docker0 up
ip -n host link add veth1 type veth peer name eth0 netns c1
ip -n host link set veth1 master docker0
ip -n host link set veth1 up
ip -n c1 addr add 172.17.0.2/16 dev eth0
ip -n c1 link set lo up
ip -n c1 link set eth0 up
ip -n c1 route add default via 172.17.0.1
ip -n host link add veth2 type veth peer name eth0 netns c2
ip -n host link set veth2 master docker0
ip -n host link set veth2 up
ip -n c2 addr add 172.17.0.3/16 dev eth0
ip -n c2 link set lo up
ip -n c2 link set eth0 up
ip -n c2 route add default via 172.17.0.1
ip -n host link add eth0 type veth peer name eth0 netns outside
ip -n host addr add 192.0.2.1/24 dev eth0
ip -n host link set lo up
ip -n host link set eth0 up
ip -n outside addr add 192.0.2.2/24 dev eth0
ip -n outside link set lo up
ip -n outside link set eth0 up
ip netns exec host sysctl -w net.ipv4.ip_forward=1
"""

# What dockerd installs for a bridge network and `-p 8080:80` on c1.
FIREWALL = """\
ip netns exec host iptables -t nat -N DOCKER
ip netns exec host iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
ip netns exec host iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
ip netns exec host iptables -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
ip netns exec host iptables -t nat -A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE
ip netns exec host iptables -t nat -A DOCKER -i docker0 -j RETURN
ip netns exec host iptables -t nat -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
ip netns exec host iptables -N DOCKER
ip netns exec host iptables -N DOCKER-ISOLATION-STAGE-1
ip netns exec host iptables -N DOCKER-ISOLATION-STAGE-2
ip netns exec host iptables -N DOCKER-USER
ip netns exec host iptables -P FORWARD DROP
ip netns exec host iptables -A FORWARD -j DOCKER-USER
ip netns exec host iptables -A FORWARD -j DOCKER-ISOLATION-STAGE-1
ip netns exec host iptables -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
ip netns exec host iptables -A FORWARD -o docker0 -j DOCKER
ip netns exec host iptables -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
ip netns exec host iptables -A FORWARD -i docker0 -o docker0 -j ACCEPT
ip netns exec host iptables -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
ip netns exec host iptables -A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
ip netns exec host iptables -A DOCKER-ISOLATION-STAGE-1 -j RETURN
ip netns exec host iptables -A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
ip netns exec host iptables -A DOCKER-ISOLATION-STAGE-2 -j RETURN
ip netns exec host iptables -A DOCKER-USER -j RETURN
"""

SETUP = TOPOLOGY + FIREWALL

PINGS = """\
ip netns exec c2 ping -c 2 -i 0.2 -W 1 192.0.2.2
ip netns exec c2 ping -c 2 -i 0.2 -W 1 172.17.0.2
"""

OBSERVE = """\
ip netns exec host iptables -t filter -L -v -n -x
ip netns exec host iptables -t nat -L -v -n -x
ip netns exec host conntrack -L
"""

# Who fetches what: (namespace, URL).  The page comes from c1's http.server
# through the DNAT of port 8080; /whoami is a server outside that answers
# with the address it sees (the host's, after MASQUERADE).
FETCHES = (
    ("outside", "http://192.0.2.1:8080/"),
    ("host", "http://192.0.2.1:8080/"),
    ("c2", "http://192.0.2.2:8000/whoami"),
)
PAGE = b"<h1>Hello from container c1</h1>\n"
PAGE_MTIME = 1_700_000_000  # a fixed Last-Modified: the same bytes on every run


def make_webroot(directory: str) -> str:
    """The directory c1's http.server serves: one index.html."""
    path = Path(directory) / "index.html"
    path.write_bytes(PAGE)
    os.utime(path, (PAGE_MTIME, PAGE_MTIME))
    return directory


def http_server_argv(webroot: str) -> list[str]:
    """``python -m http.server``'s command line in c1."""
    return ["http.server", "80", "--bind", "0.0.0.0", "--directory", webroot]


def run_http_server(webroot: str) -> None:
    """The stdlib's ``python -m http.server``, exactly as its __main__ runs."""
    sys.argv = http_server_argv(webroot)
    with warnings.catch_warnings():  # http.server is imported already: fine here
        warnings.simplefilter("ignore", RuntimeWarning)
        runpy.run_module("http.server", run_name="__main__", alter_sys=True)


class WhoAmI(http.server.BaseHTTPRequestHandler):
    """Answers any GET with the client address it sees."""

    def do_GET(self) -> None:
        body = f"you are {self.client_address[0]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_whoami(port: int = 8000) -> None:
    with http.server.ThreadingHTTPServer(("0.0.0.0", port), WhoAmI) as srv:
        srv.serve_forever()


def fetch(url: str) -> tuple[int, str]:
    """urllib's GET: (status, body)."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read().decode()


# -- usernet ------------------------------------------------------------------------------------


def run_usernet(webroot: str, echo: bool = False) -> dict[str, Any]:
    """Build the host in a fresh usernet kernel, run the programs, and return
    what the comparison looks at: the HTTP answers and the observation
    commands' output."""
    import usernet
    from usernet import Kernel

    # links without delay: as on Linux's veth, what a send puts on the wire
    # is received (and answered) before the send returns, so TCP segments
    # the same way as in the kernel (see usernet.wait.softirq_exit)
    k = Kernel(link_delay_ns=0)
    for line in _lines(SETUP):
        _show(echo, line, k.cmd(line))
    http_results = []
    with usernet.patched(k, netns="outside"):
        servers = [k.spawn(run_http_server, webroot, netns="c1", name="http.server"),
                   k.spawn(serve_whoami, netns="outside", name="whoami")]
        time.sleep(1)  # virtual: the servers are listening by then
        for ns, url in FETCHES:
            proc = k.spawn(fetch, url, netns=ns, name="urllib")
            proc.join(10)
            err = proc.exception
            status, body = ("error", repr(err)) if err is not None else proc.result()
            http_results.append([ns, url, status, body])
            if echo:
                print(f"# {ns}: GET {url} -> {status} {body!r}")
        for proc in servers:
            proc.kill()
    for line in _lines(PINGS):
        _show(echo, line, k.cmd(line))
    observed = []
    for line in _lines(OBSERVE):
        res = k.cmd(line)
        _show(echo, line, res)
        observed.append({"cmd": line, "rc": res.rc, "stdout": res.stdout, "stderr": res.stderr})
    return {"http": http_results, "observe": observed}


def _lines(script: str) -> list[str]:
    return [ln for ln in script.splitlines() if ln.strip() and not ln.startswith("#")]


def _show(echo: bool, line: str, res: Any) -> None:
    if echo:
        print(f"$ {line}")
        sys.stdout.write(res.stdout + res.stderr)
    if res.rc and not line.endswith("conntrack -L"):
        raise SystemExit(f"failed: {line}\n{res.stderr}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_usernet(make_webroot(tmp), echo=True)


if __name__ == "__main__":
    main()
