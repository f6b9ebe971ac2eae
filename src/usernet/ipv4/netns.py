"""Per-namespace IPv4 state (Linux's ``struct netns_ipv4``) and its pernet ops.

FIB tables are created on first use (main and local always "exist").  The
``all``/``default`` device conf of a new namespace is copied from
``init_net`` (``devconf_inherit_init_net=0``): here it is *shared* and copied
only when written, so an empty namespace costs nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..pernet import PernetOperations
from .fib import RT_TABLE_LOCAL, RT_TABLE_MAIN, FibTable
from .fib_rules import FibRule

if TYPE_CHECKING:
    from ..net import Net

# net.ipv4.conf.* defaults (compiled-in, as in a fresh kernel)
DEVCONF_DEFAULTS: dict[str, int] = {
    "accept_local": 0,
    "accept_redirects": 1,
    "accept_source_route": 0,
    "arp_accept": 0,
    "arp_announce": 0,
    "arp_evict_nocarrier": 1,
    "arp_filter": 0,
    "arp_ignore": 0,
    "arp_notify": 0,
    "bc_forwarding": 0,
    "bootp_relay": 0,
    "disable_policy": 0,
    "disable_xfrm": 0,
    "drop_gratuitous_arp": 0,
    "drop_unicast_in_l2_multicast": 0,
    "force_igmp_version": 0,
    "forwarding": 0,
    "igmpv2_unsolicited_report_interval": 10000,
    "igmpv3_unsolicited_report_interval": 1000,
    "ignore_routes_with_linkdown": 0,
    "log_martians": 0,
    "mc_forwarding": 0,
    "medium_id": 0,
    "promote_secondaries": 0,
    "proxy_arp": 0,
    "proxy_arp_pvlan": 0,
    "route_localnet": 0,
    "rp_filter": 0,
    "secure_redirects": 1,
    "send_redirects": 1,
    "shared_media": 1,
    "src_valid_mark": 0,
    "tag": 0,
}


class NetnsIPv4:
    __slots__ = ("devconf_all", "devconf_dflt", "rules", "table_seq", "tables")

    def __init__(self, devconf_all: dict[str, int], devconf_dflt: dict[str, int]) -> None:
        self.tables: dict[int, FibTable] | None = None
        self.table_seq = 0
        self.rules: list[FibRule] | None = None  # None: the three default rules
        self.devconf_all = devconf_all
        self.devconf_dflt = devconf_dflt

    def get_table(self, table_id: int, create: bool = False) -> FibTable | None:
        tables = self.tables
        if tables is None:
            if not (create or table_id in (RT_TABLE_MAIN, RT_TABLE_LOCAL)):
                return None
            tables = self.tables = {}
        tb = tables.get(table_id)
        if tb is None and (create or table_id in (RT_TABLE_MAIN, RT_TABLE_LOCAL)):
            tb = tables[table_id] = FibTable(table_id)
        return tb

    def all_tables(self) -> list[FibTable]:
        """Tables in the order a dump walks them: by hash bucket (id & 255),
        newest first within a bucket, as Linux's fib_table_hash."""
        main = self.get_table(RT_TABLE_MAIN)
        local = self.get_table(RT_TABLE_LOCAL)
        assert main is not None and local is not None and self.tables is not None
        order = list(self.tables.values())
        seq = {id(tb): i for i, tb in enumerate(order)}
        return sorted(order, key=lambda tb: (tb.id & 255, -seq[id(tb)]))

    def get_rules(self) -> list[FibRule]:
        if self.rules is None:
            self.rules = FibRule.defaults()
        return self.rules

    def conf_all(self, key: str) -> int:
        return self.devconf_all[key]

    def set_conf(self, which: str, key: str, value: int) -> None:
        conf = dict(self.devconf_all if which == "all" else self.devconf_dflt)
        conf[key] = value
        if which == "all":
            self.devconf_all = conf
        else:
            self.devconf_dflt = conf


def ipv4_net_init(net: Net) -> None:
    init = net.kernel.init_net
    if net is init or init.ipv4 is None:
        net.ipv4 = NetnsIPv4(DEVCONF_DEFAULTS, DEVCONF_DEFAULTS)
    else:
        net.ipv4 = NetnsIPv4(init.ipv4.devconf_all, init.ipv4.devconf_dflt)


def ipv4_net_exit(net: Net) -> None:
    net.ipv4 = None  # type: ignore[assignment]


ipv4_net_ops = PernetOperations("ipv4", init=ipv4_net_init, exit=ipv4_net_exit)
