"""Bridge options (IFLA_BR_*): their defaults, the checks Linux applies when
they are set (``br_changelink``), and which ones usernet does not implement.

Values are kept in the units netlink carries (timers in centiseconds), so
``ip -d link`` prints them back as iproute2 does.
"""

from __future__ import annotations

import errno

from ..errors import KernelError

# iproute2 option name -> (JSON key of `ip -d -j link`, default, bits of the value)
BRIDGE_OPTIONS: dict[str, tuple[str, int, int]] = {
    "forward_delay": ("forward_delay", 1500, 32),
    "hello_time": ("hello_time", 200, 32),
    "max_age": ("max_age", 2000, 32),
    "ageing_time": ("ageing_time", 30000, 32),
    "stp_state": ("stp_state", 0, 32),
    "priority": ("priority", 32768, 16),
    "vlan_filtering": ("vlan_filtering", 0, 8),
    "group_fwd_mask": ("group_fwd_mask", 0, 16),
    "mcast_snooping": ("mcast_snooping", 1, 8),
    "no_linklocal_learn": ("no_linklocal_learn", 0, 8),
    "mcast_vlan_snooping": ("mcast_vlan_snooping", 0, 8),
    "mcast_router": ("mcast_router", 1, 8),
    "mcast_query_use_ifaddr": ("mcast_query_use_ifaddr", 0, 8),
    "mcast_querier": ("mcast_querier", 0, 8),
    "mcast_hash_elasticity": ("mcast_hash_elasticity", 16, 32),
    "mcast_hash_max": ("mcast_hash_max", 4096, 32),
    "mcast_last_member_count": ("mcast_last_member_cnt", 2, 32),
    "mcast_startup_query_count": ("mcast_startup_query_cnt", 2, 32),
    "mcast_last_member_interval": ("mcast_last_member_intvl", 100, 64),
    "mcast_membership_interval": ("mcast_membership_intvl", 26000, 64),
    "mcast_querier_interval": ("mcast_querier_intvl", 25500, 64),
    "mcast_query_interval": ("mcast_query_intvl", 12500, 64),
    "mcast_query_response_interval": ("mcast_query_response_intvl", 1000, 64),
    "mcast_startup_query_interval": ("mcast_startup_query_intvl", 3124, 64),
    "mcast_stats_enabled": ("mcast_stats_enabled", 0, 8),
    "mcast_igmp_version": ("mcast_igmp_version", 2, 8),
    "mcast_mld_version": ("mcast_mld_version", 1, 8),
    "nf_call_iptables": ("nf_call_iptables", 0, 8),
    "nf_call_ip6tables": ("nf_call_ip6tables", 0, 8),
    "nf_call_arptables": ("nf_call_arptables", 0, 8),
}
DEFAULTS: dict[str, int] = {key: default for key, default, _ in BRIDGE_OPTIONS.values()}

# Options iproute2 knows that name behaviour usernet has not built yet.
NOT_IMPLEMENTED = ("group_address", "vlan_protocol", "vlan_default_pvid",
                   "vlan_stats_enabled", "vlan_stats_per_port")
BR_GROUPFWD_RESTRICTED = 0x0007  # STP, MAC pause and 802.3ad frames are never forwarded


def check_bridge_opts(opts: dict[str, int]) -> None:
    """br_changelink's refusals, before anything changes (keys are JSON keys)."""
    for key in opts:
        if key in NOT_IMPLEMENTED:
            raise KernelError(errno.EOPNOTSUPP, f"usernet does not implement {key} yet")
    hello = opts.get("hello_time")
    if hello is not None and not 100 <= hello <= 1000:  # BR_MIN/MAX_HELLO_TIME
        raise KernelError(errno.ERANGE)
    max_age = opts.get("max_age")
    if max_age is not None and not 600 <= max_age <= 4000:  # BR_MIN/MAX_MAX_AGE
        raise KernelError(errno.ERANGE)
    if opts.get("group_fwd_mask", 0) & BR_GROUPFWD_RESTRICTED:
        raise KernelError(errno.EINVAL)
    if opts.get("mcast_igmp_version", 2) not in (2, 3):
        raise KernelError(errno.EINVAL)
    if opts.get("mcast_mld_version", 1) not in (1, 2):
        raise KernelError(errno.EINVAL)
    if opts.get("stp_state", 0):
        raise KernelError(errno.EOPNOTSUPP, "usernet does not implement STP yet")
    if opts.get("vlan_filtering", 0):
        raise KernelError(errno.EOPNOTSUPP, "usernet does not implement VLAN filtering yet")
