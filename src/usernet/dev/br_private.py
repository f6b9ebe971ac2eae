"""Constants shared by the bridge modules (``net/bridge/br_private.h``)."""

from __future__ import annotations

from ..sched import NSEC_PER_MSEC

# Port states (BR_STATE_*): without STP a port is disabled or forwarding.
BR_STATE_DISABLED = 0
BR_STATE_LISTENING = 1
BR_STATE_LEARNING = 2
BR_STATE_FORWARDING = 3
BR_STATE_BLOCKING = 4
BR_STATE_NAMES = ("disabled", "listening", "learning", "forwarding", "blocking")

# Port flags (struct net_bridge_port.flags); a new port has BR_DEFAULT_FLAGS.
BR_HAIRPIN_MODE = 0x1
BR_LEARNING = 0x20
BR_FLOOD = 0x40
BR_MCAST_FLOOD = 0x800
BR_BCAST_FLOOD = 0x4000
BR_DEFAULT_FLAGS = BR_LEARNING | BR_FLOOD | BR_MCAST_FLOOD | BR_BCAST_FLOOD
# `bridge link set` keyword -> flag, in the order `bridge -d link` prints them
PORT_FLAG_WORDS = {"hairpin": BR_HAIRPIN_MODE, "learning": BR_LEARNING, "flood": BR_FLOOD,
                   "mcast_flood": BR_MCAST_FLOOD, "bcast_flood": BR_BCAST_FLOOD}

# FDB entry flags (BR_FDB_* bits)
FDB_LOCAL = 0x1  # an address of the bridge or a port: frames to it go up the stack
FDB_STATIC = 0x2  # never ages
FDB_ADDED_BY_USER = 0x4

# The NUD state a dump reports for an entry (fdb_to_nud)
NUD_REACHABLE = 0x02  # learned or "dynamic", still fresh
NUD_STALE = 0x04  # dynamic and past its ageing time, not yet collected
NUD_NOARP = 0x40  # "static"
NUD_PERMANENT = 0x80  # local: a port's or the bridge's own MAC, or "permanent"

# Kinds of frame for flooding (enum br_pkt_type)
BR_PKT_UNICAST = 0
BR_PKT_MULTICAST = 1
BR_PKT_BROADCAST = 2

CS_NS = 10 * NSEC_PER_MSEC  # IFLA_BR_AGEING_TIME is in centiseconds (clock_t)
GC_MIN_DELAY_NS = 10 * NSEC_PER_MSEC  # br_fdb_cleanup runs at least 10 ms apart
VLAN_HLEN = 4  # is_skb_forwardable allows MTU + Ethernet header + one VLAN tag
