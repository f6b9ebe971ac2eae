"""ss (iproute2 6.1.0) over usernet, compared with the real ss on the real kernel.

``ss_recorded/*.json`` hold what the real ss printed in a real namespace
after a piece of CPython opened sockets there (``ss_recorded/record.py``
made them, on Linux 6.18).  Each test replays the same set-up and code in
usernet and compares, after the normalisation described in
``ss_harness.py`` (pids, inode numbers, cookies, cgroup, row order).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ss_harness import load, normalise, normalise_err, replay, unix_relabel

import usernet.socket as us
from usernet import Kernel
from usernet.tools import run_argv
from usernet.tools.ss import (
    Output,
    fnmatch_casefold,
    print_ms_timer,
    sprint_bw,
    tcp_stats_text,
)
from usernet.wait import sleep

SCENARIOS = ("udp_raw", "tcp_states", "tcp_listen", "none", "unix")

# Runs whose difference is known, and why (for the owners of the other parts).
KNOWN: dict[tuple[str, str], str] = {
}

# tcp_info fields the real kernel reports that the TCP model does not keep (or
# keeps differently) yet: they are left out of the -i comparison.
INFO_GAPS = {
    "pacing_rate", "app_limited", "bytes_sent", "data_segs_in", "data_segs_out",
    "delivery_rate", "bbr", "rcv_rtt",
    "bytes_received",  # Linux counts the FIN (tcp_rcv_nxt_update); the model does not
    "segs_in",  # a passive child counts the SYN and the handshake's ACK on Linux
}
# ... and those whose values are compared exactly.
INFO_EXACT = ("ts", "sack", "wscale", "rcvmss", "advmss", "rcv_space", "unacked")

# Time-dependent text, per scenario.
SUBS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "tcp_listen": [(re.compile(r"10\.0\.0\.1:\d{5}\b"), "10.0.0.1:EPHEMERAL"),
                   (re.compile(r"timer:\(on,\d+ms,"), "timer:(on,Tms,")],
}


@cache
def replayed(name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rec = load(name)
    return rec, replay(rec)


def _cases() -> list[Any]:
    cases = []
    for name in SCENARIOS:
        for i, run in enumerate(load(name)["runs"]):
            marks = []
            why = KNOWN.get((name, run["args"]))
            if why:
                marks.append(pytest.mark.xfail(reason=why, strict=True))
            cases.append(pytest.param(name, i, id=f"{name}[{run['args']}]", marks=marks))
    return cases


def _has_header(args: str) -> bool:
    words = args.split()
    return not any(w.startswith("-") and not w.startswith("--") and "H" in w for w in words) \
        and "--no-header" not in words and "--no" not in words


def _info_fields(line: str) -> dict[str, str]:
    """An -i line as {field: value} ("ts", "sack", "cubic" have no value)."""
    fields: dict[str, str] = {}
    words = line.split()
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("send", "pacing_rate", "delivery_rate"):
            fields[word] = words[i + 1] if i + 1 < len(words) else ""
            i += 2
            continue
        name, _, value = word.partition(":")
        fields["cubic" if name == "bbr" and not value else name] = value
        i += 1
    return fields


@pytest.mark.parametrize(("name", "index"), _cases())
def test_as_the_real_ss(name: str, index: int) -> None:
    rec, ours = replayed(name)
    real, mine = rec["runs"][index], ours[index]
    assert mine["args"] == real["args"]
    assert mine["rc"] == real["rc"]
    assert mine["stderr"] == normalise_err(real["stderr"])
    header = _has_header(real["args"])
    loose = "tcpdiag" in real["stdout"] or re.search(r"^nl +UNCONN +\d+ +\d+ +4:",
                                                     real["stdout"], re.M) is not None
    subs = SUBS.get(name)
    # Without anything in the "Process" column the padding does not depend on
    # the row order: then it is compared too.
    strip = re.search(r"(^| )-[a-zA-Z]*[eopiT]|--(tos|inet)", real["args"]) is not None
    want_text, got_text = real["stdout"], mine["stdout"]
    if name == "unix":
        want_text, got_text = unix_relabel(want_text), unix_relabel(got_text)
    want = normalise(want_text, header=header, loose=loose, subs=subs, strip=strip)
    got = normalise(got_text, header=header, loose=loose, subs=subs, strip=strip)
    if "i" in real["args"].split()[0] if real["args"] else False:
        _compare_info(want, got)
    else:
        assert got == want


def _compare_info(want: list[str], got: list[str]) -> None:
    assert len(got) == len(want)
    for w, g in zip(want, got, strict=True):
        wl, gl = w.split("\n"), g.split("\n")
        assert gl[0] == wl[0]
        assert len(gl) == len(wl)
        for wi, gi in zip(wl[1:], gl[1:], strict=True):
            wf, gf = _info_fields(wi.replace("bbr", "cubic", 1)), _info_fields(gi)
            wf.pop("bbr", None)
            assert set(gf) - INFO_GAPS == set(wf) - INFO_GAPS, (wi, gi)
            for key in INFO_EXACT:
                assert gf.get(key) == wf.get(key), (key, wi, gi)


def test_whole_text_where_the_order_is_known() -> None:
    """A listener and a connecting socket: the listening hash is dumped before
    the connections, so the row order is known and the whole text, padding
    included, is compared byte for byte (the last row's timer is longer than
    the "Process" header and does not widen it)."""
    rec, ours = replayed("tcp_listen")
    mine = {r["args"]: r["stdout"] for r in ours}
    real = {r["args"]: r["stdout"] for r in rec["runs"]}

    def same(text: str) -> str:
        for pat, rep in [*SUBS["tcp_listen"], (re.compile(r"pid=\d+"), "pid=P")]:
            text = pat.sub(rep, text)
        return text.replace("cubic", "bbr")

    for args in ("-tan", "-tano", "-tanH", "-ta", "-tl", "-tlp", "-tlni"):
        assert same(mine[args]) == same(real[args]), args


# -- the rendering rules ----------------------------------------------------------------


def test_render_pads_and_skips_measuring_the_last_field() -> None:
    o = Output()
    o.columns[0].disabled = True  # one table: no Netid
    o.header()
    for state, tail in (("LISTEN", ""), ("SYN-SENT", " timer:(on,672ms,0)")):
        o.field_set(0)
        o.field_set(1)
        o.out(state)
        o.field_set(2)
        o.out(f"{0:<6d}")
        o.field_set(3)
        o.out(f"{1:<6d}")
        o.field_set(4)
        o.out("10.0.0.1:")
        o.field_next()
        o.out("22")
        o.field_next()
        o.out("0.0.0.0:")
        o.field_next()
        o.out("*")
        o.field_next()
        o.out(tail)
    # real ss -tano (the last row's timer does not widen "Process")
    assert o.render() == (
        "State    Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        "LISTEN   0      1           10.0.0.1:22        0.0.0.0:*          \n"
        "SYN-SENT 0      1           10.0.0.1:22        0.0.0.0:*    timer:(on,672ms,0)\n")


def test_render_empty() -> None:
    o = Output()
    assert o.render() == ""
    o.header()
    assert o.render() == ("Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port"
                          "Process\n")


def test_print_ms_timer() -> None:
    # print_ms_timer's cases
    assert print_ms_timer(672) == "672ms"
    assert print_ms_timer(59_000) == "59sec"
    assert print_ms_timer(1_500) == "1.500ms"
    assert print_ms_timer(12_345) == "12sec"
    assert print_ms_timer(7_140_000) == "119min"
    assert print_ms_timer(5 * 60_000 + 7_000) == "5min7sec"
    assert print_ms_timer(0) == ""


def test_sprint_bw() -> None:
    assert sprint_bw(524288000000.0, True) == "524288000000"
    assert sprint_bw(524288000000.0, False) == "524G"
    assert sprint_bw(1287734629.0, False) == "1.29G"
    assert sprint_bw(2.5e12, False) == "2.5T"
    assert sprint_bw(8104.0, False) == "8.1k"
    assert sprint_bw(999.0, False) == "999"


def test_tcp_info_line_as_ss_prints_it() -> None:
    """A CLOSE-WAIT socket the real ss -tanie printed, from its tcp_info."""
    info = {"state": 8, "options": 7, "snd_wscale": 10, "rcv_wscale": 10, "rto": 204000,
            "rtt": 3, "rttvar": 1, "ato": 40000, "snd_mss": 32768, "pmtu": 65535,
            "rcv_mss": 536, "advmss": 65483, "snd_cwnd": 10, "snd_ssthresh": 0xFFFFFFFF,
            "bytes_acked": 1, "bytes_received": 1, "segs_out": 3, "segs_in": 2,
            "last_data_sent": 272, "last_data_recv": 272, "last_ack_recv": 272,
            "pacing_rate": 311896391500, "delivered": 1, "delivery_rate_app_limited": True,
            "rcv_space": 65495, "rcv_ssthresh": 65495, "min_rtt": 3, "snd_wnd": 65536,
            "reordering": 3}
    assert tcp_stats_text(info, "bbr", True, True) == (
        " ts sack bbr wscale:10,10 rto:204 rtt:0.003/0.001 ato:40 mss:32768 pmtu:65535 "
        "rcvmss:536 advmss:65483 cwnd:10 bytes_acked:1 bytes_received:1 segs_out:3 segs_in:2 "
        "send 873813333333bps lastsnd:272 lastrcv:272 lastack:272 pacing_rate 2495171132000bps"
        " delivered:1 app_limited rcv_space:65495 rcv_ssthresh:65495 minrtt:0.003 "
        "snd_wnd:65536")
    listen = {"state": 10, "snd_cwnd": 10, "unacked": 1, "sacked": 5, "reordering": 3}
    assert tcp_stats_text(listen, "cubic", True, True) == " cubic cwnd:10 unacked:1"


def test_unix_patterns_as_glibc_fnmatch() -> None:
    """ss matches an AF_UNIX name with fnmatch(FNM_CASEFOLD): the port
    against this machine's C library, pattern by name."""
    import ctypes
    import itertools

    fnmatch = ctypes.CDLL(None).fnmatch
    fnm_casefold = 1 << 4
    patterns = ["*", "?*", "", "/tmp/*", "*.SOCK", "[ab]*", "*[!a-z]", "*[^a-z]", "[]x]*",
                "[!]]*", "\\*x", "*\\.s*", "[[:upper:]]*", "*[[:digit:]]", "[a-", "[", "a[",
                "[z-a]*", "[!z-a]", "@*", "*[[:alpha:][:digit:]]", "[\\]]*", "*\\", "[a-c-e]*",
                "[*]*", "?", "@?????", "*/*/*", "[[:bogus:]]", "*[[:punct:]]*", "[A-C]*"]
    names = ["", "/tmp/x.sock", "@abc12", "Abc", "]x", "*x", "a", "x.s", "9", "-", "\\", "e",
             "a[", "[", "/a/b", "B", ":", "[[:bogus:]]"]
    wrong = [(p, n) for p, n in itertools.product(patterns, names)
             if fnmatch_casefold(p, n) != (fnmatch(p.encode(), n.encode(), fnm_casefold) == 0)]
    assert wrong == []


# -- usernet-only behaviour --------------------------------------------------------------


@pytest.fixture
def two() -> Kernel:
    k = Kernel()
    k.script("ip netns add a\nip netns add b\nip -n a link set lo up\n"
             "ip -n b link set lo up\n")
    return k


def _udp(k: Kernel, ns: str, addr: tuple[str, int]) -> us.socket:
    with k.netns(ns):
        s = us.socket(us.AF_INET, us.SOCK_DGRAM)
    s.bind(addr)
    return s


def test_each_namespace_sees_its_own_sockets(two: Kernel) -> None:
    k = two
    sa = _udp(k, "a", ("127.0.0.1", 5353))
    sb = _udp(k, "b", ("0.0.0.0", 5353))
    with k.netns("b"):
        lb = us.socket()
    lb.bind(("0.0.0.0", 8080))
    lb.listen(4)
    a = k.cmd("ip netns exec a ss -tuanH")
    b = k.cmd("ip netns exec b ss -tuanH")
    assert a.stdout == "udp UNCONN 0      0      127.0.0.1:5353 0.0.0.0:*\n"
    assert b.stdout == ("udp UNCONN 0      0      0.0.0.0:5353 0.0.0.0:*\n"
                        "tcp LISTEN 0      4      0.0.0.0:8080 0.0.0.0:*\n")
    assert k.cmd("ss -tuanH").stdout == ""  # init_net has none
    assert k.cmd("ss -N b -tlnH").stdout == "LISTEN 0      4      0.0.0.0:8080 0.0.0.0:*\n"
    bad = k.cmd("ss -N nosuch")
    assert (bad.rc, bad.stderr) == (1, 'Cannot open network namespace "nosuch": '
                                       "No such file or directory\n")
    for s in (sa, sb, lb):
        s.close()
    assert k.cmd("ip netns exec b ss -tuanH").stdout == ""


def _unix_rows(k: Kernel, cmd: str, path: str) -> list[list[str]]:
    """ss's rows as words, the temporary directory shown as "D"."""
    return [line.replace(path, "D").split() for line in k.cmd(cmd).stdout.splitlines()]


def test_each_namespace_sees_its_own_unix_sockets(two: Kernel, tmp_path: Path) -> None:
    """As the real 6.18 kernel showed it (a listener and a datagram socket in
    a; a datagram socket of the same abstract name and a client connecting to
    the listener's path in b): the embryo, and then the accepted socket, live
    in the connecting socket's namespace, b; a lists its listener, with the
    queued client as its one peer until the accept."""
    k, d = two, str(tmp_path)
    with k.netns("a"):
        la = us.socket(us.AF_UNIX, us.SOCK_STREAM)
        aa = us.socket(us.AF_UNIX, us.SOCK_DGRAM)
    la.bind(d + "/srv")
    la.listen(2)
    aa.bind(b"\0same")
    with k.netns("b"):
        ab = us.socket(us.AF_UNIX, us.SOCK_DGRAM)
        cb = us.socket(us.AF_UNIX, us.SOCK_STREAM)
    ab.bind(b"\0same")
    cb.connect(d + "/srv")
    a = _unix_rows(k, "ip netns exec a ss -xaeH", d)
    b = _unix_rows(k, "ip netns exec b ss -xaH", d)
    client = b[1][5]
    assert [[w for w in r if not w.startswith(("ino:", "dev:"))] for r in a] == [
        ["u_str", "LISTEN", "1", "2", "D/srv", a[0][5], "*", "0", "<->", "peers:", client],
        ["u_dgr", "UNCONN", "0", "0", "@same", a[1][5], "*", "0", "<->"]]
    assert a[0][9].startswith("ino:")  # the socket file's
    assert b == [["u_dgr", "UNCONN", "0", "0", "@same", b[0][5], "*", "0"],
                 ["u_str", "ESTAB", "0", "0", "*", client, "*", "0"]]
    assert len({a[0][5], a[1][5], b[0][5], client}) == 4  # one inode each
    assert k.cmd("ss -xaH").stdout == ""  # init_net has none
    assert _unix_rows(k, "ss -N a -xaH", d) == [r[:8] for r in a]
    conn, _ = la.accept()
    assert _unix_rows(k, "ip netns exec a ss -xaeH", d)[0][-1] == "peers:"
    b = _unix_rows(k, "ip netns exec b ss -xH", d)  # the connected ones
    accepted = b[1][5]
    assert b == [["u_str", "ESTAB", "0", "0", "*", client, "*", accepted],
                 ["u_str", "ESTAB", "0", "0", "D/srv", accepted, "*", client]]
    assert accepted not in {r[5] for r in _unix_rows(k, "ip netns exec a ss -xaH", d)}
    for sk in (la, aa, ab, cb, conn):
        sk.close()
    assert k.cmd("ip netns exec a ss -xaH").stdout == k.cmd("ip netns exec b ss -xaH").stdout == ""


def test_sockets_of_a_spawned_process_and_their_descriptors(two: Kernel) -> None:
    k = two
    seen: list[str] = []

    def server() -> None:
        ls = us.socket()
        ls.bind(("127.0.0.1", 7000))
        ls.listen(1)
        c = us.socket()
        c.connect(("127.0.0.1", 7000))
        conn, _ = ls.accept()
        c.sendall(b"hello")
        sleep(k, 0.01)
        seen.append(run_argv(k, ["ss", "-tnpH"]).stdout)
        assert conn.recv(5) == b"hello"
        for s in (c, conn, ls):
            s.close()
        sleep(k, 0.01)
        seen.append(run_argv(k, ["ss", "-tanoH"]).stdout)

    k.spawn(server, netns="a", name="server")
    k.run()
    rows = [r.split() for r in seen[0].splitlines()]
    assert len(rows) == 2
    server_side = next(r for r in rows if r[3] == "127.0.0.1:7000")
    assert server_side[:3] == ["ESTAB", "5", "0"]  # five unread bytes
    assert sorted(r[-1] for r in rows) == ['users:(("python3",pid=1,fd=4))',
                                           'users:(("python3",pid=1,fd=5))']
    closed = seen[1].splitlines()
    assert any(r.startswith("TIME-WAIT") and "timer:(timewait,59sec,0)" in r for r in closed)


def test_determinism() -> None:
    rec = load("tcp_states")
    first = replay(rec, ["-tane", "-uane", "-tanp"])
    second = replay(rec, ["-tane", "-uane", "-tanp"])
    assert first == second
    assert "ino:1 " in first[0]["stdout"]


def test_state_filter_words() -> None:
    rec = load("none")
    runs = replay(rec, ["-t state syn-rcv", "-t state SYN-SENT", "-t state closed",
                        "-t exclude", "-t state established exclude established"])
    assert [r["rc"] for r in runs] == [0, 0, 0, 255, 0]
    assert runs[3]["stderr"] == 'Command line is not complete. Try option "help"\n'
    assert runs[0]["stdout"] == runs[2]["stdout"] == (
        "Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n")
    # an empty state set leaves -t's default (SS_CONN): State is shown again
    assert runs[4]["stdout"] == "State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"


def test_syn_queue_entries_show_as_syn_recv(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request socket (TCP_NEW_SYN_RECV) is shown as SYN-RECV with its
    SYN-ACK timer, no inode and no shutdown mask (inet_req_diag_fill)."""
    from types import SimpleNamespace

    import usernet.tools.ss as ss_mod

    k = Kernel()
    k.cmd("ip link set lo up")
    timer = SimpleNamespace(when=k.sched.now + 1_000_000_000)
    req = SimpleNamespace(state=12, laddr=0x7F000001, lport=22, raddr=0x7F000001,
                          rport=40000, timer=timer, num_retrans=0, listener=None, ir_mark=0)
    monkeypatch.setattr(ss_mod, "tcp_connections", lambda net: [req])
    assert k.cmd("ss -tnH").stdout == ""  # not in the default "connected" states
    assert k.cmd("ss -tanH").stdout == "SYN-RECV 0      0      127.0.0.1:22 127.0.0.1:40000\n"
    assert k.cmd("ss -taneoH").stdout == ("SYN-RECV 0      0      127.0.0.1:22 127.0.0.1:40000 "
                                         "timer:(on,1sec,0) ino:0 sk:1\n")
    assert k.cmd("ss -tnH state established").stdout == ""
    assert "SYN-RECV" in k.cmd("ss -tn state bucket").stdout
    assert k.cmd("ss -tnH state syn-recv").stdout == "0      0      127.0.0.1:22 127.0.0.1:40000\n"


# -- uid: (sk_uid, sock_details_print) -------------------------------------------------------------


def _uid_sockets() -> None:
    import socket
    import time

    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 5000))
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 5001))
    lsn.listen()
    c = socket.socket()
    c.connect(("127.0.0.1", 5001))
    time.sleep(1)
    c.close()
    time.sleep(2)


def _uid_column(text: str) -> dict[str, str]:
    """local -> peer address of each line, and its uid: field or ""."""
    out = {}
    for line in text.splitlines()[1:]:
        f = line.split()
        out[f"{f[3]}>{f[4]}"] = next((x for x in f if x.startswith("uid:")), "")
    return out


def test_extended_shows_the_owner_uid_but_not_root() -> None:
    """As observed on 6.18 (a uid 1000 process beside a root one): the
    listener, its not yet accepted child (sk_clone_lock copies sk_uid) and
    the client show uid:1000; once closed, the client is a FIN-WAIT-2
    TIME_WAIT socket, which reports none; root's sockets show none."""
    import time

    import usernet
    from usernet import Cred

    k = Kernel()
    k.cmd("ip link set lo up")
    with usernet.patched(k):
        k.spawn(_uid_sockets, cred=Cred(1000, 1000))
        time.sleep(0.5)
        assert _uid_column(k.cmd("ss -uane").stdout) == {"127.0.0.1:5000>0.0.0.0:*": "uid:1000"}
        tcp = _uid_column(k.cmd("ss -tane").stdout)
        client = next(key for key in tcp if key.endswith(">127.0.0.1:5001"))
        port = client.split(">")[0]
        assert tcp == {"127.0.0.1:5001>0.0.0.0:*": "uid:1000", client: "uid:1000",
                       f"127.0.0.1:5001>{port}": "uid:1000"}
        time.sleep(1)
        tcp = _uid_column(k.cmd("ss -tane").stdout)
        assert tcp[client] == "" and tcp[f"127.0.0.1:5001>{port}"] == "uid:1000"
