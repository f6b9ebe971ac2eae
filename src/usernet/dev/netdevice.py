"""``NetDevice``: a network device, tagged with the namespace it is in.

The tag (``dev.net``) changes when the device moves (the RFC: "tag all network
devices with a network namespace they are a member of, but may be changed
during the lifetime of a device").  Device kinds subclass this and add their
own state; the generic life cycle (register, open, close, move, unregister)
lives in :mod:`usernet.dev.core`.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..ipv4.devinet import InDevice
    from ..net import Net
    from .stats import DevStats

# ifi_flags (include/uapi/linux/if.h)
IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_DEBUG = 0x4
IFF_LOOPBACK = 0x8
IFF_POINTOPOINT = 0x10
IFF_NOTRAILERS = 0x20
IFF_RUNNING = 0x40
IFF_NOARP = 0x80
IFF_PROMISC = 0x100
IFF_ALLMULTI = 0x200
IFF_MASTER = 0x400
IFF_SLAVE = 0x800
IFF_MULTICAST = 0x1000
IFF_PORTSEL = 0x2000
IFF_AUTOMEDIA = 0x4000
IFF_DYNAMIC = 0x8000
IFF_LOWER_UP = 0x10000
IFF_DORMANT = 0x20000
IFF_ECHO = 0x40000

# RFC 2863 operational states (IF_OPER_*)
IF_OPER_UNKNOWN = 0
IF_OPER_NOTPRESENT = 1
IF_OPER_DOWN = 2
IF_OPER_LOWERLAYERDOWN = 3
IF_OPER_TESTING = 4
IF_OPER_DORMANT = 5
IF_OPER_UP = 6
OPERSTATE_NAMES = ("UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP")

# link modes (IF_LINK_MODE_*): "mode dormant" makes an up link DORMANT (RFC 2863)
IF_LINK_MODE_DEFAULT = 0
IF_LINK_MODE_DORMANT = 1
IF_LINK_MODE_TESTING = 2
LINK_MODE_NAMES = ("DEFAULT", "DORMANT", "TESTING")

# addr_assign_type
NET_ADDR_PERM = 0
NET_ADDR_RANDOM = 1
NET_ADDR_STOLEN = 2
NET_ADDR_SET = 3

# reg_state
NETREG_UNINITIALIZED = 0
NETREG_REGISTERED = 1
NETREG_UNREGISTERED = 3

ETH_ALEN = 6
BROADCAST_MAC = b"\xff" * 6
ZERO_MAC = b"\x00" * 6


class NetDevice:
    """A device.  ``kind`` is its rtnl link kind ("veth", "bridge", ...)."""

    kind = ""  # rtnl_link_ops kind; "" for devices without (loopback, physical NICs)
    link_type = "ether"  # ARPHRD as iproute2 names it
    default_mtu = 1500
    min_mtu = 68
    max_mtu = 65535
    netns_immutable = False  # lo: can never leave its namespace
    netns_refund = False  # physical devices go back to init_net when a namespace dies
    iff_base = IFF_BROADCAST | IFF_MULTICAST
    num_queues = 1
    can_change_carrier = False  # ndo_change_carrier: userspace may set carrier

    __slots__ = (
        "__weakref__",
        "addr_assign_type",
        "backlog",
        "backlog_len",
        "broadcast",
        "carrier",
        "dev_addr",
        "flags",
        "group",
        "ifalias",
        "ifindex",
        "ip_ptr",
        "ipv6_disabled",
        "link_mode",
        "ll_mac",
        "master",
        "mc",
        "mtu",
        "name",
        "napi_armed",
        "net",
        "operstate",
        "qdisc",
        "queues",
        "reg_state",
        "rx_handler",
        "stats",
        "taps",
        "txqlen",
        "uc",
    )

    def __init__(self, name: str, dev_addr: bytes, addr_assign_type: int = NET_ADDR_RANDOM):
        self.name = name
        self.ifindex = 0
        self.net: Net = None  # type: ignore[assignment]  # set by register_netdevice
        self.flags = self.iff_base
        self.mtu = self.default_mtu
        self.dev_addr = dev_addr
        self.addr_assign_type = addr_assign_type
        self.broadcast = BROADCAST_MAC
        self.txqlen = 1000
        self.group = 0
        self.carrier = True
        self.operstate = IF_OPER_UNKNOWN
        self.qdisc = "noop"  # "noqueue" from the first open on, as Linux's dev_activate
        self.master: NetDevice | None = None
        self.rx_handler: Any = None  # bridge port state, when enslaved
        self.ip_ptr: InDevice | None = None
        self.stats: DevStats | None = None
        self.uc: list[bytes] | None = None  # dev->uc: unicast addresses added by hand
        self.mc: list[bytes] | None = None  # dev->mc: multicast groups joined, in order
        self.ll_mac: bytes | None = None  # the MAC IPv6's link-local was made from, if any
        self.ipv6_disabled = False  # net.ipv6.conf.DEV.disable_ipv6
        self.ifalias: str | None = None  # `ip link set DEV alias TEXT`
        self.link_mode = IF_LINK_MODE_DEFAULT
        self.queues: tuple[int, int] | None = None  # (tx, rx) when not num_queues
        self.reg_state = NETREG_UNINITIALIZED
        self.taps: tuple[Any, ...] = ()  # packet capture hooks (dev/datapath.py)
        # bursts of frames being received, with their arrival time (datapath.py)
        self.backlog: deque[tuple[int, list[bytes]]] | None = None
        self.backlog_len = 0
        self.napi_armed = False

    # -- state as netlink reports it ---------------------------------------------

    def iflink(self) -> int:
        """ifindex of the lower device (a veth's peer); our own when none."""
        return self.ifindex

    def link_net(self) -> Net | None:
        """Namespace of the device ``iflink`` names, when it has one."""
        return None

    def oper_up(self) -> bool:
        return self.operstate in (IF_OPER_UP, IF_OPER_UNKNOWN)

    def get_flags(self) -> int:
        """ifi_flags as dev_get_flags() computes them."""
        flags = self.flags & ~(IFF_RUNNING | IFF_LOWER_UP | IFF_DORMANT)
        if self.flags & IFF_UP:
            if self.oper_up():
                flags |= IFF_RUNNING
            if self.carrier:
                flags |= IFF_LOWER_UP
        return flags

    def reported_operstate(self) -> int:
        return self.operstate if self.flags & IFF_UP else IF_OPER_DOWN

    # -- hooks for device kinds --------------------------------------------------

    def ndo_open(self) -> None:
        """Driver open (before IFF_UP is set)."""

    def ndo_stop(self) -> None:
        """Driver stop (after IFF_UP is cleared)."""

    def ndo_set_mac_address(self, addr: bytes) -> None:
        self.dev_addr = addr

    def ndo_start_xmit(self, frame: bytes) -> None:
        """The driver: a device with nowhere to send (a NIC without a wire,
        dummy) counts the frame as sent and frees it."""
        from .datapath import dev_stats

        st = dev_stats(self)
        st.tx_packets += 1
        st.tx_bytes += len(frame)

    def ndo_start_xmit_list(self, frames: list[bytes]) -> None:
        for frame in frames:
            self.ndo_start_xmit(frame)

    def ndo_change_carrier(self, on: bool) -> None:
        """IFLA_CARRIER, for kinds with ``can_change_carrier`` (dummy)."""

    def num_tx_rx_queues(self) -> tuple[int, int]:
        return self.queues or (self.num_queues, self.num_queues)

    def promiscuity(self) -> int:
        """dev->promiscuity: the user's request plus a bridge port's."""
        return bool(self.flags & IFF_PROMISC) + (self.master is not None)

    def allmulti(self) -> int:
        return bool(self.flags & IFF_ALLMULTI) + (self.master is not None)

    def dellink(self, batch: list[NetDevice]) -> None:
        """Queue this device (and what dies with it) for unregistration."""
        batch.append(self)

    def uninit(self) -> None:
        """Called once the device is unregistered (ndo_uninit)."""

    def linkinfo(self) -> dict[str, Any] | None:
        """IFLA_LINKINFO for ``ip -d``: kind and data."""
        return {"info_kind": self.kind} if self.kind else None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}#{self.ifindex}>"
