"""The ``net.*`` sysctls (``/proc/sys/net``): a table-driven registry.

Every key resolves to a *leaf* that knows where its value lives:

* plain per-namespace values (``net.ipv4.ip_default_ttl``, ``net.core.somaxconn``,
  ...): the shared defaults of :mod:`usernet.sysctl_defaults`, overridden per
  namespace in ``net.sysctls`` -- ``None`` until the first write, so an empty
  namespace pays nothing;
* the IPv4 device conf ``net.ipv4.conf.{all,default,DEV}.*`` (``ip_forward`` is
  ``conf.all.forwarding``), with Linux's write semantics (devinet.c);
* the neighbour parameters ``net.ipv4.neigh.{default,DEV}.*``, kept in jiffies
  in the kernel's neighbour table;
* the global ``net.core`` table (``rmem_max``, ``netdev_max_backlog``, ...),
  registered as a pernet subsystem that is NOT namespace-aware
  (``netns_ok=False``, the RFC's incremental path): its state exists only in
  init_net, :func:`net_generic` refuses it elsewhere with ``EAFNOSUPPORT``, and
  its keys are missing ("cannot stat") in every other namespace.

usernet's initial namespace is a real init_net and shows those keys.  (The
oracle's "initial" namespace is an unshared child namespace, so recorded
scenarios read init_net-only keys only inside named namespaces.)
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .dev.core import NETDEV_UNREGISTER
from .errors import KernelError
from .ipv4.neighbour import HZ, SKB_TRUESIZE_ETH, USER_HZ
from .ipv4.netns import DEVCONF_DEFAULTS, DEVCONF_KIND, ipv4_sysctl_update
from .ipv4.rt_cache import rt_cache_flush
from .pernet import PernetOperations, net_generic
from .sysctl_defaults import NET_DEFAULTS

if TYPE_CHECKING:
    from .dev.netdevice import NetDevice
    from .ipv4.devinet import InDevice
    from .kernel import Kernel
    from .net import Net

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
MODE_RW = 0o644
MODE_RO = 0o444
MODE_WO = 0o200


class Spec:
    """How a value is parsed: ``n`` ints in ``lo..hi`` (n=0: free text)."""

    __slots__ = ("choices", "hi", "lo", "mode", "n")

    def __init__(self, n: int = 1, lo: int = INT_MIN, hi: int = INT_MAX, mode: int = MODE_RW,
                 choices: tuple[str, ...] = ()) -> None:
        self.n = n
        self.lo = lo
        self.hi = hi
        self.mode = mode
        self.choices = choices


BOOL = Spec(1, 0, 1)
NONNEG = Spec(1, 0, INT_MAX)
RO = Spec(0, mode=MODE_RO)
WO = Spec(1, mode=MODE_WO)

# Keys whose handler is stricter than proc_dointvec (sysctl_net_ipv4.c, ...).
SPECS: dict[str, Spec] = {
    "net.ipv4.ip_default_ttl": Spec(1, 1, 255),
    "net.ipv4.ip_local_port_range": Spec(2, 1, 65535),
    "net.ipv4.icmp_echo_ignore_all": BOOL,
    "net.ipv4.icmp_echo_ignore_broadcasts": BOOL,
    "net.ipv4.icmp_echo_enable_probe": BOOL,
    "net.ipv4.icmp_ignore_bogus_error_responses": BOOL,
    "net.ipv4.icmp_errors_use_inbound_ifaddr": BOOL,
    "net.ipv4.tcp_syncookies": Spec(1, 0, 255),
    "net.ipv4.fib_multipath_hash_policy": Spec(1, 0, 3),
    "net.ipv4.tcp_available_congestion_control": RO,
    "net.ipv4.tcp_congestion_control": Spec(0, choices=("reno", "cubic")),
    "net.ipv4.tcp_ehash_entries": RO,
    "net.ipv4.udp_hash_entries": RO,
    "net.ipv4.route.flush": WO,
    "net.ipv6.route.flush": WO,
    "net.ipv6.conf.all.mc_forwarding": RO,
    "net.ipv6.conf.default.mc_forwarding": RO,
    "net.core.somaxconn": NONNEG,
    "net.core.optmem_max": NONNEG,
    "net.core.tstamp_allow_data": BOOL,
    "net.core.txrehash": BOOL,
}
WRITE_ONLY_KEYS = ("net.ipv4.route.flush", "net.ipv6.route.flush")

# The global net.core table: init_net only (net/core/sysctl_net_core.c).
GLOBAL_DEFAULTS: dict[str, str] = {
    "net.core.busy_poll": "0",
    "net.core.busy_read": "0",
    "net.core.default_qdisc": "pfifo_fast",
    "net.core.dev_weight": "64",
    "net.core.dev_weight_rx_bias": "1",
    "net.core.dev_weight_tx_bias": "1",
    "net.core.devconf_inherit_init_net": "0",
    "net.core.fb_tunnels_only_for_init_net": "0",
    "net.core.flow_limit_table_len": "4096",
    "net.core.gro_normal_batch": "8",
    "net.core.high_order_alloc_disable": "0",
    "net.core.max_skb_frags": "17",
    "net.core.mem_pcpu_rsv": "256",
    "net.core.message_burst": "10",
    "net.core.message_cost": "5",
    "net.core.netdev_budget": "300",
    "net.core.netdev_budget_usecs": str(2 * 1000000 // HZ),
    "net.core.netdev_max_backlog": "1000",
    "net.core.netdev_tstamp_prequeue": "1",
    "net.core.netdev_unregister_timeout_secs": "10",
    "net.core.rmem_default": "212992",
    "net.core.rmem_max": "212992",
    "net.core.rps_sock_flow_entries": "0",
    "net.core.skb_defer_max": "64",
    "net.core.warnings": "0",
    "net.core.wmem_default": "212992",
    "net.core.wmem_max": "212992",
    # nf_log.c registers it in init_net only: may other namespaces' LOG log?
    "net.netfilter.nf_log_all_netns": "0",
    # nf_conntrack_core.c: global, read-only views in other namespaces
    "net.netfilter.nf_conntrack_max": "262144",
    "net.netfilter.nf_conntrack_buckets": "262144",
    "net.netfilter.nf_conntrack_expect_max": "4096",
}
GLOBAL_SPECS: dict[str, Spec] = {
    "net.core.devconf_inherit_init_net": Spec(1, 0, 3),
    "net.core.default_qdisc": Spec(0, choices=("pfifo_fast", "fq_codel", "noqueue", "fq")),
    "net.core.rmem_default": Spec(1, 2304, INT_MAX),
    "net.core.rmem_max": Spec(1, 2304, INT_MAX),
    "net.core.wmem_default": Spec(1, 4608, INT_MAX),
    "net.core.wmem_max": Spec(1, 4608, INT_MAX),
    "net.core.max_skb_frags": Spec(1, 1, 17),
    "net.core.fb_tunnels_only_for_init_net": Spec(1, 0, 2),
}
# Present in every namespace, but only as read-only views of the global value.
CORE_MEM_KEYS = ("net.core.rmem_default", "net.core.rmem_max",
                 "net.core.wmem_default", "net.core.wmem_max",
                 "net.netfilter.nf_conntrack_max", "net.netfilter.nf_conntrack_buckets",
                 "net.netfilter.nf_conntrack_expect_max")

# net.ipv4.neigh.X.name -> (neigh_parms field, unit); deprecated keys are
# readable but left out of listings, as procps does.
NEIGH_SYSCTLS: dict[str, tuple[str, str]] = {
    "anycast_delay": ("anycast_delay", "userhz"),
    "app_solicit": ("app_probes", "int"),
    "base_reachable_time": ("base_reachable_time", "secs"),
    "base_reachable_time_ms": ("base_reachable_time", "ms"),
    "delay_first_probe_time": ("delay_probe_time", "secs"),
    "gc_stale_time": ("gc_staletime", "secs"),
    "interval_probe_time_ms": ("interval_probe_time_ms", "ms"),
    "locktime": ("locktime", "userhz"),
    "mcast_resolicit": ("mcast_reprobes", "int"),
    "mcast_solicit": ("mcast_probes", "int"),
    "proxy_delay": ("proxy_delay", "userhz"),
    "proxy_qlen": ("proxy_qlen", "int"),
    "retrans_time": ("retrans_time", "userhz"),
    "retrans_time_ms": ("retrans_time", "ms"),
    "ucast_solicit": ("ucast_probes", "int"),
    "unres_qlen": ("queue_len_bytes", "qlen"),
    "unres_qlen_bytes": ("queue_len_bytes", "int"),
}
DEPRECATED = frozenset({"retrans_time", "base_reachable_time"})


# -- the global (not namespace-aware) net.core subsystem ----------------------


class NetCoreGlobal:
    """State of the global net.core table; lives in init_net only."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values = dict(GLOBAL_DEFAULTS)


net_core_global_ops = PernetOperations("net_core_global", generic=NetCoreGlobal, netns_ok=False)


def core_global(net: Net) -> NetCoreGlobal:
    """The global net.core state; EAFNOSUPPORT outside init_net."""
    state: NetCoreGlobal = net_generic(net, net_core_global_ops)
    return state


def devconf_inherit_mode(kernel: Kernel) -> int:
    """net.core.devconf_inherit_init_net (0 while init_net is still booting)."""
    state = kernel.init_net.gen_get(net_core_global_ops.id)
    if not isinstance(state, NetCoreGlobal):
        return 0
    return int(state.values["net.core.devconf_inherit_init_net"])


# -- value parsing (proc_dointvec and friends) -----------------------------------


def _einval() -> KernelError:
    return KernelError(errno.EINVAL)


def parse_int(tok: str) -> int:
    """One integer as proc_get_long reads it: optional '-', then strtoul base 0."""
    neg = tok.startswith("-")
    digits = tok[1:] if neg else tok
    try:
        if digits[:2].lower() == "0x":
            value = int(digits[2:], 16)
        elif len(digits) > 1 and digits.startswith("0"):
            value = int(digits[1:], 8)
        else:
            value = int(digits, 10) if digits.isdigit() else int("x")
    except ValueError:
        raise _einval() from None
    value = -value if neg else value
    if not INT_MIN <= value <= INT_MAX:
        raise _einval()
    return value


def parse_value(spec: Spec, text: str, current: str) -> str:
    """Validate a write and return the value as procfs will print it."""
    if spec.n == 0:
        value = text.strip()
        if spec.choices and value not in spec.choices:
            raise _einval()
        return value
    toks = text.split()
    if not toks:
        raise _einval()
    values = [int(v) for v in current.split()] if current else [0] * spec.n
    for i, tok in enumerate(toks[:spec.n]):  # a short vector updates its head only
        values[i] = parse_int(tok)
    if any(not spec.lo <= v <= spec.hi for v in values):
        raise _einval()
    if spec.n == 2 and values[1] < values[0]:  # a range (ip_local_port_range)
        raise _einval()
    return "\t".join(str(v) for v in values)


def _spec_of(key: str) -> Spec:
    spec = SPECS.get(key)
    if spec is not None:
        return spec
    default = NET_DEFAULTS.get(key, "")
    numeric = all(p.lstrip("-").isdigit() for p in default.split())
    return Spec(len(default.split()) or 1) if numeric else Spec(0)


# -- leaves ------------------------------------------------------------------------


class Leaf:
    """One file under /proc/sys/net."""

    __slots__ = ("mode",)

    def __init__(self, mode: int = MODE_RW) -> None:
        self.mode = mode

    def read(self) -> str:
        raise NotImplementedError

    def write(self, text: str) -> None:
        raise NotImplementedError


class NetLeaf(Leaf):
    """A plain per-namespace value (copy-on-write in ``net.sysctls``)."""

    __slots__ = ("key", "net", "spec")

    def __init__(self, net: Net, key: str, spec: Spec) -> None:
        super().__init__(spec.mode)
        self.net = net
        self.key = key
        self.spec = spec

    def read(self) -> str:
        own = self.net.sysctls
        if own is not None and self.key in own:
            return str(own[self.key])
        return NET_DEFAULTS.get(self.key, "")

    def write(self, text: str) -> None:
        value = parse_value(self.spec, text, self.read())
        if self.mode == MODE_WO:
            if self.key == "net.ipv4.route.flush":
                from .ipv4.fnhe import fnhe_flush

                fnhe_flush(self.net)  # an action: nothing to keep
            return
        old = self.read()
        if self.net.sysctls is None:
            self.net.sysctls = {}
        self.net.sysctls[self.key] = value
        if self.key.startswith("net.ipv4.") and self.net.ipv4 is not None:
            ipv4_sysctl_update(self.net)  # the numbers the data path reads
        if self.key == "net.ipv6.conf.all.disable_ipv6" and (old != "0") != (value != "0"):
            from .dev.addr_lists import ipv6_disable_change  # addrconf_disable_change

            ipv6_disable_change(self.net, value != "0")


class GlobalLeaf(Leaf):
    """A key of the global net.core table."""

    __slots__ = ("key", "state")

    def __init__(self, state: NetCoreGlobal, key: str, mode: int) -> None:
        super().__init__(mode)
        self.state = state
        self.key = key

    def read(self) -> str:
        return self.state.values[self.key]

    def write(self, text: str) -> None:
        spec = GLOBAL_SPECS.get(self.key) or Spec(1)
        self.state.values[self.key] = parse_value(spec, text, self.read())


class ConfLeaf(Leaf):
    """net.ipv4.conf.{all,default,DEV}.NAME (and ip_forward = all.forwarding)."""

    __slots__ = ("in_dev", "name", "net", "which")

    def __init__(self, net: Net, which: str, in_dev: InDevice | None, name: str) -> None:
        super().__init__(MODE_RO if DEVCONF_KIND[name] == "ro" else MODE_RW)
        self.net = net
        self.which = which
        self.in_dev = in_dev
        self.name = name

    def read(self) -> str:
        ipv4 = self.net.ipv4
        if self.in_dev is not None:
            return str(self.in_dev.conf_get(self.name))
        conf = ipv4.devconf_all if self.which == "all" else ipv4.devconf_dflt
        return str(conf[self.name])

    def write(self, text: str) -> None:
        value = int(parse_value(Spec(1), text, self.read()))
        conf_write(self.net, self.which, self.in_dev, self.name, value)


class NeighLeaf(Leaf):
    """net.ipv4.neigh.{default,DEV}.NAME, stored in jiffies."""

    __slots__ = ("dev", "net", "parm", "unit")

    def __init__(self, net: Net, dev: NetDevice | None, name: str) -> None:
        super().__init__()
        self.net = net
        self.dev = dev
        self.parm, self.unit = NEIGH_SYSCTLS[name]

    def read(self) -> str:
        value = self.net.kernel.neigh_tbl.parm(self.dev, self.parm)
        return str(_from_jiffies(value, self.unit))

    def write(self, text: str) -> None:
        value = _to_jiffies(int(parse_value(NONNEG, text, "0")), self.unit)
        tbl = self.net.kernel.neigh_tbl
        if self.dev is not None:
            tbl.set_parm(self.dev, self.parm, value)
        else:
            tbl.set_default_parm(self.parm, value, _devices_outside_init(self.net.kernel))


def _from_jiffies(value: int, unit: str) -> int:
    if unit == "ms":
        return value * 1000 // HZ
    if unit == "secs":
        return value // HZ
    if unit == "userhz":
        return value * USER_HZ // HZ
    if unit == "qlen":
        return value // SKB_TRUESIZE_ETH
    return value


def _to_jiffies(value: int, unit: str) -> int:
    if unit == "ms":
        return -(-value * HZ // 1000)  # msecs_to_jiffies rounds up
    if unit == "secs":
        return value * HZ
    if unit == "userhz":
        return value * HZ // USER_HZ
    if unit == "qlen":
        return value * SKB_TRUESIZE_ETH
    return value


def _devices_outside_init(kernel: Kernel) -> Iterator[NetDevice]:
    for net in kernel.net_list():
        if not net.is_init_net:
            yield from (d for d in net.dev_by_index.values() if d.ip_ptr is not None)


# -- IPv4 conf write semantics (net/ipv4/devinet.c) ---------------------------------


def conf_write(net: Net, which: str, in_dev: InDevice | None, name: str, value: int) -> None:
    """What writing net.ipv4.conf.WHICH.NAME does.  ``which`` is "all",
    "default" or "dev" (then ``in_dev`` is the device's)."""
    kind = DEVCONF_KIND[name]
    ipv4 = net.ipv4
    if kind == "ro":
        raise KernelError(errno.EACCES)
    if in_dev is not None:
        in_dev.conf_set(name, value)
    elif which == "all":
        old = ipv4.devconf_all[name]
        ipv4.set_conf("all", name, value)
        if kind == "fwd" and value != old:
            inet_forward_change(net, value)
    else:
        if kind != "prop":
            _pin_devices(net, name)  # devices keep what they copied at creation
        ipv4.set_conf("default", name, value)
        if kind == "prop":
            ipv4.dflt_state = ipv4.dflt_state | {name}


def _in_devices(net: Net) -> Iterator[InDevice]:
    for dev in net.dev_by_index.values():
        if dev.ip_ptr is not None:
            yield dev.ip_ptr


def _pin_devices(net: Net, name: str) -> None:
    """Before a non-propagating default changes, devices following it keep the old value."""
    old = net.ipv4.devconf_dflt[name]
    for in_dev in _in_devices(net):
        if not in_dev.conf_is_explicit(name):
            in_dev.conf_set(name, old)


def inet_forward_change(net: Net, on: int) -> None:
    """conf.all.forwarding changed: all.accept_redirects = !on, default and
    every device (lo included) get ``on``."""
    ipv4 = net.ipv4
    ipv4.set_conf("all", "accept_redirects", int(not on))
    ipv4.set_conf("default", "forwarding", on)
    for in_dev in _in_devices(net):
        in_dev.conf_follow("forwarding")  # equal to the new default now


# -- key resolution ------------------------------------------------------------------


def _conf_leaf(net: Net, parts: list[str]) -> Leaf | None:
    owner, name = ".".join(parts[3:-1]), parts[-1]
    if name not in DEVCONF_DEFAULTS or not owner:
        return None
    if owner in ("all", "default"):
        return ConfLeaf(net, owner, None, name)
    dev = net.dev_get_by_name(owner)
    if dev is None or dev.ip_ptr is None:
        return None
    return ConfLeaf(net, "dev", dev.ip_ptr, name)


def _neigh_leaf(net: Net, parts: list[str]) -> Leaf | None:
    owner, name = ".".join(parts[3:-1]), parts[-1]
    if name not in NEIGH_SYSCTLS or not owner:
        return None
    if owner == "default":
        return NeighLeaf(net, None, name) if net.is_init_net else None
    dev = net.dev_get_by_name(owner)
    if dev is None or dev.ip_ptr is None:
        return None
    return NeighLeaf(net, dev, name)


def _core_leaf(net: Net, key: str) -> Leaf | None:
    state = core_global(net.kernel.init_net)
    if key in CORE_MEM_KEYS:
        return GlobalLeaf(state, key, MODE_RW if net.is_init_net else MODE_RO)
    if key in GLOBAL_DEFAULTS and net.is_init_net:
        return GlobalLeaf(state, key, MODE_RW)
    return None


def lookup(net: Net, key: str) -> Leaf | None:
    """The leaf for a dotted key in ``net``, or None when there is no such file."""
    parts = key.split(".")
    if len(parts) >= 5 and parts[:3] == ["net", "ipv4", "conf"]:
        return _conf_leaf(net, parts)
    if len(parts) >= 5 and parts[:3] == ["net", "ipv4", "neigh"]:
        return _neigh_leaf(net, parts)
    if key == "net.ipv4.ip_forward":
        return ConfLeaf(net, "all", None, "forwarding")
    if key.startswith("net.core.") or key in GLOBAL_DEFAULTS:
        leaf = _core_leaf(net, key)
        if leaf is not None:
            return leaf
    if key == "net.netfilter.nf_conntrack_count":
        return CtCountLeaf(net)
    if key in NET_DEFAULTS or key in WRITE_ONLY_KEYS:
        return NetLeaf(net, key, _spec_of(key))
    return None


class CtCountLeaf(Leaf):
    """net.netfilter.nf_conntrack_count: the namespace's live connections."""

    __slots__ = ("net",)

    def __init__(self, net: Net) -> None:
        super().__init__(MODE_RO)
        self.net = net

    def read(self) -> str:
        from .netfilter.conntrack import ct_count

        return str(ct_count(self.net))


# -- listing -------------------------------------------------------------------------------


def _dev_keys(net: Net, deprecated: bool) -> Iterator[str]:
    devs = [d.name for d in net.dev_by_index.values() if d.ip_ptr is not None]
    for owner in ("all", "default", *devs):
        yield from (f"net.ipv4.conf.{owner}.{name}" for name in DEVCONF_DEFAULTS)
    owners = (["default"] if net.is_init_net else []) + devs
    for owner in owners:
        yield from (f"net.ipv4.neigh.{owner}.{name}" for name in NEIGH_SYSCTLS
                    if deprecated or name not in DEPRECATED)


def keys(net: Net, prefix: str = "", deprecated: bool = False) -> list[str]:
    """Readable keys of ``net`` under ``prefix`` in /proc/sys order (by
    component, as the sysctl tree sorts each directory)."""
    out = list(NET_DEFAULTS)
    out.extend(GLOBAL_DEFAULTS if net.is_init_net else CORE_MEM_KEYS)
    out.extend(_dev_keys(net, deprecated))
    if prefix:
        out = [k for k in out if k.startswith(prefix + ".")]
    return sorted(set(out), key=lambda k: k.split("."))


def is_dir(net: Net, key: str) -> bool:
    return bool(key) and lookup(net, key) is None and bool(keys(net, key))


# -- the API ---------------------------------------------------------------------------------


def sysctl_get(net: Net, key: str) -> str:
    """Read ``key`` (dot form) in ``net``; ENOENT if it does not exist there."""
    leaf = lookup(net, key)
    if leaf is None:
        raise KernelError(errno.ENOENT)
    if not leaf.mode & 0o400:
        raise KernelError(errno.EACCES)
    return leaf.read()


def sysctl_set(net: Net, key: str, value: str) -> None:
    """Write ``key``: ENOENT if missing, EACCES if read-only, EINVAL if the
    value is refused (then nothing changes)."""
    leaf = lookup(net, key)
    if leaf is None:
        raise KernelError(errno.ENOENT)
    if not leaf.mode & 0o200:
        raise KernelError(errno.EACCES)
    leaf.write(value)
    rt_cache_flush()


def sysctl_mode(net: Net, key: str) -> int | None:
    """The file mode of ``key`` in ``net``, or None when it does not exist."""
    leaf = lookup(net, key)
    return None if leaf is None else leaf.mode


# -- registration -----------------------------------------------------------------------------


def _netdev_event(event: int, dev: NetDevice) -> None:
    """A device leaving its namespace takes its neighbour parameters along
    (they are re-created from the defaults wherever it arrives)."""
    if event == NETDEV_UNREGISTER:
        dev.net.kernel.neigh_tbl.forget_parms(dev)


def sysctl_register(kernel: Kernel) -> None:
    kernel.pernet.register_subsys(net_core_global_ops)
    kernel.netdev_chain.append(_netdev_event)
