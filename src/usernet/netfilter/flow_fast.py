"""The established-flow shortcut for forwarded packets.

A stateful firewall's FORWARD chain nearly always starts with
``-m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`` (or ``-m state``):
once a connection is established, its packets are accepted by that first
rule and nothing behind it is ever evaluated.  For such a namespace the
burst path of ``ip_list_rcv`` forwards an established UDP or TCP packet
without building the rules' view of it, doing exactly what the hooks would
have done and nothing else:

* PREROUTING's conntrack step: the entry is found by the packet's tuple and
  updated by its protocol (``udp_packet``/``tcp_packet``: the timeout, the
  ASSURED bit, TCP's state record);
* FORWARD: the first rule's counters count the packet;
* POSTROUTING: nothing (the entry is confirmed, nothing is NATed).

Everything else goes the full way: a namespace with any table besides filter
(raw, mangle, nat and security all have rules at PREROUTING or POSTROUTING),
a FORWARD chain that does not start with that rule, a packet whose entry is
missing, expired, unconfirmed, NATed or not yet answered, TCP segments with
SYN, FIN or RST or of a connection that is not ESTABLISHED, fragments, ICMP.
The plan is remade whenever the ruleset changes (``NetfilterNet.gen``).

A namespace whose rules are all elsewhere (INPUT, OUTPUT: a host firewall
on a router) and that does not track connections forwards every packet the
burst path can: its PREROUTING, FORWARD and POSTROUTING chains are empty
and accept, so the hooks only count the policies that are counted.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..ipv4 import rt_cache
from .conntrack import (
    CtNet,
    ct_net,
    timeouts,
)
from .conntrack_proto import (
    IPS_CONFIRMED,
    IPS_NAT_MASK,
    IPS_SEEN_REPLY,
    TCP_ESTABLISHED,
    tcp_packet,
    udp_packet,
)
from .hooks import refresh_ct_state
from .matches import CT_STATE, CT_STATE_ALIAS, Conntrack
from .packet import CT_ESTABLISHED, NF_INET_FORWARD, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING
from .rule import Rule
from .tables import Chain, nf_net, tables_at
from .targets import Standard

if TYPE_CHECKING:
    from ..net import Net

_FORWARD_PATH = (NF_INET_PRE_ROUTING, NF_INET_FORWARD, NF_INET_POST_ROUTING)
_TUPLE = struct.Struct("!9xB2xIIHH")  # from the IPv4 header: proto, saddr, daddr, ports


class FlowFast:
    """A namespace's shortcut, valid for one ruleset generation: with
    ``rule`` None, the hooks of a forwarded packet have nothing to do but
    count the policies of the ``counted`` empty chains."""

    __slots__ = ("counted", "ctn", "gen", "net", "rule")

    def __init__(self, net: Net, ctn: CtNet, rule: Rule | None, gen: int,
                 counted: tuple[Chain, ...] = ()) -> None:
        self.net = net
        self.ctn = ctn
        self.rule = rule
        self.gen = gen
        self.counted = counted

    def forward(self, frame: bytes, tot_len: int, now: int) -> bool:
        """Account for forwarded ``frame`` (Ethernet, IPv4 header without
        options at 14) as its hooks would; False: it must take the full way
        (nothing was changed)."""
        if self.rule is None:
            for chain in self.counted:
                chain.pcnt += 1
                chain.bcnt += tot_len
            self.ctn.cur = None
            return True
        if frame[20] & 0x3F or frame[21]:
            return False  # a fragment
        proto, saddr, daddr, sport, dport = _TUPLE.unpack_from(frame, 14)
        if proto == 6:
            if tot_len < 40 or frame[46] < 0x50 or frame[47] & 0x37 != 0x10:
                return False  # not a plain ACK (SYN, FIN, RST, or malformed)
        elif proto != 17:
            return False
        hit = self.ctn.hash.get((saddr, daddr, proto, sport, dport))
        if hit is None:
            return False
        ct, dir_ = hit
        status = ct.status
        if (ct.timeout <= now or status & IPS_NAT_MASK or not status & IPS_CONFIRMED
                or not status & IPS_SEEN_REPLY):
            return False
        tn = self.ctn.timeouts
        if tn is None or self.ctn.timeouts_gen != rt_cache._genid:
            tn = timeouts(self.net, self.ctn)
        if proto == 17:
            udp_packet(ct, frame, 34, dir_, now, tn)
        else:
            if ct.tcp_state != TCP_ESTABLISHED:
                return False
            # the headers are all it reads (the length is the header's)
            tcp_packet(ct, frame[14:34 + ((frame[46] >> 4) << 2)], 20, dir_, now, tn)
        rule = self.rule
        rule.pcnt += 1
        rule.bcnt += tot_len
        self.ctn.cur = None
        return True


def nf_flow_fast(net: Net) -> FlowFast | None:
    """The namespace's shortcut, or None when its ruleset does not allow one."""
    nfn = nf_net(net)
    fast = nfn.fast
    if fast is not None and fast.gen == nfn.gen:
        return fast
    fast = _plan(net)
    nfn.fast = fast
    return fast


def _plan(net: Net) -> FlowFast | None:
    nfn = nf_net(net)
    ctn = ct_net(net)
    refresh_ct_state(net)
    if not ctn.active and not ctn.nat_on:
        # rules elsewhere (INPUT, OUTPUT) only: a forwarded packet meets
        # empty chains that accept it, and counts their policies if counted
        chains = [c for t in nfn.tables.values() for c in t.chains.values()
                  if c.hook in _FORWARD_PATH]
        if all(not c.rules and c.policy == "ACCEPT" for c in chains):
            return FlowFast(net, ctn, None, nfn.gen, tuple(c for c in chains if c.counted))
        return None
    if set(nfn.tables) != {"filter"} or tables_at(nfn, NF_INET_FORWARD) != {"filter"}:
        return None
    if not ctn.active or ctn.nat_on:
        return None
    chain = nfn.tables["filter"].chains.get("FORWARD")
    if chain is None or not chain.rules or not _accepts_established(chain.rules[0]):
        return None
    return FlowFast(net, ctn, chain.rules[0], nfn.gen)


def _accepts_established(rule: Rule) -> bool:
    """``-m conntrack --ctstate ...ESTABLISHED... -j ACCEPT`` (or ``-m state``)
    and nothing else: no address, interface, protocol or fragment test."""
    ip = rule.ip
    if (ip.smsk or ip.dmsk or ip.iniface or ip.outiface or ip.proto or ip.invflags or ip.frag
            or len(rule.matches) != 1 or rule.goto):
        return False
    m = rule.matches[0]
    t = rule.target
    return (isinstance(m, Conntrack) and m.match_flags & ~CT_STATE_ALIAS == CT_STATE
            and not m.invert_flags and bool(m.state_mask & CT_ESTABLISHED)
            and isinstance(t, Standard) and t.verdict == "ACCEPT")
