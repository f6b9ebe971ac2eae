"""``iptables-restore`` and ``iptables-save`` as iptables v1.8.9 (nf_tables)
behaves: flush or --noflush, -T, -c, --test, COMMIT per table, and the
line messages of a bad file, which changes nothing (literals recorded from
the real tools, see ``tests/netfilter/recorded/restore*.jsonl``)."""

from __future__ import annotations

import pytest

from usernet import Kernel, Result
from usernet.tools import run_argv
from usernet.tools.iptables import restore_text

R = "iptables-restore v1.8.9 (nf_tables): "
TRY = "Try `iptables-restore -h' or 'iptables-restore --help' for more information.\n"


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    run_argv(kernel, ["ip", "netns", "add", "t"])
    return kernel


def restore(k: Kernel, text: str, *opts: str) -> Result:
    return restore_text(k, k.netns_names["t"], text, list(opts))


def cmd(k: Kernel, line: str) -> Result:
    prog, *args = line.split()
    return run_argv(k, [prog, *args], k.netns_names["t"])


def saved(k: Kernel, *opts: str) -> list[str]:
    out = run_argv(k, ["iptables-save", *opts], k.netns_names["t"]).stdout
    return [x for x in out.splitlines() if not x.startswith("#")]


BASIC = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [10:20]
:OUTPUT ACCEPT [0:0]
:mychain - [0:0]
-A INPUT -s 10.0.0.1 -j mychain
[5:500] -A mychain -p tcp --dport 22 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080
COMMIT
"""


def test_restore_and_save(k: Kernel) -> None:
    assert restore(k, BASIC).rc == 0
    assert saved(k) == [
        "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]", ":OUTPUT ACCEPT [0:0]",
        ":mychain - [0:0]", "-A INPUT -s 10.0.0.1/32 -j mychain",
        "-A mychain -p tcp -m tcp --dport 22 -j ACCEPT", "COMMIT",
        "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
        ":POSTROUTING ACCEPT [0:0]",
        "-A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080",
        "COMMIT"]
    assert saved(k, "-t", "nat", "-c")[5] == (
        "[0:0] -A PREROUTING -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.0.0.2:8080")


def test_counters_are_restored_with_c(k: Kernel) -> None:
    text = BASIC.split("*nat")[0].replace("-A INPUT -s 10.0.0.1", "[1:2] -A INPUT")
    assert restore(k, text, "-c").rc == 0
    assert saved(k, "-c")[2:7] == [":FORWARD DROP [10:20]", ":OUTPUT ACCEPT [0:0]",
                                   ":mychain - [0:0]", "[1:2] -A INPUT -j mychain",
                                   "[5:500] -A mychain -p tcp -m tcp --dport 22 -j ACCEPT"]


def test_noflush_adds_and_declaring_a_chain_flushes_it(k: Kernel) -> None:
    for line in ("iptables -A INPUT -j ACCEPT", "iptables -N keep", "iptables -A keep -j DROP"):
        assert cmd(k, line).rc == 0
    assert restore(k, "*filter\n:keep - [0:0]\n-A INPUT -s 1.1.1.1 -j DROP\nCOMMIT\n",
                   "--noflush").rc == 0
    assert saved(k)[4:7] == [":keep - [0:0]", "-A INPUT -j ACCEPT",
                             "-A INPUT -s 1.1.1.1/32 -j DROP"]
    assert restore(k, "*filter\nCOMMIT\n").rc == 0  # without --noflush the table goes
    assert saved(k) == []


def test_table_option_and_test_mode(k: Kernel) -> None:
    text = "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n"
    assert restore(k, text, "-T", "nat").rc == 0
    assert saved(k)[0] == "*nat"
    assert restore(k, "*filter\n-A INPUT -j DROP\nCOMMIT\n", "--test").rc == 0
    assert restore(k, "*filter\n-A NOPE -j DROP\nCOMMIT\n", "-t").rc == 0  # nothing committed
    assert saved(k)[0] == "*nat"


@pytest.mark.parametrize(("text", "rc", "err"), [
    ("*filter\n-A INPUT -j DROP\n-A INPUT --foo\nCOMMIT\n", 2,
     f'{R}unknown option "--foo"\nError occurred at line: 3\n{TRY}'),
    ("*filter\n-A INPUT -j DROP\n-A NOPE -j DROP\nCOMMIT\n", 1,
     "iptables-restore: line 3 failed: No chain/target/match by that name.\n"),
    ("*filter\n-A INPUT -j DROP\n", 1, "iptables-restore: COMMIT expected at line 3\n"),
    ("*foo\nCOMMIT\n", 2,
     f"{R}iptables-restore: line 1 table name 'foo' invalid\nError occurred at line: 1\n{TRY}"),
    ("-A INPUT -j DROP\n", 1, "iptables-restore: line 1 failed\n"),
    ("*filter\n:INPUT FOO [0:0]\nCOMMIT\n", 1,
     "iptables-restore: line 2 failed: Bad policy name.\n"),
    ("*filter\n:INPUT\nCOMMIT\n", 2,
     f"{R}iptables-restore: line 2 policy invalid\nError occurred at line: 2\n{TRY}"),
    ("*filter\n[1:2 -A INPUT -j DROP\nCOMMIT\n", 2,
     f"{R}Bad line 2: need ]\nError occurred at line: 2\n{TRY}"),
    ("*filter\n-A INPUT -t nat -j DROP\nCOMMIT\n", 2,
     f"{R}The -t option cannot be used in iptables-restore.\n\n"
     f"Error occurred at line: 2\n{TRY}"),
    ("*filter\n*nat\nCOMMIT\n", 2, f"Bad argument `*nat'\nError occurred at line: 2\n{TRY}"),
    ("*filter\n-A INPUT -j ACCEPT\n-A INPUT -j DNAT --to-destination 1.2.3.4\n"
     "-A FORWARD -j SNAT --to-source 1.2.3.4\nCOMMIT\n", 4,
     f"{R}\nline 3: RULE_APPEND failed (Invalid argument): rule in chain INPUT"
     "\nline 4: RULE_APPEND failed (Invalid argument): rule in chain FORWARD\n"),
])
def test_a_bad_file_changes_nothing(k: Kernel, text: str, rc: int, err: str) -> None:
    assert cmd(k, "iptables -A INPUT -j ACCEPT").rc == 0
    before = saved(k, "-c")
    res = restore(k, text)
    assert (res.rc, res.stderr) == (rc, err)
    assert saved(k, "-c") == before


def test_tables_committed_before_the_failing_commit_stay(k: Kernel) -> None:
    res = restore(k, "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\nCOMMIT\n"
                     "*nat\n-A PREROUTING -j BADTARGET\nCOMMIT\n")
    assert (res.rc, res.stderr) == (
        2, f"{R}Chain 'BADTARGET' does not exist\nError occurred at line: 7\n{TRY}")
    assert saved(k) == ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                        ":OUTPUT ACCEPT [0:0]", "-A INPUT -j DROP", "COMMIT"]


def test_quoting_and_announced_chain_names(k: Kernel) -> None:
    text = ('*filter\n:LOG - [0:0]\n-A INPUT -j LOG\n'
            '-A INPUT -m comment --comment "esc \\" quote" -j DROP\nCOMMIT\n')
    assert restore(k, text).rc == 0
    assert saved(k)[4:] == [":LOG - [0:0]", "-A INPUT -j LOG",
                            '-A INPUT -m comment --comment "esc \\" quote" -j DROP', "COMMIT"]


def test_command_line_errors(k: Kernel) -> None:
    res = cmd(k, "iptables-restore --foo")
    assert (res.rc, res.stderr) == (1, "iptables-restore: unrecognized option '--foo'\n"
                                       "Try `iptables-restore -h' for more information.\n")
    res = cmd(k, "iptables-restore /nonexistent")
    assert (res.rc, res.stderr) == (1, "Can't open /nonexistent: No such file or directory\n")
    res = cmd(k, "iptables-save -x")
    assert (res.rc, res.stderr) == (1, "iptables-save: invalid option -- 'x'\n"
                                       "Look at manual page `iptables-save.8' for more "
                                       "information.\n")
    res = cmd(k, "iptables-save -t FOO")
    assert (res.rc, res.stderr) == (1, "Table `FOO' does not exist\n")
    assert saved(k, "-t", "raw") == ["*raw", ":PREROUTING ACCEPT [0:0]",
                                     ":OUTPUT ACCEPT [0:0]", "COMMIT"]


def test_restore_reads_a_file(k: Kernel, tmp_path: object) -> None:
    from pathlib import Path
    assert isinstance(tmp_path, Path)
    path = tmp_path / "rules.v4"
    path.write_text(BASIC)
    assert cmd(k, f"iptables-restore {path}").rc == 0
    assert saved(k)[5] == "-A INPUT -s 10.0.0.1/32 -j mychain"
