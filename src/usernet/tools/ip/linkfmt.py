"""How iproute2 prints a link (ip/ipaddress.c print_linkinfo): the JSON object
and the text lines shared by ``ip link``, ``ip addr`` and ``bridge link``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...dev.br_private import BR_BCAST_FLOOD, BR_FLOOD, BR_HAIRPIN_MODE, BR_LEARNING, BR_MCAST_FLOOD
from ...dev.bridge import BR_STATE_NAMES, Bridge, BridgePort
from ...dev.bridge_opts import BRIDGE_OPTIONS
from ...dev.netdevice import (
    IFF_ALLMULTI,
    IFF_AUTOMEDIA,
    IFF_BROADCAST,
    IFF_DEBUG,
    IFF_DORMANT,
    IFF_DYNAMIC,
    IFF_ECHO,
    IFF_LOOPBACK,
    IFF_LOWER_UP,
    IFF_MASTER,
    IFF_MULTICAST,
    IFF_NOARP,
    IFF_NOTRAILERS,
    IFF_POINTOPOINT,
    IFF_PORTSEL,
    IFF_PROMISC,
    IFF_RUNNING,
    IFF_SLAVE,
    IFF_UP,
    LINK_MODE_NAMES,
    OPERSTATE_NAMES,
    NetDevice,
)
from .utils import mac_str

if TYPE_CHECKING:
    from ...net import Net

FLAG_NAMES = (
    (IFF_LOOPBACK, "LOOPBACK"), (IFF_BROADCAST, "BROADCAST"), (IFF_POINTOPOINT, "POINTOPOINT"),
    (IFF_MULTICAST, "MULTICAST"), (IFF_NOARP, "NOARP"), (IFF_ALLMULTI, "ALLMULTI"),
    (IFF_PROMISC, "PROMISC"), (IFF_MASTER, "MASTER"), (IFF_SLAVE, "SLAVE"),
    (IFF_DEBUG, "DEBUG"), (IFF_DYNAMIC, "DYNAMIC"), (IFF_AUTOMEDIA, "AUTOMEDIA"),
    (IFF_PORTSEL, "PORTSEL"), (IFF_NOTRAILERS, "NOTRAILERS"), (IFF_UP, "UP"),
    (IFF_LOWER_UP, "LOWER_UP"), (IFF_DORMANT, "DORMANT"), (IFF_ECHO, "ECHO"),
)
KNOWN_FLAGS = 0
for _bit, _ in FLAG_NAMES:
    KNOWN_FLAGS |= _bit


def flag_list(dev: NetDevice, viewer: Net) -> list[str]:
    flags = dev.get_flags()
    out = []
    if flags & IFF_UP and not flags & IFF_RUNNING:
        out.append("NO-CARRIER")
    flags &= ~IFF_RUNNING
    out.extend(name for bit, name in FLAG_NAMES if flags & bit)
    if flags & ~KNOWN_FLAGS:
        out.append(f"{flags & ~KNOWN_FLAGS:x}")
    peer = _local_peer(dev, viewer)
    if peer is not None and not peer.flags & IFF_UP:
        out.append("M-DOWN")
    return out


def _local_peer(dev: NetDevice, viewer: Net) -> NetDevice | None:
    """The lower device when it is in the viewer's namespace (no link_netnsid)."""
    link_net = dev.link_net()
    if link_net is None or link_net is not dev.net:
        return None
    return viewer.dev_get_by_index(dev.iflink())


def link_ref(dev: NetDevice) -> tuple[str, int | None]:
    """("@peer" text suffix, link_netnsid or None)."""
    link_net = dev.link_net()
    if link_net is None:
        return "", None
    if link_net is dev.net:
        peer = dev.net.dev_get_by_index(dev.iflink())
        return (f"@{peer.name}" if peer is not None else f"@if{dev.iflink()}"), None
    return f"@if{dev.iflink()}", dev.net.peernet2id_alloc(link_net)


def link_json(dev: NetDevice, viewer: Net, *, addr_view: bool = False,
              details: bool = False, stats: bool = False) -> dict[str, Any]:
    d: dict[str, Any] = {"ifindex": dev.ifindex}
    suffix, nsid = link_ref(dev)
    if suffix:
        if nsid is None:
            d["link"] = suffix[1:]
        else:
            d["link_index"] = dev.iflink()
    d["ifname"] = dev.name
    d["flags"] = flag_list(dev, viewer)
    d["mtu"] = dev.mtu
    d["qdisc"] = dev.qdisc
    if dev.master is not None:
        d["master"] = dev.master.name
    d["operstate"] = OPERSTATE_NAMES[dev.reported_operstate()]
    if not addr_view:
        d["linkmode"] = LINK_MODE_NAMES[dev.link_mode]
    d["group"] = "default" if dev.group == 0 else str(dev.group)
    d["txqlen"] = dev.txqlen
    d["link_type"] = dev.link_type
    d["address"] = mac_str(dev.dev_addr)
    d["broadcast"] = mac_str(dev.broadcast)
    if nsid is not None:
        d["link_netnsid"] = nsid
    if details:
        d.update(_details_json(dev))
    if dev.ifalias is not None and (details or not addr_view):
        d["ifalias"] = dev.ifalias
    if stats:
        d["stats64"] = stats_json(dev)
    return d


def _tso_max(dev: NetDevice) -> int:
    return 65536 if isinstance(dev, Bridge) else 524280


def _details_json(dev: NetDevice) -> dict[str, Any]:
    d: dict[str, Any] = {
        "promiscuity": dev.promiscuity(), "allmulti": dev.allmulti(),
        "min_mtu": dev.min_mtu, "max_mtu": dev.max_mtu,
    }
    info = linkinfo_json(dev)
    if info:
        d["linkinfo"] = info
    d.update({
        "inet6_addr_gen_mode": "eui64", "num_tx_queues": dev.num_tx_rx_queues()[0],
        "num_rx_queues": dev.num_tx_rx_queues()[1], "gso_max_size": 65536, "gso_max_segs": 65535,
        "tso_max_size": _tso_max(dev), "tso_max_segs": 65535, "gro_max_size": 65536,
    })
    return d


def bridge_id(br: Bridge) -> str:
    return _id_text(br.opt("priority"), br.dev_addr)


def _id_text(prio: int, mac: bytes) -> str:
    """PRIO.MAC as iproute2 prints a bridge id (the MAC without leading zeros)."""
    return f"{prio:04x}." + ":".join(f"{b:x}" for b in mac)


_FIRST = 7  # forward_delay .. vlan_filtering come before the id and timers


def _bridge_data(br: Bridge) -> list[tuple[str, str, Any]]:
    """(json key, text key, value) in iproute2's order."""
    opts = [(key, name, br.opt(key)) for name, (key, _, _) in BRIDGE_OPTIONS.items()]
    bid = bridge_id(br)
    mask = br.opt("group_fwd_mask")
    return [
        *opts[:_FIRST],
        ("bridge_id", "bridge_id", bid), ("root_id", "designated_root", bid),
        ("root_port", "root_port", 0), ("root_path_cost", "root_path_cost", 0),
        ("topology_change", "topology_change", 0),
        ("topology_change_detected", "topology_change_detected", 0),
        ("hello_timer", "hello_timer", 0.0), ("tcn_timer", "tcn_timer", 0.0),
        ("topology_change_timer", "topology_change_timer", 0.0),
        ("gc_timer", "gc_timer", 0.0),
        ("group_fwd_mask", "group_fwd_mask", f"0x{mask:x}" if mask else "0"),
        ("group_addr", "group_address", "01:80:c2:00:00:00"),
        *[o for o in opts[_FIRST:] if o[0] != "group_fwd_mask"],
    ]


def _pf(port: BridgePort, flag: int) -> bool:
    return bool(port.flags & flag)


def _port_data(port: BridgePort) -> list[tuple[str, str, Any]]:
    bid = _id_text(port.designated_prio, port.designated_mac)
    return [
        ("state", "state", BR_STATE_NAMES[port.state]), ("priority", "priority", port.priority),
        ("cost", "cost", port.path_cost), ("hairpin", "hairpin", _pf(port, BR_HAIRPIN_MODE)),
        ("guard", "guard", False), ("root_block", "root_block", False),
        ("fastleave", "fastleave", False), ("learning", "learning", _pf(port, BR_LEARNING)),
        ("flood", "flood", _pf(port, BR_FLOOD)), ("id", "port_id", f"0x{port.port_id:x}"),
        ("no", "port_no", f"0x{port.port_no:x}"),
        ("designated_port", "designated_port", port.port_id),
        ("designated_cost", "designated_cost", 0), ("bridge_id", "designated_bridge", bid),
        ("root_id", "designated_root", bid), ("hold_timer", "hold_timer", 0.0),
        ("message_age_timer", "message_age_timer", 0.0),
        ("forward_delay_timer", "forward_delay_timer", 0.0),
        ("topology_change_ack", "topology_change_ack", 0),
        ("config_pending", "config_pending", 0), ("proxy_arp", "proxy_arp", False),
        ("proxy_arp_wifi", "proxy_arp_wifi", False),
        ("multicast_router", "mcast_router", 1),
        ("mcast_flood", "mcast_flood", _pf(port, BR_MCAST_FLOOD)),
        ("bcast_flood", "bcast_flood", _pf(port, BR_BCAST_FLOOD)),
        ("mcast_to_unicast", "mcast_to_unicast", False),
        ("neigh_suppress", "neigh_suppress", False), ("group_fwd_mask", "group_fwd_mask", "0"),
        ("group_fwd_mask_str", "group_fwd_mask_str", "0x0"),
        ("vlan_tunnel", "vlan_tunnel", False), ("isolated", "isolated", False),
        ("locked", "locked", False),
    ]


def linkinfo_json(dev: NetDevice) -> dict[str, Any] | None:
    info = dev.linkinfo()
    port = dev.rx_handler if isinstance(dev.rx_handler, BridgePort) else None
    if info is None and port is None:
        return None
    out: dict[str, Any] = dict(info or {})
    if isinstance(dev, Bridge):
        out["info_data"] = {k: v for k, _, v in _bridge_data(dev)}
    if port is not None:
        out["info_slave_kind"] = "bridge"
        out["info_slave_data"] = {k: v for k, _, v in _port_data(port)}
    return out


def _text_value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{key} {'on' if value else 'off'}"
    if isinstance(value, float):
        return f"{key} {value:7.2f}"
    return f"{key} {value}"


def details_text(dev: NetDevice) -> str:
    out = (f" promiscuity {dev.promiscuity()}  allmulti {dev.allmulti()} minmtu {dev.min_mtu} "
           f"maxmtu {dev.max_mtu} ")
    info = dev.linkinfo()
    port = dev.rx_handler if isinstance(dev.rx_handler, BridgePort) else None
    if info is not None:
        out += f"\n    {info['info_kind']} "
        if isinstance(dev, Bridge):
            out += "".join(_text_value(t, v) + " " for _, t, v in _bridge_data(dev))
    if port is not None:
        out += "\n    bridge_slave " + "".join(_text_value(t, v) + " " for _, t, v in
                                               _port_data(port))
    tx, rx = dev.num_tx_rx_queues()
    out += (f"addrgenmode eui64 numtxqueues {tx} numrxqueues {rx} gso_max_size 65536 "
            f"gso_max_segs 65535 tso_max_size {_tso_max(dev)} tso_max_segs 65535 "
            "gro_max_size 65536 ")
    return out


def netns_label(viewer: Net, nsid: int) -> str:
    """` link-netns NAME` when the viewer can name that peer, else the id."""
    kernel = viewer.kernel
    peer = viewer.get_net_ns_by_id(nsid)
    if peer is not None:
        for name, net in reversed(list(kernel.netns_names.items())):
            if net is peer:
                return f" link-netns {name}"
    return f" link-netnsid {nsid}"


def link_text(dev: NetDevice, viewer: Net, *, addr_view: bool = False,
              details: bool = False, stats: bool = False, oneline: bool = False) -> str:
    suffix, nsid = link_ref(dev)
    flags = ",".join(flag_list(dev, viewer))
    master = f" master {dev.master.name}" if dev.master is not None else ""
    oper = OPERSTATE_NAMES[dev.reported_operstate()]
    mode = "" if addr_view else f" mode {LINK_MODE_NAMES[dev.link_mode]}"
    group = "default" if dev.group == 0 else str(dev.group)
    qlen = f" qlen {dev.txqlen}" if dev.txqlen else ""
    head = (f"{dev.ifindex}: {dev.name}{suffix}: <{flags}> mtu {dev.mtu} qdisc {dev.qdisc}"
            f"{master} state {oper}{mode} group {group}{qlen}")
    sep = "\\" if oneline else "\n"
    line2 = f"    link/{dev.link_type} {mac_str(dev.dev_addr)} brd {mac_str(dev.broadcast)}"
    if nsid is not None:
        line2 += netns_label(viewer, nsid)
    if details:
        line2 += details_text(dev)
    text = head + sep + line2
    if dev.ifalias is not None and (details or not addr_view):
        text += f"{sep}    alias {dev.ifalias}"
    if stats:
        text += stats_text(dev, sep)
    return text + "\n"


def stats_json(dev: NetDevice) -> dict[str, Any]:
    s = dev.stats
    g = (lambda name: getattr(s, name)) if s is not None else (lambda name: 0)
    return {
        "rx": {"bytes": g("rx_bytes"), "packets": g("rx_packets"), "errors": g("rx_errors"),
               "dropped": g("rx_dropped"), "over_errors": g("rx_missed_errors"),
               "multicast": g("multicast")},
        "tx": {"bytes": g("tx_bytes"), "packets": g("tx_packets"), "errors": g("tx_errors"),
               "dropped": g("tx_dropped"), "carrier_errors": g("tx_carrier_errors"),
               "collisions": g("collisions")},
    }


def stats_text(dev: NetDevice, sep: str) -> str:
    st = stats_json(dev)
    rx, tx = st["rx"], st["tx"]
    rx_vals = (rx["bytes"], rx["packets"], rx["errors"], rx["dropped"], rx["over_errors"],
               rx["multicast"])
    tx_vals = (tx["bytes"], tx["packets"], tx["errors"], tx["dropped"],
               tx["carrier_errors"], tx["collisions"])
    return (f"{sep}    RX:  bytes packets errors dropped  missed   mcast           "
            f"{sep}    " + "".join(f"{v:>7} " for v in rx_vals).rstrip() + " "
            f"{sep}    TX:  bytes packets errors dropped carrier collsns           "
            f"{sep}    " + "".join(f"{v:>7} " for v in tx_vals).rstrip() + " ")


def brief_link(dev: NetDevice) -> tuple[str, str]:
    suffix, _ = link_ref(dev)
    return f"{dev.name}{suffix}", OPERSTATE_NAMES[dev.reported_operstate()]
