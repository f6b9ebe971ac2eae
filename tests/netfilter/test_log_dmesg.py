"""The kernel log buffer and the ``dmesg`` tool (util-linux 2.38 texts)."""

from __future__ import annotations

import pytest

from usernet.kernel import Kernel
from usernet.printk import LOG_BUF_LEN, kernel_log, printk


@pytest.fixture
def k() -> Kernel:
    k = Kernel()
    printk(k, "\x016first line")
    k.sched.run_for(1_234_567_000)
    printk(k, "plain warning")
    k.sched.run_for(12_000_000_000)
    printk(k, "\x013an error")
    return k


def test_default_format(k: Kernel) -> None:
    assert k.cmd("dmesg").stdout == ("[    0.000000] first line\n"
                                     "[    1.234567] plain warning\n"
                                     "[   13.234567] an error\n")


def test_raw_notime_decode_delta(k: Kernel) -> None:
    assert k.cmd("dmesg -r").stdout.splitlines() == [
        "<6>[    0.000000] first line", "<4>[    1.234567] plain warning",
        "<3>[   13.234567] an error"]
    assert k.cmd("dmesg -t").stdout == "first line\nplain warning\nan error\n"
    assert k.cmd("dmesg -x").stdout.splitlines()[1] == \
        "kern  :warn  : [    1.234567] plain warning"
    assert k.cmd("dmesg -x -t").stdout.splitlines()[2] == "kern  :err   : an error"
    assert k.cmd("dmesg -d").stdout.splitlines()[1:] == [
        "[    1.234567 <    1.234567>] plain warning",
        "[   13.234567 <   12.000000>] an error"]
    assert k.cmd("dmesg -t -d").stdout.splitlines()[0] == "[<    0.000000>] first line"


def test_level_and_facility_filters(k: Kernel) -> None:
    assert k.cmd("dmesg -t -l warn,err").stdout == "plain warning\nan error\n"
    assert k.cmd("dmesg -t --level=6").stdout == "first line\n"
    assert k.cmd("dmesg -t -f kern -l info").stdout == "first line\n"
    assert k.cmd("dmesg -u").stdout == ""
    assert k.cmd("dmesg -k -t -l err").stdout == "an error\n"


def test_read_clear_and_clear(k: Kernel) -> None:
    assert k.cmd("dmesg -c").stdout.count("\n") == 3
    assert k.cmd("dmesg").stdout == ""
    printk(k, "after")
    assert k.cmd("dmesg -t").stdout == "after\n"
    res = k.cmd("dmesg -C")
    assert (res.rc, res.stdout) == (0, "")
    assert k.cmd("dmesg").stdout == ""


@pytest.mark.parametrize(("args", "err"), [
    ("--bogus", "dmesg: unrecognized option '--bogus'\nTry 'dmesg --help' for more "
                "information.\n"),
    ("-q", "dmesg: invalid option -- 'q'\nTry 'dmesg --help' for more information.\n"),
    ("-l", "dmesg: option requires an argument -- 'l'\nTry 'dmesg --help' for more "
           "information.\n"),
    ("-l bogus", "dmesg: unknown level 'bogus'\n"),
    ("-l warn+", "dmesg: unknown level 'warn+'\n"),
    ("-f bogus", "dmesg: unknown facility 'bogus'\n"),
    ("-r -t", "dmesg: mutually exclusive arguments: --raw --notime\n"),
    ("-x -r", "dmesg: mutually exclusive arguments: --raw --decode\n"),
    ("-r -d", "dmesg: mutually exclusive arguments: --show-delta --raw\n"),
    ("-c -C", "dmesg: mutually exclusive arguments: --clear --console-off --console-on "
              "--read-clear --console-level --raw\n"),
    ("extra", "dmesg: bad usage\nTry 'dmesg --help' for more information.\n"),
])
def test_errors_leave_the_log_alone(k: Kernel, args: str, err: str) -> None:
    res = k.cmd(f"dmesg {args}")
    assert (res.rc, res.stdout, res.stderr) == (1, "", err)
    assert k.cmd("dmesg").stdout.count("\n") == 3


def test_unavailable_options_say_so(k: Kernel) -> None:
    res = k.cmd("dmesg -w")
    assert (res.rc, res.stderr) == (1, "dmesg: --follow: not available in usernet\n")


def test_help_and_version() -> None:
    k = Kernel()
    assert k.cmd("dmesg -V").stdout == "dmesg from util-linux 2.38.1\n"
    assert k.cmd("dmesg --help").stdout.startswith("\nUsage:\n dmesg [options]\n")


def test_one_log_for_every_namespace(k: Kernel) -> None:
    k.cmd("ip netns add a")
    assert k.cmd("ip netns exec a dmesg -t").stdout == "first line\nplain warning\nan error\n"


def test_records_are_lines_and_the_buffer_is_bounded() -> None:
    k = Kernel()
    printk(k, "\x015one\ntwo\n")
    assert k.cmd("dmesg -r").stdout == "<5>[    0.000000] one\n<5>[    0.000000] two\n"
    n = LOG_BUF_LEN // 50
    for i in range(n):
        printk(k, f"{i:099d}")
    log = kernel_log(k)
    assert log.size <= LOG_BUF_LEN
    assert log.records[-1].text == f"{n - 1:099d}"
    assert log.records[0].text != "one"
