"""A device's hardware address lists (``net/core/dev_addr_lists.c``): the
unicast list (``dev->uc``, filled by ``bridge fdb add ... self``) and the
multicast list (``dev->mc``) that the protocol stacks fill.

There is no IPv6 stack yet, but the groups Linux's IPv6 joins are modelled,
because ``bridge fdb show`` lists them (checked against the kernel in
scenario c062 and tests/dev/test_addr_lists.py):

* registration joins all-nodes (``ipv6_add_dev``), even with IPv6 disabled;
* coming up joins IPv4 all-hosts (``ip_mc_up``), then -- once the device has
  carrier and IPv6 is enabled on it -- all-nodes again if it was dropped and
  the solicited-node group of the MAC the link-local address is made from;
* going down leaves every group;
* ``net.ipv6.conf.all.disable_ipv6`` switches each device whose own value
  changes: disabling leaves the IPv6 groups, enabling configures a device
  that is up with carrier (``addrconf_disable_change``).
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from ..errors import KernelError
from . import core
from .netdevice import IFF_UP, NetDevice

if TYPE_CHECKING:
    from ..kernel import Kernel
    from ..net import Net

ALL_NODES = bytes.fromhex("333300000001")  # ff02::1
ALL_HOSTS = bytes.fromhex("01005e000001")  # 224.0.0.1
IPV6_MC_PREFIX = b"\x33\x33"
SOLICITED_PREFIX = bytes.fromhex("3333ff")


# -- the lists ------------------------------------------------------------------------


def dev_uc_add(dev: NetDevice, mac: bytes, *, excl: bool) -> None:
    if dev.link_type != "ether":
        raise KernelError(errno.EINVAL)
    uc = dev.uc if dev.uc is not None else []
    if mac in uc:
        if excl:
            raise KernelError(errno.EEXIST)
        return
    dev.uc = [*uc, mac]


def dev_uc_del(dev: NetDevice, mac: bytes) -> None:
    if dev.link_type != "ether":
        raise KernelError(errno.EINVAL)
    if not dev.uc or mac not in dev.uc:
        raise KernelError(errno.ENOENT)
    dev.uc = [m for m in dev.uc if m != mac] or None


def dev_mc_add(dev: NetDevice, mac: bytes) -> None:
    mc = dev.mc if dev.mc is not None else []
    if mac not in mc:
        dev.mc = [*mc, mac]


def dev_mc_del(dev: NetDevice, mac: bytes) -> None:
    if dev.mc and mac in dev.mc:
        dev.mc = [m for m in dev.mc if m != mac] or None


def mc_list(dev: NetDevice) -> list[bytes]:
    return list(dev.mc or ())


# -- what the stacks join and leave ----------------------------------------------------------


def _ipv6_mc_down(dev: NetDevice) -> None:
    """ipv6_mc_down + the link-local's removal: every IPv6 group goes."""
    if dev.mc:
        dev.mc = [m for m in dev.mc if not m.startswith(IPV6_MC_PREFIX)] or None
    dev.ll_mac = None


def _addrconf_up(dev: NetDevice) -> None:
    """addrconf on a device that is up with carrier: groups and link-local."""
    if dev.ipv6_disabled or dev.ll_mac is not None:
        return
    if not (dev.flags & IFF_UP and dev.carrier):
        return
    dev_mc_add(dev, ALL_NODES)
    dev.ll_mac = dev.dev_addr  # the link-local keeps the MAC it was made from
    dev_mc_add(dev, SOLICITED_PREFIX + dev.dev_addr[3:])


def addr_lists_netdev_event(event: int, dev: NetDevice) -> None:
    if dev.link_type != "ether":
        return
    if event == core.NETDEV_REGISTER:
        from ..sysctl import sysctl_get

        dev.ipv6_disabled = sysctl_get(dev.net, "net.ipv6.conf.default.disable_ipv6") != "0"
        dev_mc_add(dev, ALL_NODES)
    elif event == core.NETDEV_UP:
        if dev.ip_ptr is not None:
            dev_mc_add(dev, ALL_HOSTS)
        _addrconf_up(dev)
    elif event == core.NETDEV_CHANGE:
        _addrconf_up(dev)  # carrier came: addrconf waited for the link
    elif event == core.NETDEV_DOWN:
        dev.mc = None
        dev.ll_mac = None
    elif event == core.NETDEV_UNREGISTER:
        dev.uc = dev.mc = None  # dev_uc_flush / dev_mc_flush, also on a namespace move
        dev.ll_mac = None


def ipv6_disable_change(net: Net, disabled: bool) -> None:
    """net.ipv6.conf.all.disable_ipv6 written: every device follows."""
    for dev in net.devices():
        if dev.link_type != "ether" or dev.ipv6_disabled == disabled:
            continue
        dev.ipv6_disabled = disabled
        if disabled:
            _ipv6_mc_down(dev)
        else:
            _addrconf_up(dev)


def addr_lists_register(kernel: Kernel) -> None:
    kernel.netdev_chain.append(addr_lists_netdev_event)
