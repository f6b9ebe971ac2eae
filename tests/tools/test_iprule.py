"""``ip rule``: listing, selectors, errors."""

from __future__ import annotations

import json

from usernet import Kernel


def test_default_rules_and_auto_pref() -> None:
    k = Kernel()
    k.netns_add("a")
    assert k.cmd("ip -n a rule add from 10.1.0.0/16 table 10").ok
    assert k.cmd("ip -n a rule show").stdout == (
        "0:\tfrom all lookup local\n32765:\tfrom 10.1.0.0/16 lookup 10\n"
        "32766:\tfrom all lookup main\n32767:\tfrom all lookup default\n")


def test_selectors_text_and_json() -> None:
    k = Kernel()
    k.netns_add("a")
    assert k.cmd("ip -n a link add rs0 type veth peer name rs1").ok
    for line in ("iif gone0 table 103 pref 1003", "fwmark 0x20/0xf0 table 105 pref 1005",
                 "not from 10.3.0.0/16 table 106 pref 1006", "prohibit fwmark 7 pref 1011"):
        assert k.cmd(f"ip -n a rule add {line}").ok, line
    text = k.cmd("ip -n a rule show").stdout
    assert "1003:\tfrom all iif gone0 [detached] lookup 103\n" in text
    assert "1005:\tfrom all fwmark 0x20/0xf0 lookup 105\n" in text
    assert "1006:\tnot from 10.3.0.0/16 lookup 106\n" in text
    assert "1011:\tfrom all fwmark 0x7 prohibit\n" in text
    data = json.loads(k.cmd("ip -n a -j rule show pref 1006").stdout)
    assert data == [{"priority": 1006, "not": None, "src": "10.3.0.0", "srclen": 16,
                     "table": "106"}]
    res = k.cmd("ip -n a route get 8.8.8.8 mark 7")
    assert res.stderr == "RTNETLINK answers: Permission denied\n"


def test_errors_and_delete() -> None:
    k = Kernel()
    k.netns_add("a")
    cases = {
        "ip -n a rule add from 10.0.0.0/16 table nosuch":
            (255, 'Error: argument "nosuch" is wrong: invalid table ID'),
        "ip -n a rule add from 10.0.0.0/16 frobnicate 5":
            (255, 'Error: argument "frobnicate" is wrong: Failed to parse rule type'),
        "ip -n a rule add from 10.0.0.0/16 table 5 pref abc":
            (255, 'Error: argument "abc" is wrong: preference value is invalid'),
        "ip -n a rule del pref 500": (2, "RTNETLINK answers: No such file or directory"),
        "ip -n a rule add goto 100 pref 260": (2, "Error: Backward goto not supported."),
        "ip -n a rule add": (1, '"ip rule add" requires arguments.'),
    }
    for cmd, (rc, err) in cases.items():
        res = k.cmd(cmd)
        assert (res.rc, res.stderr.splitlines()[0]) == (rc, err), cmd
    assert k.cmd("ip -n a rule del pref 0").ok
    assert k.cmd("ip -n a route get 127.0.0.1").stderr == (
        "RTNETLINK answers: Network is unreachable\n")
