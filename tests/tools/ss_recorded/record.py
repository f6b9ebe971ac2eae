"""Record what the real ``ss`` (iproute2 6.1.0) prints for the scenarios below.

Each scenario is a namespace set-up (``ip`` commands, ``{ns}`` standing for
the namespace) and a piece of Python that opens sockets with CPython's
``socket`` module and may call ``sleep(seconds)``.  The recorder makes a real
namespace, runs the set-up, then runs the code in ``python3`` inside the
namespace and, from that same process (so the sockets stay open), runs
``ss`` with each argument list; it writes ``<scenario>.json`` next to this
file and deletes the namespace.  ``tests/tools/test_ss.py`` runs the same
set-up and code in usernet (``usernet.socket`` for ``socket``, virtual time
for ``sleep``) and compares.

Run as root on a machine with ``ip`` and ``ss``:

    python3 tests/tools/ss_recorded/record.py [scenario ...]
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# Runs inside the namespace: the scenario, then ss; JSON on stdout.
HARNESS = r"""
import json, shlex, socket, subprocess, sys, time
spec = json.load(sys.stdin)
g = {"socket": socket, "sleep": time.sleep, "__name__": "scenario"}
exec(spec["code"], g)
runs = []
for args in spec["args"]:
    p = subprocess.run(["ss", *shlex.split(args)], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=20)
    runs.append({"args": args, "stdout": p.stdout, "stderr": p.stderr, "rc": p.returncode})
json.dump(runs, sys.stdout)
"""

LO_AND_VETH = [
    "ip -n {ns} link set lo up",
    "ip -n {ns} link add v0 type veth peer name v1",
    "ip -n {ns} link set v0 up",
    "ip -n {ns} link set v1 up",
    "ip -n {ns} addr add 10.0.0.1/24 dev v0",
    "ip -n {ns} addr add 10.0.0.3/24 dev v1",
]

UDP_RAW = '''
import struct
U = socket.SOCK_DGRAM
a = socket.socket(socket.AF_INET, U); a.bind(("0.0.0.0", 5353))
b = socket.socket(socket.AF_INET, U); b.bind(("127.0.0.1", 8080))
c = socket.socket(socket.AF_INET, U); c.bind(("10.0.0.1", 40000)); c.connect(("10.0.0.2", 53))
d = socket.socket(socket.AF_INET, U); d.bind(("127.0.0.1", 12345))
d.sendto(b"x" * 100, ("127.0.0.1", 8080)); d.sendto(b"y" * 1000, ("127.0.0.1", 8080))
e = socket.socket(socket.AF_INET, U)
e.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"v0"); e.bind(("0.0.0.0", 5000))
f = socket.socket(socket.AF_INET, U)
f.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, 0x2a); f.bind(("127.0.0.1", 5001))
g = socket.socket(socket.AF_INET, U); g.bind(("127.0.0.1", 5002)); g.connect(("127.0.0.1", 80))
g.shutdown(socket.SHUT_RD)
h = socket.socket(socket.AF_INET, U); h.bind(("127.0.0.1", 80))
i = socket.socket(socket.AF_INET, U); i.bind(("127.0.0.1", 57000))
j = socket.socket(socket.AF_INET, U)
j.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10); j.bind(("127.0.0.1", 123))
r1 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
r1.bind(("127.0.0.1", 0))
r2 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
r2.connect(("10.0.0.3", 0))
r3 = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
r4 = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def csum(data):
    if len(data) % 2:
        data += b"\\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF
echo = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"p" * 56
echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
r1.sendto(echo, ("127.0.0.1", 0))
sleep(0.2)
'''

UDP_RAW_ARGS = [
    "", "-an", "-l", "-u", "-ua", "-uan", "-ul", "-uln", "-uanH", "-uane", "-uaneo", "-uanp",
    "-uanT", "-uani",
    "-uan --tos", "-uanO --inet-sockopt", "-w", "-wa", "-wan", "-wl", "-wane", "-wani", "-wanp",
    "-Hwan", "-tuwan", "-4an", "-uw", "-uan state all", "-uan state established",
    "-uan state unconnected", "-uan exclude unconnected", "-ua state connected",
    "-uan dport = :53", "-uan dport :53", "-uan dport != :53", "-uan sport >= :8000",
    "-uan sport le :5001", "-uan sport gt :8080", "-uan sport lt :5001", "-uan dst 10.0.0.2",
    "-uan dst 10.0.0.0/8", "-uan dst 10.0.0.2:53", "-uan src 127.0.0.1", "-uan src 127.0.0.0/8",
    "-uan src 127.0.0.1:5001", "-uan src 127.1", "-uan src localhost", "-uan dst *:53",
    "-uan src :8080", "-uan src inet:127.0.0.1", "-uan 'sport = :5000 or sport = :5001'",
    "-uan ( sport = :5000 or sport = :5001 ) and not dev v0", "-uan not src 127.0.0.1",
    "-uan sport = :5000 sport = :5001", "-uan sport = :5000 or sport = :5001 and src 127.0.0.1",
    "-uan dev v0", "-uan dev = v0", "-uan dev != v0", "-uan fwmark = 0x2a",
    "-uan fwmark = 0x20/0x20", "-uan fwmark != 42", "-uan sport = :0x1f90", "-uan sport = :010",
    "-ua sport = :domain", "-ua sport = :ntp", "-ua dport = :domain", "-uan autobound",
    "-wan sport = :1", "-wan src 127.0.0.1", "-wan dst 10.0.0.3", "-wan dev v0",
]

TCP_STATES = '''
S = socket.socket
T = socket.SOCK_STREAM
ls = S(socket.AF_INET, T); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("0.0.0.0", 8080)); ls.listen(5)
b = S(socket.AF_INET, T); b.bind(("127.0.0.1", 9000))
c1 = S(socket.AF_INET, T); c1.bind(("127.0.0.1", 40001)); c1.connect(("127.0.0.1", 8080))
c2 = S(socket.AF_INET, T); c2.bind(("127.0.0.1", 40002)); c2.connect(("127.0.0.1", 8080))
a1, _ = ls.accept()
c1.sendall(b"x" * 1000)
c3 = S(socket.AF_INET, T); c3.bind(("127.0.0.1", 40003)); c3.connect(("127.0.0.1", 8080))
a2, _ = ls.accept()
a2.close()
c4 = S(socket.AF_INET, T); c4.bind(("127.0.0.1", 40004)); c4.connect(("127.0.0.1", 8080))
a4, _ = ls.accept()
c4.close()
sleep(0.05)
a4.close()
c5 = S(socket.AF_INET, T); c5.bind(("127.0.0.1", 40005)); c5.connect(("127.0.0.1", 8080))
a5, _ = ls.accept()
c6 = S(socket.AF_INET, T); c6.bind(("127.0.0.1", 40006)); c6.connect(("127.0.0.1", 8080))
a6, _ = ls.accept()
a6.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
a5.close()
sleep(0.05)
c5.close()
sleep(0.05)
'''

TCP_STATES_ARGS = [
    "", "-n", "-an", "-tan", "-ta", "-t", "-tln", "-tl", "-tanH", "-tane", "-tano", "-tanp",
    "-tanT",
    "-tan state established", "-tan state listening", "-tan state connected",
    "-tan state synchronized", "-tan state bucket", "-tan state big", "-tan state time-wait",
    "-tan state fin-wait-2", "-tan state close-wait state listening",
    "-tan exclude established", "-tn sport = :8080", "-tan sport = :8080 or dport = :8080",
    "-tan ( sport = :8080 or dport = :8080 ) and not dport = :40004", "-ta sport = :http-alt",
    "-tn dst 127.0.0.1 and dport gt :40002", "-tan src 0.0.0.0", "-tan dst 0.0.0.0/0",
    "-ltn --tos", "-tlnO --inet-sockopt", "-tani", "-tanie", "-tanio", "-tn state time-wait -o",
    "-tn dport = :40006 -o",
]

TCP_BULK = '''
l = socket.socket(); l.bind(("127.0.0.1", 7000)); l.listen(1)
c = socket.socket(); c.bind(("127.0.0.1", 40100)); c.connect(("127.0.0.1", 7000))
a, _ = l.accept()
c.setblocking(False)
sent = 0
while True:
    try:
        sent += c.send(b"z" * 65536)
    except BlockingIOError:
        break
sleep(0.5)
'''

TCP_BULK_ARGS = ["-tn", "-tni", "-tnm"]

TCP_LISTEN = '''
l = socket.socket(); l.bind(("10.0.0.1", 22)); l.listen(128)
t = socket.socket(); t.setblocking(False)
try:
    t.connect(("10.0.0.2", 7))
except BlockingIOError:
    pass
sleep(0.3)
'''

TCP_LISTEN_ARGS = ["-tan", "-tano", "-tl", "-ta", "-tlni", "-tlnie", "-tanH", "-tlp", "-tani",
                   "-ltn state syn-sent", "-tn state syn-sent"]

# AF_UNIX sockets of every kind.  Paths live in a directory of a fixed name
# (made afresh) and abstract names are fixed, so that both sides print the
# same names; only the autobound name ("@" and five hex digits) is random.
UNIX = '''
import os, shutil
D = "/tmp/usernet-ss-unix"
shutil.rmtree(D, ignore_errors=True)
os.mkdir(D)
AF, ST, DG, SQ = socket.AF_UNIX, socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET
ls = socket.socket(AF, ST); ls.bind(D + "/stream.sock"); ls.listen(5)
c1 = socket.socket(AF, ST); c1.connect(D + "/stream.sock")
a1, _ = ls.accept()
c1.sendall(b"x" * 1000)
c1.sendall(b"x" * 24)
a1.sendall(b"y" * 300)
al = socket.socket(AF, ST); al.bind("\\0usernet-ss-abstract"); al.listen(3)
c2 = socket.socket(AF, ST); c2.connect("\\0usernet-ss-abstract")
c2.sendall(b"w" * 70)
p1, p2 = socket.socketpair()
p1.sendall(b"z" * 10)
p2.shutdown(socket.SHUT_WR)
d = socket.socket(AF, DG); d.bind(D + "/dgram.sock")
s1 = socket.socket(AF, DG)
s1.sendto(b"a" * 100, D + "/dgram.sock")
s1.sendto(b"b" * 2000, D + "/dgram.sock")
au = socket.socket(AF, DG); au.bind("")
au.sendto(b"c" * 5, D + "/dgram.sock")
dc = socket.socket(AF, DG); dc.connect(D + "/dgram.sock")
dc.send(b"e" * 50)
nul = socket.socket(AF, DG); nul.bind(b"\\0ss\\0nul")
q1, q2 = socket.socketpair(AF, SQ)
q1.send(b"q" * 64)
q1.send(b"r" * 128)
g1, g2 = socket.socketpair(AF, DG)
g2.send(b"g" * 33)
bs = socket.socket(AF, ST); bs.bind(D + "/bound-only.sock")
us = socket.socket(AF, ST)
gone = socket.socket(AF, DG); gone.bind(D + "/gone.sock"); os.unlink(D + "/gone.sock")
k1, k2 = socket.socketpair()
k2.close()
m1, m2 = socket.socketpair()
m1.sendall(b"m" * 1000)
m1.sendall(b"n" * 100)
m2.recv(1050)
b1, b2 = socket.socketpair()
b1.sendall(b"B" * 50000)
re1 = socket.socket(AF, DG); re1.bind(D + "/re1.sock")
re2 = socket.socket(AF, DG); re2.bind(D + "/re2.sock")
rc = socket.socket(AF, DG); rc.connect(D + "/re1.sock"); rc.connect(D + "/re2.sock")
ql = socket.socket(AF, SQ); ql.bind(D + "/seq.sock"); ql.listen(1)
qc = socket.socket(AF, SQ); qc.connect(D + "/seq.sock")
qa, _ = ql.accept()
qc.send(b"s" * 10)
el = socket.socket(AF, ST); el.bind("\\0usernet-ss-orphan"); el.listen(2)
ec = socket.socket(AF, ST); ec.connect("\\0usernet-ss-orphan"); ec.close()
dd1 = socket.socket(AF, DG); dd1.bind(D + "/dd.sock")
dd2 = socket.socket(AF, DG); dd2.connect(D + "/dd.sock"); dd1.close()
long = socket.socket(AF, DG); long.bind(b"\\0" + b"L" * 107)
cut = socket.socket(AF, DG); cut.bind(D.encode() + b"/cut.sock\\0junk")
f1, f2 = socket.socketpair()
f1.setblocking(False)
try:
    while True:
        f1.send(b"f" * 65536)
except BlockingIOError:
    pass
'''

UNIX_ARGS = [
    "", "-x", "-xa", "-a", "-xl", "-xp", "-xe", "-xn", "-xH", "-f unix", "-A unix_stream",
    "-xan", "-xap", "-xae", "-xaeH", "-xlp", "-xln", "-xle", "-xao", "-xai", "-xaT",
    "-A unix_dgram", "-A unix_dgram -a", "-A unix_seqpacket", "-A u_seq -a", "-A u_str,u_dgr -a",
    "-A unix -a", "-A unix,tcp -a", "-A 'all,!unix_dgram' -a", "-A u_str -l", "-xa4",
    "-f unix -f inet -a", "-xt", "-xaO",
    "-x src /tmp/*", "-xa src /tmp/*", "-xa src /tmp/usernet-ss-unix/*.sock",
    "-xa src '/TMP/USERNET-SS-UNIX/STREAM.SOCK'", "-xa src @*", "-xa src '*'", "-xa src '?*'",
    "-xa src '@ss@nul'", "-xa src '*[gn]*'", "-xa src '/[[:lower:]]*'",
    "-x src /tmp/usernet-ss-unix/[sd]*", "-xa src '*[!a-z].sock'", "-xa src '*\\\\.sock'",
    "-xa src unix:@usernet*", "-a src unix:/tmp/*", "-xa dst '*'", "-xa dst /tmp/*",
    "-xa not src /tmp/*", "-xa src /tmp/* or src @*", "-xa src /tmp/* and not src *dgram*",
    "-xa autobound", "-xa not autobound", "-xa sport = :0", "-xa sport > :1",
    "-xa dport = :0", "-xa dport != :0", "-xa dev lo", "-xa fwmark = 0", "-xa src inet:1.2.3.4",
    "-xa state listening", "-xa state connected", "-xa state unconnected",
    "-x state established", "-xa exclude established", "-xa state all", "-xa state closed",
    "-xa state listening state unconnected", "-xH state established",
    "-a unix", "-x -a -n -p -e", "-A unix -a dst 0.0.0.0/8", "-A unix -a src 0.0.0.0/0",
    "-A unix -a src 1.2.3.4", "-A unix -a dport = :0", "-A unix -a dport > :0",
    "-A unix -a sport < :1", "-A unix -a autobound", "-a dport = :0",
]

NONE = ""

NONE_ARGS = [
    "", "-t", "-u", "-w", "-x", "-0", "-4", "-6", "-l", "-tu", "-tuw", "-A inet", "-A tcp,udp",
    "-A 'all,!unix'", "-f inet", "-f link", "-x -t", "-t -4 -6", "-M", "-S", "-d",
    "-A netlink", "-t state all state listening", "-t exclude all", "-H -t",
    "-Q", "--foo", "-f", "-f bogus", "-A bogus", "-t state bogus", "-t state", "-t dport",
    "-t dport =", "-t dport = :x", "-t bogus", "-t ( dport = :1", "-t ( )", "-t not",
    "-t dst 1.2.3.4:99999", "-t dst 300.1.1.1", "-t sport = 80", "-t sport 80", "-t src :80",
    "-t dst *:80", "-t dport gt :80", "-t dst 10.0.0.0/33", "-t dst 10.0.0.0/255.255.0.0",
    "-t dev nosuch", "-t fwmark = x", "-u sport = :http", "-t sport = :http",
    "-N nonexist -t", "-V", "-v", "--n -t", "--no -t", "--num -t", "--tcp --numeric --all",
    "--family=inet -t", "--family", "--numeric=1 -t", "-Z", "-z", "-h", "-f help",
    "-tO", "-t --tos -a", "-t -- -u", "-V -Q", "-Q -V", "state",
]


def scenario_list() -> dict[str, dict[str, object]]:
    return {
        "udp_raw": {"setup": LO_AND_VETH, "code": UDP_RAW, "args": UDP_RAW_ARGS},
        "tcp_states": {"setup": LO_AND_VETH, "code": TCP_STATES, "args": TCP_STATES_ARGS},
        "tcp_listen": {"setup": LO_AND_VETH, "code": TCP_LISTEN, "args": TCP_LISTEN_ARGS},
        "tcp_bulk": {"setup": LO_AND_VETH, "code": TCP_BULK, "args": TCP_BULK_ARGS},
        "none": {"setup": ["ip -n {ns} link set lo up"], "code": NONE, "args": NONE_ARGS},
        "unix": {"setup": ["ip -n {ns} link set lo up"], "code": UNIX, "args": UNIX_ARGS},
    }


def record(name: str, spec: dict[str, object]) -> None:
    ns = f"ssrec_{name}"
    subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for cmd in spec["setup"]:  # type: ignore[attr-defined]
            subprocess.run(cmd.format(ns=ns).split(), check=True)
        p = subprocess.run(["ip", "netns", "exec", ns, "python3", "-c", HARNESS],
                           input=json.dumps({"code": spec["code"], "args": spec["args"]}),
                           capture_output=True, text=True, check=True, timeout=600)
        runs = json.loads(p.stdout)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    version = subprocess.run(["ss", "-V"], capture_output=True, text=True).stdout.strip()
    out = {"kernel": platform.release(), "ss": version, "setup": spec["setup"],
           "code": spec["code"], "runs": runs}
    with open(os.path.join(HERE, f"{name}.json"), "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"{name}: {len(runs)} runs")


def main() -> None:
    scenarios = scenario_list()
    for name in sys.argv[1:] or list(scenarios):
        record(name, scenarios[name])


if __name__ == "__main__":
    main()
