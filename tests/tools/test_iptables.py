"""``iptables`` as iptables v1.8.9 (nf_tables) answers, output for output.

Every literal here was printed by the real iptables in a scratch namespace
(the full recordings are ``tests/netfilter/recorded``).
"""

from __future__ import annotations

import pytest

from usernet import Kernel
from usernet.tools import run_argv

TRY = "Try `iptables -h' or 'iptables --help' for more information.\n"
V = "iptables v1.8.9 (nf_tables): "
HDR = "target     prot opt source               destination         \n"
VHDR = (" pkts bytes target     prot opt in     out     source               "
        "destination         \n")
XHDR = ("    pkts      bytes target     prot opt in     out     source               "
        "destination         \n")


@pytest.fixture
def k() -> Kernel:
    kernel = Kernel()
    run_argv(kernel, ["ip", "netns", "add", "t"])
    return kernel


def ipt(k: Kernel, line: str, prog: str = "iptables") -> tuple[int, str, str]:
    res = run_argv(k, [prog, *line.split()], k.netns_names["t"])
    return res.rc, res.stdout, res.stderr


def ok(k: Kernel, *lines: str) -> None:
    for line in lines:
        assert ipt(k, line) == (0, "", ""), line


# -- a new namespace ----------------------------------------------------------------

def test_a_new_namespace_has_empty_tables_and_accept_policies(k: Kernel) -> None:
    assert ipt(k, "-S") == (0, "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n", "")
    assert ipt(k, "-t nat -S")[1] == ("-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n"
                                      "-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n")
    assert ipt(k, "-t raw -S")[1] == "-P PREROUTING ACCEPT\n-P OUTPUT ACCEPT\n"
    assert ipt(k, "-t security -S")[1] == "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    assert ipt(k, "-L")[1] == (f"Chain INPUT (policy ACCEPT)\n{HDR}\n"
                               f"Chain FORWARD (policy ACCEPT)\n{HDR}\n"
                               f"Chain OUTPUT (policy ACCEPT)\n{HDR}")
    assert ipt(k, "", "iptables-save") == (0, "", "")


def test_listing_does_not_create_tables_a_policy_does(k: Kernel) -> None:
    assert ipt(k, "-L INPUT")[1] == f"Chain INPUT (policy ACCEPT)\n{HDR}"
    ok(k, "-Z", "-F")
    assert ipt(k, "", "iptables-save")[1] == ""
    ok(k, "-P FORWARD DROP")
    lines = [x for x in ipt(k, "", "iptables-save")[1].splitlines() if not x.startswith("#")]
    assert lines == ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD DROP [0:0]",
                     ":OUTPUT ACCEPT [0:0]", "COMMIT"]


# -- canonical forms -------------------------------------------------------------------

def test_rules_come_back_in_canonical_form(k: Kernel) -> None:
    ok(k, "-A INPUT -s 10.0.0.1 -j ACCEPT",
       "-A INPUT -d 10.0.0.0/8 -p udp --sport 53 -j DROP",
       "-A FORWARD -p icmp --icmp-type echo-request -j ACCEPT",
       "-A FORWARD -p 47 -j ACCEPT",
       "-A FORWARD -p tcp --syn -j ACCEPT",
       "-A FORWARD -p tcp --tcp-flags ALL SYN,ACK -j ACCEPT",
       "-A OUTPUT -p tcp ! --sport 80 ! --dport 443:444 -j ACCEPT")
    assert ipt(k, "-S")[1] == (
        "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
        "-A INPUT -s 10.0.0.1/32 -j ACCEPT\n"
        "-A INPUT -d 10.0.0.0/8 -p udp -m udp --sport 53 -j DROP\n"
        "-A FORWARD -p icmp -m icmp --icmp-type 8 -j ACCEPT\n"
        "-A FORWARD -p gre -j ACCEPT\n"
        "-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT\n"
        "-A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,PSH,ACK,URG SYN,ACK -j ACCEPT\n"
        "-A OUTPUT -p tcp -m tcp ! --sport 80 ! --dport 443:444 -j ACCEPT\n")
    assert ipt(k, "-L FORWARD")[1] == (
        f"Chain FORWARD (policy ACCEPT)\n{HDR}"
        "ACCEPT     icmp --  anywhere             anywhere             icmp echo-request\n"
        "ACCEPT     gre  --  anywhere             anywhere            \n"
        "ACCEPT     tcp  --  anywhere             anywhere             "
        "tcp flags:FIN,SYN,RST,ACK/SYN\n"
        "ACCEPT     tcp  --  anywhere             anywhere             "
        "tcp flags:FIN,SYN,RST,PSH,ACK,URG/SYN,ACK\n")
    assert ipt(k, "-L OUTPUT -n")[1].endswith(
        "ACCEPT     6    --  0.0.0.0/0            0.0.0.0/0            tcp spt:!80 dpts:!443:444\n")


@pytest.mark.parametrize(("given", "saved"), [
    ("-p tcp --sport 1024: -j ACCEPT", "-p tcp -m tcp --sport 1024:65535 -j ACCEPT"),
    ("-p tcp --dport :1023 -j ACCEPT", "-p tcp -m tcp --dport 0:1023 -j ACCEPT"),
    ("-p tcp --dport 0:65535 -j ACCEPT", "-p tcp -m tcp -j ACCEPT"),
    ("-p tcp --dport ssh:http -j ACCEPT", "-p tcp -m tcp --dport 22:80 -j ACCEPT"),
    ("-p tcp --tcp-flags NONE NONE -j ACCEPT", "-p tcp -m tcp -j ACCEPT"),
    ("-p tcp -m multiport --dports http,https -j ACCEPT",
     "-p tcp -m multiport --dports 80,443 -j ACCEPT"),
    ("-m limit -j ACCEPT", "-m limit --limit 3/hour -j ACCEPT"),
    ("-m limit --limit 3000/sec -j ACCEPT", "-m limit --limit 3333/sec -j ACCEPT"),
    ("-m state --state new -j ACCEPT", "-m state --state NEW -j ACCEPT"),
    ("-m conntrack --ctstatus ASSURED,SEEN_REPLY -j ACCEPT",
     "-m conntrack --ctstatus SEEN_REPLY,ASSURED -j ACCEPT"),
    ("-m mark --mark 5 -j ACCEPT", "-m mark --mark 0x5 -j ACCEPT"),
    ("-j REJECT", "-j REJECT --reject-with icmp-port-unreachable"),
    ("-p tcp -j REJECT --reject-with tcp-rst", "-p tcp -j REJECT --reject-with tcp-reset"),
    ("-j MARK --set-mark 1", "-j MARK --set-xmark 0x1/0xffffffff"),
    ("-j CONNMARK --save-mark", "-j CONNMARK --save-mark --nfmask 0xffffffff --ctmask 0xffffffff"),
    ("-p tcp -m tcp --dport 1 -m tcp --sport 2 -j ACCEPT",
     "-p tcp -m tcp --sport 2 --dport 1 -j ACCEPT"),
    ("-s 10.0.0.1/255.0.255.0 -j ACCEPT", "-s 10.0.0.0/255.0.255.0 -j ACCEPT"),
    ("-i + -j ACCEPT", "-j ACCEPT"),
])
def test_canonical_save_forms(k: Kernel, given: str, saved: str) -> None:
    ok(k, f"-A INPUT {given}")
    assert ipt(k, "-S INPUT 1") == (0, f"-A INPUT {saved}\n", "")


def test_listing_formats(k: Kernel) -> None:
    ok(k, "-N user1", "-A INPUT -j user1", "-A INPUT -j ACCEPT -c 1000000 99999999999")
    assert ipt(k, "-L INPUT -v -n")[1] == (
        f"Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n{VHDR}"
        "    0     0 user1      0    --  *      *       0.0.0.0/0            "
        "0.0.0.0/0           \n"
        "1000K  100G ACCEPT     0    --  *      *       0.0.0.0/0            "
        "0.0.0.0/0           \n")
    assert ipt(k, "-L INPUT -v -n -x --line-numbers")[1] == (
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
        "num      pkts      bytes target     prot opt in     out     source               "
        "destination         \n"
        "1           0        0 user1      0    --  *      *       0.0.0.0/0            "
        "0.0.0.0/0           \n"
        "2     1000000 99999999999 ACCEPT     0    --  *      *       0.0.0.0/0            "
        "0.0.0.0/0           \n")
    assert ipt(k, "-L user1")[1] == f"Chain user1 (1 references)\n{HDR}"
    assert ipt(k, "-L INPUT 1 --line-numbers")[1] == (
        "1    user1      all  --  anywhere             anywhere            \n")
    assert ipt(k, "-S -v")[1].splitlines()[0] == "-P INPUT ACCEPT -c 0 0"
    assert ipt(k, "-S INPUT 2 -v")[1] == "-A INPUT -c 1000000 99999999999 -j ACCEPT\n"


def test_goto_and_references(k: Kernel) -> None:
    ok(k, "-N foo", "-N bar", "-A INPUT -j foo", "-A foo -j bar", "-A foo -g bar",
       "-A bar -j RETURN")
    assert ipt(k, "-L bar -v")[1] == (
        f"Chain bar (2 references)\n{VHDR}"
        "    0     0 RETURN     all  --  any    any     anywhere             "
        "anywhere            \n")
    assert ipt(k, "-L foo")[1].endswith(
        "bar        all  --  anywhere             anywhere            [goto] \n")


def test_verbose_commands_print(k: Kernel) -> None:
    assert ipt(k, "-v -A INPUT -p tcp -j ACCEPT") == (
        0, "ACCEPT  tcp opt -- in * out *  0.0.0.0/0  -> 0.0.0.0/0  \n", "")
    ok(k, "-N c")
    assert ipt(k, "-v -F")[1] == ("Flushing chain `INPUT'\nFlushing chain `FORWARD'\n"
                                  "Flushing chain `OUTPUT'\nFlushing chain `c'\n")
    assert ipt(k, "-v -X")[1] == "Deleting chain `c'\n"


# -- commands and their errors -----------------------------------------------------------

def test_insert_replace_delete_check(k: Kernel) -> None:
    ok(k, "-A INPUT -j ACCEPT", "-I INPUT -j DROP", "-I INPUT 2 -p tcp -j REJECT",
       "-I INPUT 4 -p udp -j ACCEPT")
    assert ipt(k, "-I INPUT 6 -p udp -j ACCEPT") == (1, "",
                                                     "iptables: Index of insertion too big.\n")
    assert ipt(k, "-R INPUT 9 -p icmp -j ACCEPT") == (
        1, "", "iptables: Index of replacement too big.\n")
    assert ipt(k, "-D INPUT 9") == (1, "", "iptables: Index of deletion too big.\n")
    bad = "iptables: Bad rule (does a matching rule exist in that chain?).\n"
    assert ipt(k, "-D INPUT -p udp -j DROP") == (1, "", bad)
    assert ipt(k, "-C INPUT -p tcp -j DROP") == (1, "", bad)
    ok(k, "-C INPUT -p tcp -j REJECT", "-R INPUT 1 -p icmp -j ACCEPT",
       "-D INPUT -p udp -j ACCEPT")
    assert ipt(k, "-S INPUT")[1] == (
        "-P INPUT ACCEPT\n-A INPUT -p icmp -j ACCEPT\n"
        "-A INPUT -p tcp -j REJECT --reject-with icmp-port-unreachable\n-A INPUT -j ACCEPT\n")


@pytest.mark.parametrize(("line", "rc", "err"), [
    ("-A FOO -j ACCEPT", 1, "iptables: No chain/target/match by that name.\n"),
    ("-P FOO DROP", 1, "iptables: Bad built-in chain name.\n"),
    ("-P INPUT REJECT", 1, "iptables: Bad policy name. Run `dmesg' for more information.\n"),
    ("-N INPUT", 1, "iptables: Chain already exists.\n"),
    ("-A INPUT --foo", 2, f'{V}unknown option "--foo"\n{TRY}'),
    ("-A INPUT -j", 2, f'{V}option "-j" requires an argument\n{TRY}'),
    ("-A INPUT -j ACCEPT extra", 2, f"Bad argument `extra'\n{TRY}"),
    ("-L -A INPUT", 2, f"{V}Cannot use -A with -L\n{TRY}"),
    ("-A INPUT -n -j ACCEPT", 2, f"{V}Illegal option `-n' with this command\n{TRY}"),
    ("-I INPUT 0 -j ACCEPT", 2, f"{V}Invalid rule number `0'\n{TRY}"),
    ("-A INPUT -o eth0 -j ACCEPT", 2, f"{V}Can't use -o with INPUT\n\n{TRY}"),
    ("-A INPUT -j nosuchchain", 2, f"{V}Chain 'nosuchchain' does not exist\n{TRY}"),
    ("-N ACCEPT", 2, f"{V}chain name may not clash with target name\n{TRY}"),
    ("-A INPUT -p tcp --dport 99999", 2, f"{V}invalid port/service `99999' specified\n{TRY}"),
    ("-A INPUT -m tcp --dport 22", 2, f"{V}TCP match requires '-p tcp'\n{TRY}"),
    ("-A INPUT -m conntrack --ctstate FOO", 2, f'{V}Bad ctstate "FOO"\n{TRY}'),
    ("-A INPUT -m comment", 2, f'{V}comment: option "--comment" must be specified\n\n{TRY}'),
    ("-t nat -A INPUT -j DROP", 2, f'{V}\nThe "nat" table is not intended for filtering, the '
                                   f"use of DROP is therefore inhibited.\n\n\n{TRY}"),
    ("-t foo -S", 3, f"{V}table 'foo' does not exist\n"
                     "Perhaps iptables or your kernel needs to be upgraded.\n"),
    ("-L FOO", 1, f"{V}chain `FOO' in table `filter' is incompatible, use 'nft' tool.\n"),
    ("-A INPUT -j DNAT --to-destination 1.2.3.4", 4,
     f"{V} RULE_APPEND failed (Invalid argument): rule in chain INPUT\n"),
    ("-A INPUT -j INPUT", 4,
     f"{V} RULE_APPEND failed (Operation not supported): rule in chain INPUT\n"),
    ("-A INPUT -j REJECT --reject-with tcp-reset", 4,
     f"{V} RULE_APPEND failed (Invalid argument): rule in chain INPUT\n"),
])
def test_error_texts_and_exit_codes(k: Kernel, line: str, rc: int, err: str) -> None:
    assert ipt(k, line) == (rc, "", err)
    assert ipt(k, "", "iptables-save") == (0, "", "")


def test_chain_deletion_and_loops(k: Kernel) -> None:
    ok(k, "-N a", "-N b", "-A a -j b")
    busy = f"{V} CHAIN_DEL failed (Device or resource busy): chain "
    assert ipt(k, "-X") == (4, "", busy + "a\n")
    assert ipt(k, "-X b") == (4, "", busy + "b\n")
    ok(k, "-A b -j a")  # a loop nothing reaches is fine
    assert ipt(k, "-A INPUT -j a") == (
        4, "", f"{V} RULE_APPEND failed (Too many links): rule in chain INPUT\n")
    ok(k, "-F a", "-F b", "-X")
    assert ipt(k, "-S")[1] == "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    ok(k, "-P INPUT DROP")
    assert ipt(k, "-X INPUT") == (1, "", "iptables: Directory not empty.\n")


def test_rename_moves_references(k: Kernel) -> None:
    ok(k, "-N foo", "-A INPUT -j foo")
    assert ipt(k, "-E foo INPUT") == (1, "", "iptables: File exists.\n")
    ok(k, "-E foo baz")
    assert ipt(k, "-S")[1].splitlines()[3:] == ["-N baz", "-A INPUT -j baz"]


def test_zero_counters(k: Kernel) -> None:
    ok(k, "-A INPUT -j ACCEPT -c 5 100", "-A INPUT -j DROP --set-counters 7,200")
    ok(k, "-Z INPUT 2")
    assert ipt(k, "-S INPUT -v")[1].splitlines()[1:] == ["-A INPUT -c 5 100 -j ACCEPT",
                                                        "-A INPUT -c 0 0 -j DROP"]
    assert ipt(k, "-L INPUT -Z -v -n -x")[1].splitlines()[2].split()[:2] == ["5", "100"]
    assert ipt(k, "-S INPUT -v")[1].splitlines()[1] == "-A INPUT -c 0 0 -j ACCEPT"


def test_option_parsing_quirks(k: Kernel) -> None:
    ok(k, "-A INPUT -p tcp --dp 22 -j ACCEPT")  # unique abbreviation of --dport
    assert ipt(k, "--li INPUT") == (2, "", f'{V}unknown option "--li"\n{TRY}')  # ambiguous
    assert ipt(k, "-A INPUT -s1.2.3.4 -j DROP") == (
        2, "", f"{V}host/network `-s1.2.3.4' not found\n{TRY}")  # iptables reads argv[optind-1]
    assert ipt(k, "-Lnv") == (1, "", f"{V}chain `nv' in table `filter' is incompatible, use "
                                     "'nft' tool.\n")
    assert ipt(k, "-V") == (0, "iptables v1.8.9 (nf_tables)\n", "")


def test_namespaces_are_independent() -> None:
    """p10: a rule added in b shows only in b."""
    k = Kernel()
    for name in ("a", "b"):
        run_argv(k, ["ip", "netns", "add", name])
    assert k.cmd("ip netns exec b iptables -A INPUT -p icmp -j DROP").rc == 0
    assert run_argv(k, ["iptables", "-S"], k.netns_names["b"]).stdout == (
        "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n-A INPUT -p icmp -j DROP\n")
    empty = "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"
    assert run_argv(k, ["iptables", "-S"], k.netns_names["a"]).stdout == empty
    assert k.cmd("iptables -S").stdout == empty
    assert k.cmd("ip netns exec b iptables -D INPUT -p icmp -j DROP").rc == 0
    assert k.cmd("ip netns exec b iptables -S INPUT").stdout == "-P INPUT ACCEPT\n"


def test_nat_listing_of_p13(k: Kernel) -> None:
    ok(k, "-t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
       "-t nat -A PREROUTING -d 203.0.113.1 -p icmp -j DNAT --to-destination 172.17.0.2",
       "-t nat -A PREROUTING -d 203.0.113.1 -p tcp --dport 8080 -j DNAT "
       "--to-destination 172.17.0.3:80")
    assert ipt(k, "-t nat -S")[1] == (
        "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n"
        "-A PREROUTING -d 203.0.113.1/32 -p icmp -j DNAT --to-destination 172.17.0.2\n"
        "-A PREROUTING -d 203.0.113.1/32 -p tcp -m tcp --dport 8080 -j DNAT "
        "--to-destination 172.17.0.3:80\n"
        "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n")
    assert ipt(k, "-t nat -L POSTROUTING -n -v -x")[1] == (
        f"Chain POSTROUTING (policy ACCEPT 0 packets, 0 bytes)\n{XHDR}"
        "       0        0 MASQUERADE  0    --  *      !docker0  172.17.0.0/16        "
        "0.0.0.0/0           \n")
