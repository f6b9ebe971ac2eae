"""The conntrack match against packet views (xt_conntrack's conntrack_mt):
the state alone, and the tuple, protocol, status, expiry and direction
fields, each plain and inverted."""

from __future__ import annotations

from usernet import Kernel
from usernet.netfilter import PktView, nf_net
from usernet.netfilter.matches import Conntrack
from usernet.netfilter.packet import (
    CT_DNAT,
    CT_ESTABLISHED,
    CT_INVALID,
    CT_NEW,
    CT_RELATED,
    CT_UNTRACKED,
    IPS_ASSURED,
    IPS_SEEN_REPLY,
)
from usernet.tools import run_argv


def ct_match(spec: str) -> Conntrack:
    """The match object ``iptables -A INPUT -m conntrack SPEC`` makes."""
    k = Kernel()
    run_argv(k, ["ip", "netns", "add", "m"])
    net = k.netns_names["m"]
    res = run_argv(k, ["iptables", "-A", "INPUT", "-m", "conntrack", *spec.split()], net)
    assert res.rc == 0, res.stderr
    m = nf_net(net).tables["filter"].chains["INPUT"].rules[0].matches[0]
    assert isinstance(m, Conntrack)
    return m


def view(state: int = CT_ESTABLISHED, **kw: object) -> PktView:
    base: dict[str, object] = {
        "ctstate": state, "ctproto": 17, "ctorigsrc": 0x0A000001, "ctorigdst": 0x0A000002,
        "ctreplsrc": 0x0A000002, "ctrepldst": 0x0A000001, "ctorigsrcport": 40000,
        "ctorigdstport": 53, "ctreplsrcport": 53, "ctrepldstport": 40000,
        "ctstatus": IPS_SEEN_REPLY, "ctexpire": 25}
    base.update(kw)
    return PktView(**base)  # type: ignore[arg-type]


def hits(spec: str, *views: PktView) -> list[bool]:
    m = ct_match(spec)
    return [m.evaluate(v, None) for v in views]  # type: ignore[arg-type]


def test_state_alone() -> None:
    states = [view(s) for s in (CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_INVALID, CT_UNTRACKED,
                                CT_NEW | CT_DNAT)]
    assert hits("--ctstate ESTABLISHED,RELATED", *states) == [False, True, True, False, False,
                                                              False]
    assert hits("! --ctstate NEW", *states) == [False, True, True, True, True, False]
    assert hits("--ctstate DNAT", *states) == [False, False, False, False, False, True]
    assert hits("--ctstate INVALID,UNTRACKED", *states) == [False, False, False, True, True,
                                                            False]


def test_tuple_fields() -> None:
    v = view()
    assert hits("--ctorigsrc 10.0.0.0/8 --ctorigdstport 50:60", v) == [True]
    assert hits("! --ctorigsrc 10.0.0.0/8", v) == [False]
    assert hits("--ctreplsrc 10.0.0.2 --ctrepldst 10.0.0.1", v) == [True]
    assert hits("--ctrepldst 10.0.0.2", v) == [False]
    assert hits("--ctorigsrcport 40000 ! --ctreplsrcport 54", v) == [True]
    assert hits("--ctrepldstport 1:39999", v) == [False]
    assert hits("! --ctrepldstport 1:39999", v) == [True]


def test_protocol_status_expiry_direction() -> None:
    v = view()
    assert hits("--ctproto udp", v, view(ctproto=6)) == [True, False]
    assert hits("! --ctproto udp", v, view(ctproto=6)) == [False, True]
    assert hits("--ctstatus ASSURED", v, view(ctstatus=IPS_ASSURED)) == [False, True]
    assert hits("! --ctstatus ASSURED", v) == [True]
    assert hits("--ctexpire 20:30", v, view(ctexpire=31)) == [True, False]
    assert hits("! --ctexpire 20:30", v) == [False]
    assert hits("--ctdir REPLY", v, view(ctdir=1)) == [False, True]
    assert hits("--ctdir ORIGINAL", v, view(ctdir=1)) == [True, False]


def test_untracked_and_invalid_packets_match_only_on_state() -> None:
    """Without an entry, only --ctstate decides; every other field fails."""
    assert hits("--ctstate UNTRACKED --ctproto udp", view(CT_UNTRACKED)) == [True]
    assert hits("--ctproto udp", view(CT_UNTRACKED), view(CT_INVALID)) == [False, False]
