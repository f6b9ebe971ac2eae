"""Per-namespace IPv4 state (Linux's ``struct netns_ipv4``) and its pernet ops.

FIB tables are created on first use (:func:`usernet.ipv4.fib.fib_new_table`).  The
``all``/``default`` device conf of a new namespace is copied from ``init_net``
(``devconf_inherit_init_net=0``): here it is *shared* and copied only when
written, so an empty namespace costs nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..pernet import PernetOperations
from ..sysctl_defaults import NET_DEFAULTS
from .fib import FibTable
from .fib_rules import FibRule

if TYPE_CHECKING:
    from ..net import Net
    from .datapath_state import IPv4Datapath

# net.ipv4.conf.all.* compiled-in defaults (ipv4_devconf)
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
# net.ipv4.conf.default.* (ipv4_devconf_dflt): source routing is on by default.
DEVCONF_DFLT_DEFAULTS: dict[str, int] = {**DEVCONF_DEFAULTS, "accept_source_route": 1}

# How a conf entry is handled when written (net/ipv4/devinet.c, devinet_vars):
#  "prop"  devinet_conf_proc: marks the value explicit; a default write reaches
#          every device whose value is not explicit;
#  "flush" ipv4_doint_and_flush: nothing is marked or propagated;
#  "fwd"   devinet_sysctl_forward: conf.all pushes to every device;
#  "ro"    read-only (mc_forwarding).
_FLUSHING = ("disable_xfrm", "disable_policy", "promote_secondaries", "route_localnet",
             "drop_unicast_in_l2_multicast")
DEVCONF_KIND: dict[str, str] = {
    key: ("fwd" if key == "forwarding" else "ro" if key == "mc_forwarding"
          else "flush" if key in _FLUSHING else "prop")
    for key in DEVCONF_DEFAULTS
}
_NO_STATE: frozenset[str] = frozenset()


class Ipv4Sysctl:
    """The ``net.ipv4.*`` sysctls a connection reads, as numbers: Linux keeps
    them as ints in struct netns_ipv4 (``net->ipv4.sysctl_tcp_sack``), so a
    SYN does not parse text.  A value object, rebuilt whole from the text by
    every write of a ``net.ipv4`` key (:class:`usernet.sysctl.NetLeaf`);
    namespaces that never wrote one share :data:`IPV4_SYSCTL_DEFAULTS`."""

    # ints; the vectors (tcp_rmem, tcp_wmem, ip_local_port_range) are tuples
    __slots__ = ("ip_default_ttl", "ip_local_port_range", "tcp_app_win", "tcp_dsack",
                 "tcp_early_retrans", "tcp_fin_timeout", "tcp_max_reordering",
                 "tcp_max_syn_backlog", "tcp_max_tw_buckets", "tcp_min_snd_mss",
                 "tcp_moderate_rcvbuf", "tcp_reflect_tos", "tcp_reordering", "tcp_rmem",
                 "tcp_rto_min_us", "tcp_sack", "tcp_slow_start_after_idle", "tcp_syncookies",
                 "tcp_timestamps", "tcp_window_scaling", "tcp_wmem",
                 "tcp_workaround_signed_windows")
    ip_default_ttl: int
    ip_local_port_range: tuple[int, ...]
    tcp_app_win: int
    tcp_dsack: int
    tcp_early_retrans: int
    tcp_fin_timeout: int
    tcp_max_reordering: int
    tcp_max_syn_backlog: int
    tcp_max_tw_buckets: int
    tcp_min_snd_mss: int
    tcp_moderate_rcvbuf: int
    tcp_reflect_tos: int
    tcp_reordering: int
    tcp_rmem: tuple[int, ...]
    tcp_rto_min_us: int
    tcp_sack: int
    tcp_slow_start_after_idle: int
    tcp_syncookies: int
    tcp_timestamps: int
    tcp_window_scaling: int
    tcp_wmem: tuple[int, ...]
    tcp_workaround_signed_windows: int

    def __init__(self, own: dict[str, Any] | None) -> None:
        """From a namespace's written values ``own`` (``net.sysctls``) over the defaults."""
        for name in self.__slots__:
            key = "net.ipv4." + name
            text = str(own[key]) if own is not None and key in own else NET_DEFAULTS[key]
            words = [int(x) for x in text.split()]
            setattr(self, name, words[0] if len(words) == 1 else tuple(words))


IPV4_SYSCTL_DEFAULTS = Ipv4Sysctl(None)


class NetnsIPv4:
    __slots__ = ("custom_rules", "devconf_all", "devconf_dflt", "dflt_state", "dp", "rt_cache",
                 "rt_gen", "rules", "sysctl", "tables")

    def __init__(self, devconf_all: dict[str, int], devconf_dflt: dict[str, int],
                 dflt_state: frozenset[str] = _NO_STATE,
                 sysctl: Ipv4Sysctl = IPV4_SYSCTL_DEFAULTS) -> None:
        self.sysctl = sysctl  # the net.ipv4 values in numbers: see Ipv4Sysctl
        self.tables: dict[int, FibTable] | None = None  # see fib_get_table / fib_new_table
        self.rules: list[FibRule] | None = None  # None: the three default rules
        # fib_has_custom_rules: set once a rule is added or deleted; until then
        # Linux answers lookups from the merged local+main table.
        self.custom_rules = False
        # Both dicts may be shared with other namespaces: replace, never mutate.
        self.devconf_all = devconf_all
        self.devconf_dflt = devconf_dflt
        # conf.default keys written explicitly (Linux's cnf.state bits); a new
        # device copies them as explicit values of its own.
        self.dflt_state = dflt_state
        self.rt_cache: dict[Any, Any] | None = None  # see rt_cache.py
        self.rt_gen = -1
        # The data path's per-namespace state (peers, fragments, raw sockets,
        # counters), created by the first packet: an idle namespace pays nothing.
        self.dp: IPv4Datapath | None = None

    def set_conf(self, which: str, key: str, value: int) -> None:
        """Store one conf.all / conf.default value (copy-on-write).  This is
        only the storage; :mod:`usernet.sysctl` implements what a write does."""
        conf = dict(self.devconf_all if which == "all" else self.devconf_dflt)
        conf[key] = value
        if which == "all":
            self.devconf_all = conf
        else:
            self.devconf_dflt = conf


def _inherit_from(net: Net) -> NetnsIPv4 | None:
    """Whose conf.all/default a new namespace copies (devconf_inherit_init_net:
    0 and 1 init_net, 2 compiled defaults, 3 the creating task's namespace)."""
    from ..sysctl import devconf_inherit_mode

    kernel = net.kernel
    mode = devconf_inherit_mode(kernel)
    if mode == 2:
        return None
    if mode == 3:
        from ..task import current_task

        return current_task(kernel).net.ipv4
    return kernel.init_net.ipv4


def ipv4_sysctl_update(net: Net) -> None:
    """A ``net.ipv4`` sysctl was written: the numbers again, from the text."""
    net.ipv4.sysctl = Ipv4Sysctl(net.sysctls)


def ipv4_net_init(net: Net) -> None:
    src = None if net.is_init_net else _inherit_from(net)
    sysctl = IPV4_SYSCTL_DEFAULTS if net.sysctls is None else Ipv4Sysctl(net.sysctls)
    if src is None:
        net.ipv4 = NetnsIPv4(DEVCONF_DEFAULTS, DEVCONF_DFLT_DEFAULTS, sysctl=sysctl)
    else:
        net.ipv4 = NetnsIPv4(src.devconf_all, src.devconf_dflt, src.dflt_state, sysctl)


def ipv4_net_exit(net: Net) -> None:
    net.ipv4 = None  # type: ignore[assignment]


ipv4_net_ops = PernetOperations("ipv4", init=ipv4_net_init, exit=ipv4_net_exit)
