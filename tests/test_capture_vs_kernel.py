"""usernet's capture against the real kernel's, for one ping across a router.

The topology h1 -- r -- h2 (10.1.0.0/24, 10.2.0.0/24, forwarding in r, default
routes in the hosts, IPv6 disabled everywhere before any link exists so that
no IPv6 chatter is captured) runs ``ping -c 3 -i 0.2 -W 1 10.2.0.2`` from h1,
captured on h1's eth0 and on r's egress link r2:

* in usernet, with ``Kernel.capture`` writing pcap files;
* on the real kernel (root, iproute2, tcpdump), in namespaces named after
  this process, with ``tcpdump -i DEV -w FILE -U`` started before the ping and
  stopped with SIGINT after it.

Both are decoded with ``tshark -T fields`` into rows of Ethernet type, ARP
opcode and addresses, IP addresses and TTL, ICMP type, code and sequence
(MAC addresses differ between runs and are not compared), and the rows must be
the same, in the same order.  The real kernel's rows are kept in
tests/captures/router_ping.json, so the usernet side is checked against them
everywhere; the live comparison runs as well where namespaces can be made.
Without tshark, pcaps are decoded by this file's own reader (``decode_pcap``,
which knows just the frames of this exchange) -- checked against tshark
wherever tshark exists.  Re-record with
``.venv/bin/python tests/test_capture_vs_kernel.py --record`` (root).

The window: the real captures stop about a second after the ping, usernet's
when the ping returns.  Both hold the whole exchange -- h1's ARP for the
router, r's ARP for h2, three echo requests and replies -- and nothing else:
the next packets, the unicast ARP probes of the neighbour entries the ARP
requests created (DELAY, then PROBE, 5 s later), are outside both windows.
"""

from __future__ import annotations

import json
import os
import platform
import selectors
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from usernet import Kernel
from usernet.wire.pcap import read_pcap

FIELDS = ["eth.type", "arp.opcode", "arp.src.proto_ipv4", "arp.dst.proto_ipv4", "ip.src",
          "ip.dst", "ip.ttl", "icmp.type", "icmp.code", "icmp.seq"]
FIXTURE = Path(__file__).parent / "captures" / "router_ping.json"
# capture point: (namespace role, device)
POINTS = {"h1_eth0": ("h1", "eth0"), "r_r2": ("r", "r2")}
PING = "ping -c 3 -i 0.2 -W 1 10.2.0.2"
Rows = list[list[str]]


def topology(names: dict[str, str]) -> list[str]:
    """The commands that build the topology, for either kernel."""
    h1, r, h2 = names["h1"], names["r"], names["h2"]
    return [
        *(f"ip netns add {ns}" for ns in (h1, r, h2)),
        *(f"ip netns exec {ns} sysctl -w net.ipv6.conf.all.disable_ipv6=1 "
          "net.ipv6.conf.default.disable_ipv6=1" for ns in (h1, r, h2)),
        f"ip -n {h1} link add eth0 type veth peer name r1 netns {r}",
        f"ip -n {h2} link add eth0 type veth peer name r2 netns {r}",
        f"ip -n {h1} addr add 10.1.0.2/24 dev eth0",
        f"ip -n {h2} addr add 10.2.0.2/24 dev eth0",
        f"ip -n {r} addr add 10.1.0.1/24 dev r1",
        f"ip -n {r} addr add 10.2.0.1/24 dev r2",
        f"ip -n {h1} link set eth0 up",
        f"ip -n {h2} link set eth0 up",
        f"ip -n {r} link set r1 up",
        f"ip -n {r} link set r2 up",
        f"ip -n {h1} route add default via 10.1.0.1",
        f"ip -n {h2} route add default via 10.2.0.1",
        f"ip netns exec {r} sysctl -w net.ipv4.ip_forward=1",
    ]


# -- decoding ------------------------------------------------------------------------


def decode_tshark(path: Path) -> Rows:
    cmd = ["tshark", "-r", str(path), "-T", "fields"]
    for name in FIELDS:
        cmd += ["-e", name]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True)
    return [line.split("\t") for line in res.stdout.splitlines()]


def _ip(data: bytes, off: int) -> str:
    return ".".join(str(b) for b in data[off:off + 4])


def decode_pcap(data: bytes) -> Rows:
    """The FIELDS of every frame as tshark prints them, for the frames of this
    test (Ethernet II; ARP; IPv4 with ICMP echo): the fallback without tshark."""
    rows: Rows = []
    for _, frame in read_pcap(data):
        etype = struct.unpack_from("!H", frame, 12)[0]
        row = [f"0x{etype:04x}"] + [""] * (len(FIELDS) - 1)
        if etype == 0x0806:
            row[1] = str(struct.unpack_from("!H", frame, 20)[0])
            row[2], row[3] = _ip(frame, 28), _ip(frame, 38)
        elif etype == 0x0800:
            ihl = (frame[14] & 0x0F) * 4
            row[4], row[5], row[6] = _ip(frame, 26), _ip(frame, 30), str(frame[22])
            if frame[23] == 1:  # ICMP
                icmp = 14 + ihl
                row[7], row[8] = str(frame[icmp]), str(frame[icmp + 1])
                if frame[icmp] in (0, 8):
                    row[9] = str(struct.unpack_from("!H", frame, icmp + 6)[0])
        rows.append(row)
    return rows


def decode(path: Path) -> Rows:
    return decode_tshark(path) if shutil.which("tshark") else decode_pcap(path.read_bytes())


# -- the two kernels -----------------------------------------------------------------


def usernet_captures(workdir: Path) -> dict[str, Path]:
    k = Kernel()
    for line in topology({"h1": "h1", "r": "r", "h2": "h2"}):
        assert k.cmd(line).ok, line
    paths = {point: workdir / f"usernet_{point}.pcap" for point in POINTS}
    caps = [k.capture(ns, dev, paths[point]) for point, (ns, dev) in POINTS.items()]
    try:
        res = k.cmd(f"ip netns exec h1 {PING}")
    finally:
        for cap in caps:
            cap.close()
    assert res.rc == 0 and "3 packets transmitted, 3 received" in res.stdout, res
    return paths


def live_unavailable() -> str | None:
    """Why the real kernel cannot be run here, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root for network namespaces"
    for tool in ("ip", "tcpdump", "ping"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _wait_listening(proc: subprocess.Popen[str], timeout: float = 10.0) -> None:
    """Until tcpdump says it is listening (its capture is attached)."""
    assert proc.stderr is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if sel.select(deadline - time.monotonic()):
                line = proc.stderr.readline()
                if "listening on" in line:
                    return
                if not line:
                    break
        raise RuntimeError(f"tcpdump did not start (exit status {proc.poll()})")
    finally:
        sel.close()


def real_captures(workdir: Path) -> dict[str, Path]:
    """Run the exchange on the real kernel; every namespace and process this
    starts is gone when it returns."""
    prefix = f"ucap{os.getpid()}"
    names = {role: prefix + role for role in ("h1", "r", "h2")}
    paths = {point: workdir / f"kernel_{point}.pcap" for point in POINTS}
    created: list[str] = []
    dumps: list[subprocess.Popen[str]] = []
    try:
        for line in topology(names):
            argv = shlex.split(line)
            subprocess.run(argv, check=True, capture_output=True, timeout=30)
            if argv[:3] == ["ip", "netns", "add"]:
                created.append(argv[3])
        for point, (role, dev) in POINTS.items():
            dump = subprocess.Popen(
                ["ip", "netns", "exec", names[role], "tcpdump", "-i", dev, "-w",
                 str(paths[point]), "-U", "--immediate-mode"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            dumps.append(dump)
            _wait_listening(dump)
        ping = subprocess.run(["ip", "netns", "exec", names["h1"], *shlex.split(PING)],
                              capture_output=True, text=True, timeout=30)
        assert ping.returncode == 0 and "3 received" in ping.stdout, ping.stdout + ping.stderr
        time.sleep(1.0)  # the last reply reaches both files
        for dump in dumps:
            dump.send_signal(signal.SIGINT)
        for dump in dumps:
            dump.communicate(timeout=15)
    finally:
        for dump in dumps:
            if dump.poll() is None:
                dump.kill()
                dump.communicate()
        for ns in reversed(created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)
    return paths


def load_fixture() -> dict[str, Rows]:
    data = json.loads(FIXTURE.read_text())
    assert data["fields"] == FIELDS
    captures: dict[str, Rows] = data["captures"]
    return captures


def fixture_text(data: dict[str, object]) -> str:
    """JSON with one capture row a line."""
    captures = data["captures"]
    assert isinstance(captures, dict)
    head = json.dumps({key: value for key, value in data.items() if key != "captures"},
                      indent=1)
    points = ",\n".join(
        f"  {json.dumps(point)}: [\n" + ",\n".join(f"   {json.dumps(row)}" for row in rows)
        + "\n  ]" for point, rows in captures.items())
    return head[:-2] + ',\n "captures": {\n' + points + "\n }\n}\n"


def record(workdir: Path) -> None:
    """Re-record tests/captures/router_ping.json from the real kernel (root, tshark)."""
    reason = live_unavailable() or (None if shutil.which("tshark") else "tshark is missing")
    if reason:
        raise SystemExit(f"cannot record: {reason}")
    paths = real_captures(workdir)
    version = subprocess.run(["tcpdump", "--version"], capture_output=True, text=True)
    tshark = subprocess.run(["tshark", "--version"], capture_output=True, text=True)
    data = {
        "about": "tshark -T fields rows of the real kernel's capture of "
                 f"'{PING}' from h1 to h2 across r; see tests/test_capture_vs_kernel.py",
        "recorded_with": {
            "kernel": platform.release(),
            "tcpdump": version.stdout.splitlines()[0] if version.stdout else "",
            "tshark": tshark.stdout.splitlines()[0] if tshark.stdout else "",
        },
        "fields": FIELDS,
        "captures": {point: decode_tshark(path) for point, path in paths.items()},
    }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(fixture_text(data))
    print(f"recorded {FIXTURE}")


# -- tests -------------------------------------------------------------------------------


def test_usernet_matches_the_recorded_kernel_capture(tmp_path: Path) -> None:
    expected = load_fixture()
    got = {point: decode(path) for point, path in usernet_captures(tmp_path).items()}
    assert got == expected


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_fallback_decoder_agrees_with_tshark(tmp_path: Path) -> None:
    for path in usernet_captures(tmp_path).values():
        assert decode_pcap(path.read_bytes()) == decode_tshark(path)


def test_recording_has_the_whole_exchange() -> None:
    rows = load_fixture()
    arp, ip = "0x0806", "0x0800"
    assert [r[:4] for r in rows["h1_eth0"][:2]] == [[arp, "1", "10.1.0.2", "10.1.0.1"],
                                                     [arp, "2", "10.1.0.1", "10.1.0.2"]]
    assert [r[:4] for r in rows["r_r2"][:2]] == [[arp, "1", "10.2.0.1", "10.2.0.2"],
                                                  [arp, "2", "10.2.0.2", "10.2.0.1"]]
    for point, ttls in (("h1_eth0", ("64", "63")), ("r_r2", ("63", "64"))):
        echoes = rows[point][2:]
        assert len(echoes) == 6 and all(r[0] == ip for r in echoes)
        assert [(r[4], r[5], r[6], r[7], r[9]) for r in echoes] == [
            row for seq in "123" for row in (("10.1.0.2", "10.2.0.2", ttls[0], "8", seq),
                                              ("10.2.0.2", "10.1.0.2", ttls[1], "0", seq))]


def test_live_kernel_matches_usernet(tmp_path: Path) -> None:
    reason = live_unavailable()
    if reason is not None:
        pytest.skip(reason)
    probe = f"ucapprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, timeout=30)
    if made.returncode != 0:
        pytest.skip(f"cannot create network namespaces: {made.stderr.decode().strip()}")
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, timeout=30)
    # decoded by tshark, or by decode_pcap where tshark is missing
    kernel = {point: decode(path) for point, path in real_captures(tmp_path).items()}
    ours = {point: decode(path) for point, path in usernet_captures(tmp_path).items()}
    assert ours == kernel


if __name__ == "__main__":
    import tempfile

    if sys.argv[1:] != ["--record"]:
        raise SystemExit(f"usage: {sys.argv[0]} --record")
    with tempfile.TemporaryDirectory() as tmp:
        record(Path(tmp))
