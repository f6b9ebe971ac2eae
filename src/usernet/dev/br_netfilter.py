"""br_netfilter: bridged IPv4 through the namespace's iptables
(``net/bridge/br_netfilter_hooks.c``, built in as on the oracle kernel).

When ``net.bridge.bridge-nf-call-iptables`` is 1 (every namespace's default;
the bridge's own ``nf_call_iptables`` option does the same for one bridge)
and the namespace has iptables tables, an IPv4 frame received on a bridge
port meets

* PREROUTING with ``-i`` the bridge (``br_nf_pre_routing``), before the
  bridge learns its source or decides where it goes;
* for each port it is forwarded to, FORWARD with ``-i`` and ``-o`` the bridge
  (``br_nf_forward_ip``), then POSTROUTING with ``-o`` the bridge and no
  input device (``br_nf_post_routing``);
* when it goes up to the bridge's own stack, the IP layer's PREROUTING is
  skipped -- it already ran (``ip_sabotage_in``) -- and INPUT follows there.

Frames the bridge's own stack sends are not bridged traffic: their OUTPUT and
POSTROUTING ran in the IP layer.  LOG shows the ports as PHYSIN=/PHYSOUT=.

The skb's ``nf_bridge`` info is :data:`current`: bridging runs synchronously
from the port's rx_handler to the last transmit, so while a frame is being
bridged this is its info, matched by identity with the frame.  A PREROUTING
rule that changes the destination address (DNAT) sends the frame up to the
bridge's stack, which routes it (``br_nf_pre_routing_finish``); DNAT to an
address on the same bridge is routed there too rather than bridged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..ipv4.datapath_state import ipv4_dp, sysctl_int
from ..netfilter import nf_log
from ..netfilter.hooks import nf_enabled, nf_ipv4
from ..netfilter.packet import NF_INET_FORWARD, NF_INET_POST_ROUTING, NF_INET_PRE_ROUTING
from ..wire.ethernet import ETH_HLEN

if TYPE_CHECKING:
    from .bridge import Bridge, BridgePort
    from .netdevice import NetDevice

CALL_IPTABLES = "net.bridge.bridge-nf-call-iptables"


class NfBridgeInfo:
    """``struct nf_bridge_info`` of the frame being bridged: the frame as it is
    now, the port it came in on, and the port it is going out of."""

    __slots__ = ("frame", "physindev", "physoutdev", "post")

    def __init__(self, frame: bytes, physindev: NetDevice) -> None:
        self.frame = frame
        self.physindev = physindev
        self.physoutdev: NetDevice | None = None
        self.post = False  # in br_nf_post_routing: no input device, still bridged


current: NfBridgeInfo | None = None
# The frame that ran PREROUTING in the bridge: ip_rcv skips it (ip_sabotage_in).
prerouted: bytes | None = None


def br_nf_wanted(br: Bridge, frame: bytes) -> bool:
    """Does this frame go through iptables?  IPv4 only (no VLAN, no PPPoE:
    their filter_* sysctls are 0), in a namespace with tables."""
    if frame[12] != 0x08 or frame[13] != 0x00:
        return False
    net = br.net
    if not nf_enabled(net):
        return False
    return bool(sysctl_int(net, CALL_IPTABLES) or br.opt("nf_call_iptables"))


def br_nf_handle_frame(p: BridgePort, frame: bytes, src: bytes, summed: int) -> None:
    """NF_BR_PRE_ROUTING, then the bridge's own handling of the frame (with
    the nf_bridge info in place for the FORWARD/POSTROUTING of its copies)."""
    from .br_input import br_handle_frame_finish

    global current, prerouted
    frame_or_none = _pre_routing(p, frame)
    if frame_or_none is None:
        return
    frame = frame_or_none
    outer = current, prerouted
    current, prerouted = NfBridgeInfo(frame, p.dev), frame
    try:
        br_handle_frame_finish(p, frame, src, summed)
    finally:
        current, prerouted = outer


def _pre_routing(p: BridgePort, frame: bytes) -> bytes | None:
    """br_validate_ipv4 + the PREROUTING hook; the frame to bridge, or None."""
    br = p.br
    net = br.net
    pkt = _validate(br, frame)
    if pkt is None:
        return None
    outer = current
    _enter(frame, p.dev)
    try:
        nf_log.rx_frame = frame
        res = nf_ipv4(net, NF_INET_PRE_ROUTING, pkt, br, None, None)
    finally:
        _leave(outer)
    new = _result(res, pkt)
    if new is None:
        return None
    if new is not pkt:
        if new[16:20] != pkt[16:20]:
            # br_nf_pre_routing_finish: the destination changed (DNAT), the
            # bridge's stack routes it: addressed to the bridge from now on
            frame = br.dev_addr + frame[6:ETH_HLEN] + new
            return frame
        frame = frame[:ETH_HLEN] + new
    elif len(frame) != ETH_HLEN + len(pkt):
        frame = frame[:ETH_HLEN] + pkt  # pskb_trim_rcsum: the padding goes
    return frame


def _validate(br: Bridge, frame: bytes) -> bytes | None:
    """br_validate_ipv4: a sound IPv4 header, trimmed to its total length;
    anything else is dropped and counted as ip_rcv would."""
    mib = ipv4_dp(br.net).mib
    n = len(frame) - ETH_HLEN
    if n < 20:
        mib["InHdrErrors"] += 1
        return None
    vihl = frame[ETH_HLEN]
    ihl = (vihl & 15) << 2
    if vihl >> 4 != 4 or ihl < 20 or n < ihl:
        mib["InHdrErrors"] += 1
        return None
    if int.from_bytes(frame[ETH_HLEN:ETH_HLEN + ihl], "big") % 0xFFFF:
        mib["InCsumErrors"] += 1
        mib["InHdrErrors"] += 1
        return None
    tot_len = (frame[ETH_HLEN + 2] << 8) | frame[ETH_HLEN + 3]
    if n < tot_len:
        mib["InTruncatedPkts"] += 1
        return None
    if tot_len < ihl:
        mib["InHdrErrors"] += 1
        return None
    return frame[ETH_HLEN:ETH_HLEN + tot_len]


def br_nf_forward(to: BridgePort, frame: bytes, indev: NetDevice) -> bytes | None:
    """NF_BR_FORWARD and NF_BR_POST_ROUTING for one copy of a bridged frame
    that went through PREROUTING; the frame to send, or None (dropped).
    Other frames (the bridge's own, or not IPv4) pass untouched."""
    info = current
    if info is None or info.frame is not frame:
        return frame
    br = to.br
    net = br.net
    pkt = frame[ETH_HLEN:]
    info.physoutdev = to.dev
    nf_log.rx_frame = frame
    res = nf_ipv4(net, NF_INET_FORWARD, pkt, br, br, None)
    new = _result(res, pkt)
    if new is None:
        return None
    info.post = True
    try:
        res = nf_ipv4(net, NF_INET_POST_ROUTING, new, None, br, None)
    finally:
        info.post = False
    out = _result(res, new)
    if out is None:
        return None
    return frame if out is pkt else frame[:ETH_HLEN] + out


def _result(res: object, pkt: bytes) -> bytes | None:
    """nf_ipv4's answer as the packet to go on with: it answers True/False,
    or the packet (maybe rewritten) / None."""
    if res is True:
        return pkt
    if isinstance(res, (bytes, bytearray)):
        return bytes(res)
    return None


def _enter(frame: bytes, physin: NetDevice) -> None:
    global current
    current = NfBridgeInfo(frame, physin)


def _leave(outer: NfBridgeInfo | None) -> None:
    global current
    current = outer


def bridge_info_for(frame: bytes | None) -> NfBridgeInfo | None:
    """The nf_bridge info of ``frame`` if it is the frame being bridged."""
    info = current
    if info is not None and frame is not None and info.frame is frame:
        return info
    return None
